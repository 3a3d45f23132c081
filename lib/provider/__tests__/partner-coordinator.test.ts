/**
 * The partner coordinator's reactions (RFC 8921 8.8), with real in-memory engines: provider A
 * (server engine + policy decision engine + its client engine + the coordinator) and partner
 * servers whose decisions the tests script (a plain Decider), so that every reaction can be
 * provoked: bad offers, FAILs, requests for more time, several partners, cancellations,
 * UPDATE and WITHDRAW of a cascaded agreement, administrative approval before the cascade.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SimulatedClock } from '../../cpnp/clock';
import type { Cpd, Cpp } from '../../cpnp/cpd/types';
import { millisToDateTime } from '../../cpnp/date-time';
import { ClientEngine } from '../../cpnp/engine/client-engine';
import { appendOutput, type EngineCore } from '../../cpnp/engine/output';
import { concretizeCpd, type DecisionRequest } from '../../cpnp/engine/decider';
import { ServerEngine, type CycleOutcome, type ServerDecider, type ServerDecision } from '../../cpnp/engine/server-engine';
import { Simulation } from '../../cpnp/engine/simulation';
import type { ResourceScope } from '../../cpnp/fsm/server';
import type { InformationElements } from '../../cpnp/information-elements';
import { Method, methodName } from '../../cpnp/method';
import { seededRandom } from '../../cpnp/random';
import { MemoryNetwork } from '../../cpnp/transport/memory';
import type { Endpoint } from '../../cpnp/transport/transport';
import { createDecisionEngine, type DecisionEngine } from '../decision-engine';
import {
  cascadeCores,
  childOfferProblems,
  coordinatorSeam,
  PartnerCoordinator,
  partnerCore,
  partnerLinksFromPolicy,
  parentFailStatus,
  type CascadeOutput,
  type PartnerCoordinatorSnapshot,
} from '../partner-coordinator';
import { policyFromData, type Policy } from '../policy';
import { A_CLIENT, A_SERVER, CUSTOMER, ORDER, quote, runUntil } from './cascade-sim';

const T0 = Date.UTC(2026, 3, 1, 12, 0, 0);

/** Provider A: pool "core" for pe1:*, partners "pb" (pb:*) and "pc" (pc:*). */
function policyA(overrides: Record<string, unknown> = {}): Policy {
  return policyFromData({
    provider: { name: 'Provider A', asn: 64496, contact: { email: 'noc@a.example' } },
    regions: ['west'],
    links: [
      { match: 'pe1:*', pool: 'core', region: 'west' },
      { match: 'pb:*', partner: 'pb' },
      { match: 'pc:*', partner: 'pc' },
    ],
    pools: { core: { inMbps: 100, outMbps: 100 } },
    qosClasses: [{ name: 'gold', delayMs: 10, jitterMs: 2, lossPct: 0.01, qualitative: 'high' }],
    availabilityLevels: [99.9],
    activationTypes: [],
    purposes: ['test', 'production'],
    pricing: { currency: 'EUR', perMbpsMonth: 1 },
    offerValidity: '15m',
    customers: {},
    defaultCustomer: { allowed: true },
    partners: {
      pb: { server: '203.0.113.2:8921', transport: 'udp' },
      pc: { server: '[2001:db8::3]:8921', transport: 'udp' },
    },
    ...overrides,
  });
}

const cpp = (...links: string[]): Cpp => ({
  nodes: links.map((link, i) => ({ id: `n${i}`, link })),
  capacity: { inMbps: 10, outMbps: 10 },
  conformance: { policing: 'police', outOfProfile: 'drop' },
});

/** A partner server whose decisions the test scripts (default: grant exactly what is asked). */
class ScriptedPartner implements ServerDecider {
  readonly requests: DecisionRequest[] = [];
  readonly released: [string, ResourceScope][] = [];
  respond: (request: DecisionRequest) => ServerDecision = (request) => ({ kind: 'offer', cpd: concretizeCpd(request.cpd) });
  decide(request: DecisionRequest): ServerDecision {
    this.requests.push(structuredClone(request));
    return this.respond(request);
  }
  releaseResources(orderId: string, scope: ResourceScope): void {
    this.released.push([orderId, scope]);
  }
}

interface Partner {
  id: string;
  endpoint: Endpoint;
  decider: ScriptedPartner;
  server: ServerEngine;
}

class Rig {
  readonly clock = new SimulatedClock(T0);
  readonly net = new MemoryNetwork(() => this.clock.now(), 1);
  readonly sim = new Simulation(this.clock, this.net);
  readonly policy: Policy;
  readonly customer: ClientEngine;
  readonly decision: DecisionEngine;
  readonly server: ServerEngine;
  readonly client: ClientEngine;
  coordinator: PartnerCoordinator;
  readonly partners = new Map<string, Partner>();
  readonly cycleEnds: [string, CycleOutcome][] = [];

  /**
   * wiring 'views': cascadeCores. 'seam': as the provider process does it, a server-side core
   * that feeds every output (its tick's included) to coordinatorSeam, and partnerCore for the
   * partner transport.
   */
  constructor(options: { policy?: Policy; childTimeoutMs?: number; wiring?: 'views' | 'seam' } = {}) {
    this.policy = options.policy ?? policyA();
    this.customer = new ClientEngine({ clock: this.clock, random: seededRandom(1), localEndpoint: CUSTOMER, config: { autoProcessOffer: true } });
    this.decision = createDecisionEngine(this.policy, { clock: this.clock });
    const decision = this.decision;
    // The decision engine, watched: every cycle end reaches it (cycleEnded).
    const decider: ServerDecider = Object.assign(Object.create(decision) as DecisionEngine, {
      cycleEnded: (orderId: string, outcome: CycleOutcome) => {
        this.cycleEnds.push([orderId, outcome]);
        decision.cycleEnded(orderId, outcome);
      },
    });
    this.server = new ServerEngine({ clock: this.clock, random: seededRandom(2), decider });
    this.client = new ClientEngine({ clock: this.clock, random: seededRandom(4), localEndpoint: A_CLIENT });
    const links = partnerLinksFromPolicy(this.policy);
    this.coordinator = new PartnerCoordinator({
      serverEngine: this.server,
      decisionEngine: this.decision,
      clientEngine: this.client,
      partners: links,
      clock: this.clock,
      config: { childTimeoutMs: options.childTimeoutMs ?? 20_000, identity: { name: 'Provider A' } },
    });
    this.sim.add('customer', this.customer, this.net.attach(CUSTOMER));
    const views = options.wiring === 'seam' ? this.seamCores() : cascadeCores(() => this.coordinator, (out) => this.deliver(out));
    this.sim.add('A', views.server, this.net.attach(A_SERVER));
    this.sim.add('A-client', views.client, this.net.attach(A_CLIENT, { identity: 'provider-a' }));
    for (const [id, link] of Object.entries(links)) {
      const decider = new ScriptedPartner();
      const server = new ServerEngine({ clock: this.clock, random: seededRandom(10 + this.partners.size), decider });
      this.partners.set(id, { id, endpoint: link.server, decider, server });
      this.sim.add(id, server, this.net.attach(link.server));
    }
  }

  private seamCores(): { server: EngineCore; client: EngineCore } {
    const seam = () => coordinatorSeam(this.coordinator, (out) => this.sim.apply('A-client', out));
    const finish = (out: ReturnType<ServerEngine['tick']>) => appendOutput(out, seam().afterServerOutput(out));
    return {
      server: {
        receive: (inbound) => finish(this.server.receive(inbound)),
        // Like ProviderCore.tick: the coordinator's tick output is merged, then everything is fed again.
        tick: () => finish(appendOutput(this.server.tick(), seam().tick())),
        nextDue: () => seam().nextDue(),
      },
      client: partnerCore(this.coordinator, (out) => this.sim.apply('A', out)),
    };
  }

  deliver(out: CascadeOutput): void {
    this.sim.apply('A', out.server);
    this.sim.apply('A-client', out.client);
  }

  partner(id: string): Partner {
    const partner = this.partners.get(id);
    assert.ok(partner);
    return partner;
  }

  quote(cpd: Cpd, ies?: InformationElements): void {
    quote(this.sim, this.customer, cpd, ies);
  }

  run(until: () => boolean): void {
    runUntil(this.sim, until);
  }

  settle(): void {
    this.sim.runUntilIdle({ maxTimeMs: 3_600_000 });
    assert.deepEqual(this.sim.errors, []);
  }

  parent() {
    const [order] = this.server.listOrders();
    assert.ok(order);
    return order;
  }

  /** For run() predicates: the parent order may not exist yet. */
  parentState(): string | undefined {
    return this.server.listOrders()[0]?.fsm.state;
  }

  /** "from→to METHOD" of every message, with partners by id. */
  trace(): string[] {
    const name = (e: Endpoint): string =>
      e.port === CUSTOMER.port ? 'client' : ([...this.partners.values()].find((p) => p.endpoint.address === e.address)?.id ?? 'A');
    return this.sim.sends.map((s) => `${s.simNode === 'customer' ? 'client' : s.simNode.startsWith('A') ? 'A' : s.simNode}→${name(s.to)} ${methodName(s.message.method)}`);
  }

  coordinatorEvents(cause: string): string[] {
    return this.sim.events.filter((e) => e.cause === `cascade:${cause}`).map((e) => e.detail ?? '');
  }
}

// ---------------------------------------------------------------------------------------------

describe('partner coordinator: helpers', () => {
  it('partnerLinksFromPolicy parses host:port and [v6]:port, resolves names through the hook, refuses the rest', () => {
    const links = partnerLinksFromPolicy(policyA(), (host) => (host === '203.0.113.2' ? '203.0.113.2' : host.toUpperCase()));
    assert.deepEqual(links, { pb: { server: { address: '203.0.113.2', port: 8921 } }, pc: { server: { address: '2001:DB8::3', port: 8921 } } });
    // loadPolicy already refuses such a server; a Policy built by other means is checked again.
    const bad: Policy = { ...policyA(), partners: { pb: { server: 'no-port.example', transport: 'udp', regions: [] } } };
    assert.throws(() => partnerLinksFromPolicy(bad), /partner "pb": server "no-port.example" is not host:port/);
  });

  it('parentFailStatus passes 5 and 6 on, anything else (or nothing) becomes 5', () => {
    assert.equal(parentFailStatus(6), 6);
    assert.equal(parentFailStatus(5), 5);
    for (const code of [1, 2, 3, 4, 8, undefined] as const) assert.equal(parentFailStatus(code), 5);
  });

  it('childOfferProblems: a missing CPP or a value outside the requested bounds', () => {
    const asked: Cpd = [{ ...cpp('pb:1'), capacity: { inMbps: { min: 10, max: 20 }, outMbps: 10 } }];
    assert.deepEqual(childOfferProblems(asked, [{ ...cpp('pb:1'), capacity: { inMbps: 15, outMbps: 10 } }]), []);
    assert.match(childOfferProblems(asked, []).join(), /1 CPP asked, 0 offered/);
    assert.match(childOfferProblems(asked, [{ ...cpp('pb:1'), capacity: { inMbps: 5, outMbps: 10 } }]).join(), /capacity\.inMbps/);
  });

  it('configuration and snapshots are checked', () => {
    const rig = new Rig();
    const deps = { serverEngine: rig.server, decisionEngine: rig.decision, clientEngine: rig.client, partners: {}, clock: rig.clock };
    assert.throws(() => new PartnerCoordinator({ ...deps, config: { childTimeoutMs: 0 } }), /childTimeoutMs/);
    assert.throws(() => PartnerCoordinator.restore({ format: 'other' } as unknown as PartnerCoordinatorSnapshot, deps), /not a partner coordinator snapshot/);
    assert.deepEqual(new PartnerCoordinator(deps).snapshot(), { format: 'cpnp-partner-coordinator', version: 1, cascades: [], children: [], notified: {} });
  });
});

describe('partner coordinator: reactions', () => {
  it('two partners: child orders one after another, each offer accepted, the merged offer has every part', () => {
    const rig = new Rig();
    rig.quote([cpp('pe1:a', 'pb:1', 'pc:1')]);
    rig.run(() => rig.customer.state(ORDER) === 'OfferProcessing');
    assert.deepEqual(rig.trace(), [
      'client→A QUOTATION',
      'A→client PROCESSING',
      'A→pb QUOTATION',
      'pb→A PROCESSING',
      'pb→A OFFER',
      'A→pb PROCESSING',
      'A→pb ACCEPT',
      'pb→A ACK',
      'A→pc QUOTATION',
      'pc→A PROCESSING',
      'pc→A OFFER',
      'A→pc PROCESSING',
      'A→pc ACCEPT',
      'pc→A ACK',
      'A→client OFFER',
      'client→A PROCESSING',
    ]);
    const parent = rig.parent();
    const children = rig.coordinator.childrenOf(parent.id);
    assert.deepEqual(children.map((c) => [c.childId, c.partnerId, c.status]), [
      [`child-${parent.id}-1`, 'pb', 'agreed'],
      [`child-${parent.id}-2`, 'pc', 'agreed'],
    ]);
    // Each partner was asked only its own node, as Provider A's customer, with A's deadline.
    assert.deepEqual(rig.partner('pb').decider.requests[0]?.cpd[0]?.nodes.map((n) => n.link), ['pb:1']);
    assert.deepEqual(rig.partner('pc').decider.requests[0]?.cpd[0]?.nodes.map((n) => n.link), ['pc:1']);
    assert.deepEqual(rig.partner('pb').decider.requests[0]?.ies?.customer, { name: 'Provider A' });
    assert.equal(rig.partner('pb').server.listOrders()[0]?.owner, 'provider-a');
    const offer = rig.customer.order(ORDER)?.offer?.cpd;
    assert.deepEqual(offer?.[0]?.nodes.map((n) => n.link), ['pe1:a', 'pb:1', 'pc:1']);
    // The machine went through the Child* states twice in one cycle.
    assert.equal(parent.history.filter((h) => h.to === 'ChildCompleted').length, 2);
    assert.equal(parent.fsm.childAgreementsInCycle, 2);
  });

  it('WITHDRAW of a cascaded agreement withdraws every child agreement (scope "all")', () => {
    const rig = new Rig();
    rig.quote([cpp('pe1:a', 'pb:1', 'pc:1')]);
    rig.run(() => rig.customer.state(ORDER) === 'OfferProcessing');
    assert.ok(rig.sim.apply('customer', rig.customer.accept(ORDER)).ok);
    rig.run(() => rig.customer.state(ORDER) === 'Completed');
    assert.ok(rig.sim.apply('customer', rig.customer.withdraw(ORDER)).ok);
    rig.run(() => [...rig.partners.values()].every((p) => p.server.listOrders()[0]?.fsm.state === 'Cancelled'));
    rig.settle();
    assert.deepEqual(rig.trace().slice(-6), ['client→A WITHDRAW', 'A→client ACK', 'A→pb WITHDRAW', 'A→pc WITHDRAW', 'pb→A ACK', 'pc→A ACK']);
    assert.deepEqual(rig.coordinator.childrenOf(rig.parent().id).map((c) => c.status), ['withdrawn', 'withdrawn']);
    assert.deepEqual(rig.decision.ledger.available('core'), { inMbps: 100, outMbps: 100 });
  });

  it('an UPDATE with a partner part replaces the child agreement: new child order, the old one withdrawn once agreed', () => {
    const rig = new Rig();
    rig.quote([cpp('pe1:a', 'pb:1')]);
    rig.run(() => rig.customer.state(ORDER) === 'OfferProcessing');
    assert.ok(rig.sim.apply('customer', rig.customer.accept(ORDER)).ok);
    rig.run(() => rig.customer.state(ORDER) === 'Completed');
    const bigger: Cpd = [{ ...cpp('pe1:a', 'pb:1'), capacity: { inMbps: 20, outMbps: 20 } }];
    const update = rig.customer.update(ORDER, { cpd: bigger, expectedResponseTime: millisToDateTime(T0 + 600_000) });
    assert.ok(rig.sim.apply('customer', update).ok);
    rig.run(() => rig.customer.state(ORDER) === 'OfferProcessing');
    assert.ok(rig.sim.apply('customer', rig.customer.accept(ORDER)).ok);
    rig.run(() => rig.customer.state(ORDER) === 'Completed' && rig.customer.order(ORDER)?.fsm.cycle === 'update');
    rig.settle();
    const parentId = rig.parent().id;
    const children = rig.coordinator.childrenOf(parentId);
    assert.deepEqual(children.map((c) => c.status), ['withdrawn', 'agreed']);
    assert.notEqual(children[0]?.cycleTxid, children[1]?.cycleTxid);
    const pbOrders = rig.partner('pb').server.listOrders();
    assert.deepEqual(pbOrders.map((o) => o.fsm.state), ['Cancelled', 'Completed']);
    assert.deepEqual(pbOrders[1]?.requestedCpd[0]?.capacity, { inMbps: 20, outMbps: 20 });
    assert.deepEqual(rig.decision.ledger.available('core'), { inMbps: 80, outMbps: 80 });
  });

  it('an offer outside what was asked is DECLINEd (reason 1) and the client gets FAIL 5', () => {
    const rig = new Rig();
    rig.partner('pb').decider.respond = (request) => ({ kind: 'offer', cpd: request.cpd.map((c) => ({ ...c, capacity: { inMbps: 5, outMbps: 5 } })) });
    rig.quote([cpp('pe1:a', 'pb:1')]);
    rig.run(() => rig.customer.state(ORDER) === 'Cancelled');
    rig.settle();
    assert.deepEqual(rig.trace(), [
      'client→A QUOTATION',
      'A→client PROCESSING',
      'A→pb QUOTATION',
      'pb→A PROCESSING',
      'pb→A OFFER',
      // Same instant: the server engine's part is delivered first.
      'A→client FAIL',
      'A→pb DECLINE',
      'pb→A ACK',
    ]);
    const decline = rig.sim.sends.find((s) => s.message.method === Method.DECLINE)?.message;
    assert.ok(decline?.method === Method.DECLINE);
    assert.deepEqual(decline.reasons, [1]);
    const fail = rig.sim.sends.find((s) => s.message.method === Method.FAIL)?.message;
    assert.ok(fail?.method === Method.FAIL && fail.statusCode === 5);
    const [child] = rig.coordinator.childrenOf(rig.parent().id);
    assert.equal(child?.status, 'failed');
    assert.match(child?.endedBy ?? '', /offer of partner "pb" refused: .*capacity/);
    assert.equal(rig.partner('pb').server.listOrders()[0]?.fsm.cancelReason, 'declined');
    assert.equal(rig.coordinator.cascade(rig.parent().id)?.status, 'failed');
  });

  it('a FAIL 6 of the partner is passed on; the agreement of an earlier partner is withdrawn (scope "negotiation")', () => {
    const rig = new Rig();
    rig.partner('pc').decider.respond = () => ({ kind: 'fail', statusCode: 6 });
    rig.quote([cpp('pe1:a', 'pb:1', 'pc:1')]);
    rig.run(() => rig.customer.state(ORDER) === 'Cancelled');
    rig.settle();
    assert.deepEqual(rig.trace().slice(-5), ['A→pc QUOTATION', 'pc→A FAIL', 'A→client FAIL', 'A→pb WITHDRAW', 'pb→A ACK']);
    const fail = rig.sim.sends.filter((s) => s.message.method === Method.FAIL).at(-1)?.message;
    assert.ok(fail?.method === Method.FAIL && fail.statusCode === 6);
    assert.deepEqual(rig.coordinator.childrenOf(rig.parent().id).map((c) => c.status), ['withdrawn', 'failed']);
    assert.equal(rig.partner('pb').server.listOrders()[0]?.fsm.cancelReason, 'withdrawn');
    assert.equal(rig.decision.partnerPlan(rig.parent().id), undefined);
  });

  it('the client CANCELs during the child negotiation: CANCEL to the partner, the decision engine forgets the plan (cycleEnded)', () => {
    const rig = new Rig();
    rig.partner('pb').decider.respond = () => ({ kind: 'pending' });
    rig.quote([cpp('pe1:a', 'pb:1')]);
    rig.run(() => rig.parentState() === 'ChildServerProcessing');
    const parentId = rig.parent().id;
    assert.ok(rig.decision.partnerPlan(parentId));
    assert.ok(rig.sim.apply('customer', rig.customer.cancel(ORDER)).ok);
    rig.run(() => rig.partner('pb').server.listOrders()[0]?.fsm.state === 'Cancelled');
    rig.settle();
    assert.deepEqual(rig.trace().slice(-4), ['client→A CANCEL', 'A→client ACK', 'A→pb CANCEL', 'pb→A ACK']);
    assert.equal(rig.parent().fsm.cancelReason, 'cancelled');
    assert.deepEqual(rig.cycleEnds, [[parentId, { cycle: 'quotation', reason: 'cancelled', agreementKept: false }]]);
    assert.equal(rig.decision.partnerPlan(parentId), undefined, 'no plan left waiting');
    assert.equal(rig.decision.explain(parentId)?.status, 'ended', 'the order no longer counts toward maxOrders');
    assert.equal(rig.coordinator.cascade(parentId)?.status, 'ended');
    assert.equal(rig.coordinator.childrenOf(parentId)[0]?.endedBy, 'cancelled');
    assert.equal(rig.coordinator.nextDue(), undefined, 'no child deadline left');
  });

  it('the partner asks for more time: granted within the child deadline, refused beyond it (C22)', () => {
    for (const [extraMs, granted] of [
      [10_000, true],
      [60_000, false],
    ] as const) {
      const rig = new Rig();
      const pb = rig.partner('pb');
      pb.decider.respond = () => ({ kind: 'pending' });
      rig.quote([cpp('pe1:a', 'pb:1')]);
      rig.run(() => rig.parentState() === 'ChildServerProcessing');
      const bOrder = pb.server.listOrders()[0];
      assert.ok(bOrder);
      rig.sim.apply('pb', pb.server.requestMoreTime(bOrder.id, millisToDateTime(T0 + extraMs), 1));
      rig.run(() => pb.server.getOrder(bOrder.id)?.fsm.moreTimeRequested === undefined);
      assert.deepEqual(rig.trace().slice(-2), ['pb→A PROCESSING', granted ? 'A→pb ACK' : 'A→pb FAIL']);
      if (granted) {
        rig.sim.apply('pb', pb.server.completeDecision(bOrder.id, { kind: 'offer', cpd: concretizeCpd(bOrder.requestedCpd) }));
        rig.run(() => rig.customer.state(ORDER) === 'OfferProcessing');
      } else {
        // Refused: the partner must answer before the first deadline; it does not, the child timer decides.
        rig.run(() => rig.customer.state(ORDER) === 'Cancelled');
        assert.equal(rig.coordinator.childrenOf(rig.parent().id)[0]?.endedBy, 'timeout');
      }
    }
  });

  it('a decision that comes after the first PROCESSING (administrative approval) notifies the client with subcode 2 and a time', () => {
    const rig = new Rig({ policy: policyA({ decisionModes: { QUOTATION: 'admin' } }) });
    rig.quote([cpp('pe1:a', 'pb:1')]);
    rig.run(() => rig.server.listOrders()[0]?.fsm.adminApprovalPending === true);
    const first = rig.sim.sends.find((s) => s.message.method === Method.PROCESSING)?.message;
    assert.ok(first?.method === Method.PROCESSING && first.processingSubcode === undefined);
    // The application's command goes through the coordinator (afterServerOutput), not the views.
    const out = rig.server.adminApprove(rig.parent().id);
    const more = rig.coordinator.afterServerOutput(out);
    rig.sim.apply('A', out);
    rig.deliver(more);
    const notice = more.server.sends.find((s) => s.message.method === Method.PROCESSING)?.message;
    assert.ok(notice?.method === Method.PROCESSING);
    assert.equal(notice.processingSubcode, 2);
    // Approved at T0 + 1 ms: one child timer (20 s) later, rounded up to whole seconds.
    assert.equal(notice.expectedOfferTime, millisToDateTime(T0 + 21_000));
    assert.deepEqual(more.client.sends.map((s) => methodName(s.message.method)), ['QUOTATION']);
    // The customer grants the time (Figure 11); the cascade goes on to the merged offer.
    rig.run(() => rig.customer.order(ORDER)?.fsm.moreTimeRequested !== undefined);
    assert.ok(rig.sim.apply('customer', rig.customer.grantMoreTime(ORDER)).ok);
    // The ACK reaches the parent while its child order runs (a Child* state).
    rig.run(() => rig.parent().fsm.moreTimeRequested === undefined);
    assert.ok(rig.decision.explain(rig.parent().id)?.events.some((e) => e.event === 'more-time' && /^granted until /.test(e.detail)), 'granted, with the time the ACK names (9.2.6)');
    rig.run(() => rig.customer.state(ORDER) === 'OfferProcessing');
    assert.equal(rig.sim.sends.filter((s) => s.message.method === Method.PROCESSING && s.message.customerOrderId === ORDER && s.simNode === 'A').length, 2, 'not retransmitted');
    assert.ok(rig.coordinatorEvents('cascade-merged').length === 1);
  });

  it('a partner without a configured server: FAIL 5 at once, no child order', () => {
    const rig = new Rig();
    const lonely = new PartnerCoordinator({
      serverEngine: rig.server,
      decisionEngine: rig.decision,
      clientEngine: rig.client,
      partners: {},
      clock: rig.clock,
    });
    rig.coordinator = lonely;
    rig.quote([cpp('pe1:a', 'pb:1')]);
    rig.run(() => rig.customer.state(ORDER) === 'Cancelled');
    assert.deepEqual(rig.trace(), ['client→A QUOTATION', 'A→client PROCESSING', 'A→client FAIL']);
    assert.deepEqual(lonely.childrenOf(rig.parent().id), []);
    assert.match(lonely.cascade(rig.parent().id)?.reason ?? '', /no server configured for partner "pb"/);
  });

  it('the snapshot is plain JSON, and a restored coordinator carries on (child deadline included)', () => {
    const rig = new Rig();
    // The partner promises an offer in 10 minutes: only the coordinator's child deadline is earlier.
    rig.partner('pb').decider.respond = () => ({ kind: 'pending', expectedOfferTime: millisToDateTime(T0 + 600_000) });
    rig.quote([cpp('pe1:a', 'pb:1')]);
    rig.run(() => rig.parentState() === 'ChildServerProcessing');
    const snapshot = rig.coordinator.snapshot();
    assert.deepEqual(JSON.parse(JSON.stringify(snapshot)), snapshot);
    const [child] = snapshot.children;
    assert.ok(child?.deadline !== undefined);
    rig.coordinator = PartnerCoordinator.restore(JSON.parse(JSON.stringify(snapshot)) as PartnerCoordinatorSnapshot, {
      serverEngine: rig.server,
      decisionEngine: rig.decision,
      clientEngine: rig.client,
      partners: partnerLinksFromPolicy(rig.policy),
      clock: rig.clock,
      config: { childTimeoutMs: 20_000 },
    });
    assert.equal(rig.coordinator.nextDue(), child.deadline);
    rig.run(() => rig.customer.state(ORDER) === 'Cancelled');
    assert.ok(rig.sim.sends.some((s) => s.message.method === Method.CANCEL && s.at === child.deadline));
  });

  it('wired as the provider process does (coordinatorSeam, partnerCore): same flow, nothing acted on twice', () => {
    const views = new Rig();
    const seam = new Rig({ wiring: 'seam' });
    for (const rig of [views, seam]) {
      rig.quote([cpp('pe1:a', 'pb:1', 'pc:1')]);
      rig.run(() => rig.customer.state(ORDER) === 'OfferProcessing');
      assert.ok(rig.sim.apply('customer', rig.customer.accept(ORDER)).ok);
      rig.run(() => rig.customer.state(ORDER) === 'Completed');
      rig.settle();
      assert.deepEqual(rig.sim.events.filter((e) => e.kind === 'command-rejected' || e.kind === 'error' || e.kind === 'alarm'), []);
    }
    // Each conversation is identical; only the interleaving of the two transports may differ
    // (the seam sends the partner part as soon as it exists).
    for (const peer of ['client', 'pb', 'pc']) {
      const talk = (rig: Rig): string[] => rig.trace().filter((t) => t.startsWith(`${peer}→`) || t.includes(`→${peer} `));
      assert.deepEqual(talk(seam), talk(views));
    }
    assert.equal(seam.trace().length, views.trace().length);
    assert.deepEqual(seam.coordinator.childrenOf(seam.parent().id).map((c) => c.status), ['agreed', 'agreed']);
  });

  it('an output handed in twice is acted on once', () => {
    const rig = new Rig();
    rig.partner('pb').decider.respond = () => ({ kind: 'pending' });
    rig.quote([cpp('pe1:a', 'pb:1')]);
    rig.run(() => rig.parentState() === 'ChildServerProcessing');
    const out = rig.server.applyChildEvent(rig.parent().id, { type: 'childTimeout' });
    const first = rig.coordinator.afterServerOutput(out);
    assert.deepEqual(first.client.sends.map((s) => methodName(s.message.method)), ['CANCEL']);
    assert.deepEqual(first.server.sends.map((s) => methodName(s.message.method)), ['FAIL']);
    const again = rig.coordinator.afterServerOutput({ sends: [...out.sends, ...first.server.sends], events: [...out.events, ...first.server.events] });
    assert.deepEqual(again, { server: { sends: [], events: [] }, client: { sends: [], events: [] } });
  });
});
