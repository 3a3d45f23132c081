/**
 * Cascaded negotiation (RFC 8921 8.8 child PQOs, 8.9 multi-segment service, Figure 7): the
 * glue between a Provider's server engine (the parent orders of its customers), its decision
 * engine (which part of a request goes to which partner, and how the partners' offers merge)
 * and its own client engine toward the partner Providers (the child orders).
 *
 * The coordinator is framework-free and synchronous, like the engines: every input returns the
 * messages both engines must send. It owns no socket, no timer and no clock of its own; it
 * keeps one deadline per child order, exposed through nextDue() and fired by tick().
 *
 *   customer ──QUOTATION──▶ server engine ──decide──▶ decision engine: "pending, subcode 2"
 *   customer ◀─PROCESSING(2)─┘     │  partnerPlan(order)
 *                                  ▼
 *           coordinator: needChildOrder, sendChildQuotation ──▶ client engine ──QUOTATION──▶ partner
 *           client events (PROCESSING, OFFER, ACK, FAIL, timeouts) ──▶ the parent's Child* events
 *           ChildCompleted ──▶ resumeParent ──▶ completePartners (merge) ──▶ completeDecision: OFFER
 *
 * The server machine decides, the coordinator performs: every effect the machine addresses to
 * the child server (send QUOTATION / PROCESSING / ACCEPT / DECLINE / CANCEL / WITHDRAW, the
 * child timer, withdrawChildAgreements) becomes a command of the client engine. Each reaction
 * is driven by the state of both orders, not by counting messages, so it is idempotent and
 * resumes after snapshot()/restore(). docs/cascaded-negotiation.md explains the flow and the
 * choices made where the RFC leaves room.
 */
import type { Clock } from '../cpnp/clock';
import { decodeMessage } from '../cpnp/codec';
import { diffCpd } from '../cpnp/cpd/diff';
import type { Cpd } from '../cpnp/cpd/types';
import { dateTimeToMillis, millisToDateTime } from '../cpnp/date-time';
import type { Decision } from '../cpnp/engine/decider';
import { DeclineReason } from '../cpnp/decline-reason';
import type { ClientEngine } from '../cpnp/engine/client-engine';
import { appendOutput, emptyOutput, type EngineCore, type EngineEvent, type EngineEventKind, type EngineOutput } from '../cpnp/engine/output';
import { childEffectOf, type ServerChildEvent, type ServerEngine, type ServerOrderRecord } from '../cpnp/engine/server-engine';
import type { ServerEffect } from '../cpnp/fsm/server';
import type { ServerState } from '../cpnp/fsm/states';
import type { CustomerDescription, InformationElements, NegotiationOptions } from '../cpnp/information-elements';
import { Method } from '../cpnp/method';
import { ProcessingSubcode } from '../cpnp/processing-subcode';
import { StatusCode, type StatusCodeValue } from '../cpnp/status-code';
import type { Endpoint, Inbound } from '../cpnp/transport/transport';
import type { DecisionEngine } from './decision-engine';
import type { PartnerPlan, PartnerRequest } from './partner-plan';
import type { Policy } from './policy';

// ---------------------------------------------------------------------------------------------
// Public types

/** What the coordinator uses of each engine (the real classes fit; tests may pass narrower ones). */
export type CoordinatedServer = Pick<
  ServerEngine,
  'receive' | 'tick' | 'nextDue' | 'getOrder' | 'applyChildEvent' | 'completeDecision' | 'requestMoreTime'
>;
export type CoordinatedClient = Pick<
  ClientEngine,
  | 'receive'
  | 'tick'
  | 'nextDue'
  | 'order'
  | 'createOrder'
  | 'approve'
  | 'sendQuotation'
  | 'processOffer'
  | 'accept'
  | 'decline'
  | 'cancel'
  | 'withdraw'
  | 'grantMoreTime'
  | 'refuseMoreTime'
>;
export type PartnerDecider = Pick<DecisionEngine, 'partnerPlan' | 'completePartners' | 'abandonPartners'>;

/** Where a partner's CPNP server is reached (the child orders' server, 8.8). */
export interface PartnerLink {
  server: Endpoint;
  /** The identity its transport authenticates, checked on every answer (client engine, RFC 13). */
  serverIdentity?: string;
}

export interface PartnerCoordinatorConfig {
  /**
   * How long one child order may take, from its QUOTATION to the partner's ACK: the server
   * machine's child timer, also sent to the partner as EXPECTED_RESPONSE_TIME (9.1.6).
   */
  childTimeoutMs: number;
  /** The Customer Description (9.1.10.1) the child orders carry: this Provider, as the partner's customer. */
  identity?: CustomerDescription;
}

export interface PartnerCoordinatorDeps {
  serverEngine: CoordinatedServer;
  decisionEngine: PartnerDecider;
  /** The Provider's own client engine toward its partners. */
  clientEngine: CoordinatedClient;
  /** Partner id (as in the policy's links and partners) → its server. */
  partners: Readonly<Record<string, PartnerLink>>;
  clock: Clock;
  config?: Partial<PartnerCoordinatorConfig>;
}

/** What one input produced for each engine: the runner sends `server` on the server's transport, `client` on the client's. */
export interface CascadeOutput {
  server: EngineOutput;
  client: EngineOutput;
}

/**
 * negotiating: the child order runs; agreed: the partner ACKed the ACCEPT; failed: it ended
 * without agreement; withdrawing / withdrawn: its agreement is being / was withdrawn (9.2.8).
 */
export type ChildStatus = 'negotiating' | 'agreed' | 'failed' | 'withdrawing' | 'withdrawn';

export interface ChildOrderRecord {
  /** CUSTOMER_ORDER_IDENTIFIER of the child order at the partner (the client engine's key). */
  childId: string;
  /** The parent order (the server engine's Provider Order Identifier). */
  parentId: string;
  partnerId: string;
  /** The parent's negotiation cycle (QUOTATION or UPDATE transaction) the child order serves. */
  cycleTxid: string;
  /** The partner's share of the request (planPartners). */
  requested: Cpd;
  status: ChildStatus;
  createdAt: number;
  /** Absolute time (ms) of the child timer while it runs. */
  deadline?: number;
  /** The partner's offer (kept once accepted: the agreement). */
  offered?: Cpd;
  /** The partner's FAIL status code, when one ended the child order. */
  failStatus?: StatusCodeValue;
  /** Why the child order ended without agreement. */
  endedBy?: string;
}

export interface CascadeRecord {
  parentId: string;
  cycleTxid: string;
  plan: PartnerPlan;
  /** Index in plan.partners of the child order under way (child orders run one after another, C18). */
  next: number;
  /** running; merged: the merged offer was handed to the server engine; failed / ended: stopped. */
  status: 'running' | 'merged' | 'failed' | 'ended';
  startedAt: number;
  reason?: string;
}

export interface PartnerCoordinatorSnapshot {
  format: 'cpnp-partner-coordinator';
  version: 1;
  cascades: CascadeRecord[];
  children: ChildOrderRecord[];
  /** Parent order → the cycle whose PROCESSING already carried subcode 2. */
  notified: Record<string, string>;
}

export const DEFAULT_CHILD_TIMEOUT_MS = 60_000;

// ---------------------------------------------------------------------------------------------
// Helpers

/** The child states in which a child order is out with the partner (the machine's CHILD_OPEN). */
const CHILD_OPEN: readonly ServerState[] = ['ChildPQOSent', 'ChildServerProcessing', 'ChildOfferReceived', 'ChildOfferProcessing', 'ChildAcceptSent'];
/** The child states where the machine accepts childFailReceived (not ChildOfferReceived: C4). */
const CHILD_FAIL_STATES: readonly ServerState[] = ['ChildPQOSent', 'ChildServerProcessing', 'ChildOfferProcessing', 'ChildAcceptSent'];

/**
 * The FAIL status the customer gets when a child order fails: the partner's 5 (Out of
 * Resources) or 6 (Network Presence Error) describe the service and are passed on; anything
 * else (the partner refused us, timed out, made an unusable offer) means the external resources
 * could not be obtained, which is 5 for the customer (9.2.10).
 */
export function parentFailStatus(childStatus: StatusCodeValue | undefined): StatusCodeValue {
  return childStatus === StatusCode.NETWORK_PRESENCE_ERROR ? childStatus : StatusCode.OUT_OF_RESOURCES;
}

/** This Provider as a customer of its partners (9.1.10.1): its name and contact from the policy. */
export function providerIdentity(policy: Policy): CustomerDescription {
  const { name, contact } = policy.provider;
  return { name, ...(contact === undefined ? {} : { contact: structuredClone(contact) }) };
}

/**
 * Partner links from the policy's `partners` (server "host:port", "[v6]:port"). Names are not
 * resolved here (no I/O): pass `resolveHost` to map a host name to an address.
 */
export function partnerLinksFromPolicy(policy: Policy, resolveHost: (host: string) => string = (host) => host): Record<string, PartnerLink> {
  const links: Record<string, PartnerLink> = {};
  for (const [id, partner] of Object.entries(policy.partners)) {
    const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(partner.server);
    const host = match?.[1] ?? match?.[2];
    const port = Number(match?.[3]);
    if (host === undefined || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new RangeError(`partner "${id}": server "${partner.server}" is not host:port`);
    }
    links[id] = { server: { address: resolveHost(host), port } };
  }
  return links;
}

/**
 * Checks a partner's offer against what was asked of it: every CPP answered (mergeOffers pairs
 * them by position) and nothing outside the requested bounds (diffCpd "misses", RFC 8921 8.7).
 * Returns the problems (empty: acceptable).
 */
export function childOfferProblems(requested: Cpd, offered: Cpd): string[] {
  const problems: string[] = [];
  if (offered.length < requested.length) problems.push(`${requested.length} CPP asked, ${offered.length} offered`);
  for (const entry of diffCpd(requested, offered).entries) {
    if (entry.verdict === 'misses') problems.push(`${entry.path}: ${entry.note}`);
  }
  return problems;
}

/** Why a child order failed, for the decision record of the parent (explain). */
function childFailure(child: ChildOrderRecord): string {
  const partner = `partner "${child.partnerId}"`;
  if (child.failStatus !== undefined) return `${partner} answered FAIL ${child.failStatus}`;
  if (child.endedBy === 'timeout') return `${partner} did not conclude child order ${child.childId} in time`;
  return `child order ${child.childId} with ${partner} ended: ${child.endedBy ?? 'without agreement'}`;
}

/** The options a child order inherits: purpose and test period (9.1.10.3). Never an activation type (see docs). */
function childOptions(parent: NegotiationOptions | undefined): NegotiationOptions | undefined {
  if (parent?.purpose === undefined) return undefined;
  return { purpose: parent.purpose, ...(parent.purpose === 'test' && parent.testUntil !== undefined ? { testUntil: parent.testUntil } : {}) };
}

function cycleIes(order: ServerOrderRecord): InformationElements | undefined {
  return order.transactions.find((t) => t.session.txid === order.cycleTxid)?.ies ?? order.ies;
}

const failed = (out: EngineOutput, cause: string): boolean => out.events.some((e) => e.kind === 'command-rejected' && e.cause === cause);

// ---------------------------------------------------------------------------------------------

export class PartnerCoordinator {
  readonly config: PartnerCoordinatorConfig;
  private readonly server: CoordinatedServer;
  private readonly client: CoordinatedClient;
  private readonly decider: PartnerDecider;
  private readonly partners: Readonly<Record<string, PartnerLink>>;
  private readonly clock: Clock;
  private readonly cascades = new Map<string, CascadeRecord>();
  private readonly children = new Map<string, ChildOrderRecord>();
  private readonly notified = new Map<string, string>();
  /**
   * Engine events already reacted to (by identity): an output handed in again, whole or merged
   * into a bigger one (appendOutput keeps the event objects), is not acted on twice.
   */
  private readonly reacted = new WeakSet<EngineEvent>();

  constructor(deps: PartnerCoordinatorDeps, restored?: PartnerCoordinatorSnapshot) {
    this.server = deps.serverEngine;
    this.client = deps.clientEngine;
    this.decider = deps.decisionEngine;
    this.partners = deps.partners;
    this.clock = deps.clock;
    this.config = {
      childTimeoutMs: deps.config?.childTimeoutMs ?? DEFAULT_CHILD_TIMEOUT_MS,
      ...(deps.config?.identity === undefined ? {} : { identity: deps.config.identity }),
    };
    if (!Number.isFinite(this.config.childTimeoutMs) || this.config.childTimeoutMs <= 0) throw new RangeError('childTimeoutMs must be positive');
    if (restored === undefined) return;
    if (restored.format !== 'cpnp-partner-coordinator' || restored.version !== 1) throw new RangeError('not a partner coordinator snapshot (version 1)');
    for (const cascade of structuredClone(restored.cascades)) this.cascades.set(cascade.parentId, cascade);
    for (const child of structuredClone(restored.children)) this.children.set(child.childId, child);
    for (const [parentId, txid] of Object.entries(restored.notified)) this.notified.set(parentId, txid);
  }

  /** Continues from snapshot() with the restored engines; child deadlines are absolute times. */
  static restore(snapshot: PartnerCoordinatorSnapshot, deps: PartnerCoordinatorDeps): PartnerCoordinator {
    return new PartnerCoordinator(deps, snapshot);
  }

  snapshot(): PartnerCoordinatorSnapshot {
    return {
      format: 'cpnp-partner-coordinator',
      version: 1,
      cascades: structuredClone([...this.cascades.values()]),
      children: structuredClone([...this.children.values()]),
      notified: Object.fromEntries(this.notified),
    };
  }

  // --- getters --------------------------------------------------------------------------------

  cascade(parentId: string): CascadeRecord | undefined {
    const cascade = this.cascades.get(parentId);
    return cascade === undefined ? undefined : structuredClone(cascade);
  }

  /** The child orders placed for a parent order, oldest first. */
  childrenOf(parentId: string): ChildOrderRecord[] {
    return structuredClone([...this.children.values()].filter((c) => c.parentId === parentId));
  }

  child(childId: string): ChildOrderRecord | undefined {
    const child = this.children.get(childId);
    return child === undefined ? undefined : structuredClone(child);
  }

  // --- driving ----------------------------------------------------------------------------------

  /** A datagram for the server engine (from a customer): the engine's output plus everything it led to. */
  receiveServer(inbound: Inbound): CascadeOutput {
    const acc = this.newAcc();
    this.fromServer(acc, this.server.receive(inbound));
    return acc;
  }

  /**
   * A datagram for the client engine (from a partner). A FAIL is peeked at first, so that the
   * customer can be told the partner's status code (the client engine keeps only "failed").
   */
  receiveClient(inbound: Inbound): CascadeOutput {
    this.peekFail(inbound);
    const acc = this.newAcc();
    this.fromClient(acc, this.client.receive(inbound));
    return acc;
  }

  /** Fires what is due at clock.now(): both engines' timers, then the child deadlines. */
  tick(): CascadeOutput {
    const acc = this.newAcc();
    this.fromServer(acc, this.server.tick());
    this.fromClient(acc, this.client.tick());
    const now = this.clock.now();
    for (const child of [...this.children.values()]) {
      if (child.status === 'negotiating' && child.deadline !== undefined && child.deadline <= now) this.childDeadline(child, acc);
    }
    return acc;
  }

  /** The earliest time anything is due in either engine or in the child deadlines. */
  nextDue(): number | undefined {
    const times = [this.server.nextDue(), this.client.nextDue()];
    for (const child of this.children.values()) if (child.status === 'negotiating') times.push(child.deadline);
    const due = times.filter((t): t is number => t !== undefined);
    return due.length === 0 ? undefined : Math.min(...due);
  }

  /**
   * Reacts to an output of the server engine obtained elsewhere (a command of the application,
   * a runner's own receive/tick). Returns only what the reaction added: `out` itself is the
   * caller's to send. Every server engine output must come through here (or through
   * receiveServer / tick), otherwise child effects are lost.
   */
  afterServerOutput(out: EngineOutput): CascadeOutput {
    const acc = this.newAcc();
    this.reactServer(out, acc);
    return acc;
  }

  /** The same for an output of the client engine (a partner's FAIL status is then unknown: 5 is assumed). */
  afterClientOutput(out: EngineOutput): CascadeOutput {
    const acc = this.newAcc();
    this.reactClient(out, acc);
    return acc;
  }

  // --- reacting to the server engine ------------------------------------------------------------

  private reactServer(out: EngineOutput, acc: CascadeOutput): void {
    const events = this.fresh(out);
    if (events.length === 0) return;
    for (const send of out.sends) {
      const msg = send.message;
      // The notification of 8.8 ("may notify the client", 9.2.2): remembered per cycle.
      if (msg.method === Method.PROCESSING && msg.processingSubcode === ProcessingSubcode.REQUEST_EXTERNAL_RESOURCES) {
        this.notified.set(msg.providerOrderId, msg.txid.toLowerCase());
      }
    }
    const parents: string[] = [];
    for (const event of events) {
      if (event.orderId === undefined || event.side !== 'server') continue;
      if (!parents.includes(event.orderId)) parents.push(event.orderId);
      const effect = childEffectOf(event);
      if (effect !== undefined) this.performChildEffect(event.orderId, effect, acc);
      else if (event.kind === 'info' && event.cause === 'agreementReached') this.agreementReached(event.orderId, acc);
      else if (event.kind === 'info' && event.cause === 'childOrderEnded') this.childOrderEnded(event.orderId);
    }
    for (const parentId of parents) this.considerParent(parentId, acc);
  }

  /** The machine's effects addressed to the child server (8.8), performed with the client engine. */
  private performChildEffect(parentId: string, effect: ServerEffect, acc: CascadeOutput): void {
    const child = this.negotiatingChild(parentId);
    switch (effect.type) {
      case 'startTimer':
        if (effect.timer === 'child' && child !== undefined) {
          child.deadline ??= effect.at === undefined ? this.clock.now() + this.config.childTimeoutMs : dateTimeToMillis(effect.at);
        }
        return;
      case 'cancelTimer':
        if (effect.timer === 'child' && child !== undefined) delete child.deadline;
        return;
      case 'withdrawChildAgreements':
        this.withdrawAgreements(parentId, effect.scope, acc);
        return;
      case 'send':
        break;
      default:
        return;
    }
    if (effect.method === 'WITHDRAW') {
      // withdrawChild (Fig. 9 ChildCompleted → WITHDRAW): the last child agreement of the cycle.
      const order = this.server.getOrder(parentId);
      const last = [...this.children.values()].filter((c) => c.parentId === parentId && c.cycleTxid === order?.cycleTxid && c.status === 'agreed').at(-1);
      if (last !== undefined) this.withdrawChild(last, acc);
      return;
    }
    if (child === undefined) {
      this.note(acc, 'error', parentId, 'no-child-order', `${effect.method} for the child server, but no child order is under way`);
      return;
    }
    const id = child.childId;
    switch (effect.method) {
      case 'QUOTATION':
        this.clientCommand(acc, this.client.sendQuotation(id));
        return;
      case 'PROCESSING':
        this.clientCommand(acc, this.client.processOffer(id));
        return;
      case 'ACCEPT':
        this.clientCommand(acc, this.client.accept(id));
        return;
      case 'DECLINE':
        child.status = 'failed';
        child.endedBy ??= 'declined';
        this.clientCommand(acc, this.client.decline(id, effect.reasons));
        return;
      case 'CANCEL': {
        child.status = 'failed';
        child.endedBy ??= 'cancelled';
        const state = this.client.order(id)?.fsm.state;
        // Already ended at the client engine (its own timeout, a FAIL): nothing left to cancel.
        if (state !== undefined && state !== 'Cancelled' && state !== 'Completed') this.clientCommand(acc, this.client.cancel(id));
        return;
      }
      default:
        this.note(acc, 'error', parentId, 'child-effect', `unexpected ${effect.method} for the child server`);
    }
  }

  /**
   * The machine says the child order ended without agreement (C19: the parent is back in
   * AwaitingProcessing), whoever fed the event: it is over for the coordinator too.
   */
  private childOrderEnded(parentId: string): void {
    const child = this.negotiatingChild(parentId);
    if (child === undefined) return;
    child.status = 'failed';
    child.endedBy ??= 'ended';
    delete child.deadline;
  }

  /** withdrawChildAgreements: 'negotiation' = those of the cycle that just ended; 'all' = every one (WITHDRAW of the parent). */
  private withdrawAgreements(parentId: string, scope: 'negotiation' | 'all', acc: CascadeOutput): void {
    const order = this.server.getOrder(parentId);
    for (const child of [...this.children.values()]) {
      if (child.parentId !== parentId || child.status !== 'agreed') continue;
      if (scope === 'negotiation' && child.cycleTxid !== order?.cycleTxid) continue;
      this.withdrawChild(child, acc);
    }
  }

  private withdrawChild(child: ChildOrderRecord, acc: CascadeOutput): void {
    const result = this.client.withdraw(child.childId);
    this.clientCommand(acc, result);
    const rec = result.ok ? undefined : this.client.order(child.childId);
    if (result.ok) {
      child.status = 'withdrawing';
      this.note(acc, 'info', child.parentId, 'child-withdrawn', `WITHDRAW of child order ${child.childId} at partner "${child.partnerId}"`);
    } else if (rec?.fsm.state === 'Cancelled' && rec.agreement?.testEndedAt !== undefined) {
      // A test agreement inherits the parent's testUntil: the client engine ended the child
      // order at that time, as the partner ended its copy (9.1.10.3, C25). Nothing to withdraw.
      child.status = 'withdrawn';
      this.note(acc, 'info', child.parentId, 'child-test-period-ended', `child order ${child.childId} at partner "${child.partnerId}" ended with its test period`);
    } else {
      // The partner keeps an agreement nobody uses: an operator must act (as for 11.1.2 alarms).
      this.note(acc, 'alarm', child.parentId, 'child-withdraw-refused', `child order ${child.childId}: ${result.reason}`);
    }
  }

  /** An UPDATE agreement replaces the earlier child agreements (its partner parts come from new child orders). */
  private agreementReached(parentId: string, acc: CascadeOutput): void {
    const order = this.server.getOrder(parentId);
    if (order === undefined || order.fsm.cycle !== 'update') return;
    for (const child of [...this.children.values()]) {
      if (child.parentId === parentId && child.status === 'agreed' && child.cycleTxid !== order.cycleTxid) this.withdrawChild(child, acc);
    }
  }

  /** Starts a cascade when the decision engine waits for partners; notices when a cascade's cycle is over. */
  private considerParent(parentId: string, acc: CascadeOutput): void {
    const order = this.server.getOrder(parentId);
    if (order === undefined) return;
    const cascade = this.cascades.get(parentId);
    const state = order.fsm.state;
    if (state === 'Cancelled' || state === 'Completed') this.notified.delete(parentId);
    if (cascade?.status === 'running' && (cascade.cycleTxid !== order.cycleTxid || (state !== 'AwaitingProcessing' && !state.startsWith('Child')))) {
      // The cycle ended (CANCEL, WITHDRAW...) or an offer was made by someone else: the machine's
      // cleanup effects already cancelled or withdrew what the cascade had under way.
      cascade.status = 'ended';
      cascade.reason = `parent order ${state}`;
      this.note(acc, 'info', parentId, 'cascade-ended', cascade.reason);
    }
    if (state !== 'AwaitingProcessing' || order.fsm.adminApprovalPending) return;
    if (cascade !== undefined && cascade.cycleTxid === order.cycleTxid) {
      // Back from a child order that ended without agreement: the customer gets FAIL (C19).
      const current = this.currentChild(cascade);
      if (cascade.status === 'running' && current?.status === 'failed') this.failCascade(cascade, parentFailStatus(current.failStatus), childFailure(current), acc);
      return;
    }
    const plan = this.decider.partnerPlan(parentId);
    if (plan === undefined || plan.partners.length === 0) return;
    this.startCascade(order, plan, acc);
  }

  private startCascade(order: ServerOrderRecord, plan: PartnerPlan, acc: CascadeOutput): void {
    const cascade: CascadeRecord = { parentId: order.id, cycleTxid: order.cycleTxid, plan, next: 0, status: 'running', startedAt: this.clock.now() };
    this.cascades.set(order.id, cascade);
    this.note(acc, 'info', order.id, 'cascade-started', `child orders for ${plan.partners.map((p) => `"${p.partnerId}"`).join(', ')}`);
    const unknown = plan.partners.filter((p) => this.partners[p.partnerId] === undefined).map((p) => p.partnerId);
    if (unknown.length > 0) {
      this.failCascade(cascade, StatusCode.OUT_OF_RESOURCES, `no server configured for partner ${unknown.map((p) => `"${p}"`).join(', ')}`, acc);
      return;
    }
    const notified = this.notified.get(order.id) === order.cycleTxid.toLowerCase();
    this.notified.delete(order.id);
    if (!notified && order.fsm.moreTimeRequested === undefined) {
      // The decision came after the first PROCESSING (administrative approval, a delayed
      // decision): tell the client now, with the time the child orders may take (9.2.2, Fig. 11).
      const eot = this.wholeSeconds(this.clock.now() + this.config.childTimeoutMs * plan.partners.length);
      this.fromServer(acc, this.server.requestMoreTime(order.id, millisToDateTime(eot), ProcessingSubcode.REQUEST_EXTERNAL_RESOURCES));
    }
    this.startChild(cascade, acc);
  }

  /** ChildCreated → ChildPQOSent: the child order is created at the client engine and its QUOTATION sent (Fig. 7). */
  private startChild(cascade: CascadeRecord, acc: CascadeOutput): void {
    const parentId = cascade.parentId;
    const request = cascade.plan.partners[cascade.next];
    const link = request === undefined ? undefined : this.partners[request.partnerId];
    const order = this.server.getOrder(parentId);
    if (request === undefined || link === undefined || order === undefined) return;
    if (!this.serverChildEvent(acc, parentId, { type: 'needChildOrder' })) {
      this.failCascade(cascade, StatusCode.OUT_OF_RESOURCES, 'the order cannot start a child order', acc);
      return;
    }
    const childId = this.newChildId(parentId);
    const deadline = this.wholeSeconds(this.clock.now() + this.config.childTimeoutMs);
    const options = childOptions(cycleIes(order)?.options);
    const ies: InformationElements = {
      ...(this.config.identity === undefined ? {} : { customer: structuredClone(this.config.identity) }),
      ...(options === undefined ? {} : { options }),
    };
    const created = this.client.createOrder({
      cpd: structuredClone(request.cpd),
      ...(Object.keys(ies).length === 0 ? {} : { ies }),
      expectedResponseTime: millisToDateTime(deadline),
      server: structuredClone(link.server),
      ...(link.serverIdentity === undefined ? {} : { serverIdentity: link.serverIdentity }),
      customerOrderId: childId,
    });
    this.clientCommand(acc, created);
    const approved = created.ok ? this.client.approve(childId) : undefined;
    if (approved !== undefined) this.clientCommand(acc, approved);
    if (!created.ok || approved?.ok !== true) {
      const reason = created.ok ? (approved?.ok === false ? approved.reason : 'not approved') : created.reason;
      this.serverChildEvent(acc, parentId, { type: 'cancelChild' });
      this.failOpenCascade(parentId, StatusCode.OUT_OF_RESOURCES, `child order for partner "${request.partnerId}" refused: ${reason}`, acc);
      return;
    }
    const child: ChildOrderRecord = {
      childId,
      parentId,
      partnerId: request.partnerId,
      cycleTxid: order.cycleTxid,
      requested: structuredClone(request.cpd),
      status: 'negotiating',
      createdAt: this.clock.now(),
      deadline,
    };
    this.children.set(childId, child);
    this.note(acc, 'info', parentId, 'child-order', `child order ${childId} to partner "${request.partnerId}"`);
    // The machine's send QUOTATION effect makes the client engine send it (performChildEffect).
    this.serverChildEvent(acc, parentId, { type: 'sendChildQuotation' });
    if (this.client.order(childId)?.fsm.state !== 'PQOSent' && child.status === 'negotiating') {
      // The QUOTATION could not be sent: the child order ends before anything left (its CANCEL
      // effect cancels it locally at the client engine).
      child.endedBy = 'not sent';
      this.serverChildEvent(acc, parentId, { type: 'cancelChild' });
      this.failOpenCascade(parentId, StatusCode.OUT_OF_RESOURCES, `the QUOTATION to partner "${request.partnerId}" could not be sent`, acc);
    }
  }

  /**
   * Child order identifiers: "child-" + the parent's id + "-" + a counter. They can never equal
   * a Provider Order Identifier ("P-…") nor the client engine's default ids ("C-…").
   */
  private newChildId(parentId: string): string {
    let n = [...this.children.values()].filter((c) => c.parentId === parentId).length + 1;
    for (;;) {
      const id = `child-${parentId}-${n}`;
      if (!this.children.has(id) && this.client.order(id) === undefined) return id;
      n += 1;
    }
  }

  // --- reacting to the client engine -------------------------------------------------------------

  private reactClient(out: EngineOutput, acc: CascadeOutput): void {
    const seen: string[] = [];
    for (const event of this.fresh(out)) {
      if (event.orderId === undefined || seen.includes(event.orderId) || !this.children.has(event.orderId)) continue;
      seen.push(event.orderId);
    }
    for (const childId of seen) {
      const child = this.children.get(childId);
      if (child !== undefined) this.syncChild(child, acc);
    }
  }

  /** Brings the parent's Child* state in line with the child order at the client engine. */
  private syncChild(child: ChildOrderRecord, acc: CascadeOutput): void {
    const rec = this.client.order(child.childId);
    if (rec === undefined) return;
    if (child.status === 'withdrawing') {
      if (rec.fsm.state === 'Cancelled' && rec.fsm.outstanding === undefined) child.status = 'withdrawn';
      return;
    }
    if (child.status !== 'negotiating') return;
    const parent = this.server.getOrder(child.parentId);
    if (parent === undefined || parent.cycleTxid !== child.cycleTxid) return;
    const p = parent.fsm.state;
    const c = rec.fsm.state;
    if (c === 'ServerProcessing' && rec.fsm.moreTimeRequested !== undefined) {
      // C22: the child machine has no "more time" events; the runtime answers. Granted when it
      // fits within the child timer, refused otherwise (the partner must then answer in time, 11.2.1).
      const asked = dateTimeToMillis(rec.fsm.moreTimeRequested);
      const fits = child.deadline === undefined || asked <= child.deadline;
      // The answer's own reaction syncs the child again, with the request answered.
      this.clientCommand(acc, fits ? this.client.grantMoreTime(child.childId) : this.client.refuseMoreTime(child.childId));
      return;
    }
    if (c === 'ServerProcessing' && p === 'ChildPQOSent') {
      this.serverChildEvent(acc, child.parentId, { type: 'childProcessingReceived' });
    } else if ((c === 'OfferReceived' || c === 'OfferProcessing') && (p === 'ChildPQOSent' || p === 'ChildServerProcessing')) {
      if (this.serverChildEvent(acc, child.parentId, { type: 'childOfferReceived' })) this.evaluateOffer(child, acc);
    } else if (c === 'Completed' && p === 'ChildAcceptSent') {
      if (this.serverChildEvent(acc, child.parentId, { type: 'childAckReceived' })) {
        child.status = 'agreed';
        child.offered = structuredClone(rec.agreement?.cpd ?? rec.offer?.cpd ?? child.offered ?? []);
        delete child.deadline;
        this.note(acc, 'info', child.parentId, 'child-agreed', `partner "${child.partnerId}" concluded child order ${child.childId}`);
        this.continueCascade(child.parentId, acc);
      }
    } else if (c === 'Cancelled' && CHILD_OPEN.includes(p)) {
      const reason = rec.fsm.cancelReason ?? 'cancelled';
      child.endedBy ??= reason;
      if (reason === 'failed' && CHILD_FAIL_STATES.includes(p)) {
        this.serverChildEvent(acc, child.parentId, { type: 'childFailReceived', statusCode: child.failStatus ?? StatusCode.OUT_OF_RESOURCES });
      } else {
        // Timeout, expired offer, exhausted retries: the child deadline, as far as the machine
        // knows (its CANCEL effect finds the child order already ended and sends nothing).
        this.serverChildEvent(acc, child.parentId, { type: 'childTimeout' });
      }
      // childOrderEnded marked the child order failed, and considerParent failed the cascade.
    }
  }

  /** ChildOfferReceived: PROCESSING then ACCEPT when the offer fits what was asked (Fig. 7), else DECLINE. */
  private evaluateOffer(child: ChildOrderRecord, acc: CascadeOutput): void {
    const offer = this.client.order(child.childId)?.offer;
    const problems = offer === undefined ? ['no offer'] : childOfferProblems(child.requested, offer.cpd);
    if (offer !== undefined && problems.length === 0) {
      child.offered = structuredClone(offer.cpd);
      if (this.client.order(child.childId)?.fsm.state === 'OfferReceived') this.serverChildEvent(acc, child.parentId, { type: 'processChildOffer' });
      this.serverChildEvent(acc, child.parentId, { type: 'acceptChildOffer' });
      return;
    }
    child.endedBy = `offer of partner "${child.partnerId}" refused: ${problems.join('; ')}`;
    // Its DECLINE effect ends the child order, and the reaction fails the cascade (considerParent).
    this.serverChildEvent(acc, child.parentId, { type: 'declineChildOffer', reasons: [DeclineReason.UNACCEPTABLE_GAP] });
  }

  /** A child deadline passed while the child order was still out: CANCEL it (the machine's childTimeout). */
  private childDeadline(child: ChildOrderRecord, acc: CascadeOutput): void {
    delete child.deadline;
    const parent = this.server.getOrder(child.parentId);
    if (parent === undefined || parent.cycleTxid !== child.cycleTxid || !CHILD_OPEN.includes(parent.fsm.state)) return;
    child.endedBy = 'timeout';
    this.serverChildEvent(acc, child.parentId, { type: 'childTimeout' });
  }

  // --- the cascade ----------------------------------------------------------------------------

  /** ChildCompleted: back to the parent (resumeParent), then the next child order or the merged offer. */
  private continueCascade(parentId: string, acc: CascadeOutput): void {
    const cascade = this.cascades.get(parentId);
    if (cascade?.status !== 'running') return;
    this.serverChildEvent(acc, parentId, { type: 'resumeParent' });
    if (this.server.getOrder(parentId)?.fsm.state !== 'AwaitingProcessing') {
      // The decision engine, asked again, decided something else (or the cycle ended).
      if (cascade.status === 'running') {
        cascade.status = 'ended';
        cascade.reason = 'the decision did not wait for the partners';
      }
      return;
    }
    cascade.next += 1;
    if (cascade.next < cascade.plan.partners.length) {
      this.startChild(cascade, acc);
      return;
    }
    const offers: PartnerRequest[] = [...this.children.values()]
      .filter((c) => c.parentId === parentId && c.cycleTxid === cascade.cycleTxid && c.status === 'agreed')
      .map((c) => ({ partnerId: c.partnerId, cpd: structuredClone(c.offered ?? []) }));
    let decision: Decision;
    try {
      decision = this.decider.completePartners(parentId, offers);
    } catch (error) {
      this.note(acc, 'error', parentId, 'complete-partners', error instanceof Error ? error.message : String(error));
      decision = { kind: 'fail', statusCode: StatusCode.OUT_OF_RESOURCES };
    }
    cascade.status = decision.kind === 'offer' ? 'merged' : 'failed';
    this.note(acc, 'info', parentId, cascade.status === 'merged' ? 'cascade-merged' : 'cascade-failed', `${offers.length} partner offer(s) → ${decision.kind}`);
    this.fromServer(acc, this.server.completeDecision(parentId, decision));
    if (this.server.getOrder(parentId)?.fsm.state === 'AwaitingProcessing') {
      // The merged offer was refused (e.g. it cannot be encoded): FAIL, which withdraws the child agreements.
      cascade.status = 'failed';
      this.fromServer(acc, this.server.completeDecision(parentId, { kind: 'fail', statusCode: StatusCode.OUT_OF_RESOURCES }));
    }
  }

  private failOpenCascade(parentId: string, statusCode: StatusCodeValue, reason: string, acc: CascadeOutput): void {
    const cascade = this.cascades.get(parentId);
    if (cascade?.status === 'running') this.failCascade(cascade, statusCode, reason, acc);
  }

  /**
   * A child order failed (C19: the parent is back in AwaitingProcessing, not Cancelled): the
   * decision engine records why, and the customer gets FAIL. Child agreements already obtained
   * in this cycle are withdrawn by the machine's cleanup (withdrawChildAgreements).
   */
  private failCascade(cascade: CascadeRecord, statusCode: StatusCodeValue, reason: string, acc: CascadeOutput): void {
    cascade.status = 'failed';
    cascade.reason = reason;
    this.note(acc, 'info', cascade.parentId, 'cascade-failed', reason);
    const order = this.server.getOrder(cascade.parentId);
    if (order === undefined || order.cycleTxid !== cascade.cycleTxid || order.fsm.state !== 'AwaitingProcessing') return;
    let decision: Decision;
    try {
      decision = this.decider.abandonPartners(cascade.parentId, statusCode, reason);
    } catch {
      decision = { kind: 'fail', statusCode };
    }
    this.fromServer(acc, this.server.completeDecision(cascade.parentId, decision));
  }

  // --- plumbing -------------------------------------------------------------------------------

  /** The events of `out` not reacted to yet, now marked as reacted. */
  private fresh(out: EngineOutput): EngineEvent[] {
    const events = out.events.filter((e) => !this.reacted.has(e));
    for (const event of events) this.reacted.add(event);
    return events;
  }

  private newAcc(): CascadeOutput {
    return { server: emptyOutput(), client: emptyOutput() };
  }

  /** Records a server engine output and reacts to it (effects first performed in output order). */
  private fromServer(acc: CascadeOutput, out: EngineOutput): void {
    appendOutput(acc.server, out);
    this.reactServer(out, acc);
  }

  private fromClient(acc: CascadeOutput, out: EngineOutput): void {
    appendOutput(acc.client, out);
    this.reactClient(out, acc);
  }

  private clientCommand(acc: CascadeOutput, out: EngineOutput): void {
    this.fromClient(acc, { sends: out.sends, events: out.events });
  }

  /** Applies a child event to the parent's machine; false when the machine refused it. */
  private serverChildEvent(acc: CascadeOutput, parentId: string, event: ServerChildEvent): boolean {
    const out = this.server.applyChildEvent(parentId, event);
    this.fromServer(acc, out);
    return !failed(out, event.type);
  }

  /** The child order of the cascade's current partner (each partner once per cycle). */
  private currentChild(cascade: CascadeRecord): ChildOrderRecord | undefined {
    const partnerId = cascade.plan.partners[cascade.next]?.partnerId;
    return [...this.children.values()].filter((c) => c.parentId === cascade.parentId && c.cycleTxid === cascade.cycleTxid && c.partnerId === partnerId).at(-1);
  }

  private negotiatingChild(parentId: string): ChildOrderRecord | undefined {
    for (const child of this.children.values()) if (child.parentId === parentId && child.status === 'negotiating') return child;
    return undefined;
  }

  /** Remembers the status code of a partner's FAIL for the child order it names (see receiveClient). */
  private peekFail(inbound: Inbound): void {
    const decoded = decodeMessage(inbound.bytes);
    if (!decoded.ok || decoded.message.method !== Method.FAIL) return;
    const msg = decoded.message;
    const child = this.children.get(msg.customerOrderId);
    const txid = child === undefined ? undefined : this.client.order(child.childId)?.session?.txid;
    if (child?.status === 'negotiating' && txid !== undefined && txid.toLowerCase() === msg.txid.toLowerCase()) child.failStatus = msg.statusCode;
  }

  /** Deadlines on the wire are whole seconds (rounded up, so a deadline is never earlier than meant). */
  private wholeSeconds(millis: number): number {
    return Math.ceil(millis / 1000) * 1000;
  }

  private note(acc: CascadeOutput, kind: EngineEventKind, parentId: string, cause: string, detail: string): void {
    acc.server.events.push({ kind, side: 'server', at: this.clock.now(), orderId: parentId, cause: `cascade:${cause}`, detail });
  }
}

/**
 * Two EngineCore views of a coordinated Provider, for a Simulation or two runners: `server`
 * receives the customers' datagrams and ticks everything; `client` receives the partners'
 * datagrams. Both return an empty output: everything produced, for either transport, goes to
 * `deliver` (server part first), in causal order. `source` may be a function, so that a test can
 * swap in a restored coordinator.
 */
export function cascadeCores(
  source: PartnerCoordinator | (() => PartnerCoordinator),
  deliver: (output: CascadeOutput) => void,
): { server: EngineCore; client: EngineCore } {
  const current = (): PartnerCoordinator => (typeof source === 'function' ? source() : source);
  return {
    server: {
      receive: (inbound) => {
        deliver(current().receiveServer(inbound));
        return emptyOutput();
      },
      tick: () => {
        deliver(current().tick());
        return emptyOutput();
      },
      nextDue: () => current().nextDue(),
    },
    client: {
      receive: (inbound) => {
        deliver(current().receiveClient(inbound));
        return emptyOutput();
      },
      tick: () => emptyOutput(),
      nextDue: () => undefined,
    },
  };
}

/**
 * The coordinator as a single-output seam around a server-side core (the provider process's
 * ProviderCore): `afterServerOutput` and `tick` return the server transport's part and hand the
 * partner transport's part to `sendToPartners`. Outputs fed back in (a tick's output merged into
 * the next afterServerOutput) are recognised and not acted on twice.
 */
export function coordinatorSeam(
  coordinator: PartnerCoordinator,
  sendToPartners: (output: EngineOutput) => void,
): { afterServerOutput(output: EngineOutput): EngineOutput; tick(): EngineOutput; nextDue(): number | undefined; snapshot(): PartnerCoordinatorSnapshot } {
  const split = (out: CascadeOutput): EngineOutput => {
    if (out.client.sends.length > 0 || out.client.events.length > 0) sendToPartners(out.client);
    return out.server;
  };
  return {
    afterServerOutput: (output) => split(coordinator.afterServerOutput(output)),
    tick: () => split(coordinator.tick()),
    nextDue: () => coordinator.nextDue(),
    snapshot: () => coordinator.snapshot(),
  };
}

/**
 * The EngineCore of the partner transport (the Provider's client side): datagrams from partners
 * go to the coordinator; the partner transport's part is returned, the server transport's part
 * (e.g. the merged OFFER once the last partner ACKed) goes to `sendToCustomers`. Timers are
 * the server side's (coordinatorSeam.tick), so this core has none.
 */
export function partnerCore(coordinator: PartnerCoordinator, sendToCustomers: (output: EngineOutput) => void): EngineCore {
  return {
    receive: (inbound) => {
      const out = coordinator.receiveClient(inbound);
      if (out.server.sends.length > 0 || out.server.events.length > 0) sendToCustomers(out.server);
      return out.client;
    },
    tick: () => emptyOutput(),
    nextDue: () => undefined,
  };
}
