/**
 * Cascaded negotiation end to end (RFC 8921 8.8, Figure 7): three real engines over the
 * in-memory network with a simulated clock. The customer is a ClientEngine; provider A is a
 * ServerEngine with the policy decision engine (examples/provider.yaml, whose "carrier-b:*"
 * links belong to partner Carrier B), its own ClientEngine toward B and the partner
 * coordinator; provider B is a ServerEngine with the decision engine of examples/partner.yaml
 * (automated for the test).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SimulatedClock } from '../../cpnp/clock';
import { ClientEngine, type ClientEngineSnapshot } from '../../cpnp/engine/client-engine';
import { ServerEngine, type ServerEngineSnapshot } from '../../cpnp/engine/server-engine';
import { Simulation } from '../../cpnp/engine/simulation';
import type { InformationElements } from '../../cpnp/information-elements';
import type { CpnpMessage } from '../../cpnp/message';
import { Method, methodName } from '../../cpnp/method';
import { seededRandom } from '../../cpnp/random';
import { MemoryNetwork } from '../../cpnp/transport/memory';
import type { Endpoint } from '../../cpnp/transport/transport';
import { createDecisionEngine, type DecisionEngine, type DecisionEngineSnapshot } from '../decision-engine';
import {
  cascadeCores,
  PartnerCoordinator,
  partnerLinksFromPolicy,
  providerIdentity,
  type PartnerCoordinatorSnapshot,
} from '../partner-coordinator';
import { loadPolicy, type Policy } from '../policy';
import { A_CLIENT, A_SERVER, CUSTOMER, ORDER, quote, runUntil } from './cascade-sim';
import { CASCADE_CPD, examplePolicy, REPO_ROOT } from './fixtures';

const T0 = Date.UTC(2026, 2, 2, 9, 0, 0);

/** examples/partner.yaml, automated: no administrative validation, no decision delay. */
function partnerPolicy(change: (policy: Policy) => Policy = (p) => p): Policy {
  const policy = loadPolicy(join(REPO_ROOT, 'examples', 'partner.yaml'));
  return change({ ...policy, decisionModes: { ...policy.decisionModes, QUOTATION: 'automated' }, decisionDelay: { kind: 'immediate' } });
}

interface ProviderA {
  server: ServerEngine;
  decision: DecisionEngine;
  client: ClientEngine;
  coordinator: PartnerCoordinator;
}

interface Snapshots {
  server: ServerEngineSnapshot;
  decision: DecisionEngineSnapshot;
  client: ClientEngineSnapshot;
  coordinator: PartnerCoordinatorSnapshot;
}

class World {
  readonly clock = new SimulatedClock(T0);
  readonly net = new MemoryNetwork(() => this.clock.now(), 1);
  readonly sim = new Simulation(this.clock, this.net);
  readonly policyA = examplePolicy();
  readonly policyB: Policy;
  readonly bEndpoint: Endpoint;
  readonly customer: ClientEngine;
  readonly bDecision: DecisionEngine;
  readonly b: ServerEngine;
  a: ProviderA;

  constructor(policyB: Policy = partnerPolicy()) {
    this.policyB = policyB;
    const link = partnerLinksFromPolicy(this.policyA)['carrier-b'];
    assert.ok(link, 'examples/provider.yaml has partner carrier-b');
    this.bEndpoint = link.server;
    this.customer = new ClientEngine({ clock: this.clock, random: seededRandom(1), localEndpoint: CUSTOMER, label: 'customer', config: { autoProcessOffer: true } });
    this.bDecision = createDecisionEngine(this.policyB, { clock: this.clock });
    this.b = new ServerEngine({ clock: this.clock, random: seededRandom(3), decider: this.bDecision });
    this.a = this.buildA();
    // A's client transport authenticates as its PSK identity toward B (partners.carrier-b.pskIdentity).
    const pskIdentity = this.policyA.partners['carrier-b']?.pskIdentity;
    this.sim.add('customer', this.customer, this.net.attach(CUSTOMER, { identity: 'acme' }));
    const views = cascadeCores(
      () => this.a.coordinator,
      (out) => {
        this.sim.apply('A', out.server);
        this.sim.apply('A-client', out.client);
      },
    );
    this.sim.add('A', views.server, this.net.attach(A_SERVER));
    this.sim.add('A-client', views.client, this.net.attach(A_CLIENT, pskIdentity === undefined ? {} : { identity: pskIdentity }));
    this.sim.add('B', this.b, this.net.attach(this.bEndpoint));
  }

  private buildA(restore?: Snapshots): ProviderA {
    const decision = createDecisionEngine(this.policyA, { clock: this.clock, ...(restore ? { snapshot: restore.decision } : {}) });
    const serverDeps = { clock: this.clock, random: seededRandom(restore ? 20 : 2), decider: decision };
    const server = restore ? ServerEngine.restore(restore.server, serverDeps) : new ServerEngine(serverDeps);
    const clientDeps = { clock: this.clock, random: seededRandom(restore ? 40 : 4), localEndpoint: A_CLIENT, label: 'A-client' };
    const client = restore ? ClientEngine.restore(restore.client, clientDeps) : new ClientEngine(clientDeps);
    const deps = {
      serverEngine: server,
      decisionEngine: decision,
      clientEngine: client,
      partners: partnerLinksFromPolicy(this.policyA),
      clock: this.clock,
      config: { childTimeoutMs: 30_000, identity: providerIdentity(this.policyA) },
    };
    const coordinator = restore ? PartnerCoordinator.restore(restore.coordinator, deps) : new PartnerCoordinator(deps);
    return { server, decision, client, coordinator };
  }

  /** A "restart" of provider A: every part goes through a JSON round trip of its snapshot. */
  restartA(): void {
    const snapshots = JSON.parse(
      JSON.stringify({
        server: this.a.server.snapshot(),
        decision: this.a.decision.snapshot(),
        client: this.a.client.snapshot(),
        coordinator: this.a.coordinator.snapshot(),
      }),
    ) as Snapshots;
    this.a = this.buildA(snapshots);
  }

  quote(ies?: InformationElements): void {
    quote(this.sim, this.customer, CASCADE_CPD, ies);
  }

  run(until: () => boolean): void {
    runUntil(this.sim, until);
  }

  customerState(): string | undefined {
    return this.customer.state(ORDER);
  }

  /** The parent order at A (its only order). */
  parent() {
    const [order] = this.a.server.listOrders();
    assert.ok(order, 'A has the parent order');
    return order;
  }

  bOrders() {
    return this.b.listOrders();
  }

  /** Every message put on the wire, as "from→to METHOD". */
  trace(): string[] {
    return this.sim.sends.map((s) => `${this.who(s.simNode)}→${this.whom(s.to)} ${methodName(s.message.method)}`);
  }

  messages(from: string, method: CpnpMessage['method']): CpnpMessage[] {
    return this.sim.sends.filter((s) => this.who(s.simNode) === from && s.message.method === method).map((s) => s.message);
  }

  private who(node: string): string {
    return node === 'customer' ? 'client' : node === 'B' ? 'B' : 'A';
  }

  private whom(to: Endpoint): string {
    if (to.port === CUSTOMER.port) return 'client';
    if (to.port === this.bEndpoint.port && to.address === this.bEndpoint.address) return 'B';
    return 'A';
  }
}

/** Figure 7, message by message (the client's PROCESSING is Figure 6's, sent when the OFFER arrives). */
const FIGURE_7 = [
  'client→A QUOTATION',
  'A→client PROCESSING',
  'A→B QUOTATION',
  'B→A PROCESSING',
  'B→A OFFER',
  'A→B PROCESSING',
  'A→B ACCEPT',
  'B→A ACK',
  'A→client OFFER',
  'client→A PROCESSING',
  'client→A ACCEPT',
  'A→client ACK',
];

const CHILD_WALK = [
  'AwaitingProcessing',
  'ChildCreated',
  'ChildPQOSent',
  'ChildServerProcessing',
  'ChildOfferReceived',
  'ChildOfferProcessing',
  'ChildAcceptSent',
  'ChildCompleted',
  'AwaitingProcessing',
  'OfferProposed',
  'ProcessingReceived',
  'AcceptReceived',
  'Completed',
];

/** Runs Figure 7 up to the merged OFFER at the client. */
function toOffer(w: World): void {
  w.quote();
  w.run(() => w.customerState() === 'OfferProcessing');
}

function toAgreement(w: World): void {
  toOffer(w);
  assert.ok(w.sim.apply('customer', w.customer.accept(ORDER)).ok);
  w.run(() => w.customerState() === 'Completed');
  w.sim.runUntilIdle({ maxTimeMs: 3_600_000 });
}

describe('cascaded negotiation (RFC 8921 8.8, Figure 7), three engines', () => {
  it('Figure 7: child order at B, merged offer, agreement on all three', () => {
    const w = new World();
    toAgreement(w);
    assert.deepEqual(w.trace(), FIGURE_7);

    // 8.8 / 9.2.2: the client is told that external resources are requested.
    const processing = w.messages('A', Method.PROCESSING).find((m) => m.customerOrderId === ORDER);
    assert.ok(processing?.method === Method.PROCESSING);
    assert.equal(processing.processingSubcode, 2);
    assert.equal(processing.expectedOfferTime, undefined, 'a plain PROCESSING, not a request for more time');

    // A walked every Child* state of 8.11.2, then the parent states to Completed.
    const parent = w.parent();
    assert.deepEqual(parent.history.map((h) => h.to), ['PQOReceived', ...CHILD_WALK]);
    assert.equal(parent.fsm.state, 'Completed');
    assert.equal(parent.fsm.agreementHasChildren, true);
    assert.equal(w.customerState(), 'Completed');

    // The child order: A's own identity toward B, an id that is no Provider Order Identifier.
    const [child] = w.a.coordinator.childrenOf(parent.id);
    assert.ok(child);
    assert.equal(child.childId, `child-${parent.id}-1`);
    assert.notEqual(child.childId, parent.id);
    assert.equal(child.status, 'agreed');
    assert.equal(w.a.client.state(child.childId), 'Completed');
    const childQuotation = w.messages('A', Method.QUOTATION)[0];
    assert.ok(childQuotation?.method === Method.QUOTATION);
    assert.equal(childQuotation.customerOrderId, child.childId);
    assert.deepEqual(childQuotation.ies?.customer, { name: 'Example Networks', contact: { email: 'cpnp@example.net', phones: ['+33 2 99 00 00 00'] } });
    assert.ok(childQuotation.expectedResponseTime, 'B is told by when to answer (9.1.6)');
    const [bOrder] = w.bOrders();
    assert.ok(bOrder);
    assert.equal(bOrder.fsm.state, 'Completed');
    assert.equal(bOrder.owner, 'example-networks');
    assert.equal(bOrder.customerOrderId, child.childId);
    assert.deepEqual(bOrder.requestedCpd[0]?.nodes.map((n) => n.id), ['ce-oslo']);

    // The merged offer holds A's and B's parts: both nodes, delay 10 (A premium) + 8 (B gold),
    // the bottleneck capacity.
    const agreed = w.customer.order(ORDER)?.agreement?.cpd;
    assert.ok(agreed);
    assert.deepEqual(agreed[0]?.nodes.map((n) => n.id), ['ce-paris', 'ce-oslo']);
    assert.deepEqual(agreed[0]?.qos, { kind: 'quantitative', delayMs: 18 });
    assert.deepEqual(agreed[0]?.capacity, { inMbps: 100, outMbps: 100 });
    assert.deepEqual(w.customer.order(ORDER)?.offer?.ies?.provider?.name, 'Example Networks');

    // Capacity: committed on both sides, only for each one's own part.
    assert.deepEqual(w.a.decision.ledger.available('west'), { inMbps: 9900, outMbps: 9900 });
    assert.deepEqual(w.bDecision.ledger.available('oslo'), { inMbps: 700, outMbps: 700 });
    assert.equal(w.a.decision.explain(parent.id)?.status, 'agreed');
    assert.equal(w.a.coordinator.cascade(parent.id)?.status, 'merged');
  });

  it('the client declines: A withdraws the child agreement from B; capacity released on both', () => {
    const w = new World();
    toOffer(w);
    assert.ok(w.sim.apply('customer', w.customer.decline(ORDER)).ok);
    w.run(() => w.customerState() === 'Cancelled' && w.bOrders()[0]?.fsm.state === 'Cancelled');
    w.sim.runUntilIdle({ maxTimeMs: 3_600_000 });
    assert.deepEqual(w.trace().slice(FIGURE_7.indexOf('client→A PROCESSING')), [
      'client→A PROCESSING',
      'client→A DECLINE',
      'A→client ACK',
      'A→B WITHDRAW',
      'B→A ACK',
    ]);
    const parent = w.parent();
    assert.equal(parent.fsm.state, 'Cancelled');
    assert.equal(parent.fsm.cancelReason, 'declined');
    assert.equal(w.bOrders()[0]?.fsm.cancelReason, 'withdrawn');
    const [child] = w.a.coordinator.childrenOf(parent.id);
    assert.equal(child?.status, 'withdrawn');
    assert.equal(w.a.client.order(child?.childId ?? '')?.fsm.outstanding, undefined, 'B acknowledged the WITHDRAW');
    assert.deepEqual(w.a.decision.ledger.available('west'), { inMbps: 10000, outMbps: 10000 });
    assert.deepEqual(w.bDecision.ledger.available('oslo'), { inMbps: 800, outMbps: 800 });
    assert.equal(w.a.decision.explain(parent.id)?.status, 'ended');
  });

  it('the offer expires: A withdraws the child agreement too (nothing is sent to the client, 9.1.8)', () => {
    const w = new World();
    toOffer(w);
    w.run(() => w.parent().fsm.state === 'Cancelled' && w.bOrders()[0]?.fsm.state === 'Cancelled');
    assert.equal(w.parent().fsm.cancelReason, 'expired');
    assert.equal(w.bOrders()[0]?.fsm.cancelReason, 'withdrawn');
    assert.deepEqual(w.trace().slice(FIGURE_7.indexOf('client→A ACCEPT')), ['A→B WITHDRAW', 'B→A ACK']);
    assert.deepEqual(w.bDecision.ledger.available('oslo'), { inMbps: 800, outMbps: 800 });
    assert.deepEqual(w.a.decision.ledger.available('west'), { inMbps: 10000, outMbps: 10000 });
  });

  it('B fails (out of resources): the client gets FAIL 5, nothing stays held on A (C19)', () => {
    const w = new World(partnerPolicy((p) => ({ ...p, pools: { ...p.pools, oslo: { inMbps: 40, outMbps: 40 } } })));
    w.quote();
    w.run(() => w.customerState() === 'Cancelled');
    w.sim.runUntilIdle({ maxTimeMs: 3_600_000 });
    assert.deepEqual(w.trace(), ['client→A QUOTATION', 'A→client PROCESSING', 'A→B QUOTATION', 'B→A FAIL', 'A→client FAIL']);
    const fail = w.messages('A', Method.FAIL)[0];
    assert.ok(fail?.method === Method.FAIL);
    assert.equal(fail.statusCode, 5);
    const parent = w.parent();
    assert.deepEqual(parent.history.map((h) => h.to), ['PQOReceived', 'AwaitingProcessing', 'ChildCreated', 'ChildPQOSent', 'AwaitingProcessing', 'Cancelled']);
    assert.equal(parent.fsm.cancelReason, 'failed');
    assert.equal(w.customer.order(ORDER)?.fsm.cancelReason, 'failed');
    assert.deepEqual(w.a.decision.ledger.available('west'), { inMbps: 10000, outMbps: 10000 });
    assert.equal(w.a.decision.ledger.order(parent.id), undefined);
    assert.equal(w.a.decision.partnerPlan(parent.id), undefined);
    assert.match(w.a.decision.explain(parent.id)?.decisions.at(-1)?.reasons[0] ?? '', /carrier-b.*FAIL 5/);
    assert.equal(w.a.coordinator.childrenOf(parent.id)[0]?.failStatus, 5);
  });

  it('B promises an offer too late: the child deadline CANCELs the child order and the client gets FAIL 5', () => {
    // B answers PROCESSING with an EXPECTED_OFFER_TIME 2 minutes away; A's child timer is 30 s.
    const w = new World(partnerPolicy((p) => ({ ...p, decisionDelay: { kind: 'pending', offerAfterMs: 120_000 } })));
    w.quote();
    w.run(() => w.customerState() === 'Cancelled');
    w.sim.runUntilIdle({ maxTimeMs: 3_600_000 });
    // The FAIL to the client and the CANCEL to B leave at the same instant (server part first).
    assert.deepEqual(w.trace(), [
      'client→A QUOTATION',
      'A→client PROCESSING',
      'A→B QUOTATION',
      'B→A PROCESSING',
      // A time later than the child's EXPECTED_RESPONSE_TIME is a more-time request the client
      // decides (9.1.7, 11.1.1; docs/state-machines.md C5): the coordinator refuses it (FAIL 7).
      'A→B FAIL',
      'A→client FAIL',
      'A→B CANCEL',
      'B→A ACK',
    ]);
    const bProcessing = w.messages('B', Method.PROCESSING)[0];
    assert.ok(bProcessing?.method === Method.PROCESSING && bProcessing.expectedOfferTime !== undefined);
    // The child order was created 1 ms after T0; its deadline is rounded up to whole seconds.
    const cancel = w.sim.sends.find((s) => s.message.method === Method.CANCEL);
    assert.equal(cancel?.at, T0 + 31_000, 'at the child deadline, long before the time B promised');
    assert.equal(w.bOrders()[0]?.fsm.cancelReason, 'cancelled');
    const parent = w.parent();
    assert.equal(parent.fsm.cancelReason, 'failed');
    assert.equal(w.a.coordinator.childrenOf(parent.id)[0]?.endedBy, 'timeout');
    assert.deepEqual(w.bDecision.ledger.available('oslo'), { inMbps: 800, outMbps: 800 });
  });

  it('scope "local": FAIL 6 at once, B is never contacted (8.8, 9.1.10.3)', () => {
    const w = new World();
    w.quote({ options: { scope: 'local' } });
    w.run(() => w.customerState() === 'Cancelled');
    w.sim.runUntilIdle({ maxTimeMs: 3_600_000 });
    assert.deepEqual(w.trace(), ['client→A QUOTATION', 'A→client FAIL']);
    const fail = w.messages('A', Method.FAIL)[0];
    assert.ok(fail?.method === Method.FAIL);
    assert.equal(fail.statusCode, 6);
    assert.ok(w.net.log.every((entry) => entry.packet.to.address !== w.bEndpoint.address), 'no packet to B');
    assert.deepEqual(w.bOrders(), []);
    assert.equal(w.a.coordinator.cascade(w.parent().id), undefined);
  });

  for (const checkpoint of ['ChildPQOSent', 'ChildAcceptSent'] as const) {
    it(`A restarts from snapshots in ${checkpoint} (QUOTATION / ACCEPT in flight to B) and completes Figure 7`, () => {
      const w = new World();
      w.quote();
      w.run(() => w.a.server.listOrders()[0]?.fsm.state === checkpoint);
      assert.ok(w.net.inFlight() > 0, 'a message to B is in flight');
      const before = w.a.coordinator.snapshot();
      w.restartA();
      assert.deepEqual(w.a.coordinator.snapshot(), before);
      assert.ok(w.sim.apply('customer', w.customer.accept(ORDER)).ok === false, 'no offer yet');
      w.run(() => w.customerState() === 'OfferProcessing');
      assert.ok(w.sim.apply('customer', w.customer.accept(ORDER)).ok);
      w.run(() => w.customerState() === 'Completed');
      w.sim.runUntilIdle({ maxTimeMs: 3_600_000 });
      assert.deepEqual(w.trace(), FIGURE_7);
      const parent = w.parent();
      assert.deepEqual(parent.history.map((h) => h.to), ['PQOReceived', ...CHILD_WALK]);
      assert.equal(w.bOrders()[0]?.fsm.state, 'Completed');
      assert.deepEqual(w.customer.order(ORDER)?.agreement?.cpd[0]?.nodes.map((n) => n.id), ['ce-paris', 'ce-oslo']);
      assert.deepEqual(w.a.decision.ledger.available('west'), { inMbps: 9900, outMbps: 9900 });
    });
  }
});
