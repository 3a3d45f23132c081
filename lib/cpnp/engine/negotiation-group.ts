/**
 * Parallel negotiation (RFC 8921 8.10): one customer request negotiated with several servers at
 * once, under one group id and one EXPECTED_RESPONSE_TIME ("the CPNP client needs to have the
 * ability to synchronize the receipt of the responses from the servers", 9.1.6).
 *
 * ParallelNegotiator sits on top of a ClientEngine and stays pure like it: no I/O, injected
 * clock, every call returns an EngineOutput. It places one order per server, collects the offers
 * until every server answered or the deadline passed, then picks one with a selection rule
 * (first, cheapest, best-diff or a callback) or waits for the application's manual choice. The
 * chosen offer is accepted, every other offer is declined with reason 2 ("conflict with another
 * offer from another server", Table 3), and an offer arriving after the decision is declined too.
 * Orders still waiting for an offer at the deadline are cancelled by their own response timer
 * (the same EXPECTED_RESPONSE_TIME, 8.5). Group events (kind 'group') tell the UI what happens.
 *
 * Wiring: give the negotiator's `core` to the runner or the simulation instead of the engine
 * (it routes receive/tick through the engine and reacts to what comes out), and send commands
 * that concern groups through the negotiator. docs/client-engine.md section 12.
 */
import type { Clock } from '../clock';
import { diffCpd, type DiffSummary } from '../cpd/diff';
import type { Cpd } from '../cpd/types';
import { dateTimeToMillis, type DateTime } from '../date-time';
import { DeclineReason } from '../decline-reason';
import { toHex } from '../hex';
import type { InformationElements } from '../information-elements';
import type { RandomSource } from '../random';
import type { Endpoint, Inbound } from '../transport/transport';
import type { ClientEngine, ClientOffer, CommandResult, RefusalCode } from './client-engine';
import type { ClientChanges } from './client-engine';
import { appendOutput, emptyOutput, type EngineEvent, type EngineOutput, type JournaledCore } from './output';

/** What one step changed, for the runner's commit hook: the engine's orders and the groups. */
export interface GroupChanges extends ClientChanges {
  groups: GroupRecord[];
}

/** One offer as the selection rule sees it. */
export interface GroupOffer {
  orderId: string;
  server: Endpoint;
  offer: ClientOffer;
  /** Clause-by-clause summary against the request (cpd/diff.ts). */
  diff: DiffSummary;
  /** From GroupInput.price, when given (CPNP carries no price: the application knows it). */
  price?: number;
  receivedAt: number;
}

/**
 * How the offer is chosen: the first to arrive, the cheapest (needs GroupInput.price), the one
 * closest to the request (best diff: fewest misses, then fewest narrowed clauses, then the
 * earliest), a callback returning an order id (undefined: none acceptable), or 'manual'.
 */
export type SelectionRule = 'first' | 'cheapest' | 'best-diff' | 'manual' | ((offers: GroupOffer[]) => string | undefined);

export interface GroupInput {
  /** Default: "G-" and 12 random hex digits. */
  groupId?: string;
  cpd: Cpd;
  ies?: InformationElements;
  /** The one deadline of the group, sent as EXPECTED_RESPONSE_TIME to every server (9.1.6). */
  expectedResponseTime: DateTime;
  servers: { server: Endpoint; serverIdentity?: string; customerOrderId?: string }[];
  select: Exclude<SelectionRule, (offers: GroupOffer[]) => string | undefined> | 'callback';
  /** select 'callback': the rule. Not persisted: pass it again after a restore (restore's `callbacks`). */
  callback?: (offers: GroupOffer[]) => string | undefined;
  /** select 'cheapest': the price of an offer (undefined: not comparable, never chosen). */
  price?: (offer: ClientOffer, server: Endpoint) => number | undefined;
  /** Decide as soon as every server answered (default true); else wait for the deadline. */
  decideWhenAllAnswered?: boolean;
}

export type GroupStatus = 'collecting' | 'choosing' | 'decided' | 'failed' | 'cancelled';

/** A group as stored (plain JSON). */
export interface GroupRecord {
  groupId: string;
  orderIds: string[];
  deadline: number;
  select: GroupInput['select'];
  decideWhenAllAnswered: boolean;
  status: GroupStatus;
  /** Offers in arrival order (order id, time). */
  offers: { orderId: string; receivedAt: number; price?: number }[];
  chosen?: string;
  /** Offers declined because another was chosen or they came late. */
  declined: string[];
  createdAt: number;
  decidedAt?: number;
  reason?: string;
}

export type GroupResult = EngineOutput & ({ ok: true; groupId: string; orderIds: string[] } | { ok: false; code: RefusalCode; reason: string });

export interface ParallelNegotiatorSnapshot {
  format: 'cpnp-parallel-negotiator';
  version: 1;
  groups: GroupRecord[];
}

const ENDED = new Set(['Cancelled', 'Completed']);

export class ParallelNegotiator {
  private readonly groups = new Map<string, GroupRecord>();
  private readonly byOrder = new Map<string, string>();
  private readonly callbacks = new Map<string, { callback?: GroupInput['callback']; price?: GroupInput['price'] }>();
  /** The groups as they were at begin() (JSON), for rollback and changes(). */
  private journal: Map<string, string> | undefined;

  constructor(
    readonly engine: ClientEngine,
    private readonly deps: { clock: Clock; random: RandomSource },
    restored?: ParallelNegotiatorSnapshot,
  ) {
    if (restored === undefined) return;
    if (restored.format !== 'cpnp-parallel-negotiator' || restored.version !== 1) throw new RangeError('not a parallel negotiator snapshot (version 1)');
    for (const group of structuredClone(restored.groups)) this.register(group);
  }

  snapshot(): ParallelNegotiatorSnapshot {
    return { format: 'cpnp-parallel-negotiator', version: 1, groups: structuredClone([...this.groups.values()]) };
  }

  /** A callback or price function after a restore (they are code, not data). */
  attach(groupId: string, fns: { callback?: GroupInput['callback']; price?: GroupInput['price'] }): void {
    this.callbacks.set(groupId, fns);
  }

  group(groupId: string): GroupRecord | undefined {
    const group = this.groups.get(groupId);
    return group === undefined ? undefined : structuredClone(group);
  }

  groupOf(orderId: string): string | undefined {
    return this.byOrder.get(orderId);
  }

  /** The offers of a group as the selection rule sees them (for a manual choice in a UI). */
  offers(groupId: string): GroupOffer[] {
    const group = this.groups.get(groupId);
    if (group === undefined) return [];
    const out: GroupOffer[] = [];
    for (const { orderId, receivedAt, price } of group.offers) {
      const rec = this.engine.order(orderId);
      const state = rec?.fsm.state;
      if (rec?.offer === undefined || (state !== 'OfferReceived' && state !== 'OfferProcessing')) continue;
      out.push({ orderId, server: rec.server, offer: rec.offer, diff: diffCpd(rec.request.cpd, rec.offer.cpd).summary, receivedAt, ...(price === undefined ? {} : { price }) });
    }
    return out;
  }

  /** Places one QUOTATION per server, all with the group's deadline (approved and sent at once). */
  start(input: GroupInput): GroupResult {
    const out = this.tick();
    const groupId = input.groupId ?? `G-${toHex(this.deps.random.bytes(6))}`;
    const refuse = (code: RefusalCode, reason: string): GroupResult => {
      out.events.push(this.event('group-refused', groupId, undefined, reason));
      return { ...out, ok: false, code, reason };
    };
    if (this.groups.has(groupId)) return refuse('duplicate-order', `group ${groupId} exists`);
    if (input.servers.length === 0) return refuse('invalid-input', 'a group needs at least one server');
    if (input.select === 'callback' && input.callback === undefined) return refuse('invalid-input', 'select "callback" needs a callback');
    if (input.select === 'cheapest' && input.price === undefined) return refuse('invalid-input', 'select "cheapest" needs a price function');
    const orderIds: string[] = [];
    for (const target of input.servers) {
      const created = this.engine.createOrder({
        cpd: input.cpd,
        ...(input.ies === undefined ? {} : { ies: input.ies }),
        expectedResponseTime: input.expectedResponseTime,
        server: target.server,
        ...(target.serverIdentity === undefined ? {} : { serverIdentity: target.serverIdentity }),
        ...(target.customerOrderId === undefined ? {} : { customerOrderId: target.customerOrderId }),
        groupId,
      });
      appendOutput(out, created);
      if (!created.ok) {
        // Nothing was sent yet: the orders already created are dropped locally.
        for (const id of orderIds) appendOutput(out, this.engine.cancel(id));
        return refuse(created.code, `server ${target.server.address}:${target.server.port}: ${created.reason}`);
      }
      orderIds.push(created.orderId);
    }
    const group: GroupRecord = {
      groupId,
      orderIds,
      deadline: dateTimeToMillis(input.expectedResponseTime),
      select: input.select,
      decideWhenAllAnswered: input.decideWhenAllAnswered ?? true,
      status: 'collecting',
      offers: [],
      declined: [],
      createdAt: this.deps.clock.now(),
    };
    this.register(group);
    this.callbacks.set(groupId, { ...(input.callback === undefined ? {} : { callback: input.callback }), ...(input.price === undefined ? {} : { price: input.price }) });
    out.events.push(this.event('group-started', groupId, undefined, `${orderIds.length} servers, deadline ${input.expectedResponseTime}`));
    for (const id of orderIds) {
      this.react(this.engineCommand(out, this.engine.approve(id)), out);
      this.react(this.engineCommand(out, this.engine.sendQuotation(id)), out);
    }
    return { ...out, ok: true, groupId, orderIds };
  }

  /** The application's manual choice (select 'manual', or to override before the decision). */
  choose(groupId: string, orderId: string): GroupResult {
    const out = this.tick();
    const group = this.groups.get(groupId);
    if (group === undefined) return { ...out, ok: false, code: 'unknown-order', reason: `unknown group ${groupId}` };
    if (group.status !== 'choosing' && group.status !== 'collecting') return { ...out, ok: false, code: 'wrong-state', reason: `group ${groupId} is ${group.status}` };
    if (!this.offers(groupId).some((o) => o.orderId === orderId)) return { ...out, ok: false, code: 'wrong-state', reason: `${orderId} has no open offer in group ${groupId}` };
    this.decideFor(group, orderId, 'manual choice', out);
    return { ...out, ok: true, groupId, orderIds: [...group.orderIds] };
  }

  /** Ends the group without agreement: every order cancelled or its offer declined. */
  cancel(groupId: string): GroupResult {
    const out = this.tick();
    const group = this.groups.get(groupId);
    if (group === undefined) return { ...out, ok: false, code: 'unknown-order', reason: `unknown group ${groupId}` };
    if (group.status === 'decided' || group.status === 'failed' || group.status === 'cancelled') {
      return { ...out, ok: false, code: 'wrong-state', reason: `group ${groupId} is ${group.status}` };
    }
    group.status = 'cancelled';
    group.decidedAt = this.deps.clock.now();
    for (const id of group.orderIds) this.endOrder(group, id, out);
    out.events.push(this.event('group-cancelled', groupId));
    return { ...out, ok: true, groupId, orderIds: [...group.orderIds] };
  }

  /**
   * The engine core to run (runner or simulation): the engine, plus the groups' reactions. It is
   * journaled like the engine, so the runner's commit hook gets the changed orders and the
   * changed groups of each step, and a failed commit rolls both back.
   */
  get core(): JournaledCore<GroupChanges> {
    return {
      receive: (inbound: Inbound) => this.receive(inbound),
      tick: () => this.tick(),
      nextDue: () => this.nextDue(),
      begin: () => {
        this.engine.begin();
        this.journal = new Map([...this.groups].map(([id, g]) => [id, JSON.stringify(g)]));
      },
      changes: () => {
        const before = this.journal ?? new Map<string, string>();
        const groups = [...this.groups.values()].filter((g) => before.get(g.groupId) !== JSON.stringify(g)).map((g) => structuredClone(g));
        return { ...this.engine.changes(), groups };
      },
      settle: () => {
        this.engine.settle();
        this.journal = undefined;
      },
      rollback: () => {
        this.engine.rollback();
        const before = this.journal;
        this.journal = undefined;
        if (before === undefined) return;
        this.groups.clear();
        this.byOrder.clear();
        for (const text of before.values()) this.register(JSON.parse(text) as GroupRecord);
      },
    };
  }

  receive(inbound: Inbound): EngineOutput {
    const out = emptyOutput();
    const received = this.engine.receive(inbound);
    appendOutput(out, received);
    this.react(received, out);
    this.checkDeadlines(out);
    return out;
  }

  tick(): EngineOutput {
    const out = emptyOutput();
    const ticked = this.engine.tick();
    appendOutput(out, ticked);
    this.react(ticked, out);
    this.checkDeadlines(out);
    return out;
  }

  nextDue(): number | undefined {
    let next = this.engine.nextDue();
    for (const group of this.groups.values()) {
      if (group.status === 'collecting' && (next === undefined || group.deadline < next)) next = group.deadline;
    }
    return next;
  }

  /**
   * Reacts to an output of the engine obtained elsewhere (a command sent to the engine
   * directly): returns only what the reaction added.
   */
  afterEngineOutput(output: EngineOutput): EngineOutput {
    const out = emptyOutput();
    this.react(output, out);
    return out;
  }

  // --- internals ----------------------------------------------------------------------------

  private register(group: GroupRecord): void {
    this.groups.set(group.groupId, group);
    for (const id of group.orderIds) this.byOrder.set(id, group.groupId);
  }

  /** Runs an engine command inside a reaction and appends its output. */
  private engineCommand(out: EngineOutput, result: CommandResult): CommandResult {
    appendOutput(out, result);
    return result;
  }

  /** Looks at the events of the engine's `output` (already appended to `out`) and appends the reactions there. */
  private react(output: EngineOutput, out: EngineOutput): void {
    const touched = new Set<string>();
    for (const event of output.events) {
      if (event.orderId === undefined) continue;
      const groupId = this.byOrder.get(event.orderId);
      if (groupId === undefined) continue;
      const group = this.groups.get(groupId);
      if (group === undefined) continue;
      if (event.kind === 'offer') this.offerArrived(group, event.orderId, out);
      touched.add(groupId);
    }
    for (const groupId of touched) {
      const group = this.groups.get(groupId);
      if (group?.status === 'collecting' && group.decideWhenAllAnswered && this.allAnswered(group)) this.decide(group, 'every server answered', out);
    }
  }

  private offerArrived(group: GroupRecord, orderId: string, out: EngineOutput): void {
    const now = this.deps.clock.now();
    if (group.status === 'collecting' || group.status === 'choosing') {
      if (group.status === 'choosing' && now > group.deadline) {
        this.decline(group, orderId, out, 'group-late-offer-declined');
        return;
      }
      const rec = this.engine.order(orderId);
      const priceFn = this.callbacks.get(group.groupId)?.price;
      const price = rec?.offer === undefined || priceFn === undefined ? undefined : priceFn(rec.offer, rec.server);
      group.offers = group.offers.filter((o) => o.orderId !== orderId);
      group.offers.push({ orderId, receivedAt: now, ...(price === undefined ? {} : { price }) });
      out.events.push(this.event('group-offer', group.groupId, orderId, price === undefined ? undefined : `price ${price}`));
      // 'first' needs no more answers: the first offer is the one.
      if (group.select === 'first' && group.status === 'collecting') this.decide(group, 'first offer', out);
      return;
    }
    // Decided, failed or cancelled: an offer arriving now is declined (8.10; reason 2).
    this.decline(group, orderId, out, 'group-late-offer-declined');
  }

  private allAnswered(group: GroupRecord): boolean {
    return group.orderIds.every((id) => {
      const state = this.engine.state(id);
      return state === undefined || ENDED.has(state) || state === 'OfferReceived' || state === 'OfferProcessing';
    });
  }

  private checkDeadlines(out: EngineOutput): void {
    const now = this.deps.clock.now();
    for (const group of this.groups.values()) {
      if (group.status === 'collecting' && now >= group.deadline) this.decide(group, 'deadline', out);
    }
  }

  /** The decision point: apply the rule, or hand over to the application (manual). */
  private decide(group: GroupRecord, why: string, out: EngineOutput): void {
    const offers = this.offers(group.groupId);
    if (offers.length === 0) {
      group.status = 'failed';
      group.decidedAt = this.deps.clock.now();
      group.reason = `no offer (${why})`;
      for (const id of group.orderIds) this.endOrder(group, id, out);
      out.events.push(this.event('group-failed', group.groupId, undefined, group.reason));
      return;
    }
    if (group.select === 'manual') {
      group.status = 'choosing';
      out.events.push(this.event('group-ready', group.groupId, undefined, `${offers.length} offer(s) to choose from (${why})`));
      return;
    }
    const chosen = this.pick(group, offers);
    if (chosen === undefined) {
      group.status = 'failed';
      group.decidedAt = this.deps.clock.now();
      group.reason = `no acceptable offer (${why})`;
      for (const id of group.orderIds) this.endOrder(group, id, out);
      out.events.push(this.event('group-failed', group.groupId, undefined, group.reason));
      return;
    }
    this.decideFor(group, chosen, `${group.select} (${why})`, out);
  }

  private pick(group: GroupRecord, offers: GroupOffer[]): string | undefined {
    const byArrival = [...offers].sort((a, b) => a.receivedAt - b.receivedAt);
    switch (group.select) {
      case 'first':
        return byArrival[0]?.orderId;
      case 'cheapest': {
        const priced = byArrival.filter((o) => o.price !== undefined);
        priced.sort((a, b) => (a.price as number) - (b.price as number) || a.receivedAt - b.receivedAt);
        return priced[0]?.orderId;
      }
      case 'best-diff': {
        const rank = (o: GroupOffer): number => ({ meets: 0, narrows: 1, misses: 2 })[o.diff.overall];
        byArrival.sort((a, b) => rank(a) - rank(b) || a.diff.misses - b.diff.misses || a.diff.narrows - b.diff.narrows || a.receivedAt - b.receivedAt);
        return byArrival[0]?.orderId;
      }
      case 'callback': {
        const chosen = this.callbacks.get(group.groupId)?.callback?.(structuredClone(byArrival));
        return chosen !== undefined && offers.some((o) => o.orderId === chosen) ? chosen : undefined;
      }
      default:
        return undefined;
    }
  }

  /** Accepts `chosen`, declines every other open offer (reason 2), cancels the rest. */
  private decideFor(group: GroupRecord, chosen: string, why: string, out: EngineOutput): void {
    group.status = 'decided';
    group.chosen = chosen;
    group.decidedAt = this.deps.clock.now();
    group.reason = why;
    const accepted = this.engineCommand(out, this.engine.accept(chosen));
    if (!accepted.ok) {
      group.status = 'failed';
      group.reason = `the chosen offer could not be accepted: ${accepted.code}`;
    }
    for (const id of group.orderIds) if (id !== chosen) this.endOrder(group, id, out);
    out.events.push(this.event(group.status === 'decided' ? 'group-decided' : 'group-failed', group.groupId, chosen, group.reason));
  }

  /** Ends one order of a group that was not chosen: decline an open offer, else cancel. */
  private endOrder(group: GroupRecord, orderId: string, out: EngineOutput): void {
    const state = this.engine.state(orderId);
    if (state === undefined || ENDED.has(state) || state === 'AcceptSent') return;
    if (state === 'OfferReceived' || state === 'OfferProcessing') {
      this.decline(group, orderId, out, 'group-offer-declined');
      return;
    }
    this.engineCommand(out, this.engine.cancel(orderId));
  }

  private decline(group: GroupRecord, orderId: string, out: EngineOutput, cause: string): void {
    const result = this.engineCommand(out, this.engine.decline(orderId, [DeclineReason.CONFLICT_WITH_OTHER_OFFER]));
    if (!result.ok) return;
    if (!group.declined.includes(orderId)) group.declined.push(orderId);
    out.events.push(this.event(cause, group.groupId, orderId, 'DECLINE, reason 2 (conflict with another offer)'));
  }

  private event(cause: string, groupId: string, orderId?: string, detail?: string): EngineEvent {
    return {
      kind: 'group',
      side: 'client',
      at: this.deps.clock.now(),
      cause,
      data: { groupId },
      ...(orderId === undefined ? {} : { orderId }),
      ...(detail === undefined ? {} : { detail }),
    };
  }
}
