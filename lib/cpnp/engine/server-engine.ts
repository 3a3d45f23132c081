/**
 * The CPNP server engine core: RFC 8921 section 11.2 (server behaviour) on top of the Figure 9
 * state machine (fsm/server.ts), the Table 6 validation (validation/server-table.ts), sessions
 * and sequence numbers (session.ts, 8.3, 8.4, 11.3), timers (timers.ts, 8.5) and the
 * retransmission rules of 11.4.
 *
 * The core is synchronous and deterministic: every input (a received message, a timer tick,
 * a command of the application) returns an EngineOutput, the messages to send and the events
 * to log. Time comes from the injected clock, randomness from the injected random source, and
 * business answers from the injected Decider (decider.ts). The core never sends, sleeps or
 * persists by itself; a runner (runner.ts) does that. snapshot()/restore() carry the whole state
 * as plain JSON, timers included as absolute deadlines.
 *
 * docs/server-engine.md explains the design and every choice made where the RFC leaves room.
 */
import type { Clock } from '../clock';
import { decodeMessage, encodeMessage } from '../codec';
import type { Cpd } from '../cpd/types';
import { dateTimeToMillis, millisToDateTime, type DateTime } from '../date-time';
import type { CpnpDecodeError } from '../errors';
import type { SendEffect } from '../fsm/events';
import {
  createServerOrder,
  transitionServer,
  type ServerEffect,
  type ServerEvent,
  type ServerNotice,
  type ServerOrderOptions,
  type ServerOrderState,
} from '../fsm/server';
import type { CancelReason, ServerState } from '../fsm/states';
import { fromHex, toHex } from '../hex';
import type { InformationElements } from '../information-elements';
import type { ActivationSchedule, CpnpMessage, FailMessage, Hex16 } from '../message';
import { Method, methodName, type MethodCode, type MethodName } from '../method';
import type { ProcessingSubcodeValue } from '../processing-subcode';
import { newNonce, randomInitialSequence, type RandomSource } from '../random';
import { takeOutgoing } from '../sequence';
import {
  acceptIncoming,
  answerRetransmission,
  ANSWER_RESEND_INTERVAL_MS,
  openServerSession,
  recordRetransmission,
  recordSent,
  transactionKindOf,
  withTimers,
  type SessionEntry,
} from '../session';
import { StatusCode, type StatusCodeValue } from '../status-code';
import {
  cancelTimer,
  dueTimers,
  expectsReply,
  onRetransmitFired,
  scheduleRetransmit,
  setDeadline,
  setTimer,
  timerConfig,
  TIMER_KINDS,
  type Timer,
  type TimerConfig,
} from '../timers';
import type { Endpoint, Inbound } from '../transport/transport';
import { normalizeAddress, sameFourTuple, type PeerTuple, type Transport } from '../validation/peer';
import {
  validateOnServer,
  type AccessFilter,
  type ServerCandidate,
  type ServerLookup,
} from '../validation/server-table';
import type { AcceptDecision, Decider, Decision, DecisionRequest, RequestDecision } from './decider';
import { emptyOutput, type EngineCore, type EngineEvent, type EngineOutput } from './output';
import { MinHeap } from '../min-heap';
import { peekKeys } from './peek';
import { RateLimiter, tokenBucketConfig, type RateLimiterSnapshot, type TokenBucketConfig } from './rate-limit';
import {
  requestKey,
  ResponseCache,
  responseCacheConfig,
  type ResponseCacheConfig,
  type ResponseCacheSnapshot,
} from './response-cache';

// ---------------------------------------------------------------------------------------------
// Configuration

export interface ServerEngineConfig {
  /** The transport the engine's messages travel on; part of every session's 4-tuple (8.3). */
  transport: Transport;
  /** RETRANS_TIMER and the maximum retry threshold (8.5, 11.4). */
  timers: TimerConfig;
  /** VALIDITY_OFFER_TIME of an offer when the decider gives none (9.1.8). */
  offerValidityMs: number;
  /**
   * How a QUOTATION or UPDATE whose offer is decided at once is answered:
   * 'processing-first' = PROCESSING then OFFER (Figure 6, 9.2.2); 'direct' = OFFER alone (8.6,
   * Figures 3 and 4). A FAIL decided at once is always sent alone (Figure 4).
   */
  quotationAnswer: 'processing-first' | 'direct';
  /** Minimum gap between two copies of a cached answer (11.4 "with a limited frequency"). */
  answerResendIntervalMs: number;
  responseCache: ResponseCacheConfig;
  /** Token bucket for the FAILs that answer invalid requests (9.2.5). */
  failRateLimit: TokenBucketConfig;
  /** Old transactions kept per order (each UPDATE, WITHDRAW and ACTIVATE opens one). */
  maxTransactionsPerOrder: number;
}

export interface ServerEngineConfigInput
  extends Partial<Omit<ServerEngineConfig, 'timers' | 'responseCache' | 'failRateLimit'>> {
  timers?: Partial<TimerConfig>;
  responseCache?: Partial<ResponseCacheConfig>;
  failRateLimit?: Partial<TokenBucketConfig>;
}

export const DEFAULT_OFFER_VALIDITY_MS = 15 * 60_000;

/**
 * Whether the first PROCESSING of a cycle asks the client for more time (9.1.7, 11.1.1): it
 * does when its EXPECTED_OFFER_TIME lies after the client's EXPECTED_RESPONSE_TIME, or when it
 * gives a reason for wanting time (a PROCESSING_SUBCODE, 9.2.2). The client engine applies the
 * same rule (fsm/client.ts isMoreTimeRequest), so both sides agree on whether an answer (ACK or
 * FAIL 7) is due.
 */
export function asksForMoreTime(expectedOfferTime: DateTime | undefined, processingSubcode: ProcessingSubcodeValue | undefined, expectedResponseTime: DateTime | undefined): boolean {
  if (expectedOfferTime === undefined) return false;
  if (processingSubcode !== undefined) return true;
  return expectedResponseTime !== undefined && dateTimeToMillis(expectedOfferTime) > dateTimeToMillis(expectedResponseTime);
}

export function serverEngineConfig(input: ServerEngineConfigInput = {}): ServerEngineConfig {
  const config: ServerEngineConfig = {
    transport: input.transport ?? 'udp',
    timers: timerConfig(input.timers),
    offerValidityMs: input.offerValidityMs ?? DEFAULT_OFFER_VALIDITY_MS,
    quotationAnswer: input.quotationAnswer ?? 'processing-first',
    answerResendIntervalMs: input.answerResendIntervalMs ?? ANSWER_RESEND_INTERVAL_MS,
    responseCache: responseCacheConfig(input.responseCache),
    failRateLimit: tokenBucketConfig(input.failRateLimit),
    maxTransactionsPerOrder: input.maxTransactionsPerOrder ?? 32,
  };
  if (!Number.isFinite(config.offerValidityMs) || config.offerValidityMs <= 0) throw new RangeError('offerValidityMs must be positive');
  if (!Number.isFinite(config.answerResendIntervalMs) || config.answerResendIntervalMs < 0) {
    throw new RangeError('answerResendIntervalMs must be a non-negative number');
  }
  if (!Number.isInteger(config.maxTransactionsPerOrder) || config.maxTransactionsPerOrder < 4) {
    throw new RangeError('maxTransactionsPerOrder must be an integer >= 4');
  }
  return config;
}

/**
 * A decision as the engine takes it. A pending decision may also name, with a Table 2 subcode,
 * why the order waits (9.2.2); the PROCESSING that answers the QUOTATION or UPDATE then carries
 * it, e.g. subcode 2 "Request external resources" when child orders are placed (8.8: "the
 * server may notify the client"). Every Decision is a ServerDecision, and the reverse holds
 * structurally, so a plain Decider still fits.
 */
export type ServerDecision =
  | Decision
  | { kind: 'pending'; expectedOfferTime?: DateTime; processingSubcode?: ProcessingSubcodeValue };

/** How a negotiation cycle ended without a new agreement (the machine's `notify cycleEnded`). */
export interface CycleOutcome {
  cycle: 'quotation' | 'update';
  /** cancelReason of the Cancelled order, or updateEndedBy when an UPDATE cycle fell back to Completed (C1). */
  reason: CancelReason;
  /** An UPDATE cycle ended and the earlier agreement stays. */
  agreementKept: boolean;
}

/**
 * The Decider as the server engine consults it: decide may return a ServerDecision, and the
 * optional cycleEnded hook hears about every cycle that ends without agreement, whatever the
 * path (CANCEL while a decision is pending, a child order under way, FAIL, DECLINE, expiry,
 * WITHDRAW...). releaseResources is only called when something was reserved for an offer;
 * cycleEnded lets a decider drop what it keeps for a decision that never produced one.
 */
export interface ServerDecider extends Decider {
  decide(request: DecisionRequest): ServerDecision;
  cycleEnded?(orderId: string, outcome: CycleOutcome): void;
}

export interface ServerEngineDeps {
  clock: Clock;
  random: RandomSource;
  decider: ServerDecider;
  config?: ServerEngineConfigInput;
  /** Table 6 access filter for QUOTATION, UPDATE, WITHDRAW and ACTIVATE (absent: allow all). */
  accessFilter?: AccessFilter;
  /**
   * May `identity` act on `order`? Default: only the identity that placed the order (its
   * owner; orders placed over plain UDP have none and anyone may act). A refusal answers FAIL 3
   * (FAIL 2 when the peer is not authenticated), after the order keys matched (Table 6).
   */
  authorize?: (identity: string | undefined, order: ServerOrderRecord) => boolean;
  /**
   * Effects addressed to the child server (8.8: sends with `to: 'child'`, the child timer,
   * withdrawChildAgreements) are handed here, and also reported in the output as events that
   * childEffectOf() reads back (the partner coordinator, lib/provider, uses those).
   */
  onChildEffect?: (orderId: string, effect: ServerEffect) => void;
}

// ---------------------------------------------------------------------------------------------
// Records (plain JSON)

export interface OfferRecord {
  /** Offered CPD (Updated CPD in an UPDATE cycle), in its canonical decoded form. */
  cpd: Cpd;
  validityOfferTime: DateTime;
  activationSchedule?: ActivationSchedule;
  ies?: InformationElements;
  nonce: Hex16;
  madeAt: number;
}

/** A WITHDRAW or ACTIVATE waiting for engine.completeRequest (Figure 14). */
export interface HeldRequest {
  method: 'WITHDRAW' | 'ACTIVATE';
  activationSchedule?: ActivationSchedule;
  since: number;
}

/** One transaction (8.4) of an order, with its session entry (8.3). */
export interface ServerTransaction {
  session: SessionEntry;
  openedAt: number;
  lastActivity: number;
  /** The nonce the opening UPDATE / WITHDRAW / ACTIVATE carried (the agreement's); the
   * session's own nonce is the new one of the offer for an UPDATE (11.2.3). */
  openingNonce?: Hex16;
  /** QUOTATION / UPDATE: the Requested (Updated) CPD and the Information Elements. */
  requestedCpd?: Cpd;
  ies?: InformationElements;
  /** QUOTATION / UPDATE: the client's EXPECTED_RESPONSE_TIME (9.1.6), its deadline for the offer. */
  expectedResponseTime?: DateTime;
  offer?: OfferRecord;
  /** Hex of the message being retransmitted on RETRANS_TIMER (OFFER, or PROCESSING asking for more time). */
  retransmitHex?: string;
  /** Messages of the peer processed in this transaction (duplicates are not counted). */
  processed: number;
  held?: HeldRequest;
}

export interface AgreementRecord {
  cpd: Cpd;
  /** The transaction that concluded it: its identifiers are the ones UPDATE / WITHDRAW / ACTIVATE repeat. */
  txid: Hex16;
  nonce: Hex16;
  concludedAt: number;
  withdrawnAt?: number;
  /**
   * 9.1.10.3: the agreement serves testing until this time (negotiation options purpose "test"
   * and testUntil). The engine withdraws it then (testPeriodEnded), unless an UPDATE made it
   * permanent (purpose "production") or moved the date.
   */
  testUntil?: DateTime;
  /** When the test period ended it (ms). */
  testEndedAt?: number;
}

export interface PendingDecision {
  kind: 'pending' | 'admin';
  since: number;
  expectedOfferTime?: DateTime;
  approved?: true;
}

export interface HistoryEntry {
  at: number;
  from?: ServerState;
  to: ServerState;
  /** The state-machine event, or 'quotationReceived' for the creation. */
  cause: string;
  txid?: Hex16;
}

export interface ServerOrderRecord {
  /** PROVIDER_ORDER_IDENTIFIER (9.1.2): "P-" + 12 hex digits, never a customer's identifier (13). */
  id: string;
  customerOrderId: string;
  /** The authenticated identity that placed the order (undefined over plain UDP). */
  owner?: string;
  /** The transport session of the QUOTATION. */
  peer: PeerTuple;
  createdAt: number;
  requestedCpd: Cpd;
  ies?: InformationElements;
  options: ServerOrderOptions;
  /** The order's NONCE (9.1.5), drawn when it was created. */
  nonce: Hex16;
  fsm: ServerOrderState;
  /** The transaction of the negotiation cycle in progress or last run (QUOTATION or UPDATE). */
  cycleTxid: Hex16;
  transactions: ServerTransaction[];
  agreement?: AgreementRecord;
  decision?: PendingDecision;
  /** An ACCEPT waits for engine.confirmAccept / refuseAccept. */
  acceptPending?: true;
  history: HistoryEntry[];
}

export interface ServerEngineSnapshot {
  format: 'cpnp-server-engine';
  version: 1;
  orders: ServerOrderRecord[];
  responseCache: ResponseCacheSnapshot;
  failLimiter: RateLimiterSnapshot;
}

/** The child-order events (8.8) of the state machine, reachable through applyChildEvent. */
export type ServerChildEvent = Extract<
  ServerEvent,
  {
    type:
      | 'needChildOrder'
      | 'sendChildQuotation'
      | 'childProcessingReceived'
      | 'childOfferReceived'
      | 'processChildOffer'
      | 'acceptChildOffer'
      | 'childAckReceived'
      | 'childFailReceived'
      | 'cancelChild'
      | 'declineChildOffer'
      | 'withdrawChild'
      | 'childTimeout'
      | 'resumeParent';
  }
>;

// ---------------------------------------------------------------------------------------------
// Internals

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** A message without the fields the session fills in. */
type MessageBody = DistributiveOmit<CpnpMessage, 'version' | 'seq' | 'txid' | 'customerOrderId'>;

interface Work {
  out: EngineOutput;
  /** Notifications handled once the effects of the current step are done. */
  later: (() => void)[];
}

type Origin = 'inbound' | 'command' | 'timer' | 'decision';

interface StepExtras {
  origin: Origin;
  /** makeOffer: the offer to record. */
  offer?: OfferRecord;
  /** retransmitTimeout: the next retransmit timer (onRetransmitFired). */
  retransmitTimer?: Timer;
  /** startProcessing of a pending decision that names its reason (ServerDecision). */
  processingSubcode?: ProcessingSubcodeValue;
}

/** Cause of the 'info' event that reports an effect addressed to the child order (8.8). */
const CHILD_EFFECT = 'child-effect';

/**
 * The child-order effect (8.8) reported by an event of this engine's output, if it is one:
 * every send to the child server, the child timer and withdrawChildAgreements are logged as an
 * 'info' event whose detail is the effect as JSON. A coordinator driven by the engine's output
 * (lib/provider/partner-coordinator.ts) reads them back with this, without any callback wiring.
 */
export function childEffectOf(event: EngineEvent): ServerEffect | undefined {
  if (event.side !== 'server' || event.kind !== 'info' || event.cause !== CHILD_EFFECT || event.detail === undefined) return undefined;
  try {
    const value = JSON.parse(event.detail) as unknown;
    if (typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string') return value as ServerEffect;
  } catch {
    return undefined;
  }
  return undefined;
}

/** Never equal to an identity: makes Table 6's owner check refuse (FAIL 3, or 2 unauthenticated). */
const NOT_AUTHORIZED = '\u0000not-authorized';

const NEGOTIATING: readonly ServerState[] = ['PQOReceived', 'AwaitingProcessing'];

function endpointOf(peer: PeerTuple): Endpoint {
  return { address: peer.clientAddress, port: peer.clientPort };
}

/** A plain-JSON deep copy that drops undefined members (so decider output encodes cleanly). */
function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** Requests expect an answer (11.4); the client's PROCESSING, ACK and FAIL do not. */
function isRequest(method: MethodCode): boolean {
  return expectsReply('client', method);
}

// ---------------------------------------------------------------------------------------------

export class ServerEngine implements EngineCore {
  readonly config: ServerEngineConfig;
  /**
   * The message `receive` decoded last (undefined when it could not be decoded), so that a
   * caller logging the datagram (the provider store's digest rows) need not decode it again.
   */
  lastReceived: { readonly bytes: Uint8Array; readonly message: CpnpMessage } | undefined;
  private readonly clock: Clock;
  private readonly random: RandomSource;
  private readonly decider: ServerDecider;
  private readonly accessFilter: AccessFilter | undefined;
  private readonly authorize: ServerEngineDeps['authorize'];
  private readonly onChildEffect: ServerEngineDeps['onChildEffect'];
  private readonly orders = new Map<string, ServerOrderRecord>();
  /** lowercase Transaction-ID → order id. */
  private readonly byTxid = new Map<string, string>();
  /** Every customer order identifier seen: provider identifiers must differ from them (13). */
  private readonly customerIds = new Set<string>();
  private readonly cache: ResponseCache;
  private readonly failLimiter: RateLimiter;
  /**
   * Deadline index (issue 8): per order, its earliest timer, in a heap, so that neither
   * receive() nor nextDue() scans every order. Orders a call touched are re-indexed when it
   * returns (indexTimers); a stale entry is dropped when it surfaces (validTop).
   */
  private readonly timerHeap = new MinHeap();
  private readonly timerPushed = new Map<string, number>();
  private readonly timersTouched = new Set<string>();

  constructor(deps: ServerEngineDeps, restored?: ServerEngineSnapshot) {
    this.config = serverEngineConfig(deps.config);
    this.clock = deps.clock;
    this.random = deps.random;
    this.decider = deps.decider;
    this.accessFilter = deps.accessFilter;
    this.authorize = deps.authorize;
    this.onChildEffect = deps.onChildEffect;
    if (restored === undefined) {
      this.cache = new ResponseCache(this.clock, this.config.responseCache);
      this.failLimiter = new RateLimiter(this.clock, this.config.failRateLimit);
      return;
    }
    if (restored.format !== 'cpnp-server-engine' || restored.version !== 1) throw new RangeError('not a server engine snapshot (version 1)');
    this.cache = ResponseCache.restore(restored.responseCache, this.clock, this.config.responseCache);
    this.failLimiter = RateLimiter.restore(restored.failLimiter, this.clock, this.config.failRateLimit);
    for (const order of structuredClone(restored.orders)) this.register(order);
    this.indexTimers();
  }

  /** Rebuilds an engine from snapshot(); timers continue at their stored deadlines. */
  static restore(snapshot: ServerEngineSnapshot, deps: ServerEngineDeps): ServerEngine {
    return new ServerEngine(deps, snapshot);
  }

  snapshot(): ServerEngineSnapshot {
    return {
      format: 'cpnp-server-engine',
      version: 1,
      orders: structuredClone([...this.orders.values()]),
      responseCache: this.cache.snapshot(),
      failLimiter: this.failLimiter.snapshot(),
    };
  }

  /** The FAIL rate limiter's state alone (snapshot() would copy every order too). */
  failLimiterSnapshot(): RateLimiterSnapshot {
    return this.failLimiter.snapshot();
  }

  // --- getters --------------------------------------------------------------------------------

  getOrder(orderId: string): ServerOrderRecord | undefined {
    const order = this.orders.get(orderId);
    return order === undefined ? undefined : structuredClone(order);
  }

  /**
   * The live record of an order, not a copy: for callers that only read it and serialise it at
   * once (the provider's store), where getOrder's deep copy per output would cost more than the
   * write. Never mutate it.
   */
  peekOrder(orderId: string): Readonly<ServerOrderRecord> | undefined {
    return this.orders.get(orderId);
  }

  listOrders(): ServerOrderRecord[] {
    return structuredClone([...this.orders.values()]);
  }

  /** The order a transaction belongs to. */
  orderIdOfTransaction(txid: Hex16): string | undefined {
    return this.byTxid.get(txid.toLowerCase());
  }

  /** How many messages of the peer were processed in a transaction (a duplicate never counts). */
  processedCount(txid: Hex16): number {
    return this.findTx(txid)?.tx.processed ?? 0;
  }

  // --- EngineCore -----------------------------------------------------------------------------

  receive(inbound: Inbound): EngineOutput {
    const work = this.newWork();
    // Deadlines first (timers.ts): an ACCEPT arriving just after VALIDITY_OFFER_TIME must find
    // the offer already withdrawn.
    this.fireDue(work);
    const peer = this.peerOf(inbound);
    const decoded = decodeMessage(inbound.bytes);
    this.lastReceived = decoded.ok ? { bytes: inbound.bytes, message: decoded.message } : undefined;
    if (!decoded.ok) {
      this.undecodable(inbound, peer, decoded.error, work);
      this.indexTimers();
      return work.out;
    }
    const msg = decoded.message;
    const verdict = validateOnServer(msg, peer, this.lookupFor(msg, peer), { accessFilter: this.accessFilter });
    switch (verdict.verdict) {
      case 'drop':
        this.emit(work, { kind: 'dropped', cause: verdict.check, detail: verdict.reason, ...this.about(msg, inbound.from) });
        break;
      case 'fail':
        this.failUnsolicited(peer, msg, verdict.statusCode, `table:${verdict.check}`, verdict.reason, work);
        break;
      case 'retransmission':
        this.answerDuplicate(msg, inbound.from, work);
        break;
      case 'accept':
        this.acceptMessage(msg, peer, verdict.entry, work);
        break;
    }
    this.drain(work);
    this.indexTimers();
    return work.out;
  }

  tick(): EngineOutput {
    const work = this.newWork();
    this.fireDue(work);
    this.indexTimers();
    return work.out;
  }

  nextDue(): number | undefined {
    return this.validTop()?.due;
  }

  // --- commands of the application ----------------------------------------------------------

  /** Answers a 'pending' decision (or any order still waiting in PQOReceived / AwaitingProcessing). */
  completeDecision(orderId: string, decision: ServerDecision): EngineOutput {
    return this.command(orderId, 'completeDecision', (order, work) => {
      this.applyDecision(order, this.cycleTx(order), decision, work, 'command');
    });
  }

  /** 9.2.2, 11.2.1: PROCESSING with a new EXPECTED_OFFER_TIME (and a Table 2 subcode); retransmitted until ACK or FAIL. */
  requestMoreTime(orderId: string, expectedOfferTime: DateTime, processingSubcode?: ProcessingSubcodeValue): EngineOutput {
    return this.command(orderId, 'requestMoreTime', (order, work) => {
      const event: ServerEvent = { type: 'needMoreTime', expectedOfferTime, ...(processingSubcode === undefined ? {} : { processingSubcode }) };
      this.step(order, this.cycleTx(order), event, work, { origin: 'command' });
    });
  }

  /** 8.2, 12.2: the administrator validates the order; the decider is asked again (approved: true). */
  adminApprove(orderId: string): EngineOutput {
    return this.command(orderId, 'adminApprove', (order, work) => {
      const previous = order.decision;
      order.decision = { kind: 'pending', since: this.clock.now(), approved: true };
      if (!this.step(order, this.cycleTx(order), { type: 'adminApprove' }, work, { origin: 'command' })) {
        if (previous === undefined) delete order.decision;
        else order.decision = previous;
      }
    });
  }

  /** 8.2, 12.2: the administrator refuses the order: FAIL (4 unless told otherwise). */
  adminReject(orderId: string, statusCode?: StatusCodeValue): EngineOutput {
    return this.command(orderId, 'adminReject', (order, work) => {
      this.step(order, this.cycleTx(order), { type: 'adminReject', ...(statusCode === undefined ? {} : { statusCode }) }, work, { origin: 'command' });
    });
  }

  /** Concludes an ACCEPT the decider left pending: ACK with the Offered / Updated CPD. */
  confirmAccept(orderId: string): EngineOutput {
    return this.command(orderId, 'confirmAccept', (order, work) => {
      if (this.step(order, this.cycleTx(order), { type: 'confirmAccept' }, work, { origin: 'command' })) delete order.acceptPending;
    });
  }

  /** Refuses an ACCEPT the decider left pending (8.6): FAIL with `statusCode`. */
  refuseAccept(orderId: string, statusCode: StatusCodeValue): EngineOutput {
    return this.command(orderId, 'refuseAccept', (order, work) => {
      if (this.step(order, this.cycleTx(order), { type: 'refuseAccept', statusCode }, work, { origin: 'command' })) delete order.acceptPending;
    });
  }

  /** Answers a WITHDRAW / ACTIVATE the decider held (oldest first unless `txid` names one). */
  completeRequest(orderId: string, decision: RequestDecision, txid?: Hex16): EngineOutput {
    return this.command(orderId, 'completeRequest', (order, work) => {
      const tx = order.transactions.find((t) => t.held !== undefined && (txid === undefined || t.session.txid === txid.toLowerCase()));
      if (tx?.held === undefined) {
        this.emit(work, { kind: 'command-rejected', orderId, cause: 'completeRequest', detail: 'no request is held' });
        return;
      }
      if (decision.kind === 'pending') return;
      const held = tx.held;
      delete tx.held;
      this.resolveRequest(order, tx, held, decision, work);
    });
  }

  /**
   * Feeds a child-order event (8.8) to the order's state machine. The engine does not talk to
   * the child server itself: the effects addressed to it go to deps.onChildEffect and into the
   * output (childEffectOf); lib/provider/partner-coordinator.ts performs them.
   */
  applyChildEvent(orderId: string, event: ServerChildEvent): EngineOutput {
    return this.command(orderId, event.type, (order, work) => {
      this.step(order, this.cycleTx(order), event, work, { origin: 'command' });
    });
  }

  // --- receiving ------------------------------------------------------------------------------

  private peerOf(inbound: Inbound): PeerTuple {
    return {
      transport: this.config.transport,
      clientAddress: inbound.from.address,
      clientPort: inbound.from.port,
      serverAddress: inbound.to.address,
      serverPort: inbound.to.port,
      ...(inbound.identity === undefined ? {} : { identity: inbound.identity }),
    };
  }

  /** wire-format.md section 7: FAIL 1 when keys 3, 4 and 5 can be read, else silence. */
  private undecodable(inbound: Inbound, peer: PeerTuple, error: CpnpDecodeError, work: Work): void {
    const about = { peer: inbound.from, detail: `${error.rule}: ${error.message}` };
    if (error.rule === 'size' || error.rule === 'cbor.size') {
      this.emit(work, { kind: 'dropped', cause: 'oversize', ...about });
      return;
    }
    const keys = peekKeys(inbound.bytes);
    if (keys === undefined) {
      this.emit(work, { kind: 'dropped', cause: 'undecodable', ...about });
      return;
    }
    this.failUnsolicited(peer, keys, StatusCode.MESSAGE_VALIDATION_ERROR, 'undecodable', about.detail, work);
  }

  /**
   * The store seen by Table 6. Messages inside a transaction find it by Transaction-ID; the
   * state reported for a transaction that is not the order's current negotiation cycle is the
   * resting state (Completed / Cancelled), so a message of an old transaction can no longer
   * act on the cycle in progress, while its retransmissions are still recognised. UPDATE,
   * WITHDRAW and ACTIVATE find the order by Provider Order Identifier and are compared with the
   * transaction that concluded the agreement. The Child* states of a cascaded order (8.8) are
   * reported as they are: the CANCEL, ACK and FAIL rows of Table 6 list them (server-table.ts).
   */
  private lookupFor(msg: CpnpMessage, peer: PeerTuple): ServerLookup {
    const opening = transactionKindOf(msg.method) !== undefined;
    return (key) => {
      if (key.by === 'txid') {
        const found = this.findTx(key.txid);
        if (found === undefined) return undefined;
        const { order, tx } = found;
        const current = tx.session.txid === order.cycleTxid;
        // A repeated UPDATE carries the agreement's nonce, not the new one of its offer.
        const session = opening && tx.openingNonce !== undefined ? { ...tx.session, nonce: tx.openingNonce } : tx.session;
        const state: ServerState = current ? order.fsm.state : order.fsm.state === 'Cancelled' ? 'Cancelled' : 'Completed';
        return this.candidate(order, tx, session, state, current, peer);
      }
      const order = this.orders.get(key.providerOrderId);
      if (order === undefined) return undefined;
      const tx = this.agreementTx(order) ?? this.cycleTx(order);
      return this.candidate(order, tx, tx.session, order.fsm.state, false, peer);
    };
  }

  private candidate(
    order: ServerOrderRecord,
    tx: ServerTransaction,
    session: SessionEntry,
    state: ServerState,
    current: boolean,
    peer: PeerTuple,
  ): ServerCandidate {
    return {
      session,
      state,
      owner: this.ownerFor(order, peer),
      offeredCpd: tx.offer?.cpd,
      moreTimeRequested: current && order.fsm.moreTimeRequested !== undefined,
      activationType: order.fsm.activationType,
    };
  }

  /** Table 6's owner check, widened by deps.authorize when given. */
  private ownerFor(order: ServerOrderRecord, peer: PeerTuple): string | undefined {
    if (this.authorize === undefined) return order.owner;
    // The live record, not a copy: authorize only reads it (a deep copy per message cost more than the check).
    if (this.authorize(peer.identity, order)) return peer.identity;
    return order.owner !== undefined && order.owner !== peer.identity ? order.owner : NOT_AUTHORIZED;
  }

  private acceptMessage(msg: CpnpMessage, peer: PeerTuple, entry: ServerCandidate | undefined, work: Work): void {
    if (msg.method === Method.QUOTATION) {
      this.openOrder(msg, peer, work);
      return;
    }
    const order = entry?.session.providerOrderId === undefined ? undefined : this.orders.get(entry.session.providerOrderId);
    if (order === undefined) {
      this.emit(work, { kind: 'error', cause: 'lookup', detail: 'a validated message names no order', ...this.about(msg, endpointOf(peer)) });
      return;
    }
    const inbound: StepExtras = { origin: 'inbound' };
    switch (msg.method) {
      case Method.UPDATE: {
        const tx = this.openTransaction(order, msg, peer, work, { nonce: newNonce(this.random), requestedCpd: msg.cpd, ies: msg.ies, expectedResponseTime: msg.expectedResponseTime });
        const previousCycle = order.cycleTxid;
        order.cycleTxid = tx.session.txid;
        const options = msg.ies?.options;
        const event: ServerEvent = {
          type: 'updateReceived',
          ...(options?.activationType === undefined ? {} : { activationType: options.activationType }),
          ...(options?.scope === undefined ? {} : { scope: options.scope }),
        };
        if (!this.step(order, tx, event, work, inbound)) order.cycleTxid = previousCycle;
        return;
      }
      case Method.WITHDRAW:
      case Method.ACTIVATE: {
        const tx = this.openTransaction(order, msg, peer, work, {});
        const held: HeldRequest =
          msg.method === Method.WITHDRAW
            ? { method: 'WITHDRAW', since: this.clock.now() }
            : { method: 'ACTIVATE', activationSchedule: msg.activationSchedule, since: this.clock.now() };
        const review = this.decider.reviewRequest?.bind(this.decider);
        const decision: RequestDecision =
          review === undefined
            ? { kind: 'proceed' }
            : this.consult(order, 'reviewRequest', work, { kind: 'pending' }, () =>
                review({
                  orderId: order.id,
                  txid: tx.session.txid,
                  method: held.method,
                  ...(peer.identity === undefined ? {} : { identity: peer.identity }),
                  ...(held.method === 'ACTIVATE' ? { activationSchedule: held.activationSchedule ?? null } : {}),
                }),
              );
        if (decision.kind === 'pending') {
          // 11.4: the answer is not ready, so the answer is PROCESSING (Figure 14).
          tx.held = held;
          this.sendInTx(order, tx, { method: Method.PROCESSING, providerOrderId: order.id }, work);
          this.emit(work, { kind: 'info', orderId: order.id, cause: 'request-held', method: held.method, txid: tx.session.txid });
          return;
        }
        this.resolveRequest(order, tx, held, decision, work);
        return;
      }
      default:
        break;
    }
    const found = this.findTx(msg.txid);
    if (found === undefined) return;
    const { tx } = found;
    tx.session = acceptIncoming(tx.session, msg);
    tx.processed += 1;
    tx.lastActivity = this.clock.now();
    this.emit(work, { kind: 'received', orderId: order.id, cause: 'accepted', ...this.about(msg, endpointOf(peer)) });
    switch (msg.method) {
      case Method.PROCESSING:
        this.step(order, tx, { type: 'processingReceived' }, work, inbound);
        break;
      case Method.ACCEPT:
        this.step(order, tx, { type: 'acceptReceived' }, work, inbound);
        break;
      case Method.DECLINE:
        this.step(order, tx, { type: 'declineReceived' }, work, inbound);
        break;
      case Method.CANCEL:
        this.step(order, tx, { type: 'cancelReceived' }, work, inbound);
        break;
      case Method.ACK:
        this.step(order, tx, { type: 'ackReceived', ...(msg.expectedResponseTime === undefined ? {} : { expectedResponseTime: msg.expectedResponseTime }) }, work, inbound);
        break;
      case Method.FAIL:
        this.step(order, tx, { type: 'failReceived', statusCode: msg.statusCode }, work, inbound);
        break;
      default:
        this.emit(work, { kind: 'dropped', orderId: order.id, cause: 'method', ...this.about(msg, endpointOf(peer)) });
    }
  }

  /** 11.2.1: a QUOTATION creates an order, with its Provider Order Identifier and NONCE. */
  private openOrder(msg: Extract<CpnpMessage, { method: typeof Method.QUOTATION }>, peer: PeerTuple, work: Work): void {
    const now = this.clock.now();
    const id = this.newProviderOrderId(msg.customerOrderId);
    const nonce = newNonce(this.random);
    const session = openServerSession({ peer, opening: msg, providerOrderId: id, nonce }, this.random);
    const options: ServerOrderOptions = {
      ...(msg.ies?.options?.activationType === undefined ? {} : { activationType: msg.ies.options.activationType }),
      ...(msg.ies?.options?.scope === undefined ? {} : { scope: msg.ies.options.scope }),
    };
    const created = createServerOrder(options);
    const tx: ServerTransaction = {
      session,
      openedAt: now,
      lastActivity: now,
      requestedCpd: msg.cpd,
      ...(msg.ies === undefined ? {} : { ies: msg.ies }),
      ...(msg.expectedResponseTime === undefined ? {} : { expectedResponseTime: msg.expectedResponseTime }),
      processed: 1,
    };
    const order: ServerOrderRecord = {
      id,
      customerOrderId: msg.customerOrderId,
      ...(peer.identity === undefined ? {} : { owner: peer.identity }),
      peer,
      createdAt: now,
      requestedCpd: msg.cpd,
      ...(msg.ies === undefined ? {} : { ies: msg.ies }),
      options,
      nonce,
      fsm: created.next,
      cycleTxid: session.txid,
      transactions: [tx],
      history: [{ at: now, to: created.next.state, cause: 'quotationReceived', txid: session.txid }],
    };
    this.register(order);
    this.emit(work, { kind: 'received', orderId: id, cause: 'accepted', ...this.about(msg, endpointOf(peer)) });
    this.emit(work, { kind: 'transition', orderId: id, to: created.next.state, cause: 'quotationReceived', method: 'QUOTATION', txid: session.txid, seq: msg.seq });
    for (const effect of created.effects) this.perform(order, tx, effect, work, { origin: 'inbound' }, undefined);
  }

  /** A new transaction on an existing order (UPDATE, WITHDRAW, ACTIVATE: new Transaction-ID, 9.2.9, 9.2.11). */
  private openTransaction(
    order: ServerOrderRecord,
    msg: CpnpMessage,
    peer: PeerTuple,
    work: Work,
    extra: { nonce?: Hex16; requestedCpd?: Cpd; ies?: InformationElements; expectedResponseTime?: DateTime },
  ): ServerTransaction {
    const now = this.clock.now();
    const openingNonce = 'nonce' in msg ? msg.nonce : undefined;
    const session = openServerSession({ peer, opening: msg, ...(extra.nonce === undefined ? {} : { nonce: extra.nonce }) }, this.random);
    const tx: ServerTransaction = {
      session,
      openedAt: now,
      lastActivity: now,
      ...(openingNonce === undefined ? {} : { openingNonce }),
      ...(extra.requestedCpd === undefined ? {} : { requestedCpd: extra.requestedCpd }),
      ...(extra.ies === undefined ? {} : { ies: extra.ies }),
      ...(extra.expectedResponseTime === undefined ? {} : { expectedResponseTime: extra.expectedResponseTime }),
      processed: 1,
    };
    order.transactions.push(tx);
    this.byTxid.set(session.txid.toLowerCase(), order.id);
    this.pruneTransactions(order);
    this.emit(work, { kind: 'received', orderId: order.id, cause: 'accepted', ...this.about(msg, endpointOf(peer)) });
    return tx;
  }

  /** 11.4: a retransmitted request gets the cached answer again, or PROCESSING if none is ready; never processed twice. */
  private answerDuplicate(msg: CpnpMessage, from: Endpoint, work: Work): void {
    const found = this.findTx(msg.txid);
    if (found === undefined) return;
    const { order, tx } = found;
    const now = this.clock.now();
    if (!isRequest(msg.method)) {
      this.emit(work, { kind: 'duplicate', orderId: order.id, cause: 'response-duplicate', ...this.about(msg, from) });
      return;
    }
    const answer = answerRetransmission(tx.session, msg.seq, now, this.config.answerResendIntervalMs);
    this.emit(work, { kind: 'duplicate', orderId: order.id, cause: answer.action, ...this.about(msg, from) });
    if (answer.action === 'wait') return;
    if (answer.action === 'processing') {
      this.sendInTx(order, tx, { method: Method.PROCESSING, providerOrderId: order.id }, work);
      return;
    }
    const bytes = this.cache.get(this.cacheKeyOf(tx.session.peer), answer.sent.ref);
    const decoded = bytes === undefined ? undefined : decodeMessage(bytes);
    if (bytes === undefined || decoded === undefined || !decoded.ok) {
      this.emit(work, { kind: 'dropped', orderId: order.id, cause: 'answer-expired', ...this.about(msg, from) });
      return;
    }
    // A cached FAIL sent again is a FAIL sent: rate-limited like the first copy (9.2.5).
    if (decoded.message.method === Method.FAIL && !this.failLimiter.tryTake(this.rateKeyOf(tx.session.peer))) {
      this.emit(work, { kind: 'dropped', orderId: order.id, cause: 'fail-rate-limited', detail: 'cached FAIL not sent again now', ...this.about(msg, from) });
      return;
    }
    tx.session = recordRetransmission(tx.session, now).entry;
    work.out.sends.push({ to: endpointOf(tx.session.peer), bytes, message: decoded.message });
    this.emit(work, { kind: 'retransmitted', orderId: order.id, cause: 'cached-answer', ...this.about(decoded.message, endpointOf(tx.session.peer)) });
  }

  /**
   * FAIL for a request refused by Table 6 or undecodable (9.2.5, 9.2.10), rate-limited per
   * source address (one bucket per address for every FAIL: these, those answering inside a
   * transaction, sendInTx, and cached ones sent again, answerDuplicate). No order changes. Inside a transaction of the same 4-tuple the FAIL takes
   * that transaction's next sequence number (so the client does not discard it as a replay);
   * otherwise it gets a random one and names no order.
   */
  private failUnsolicited(
    peer: PeerTuple,
    keys: { seq: number; txid: Hex16; customerOrderId: string; method?: number },
    statusCode: StatusCodeValue,
    cause: string,
    detail: string,
    work: Work,
  ): void {
    const to = endpointOf(peer);
    const method = typeof keys.method === 'number' && keys.method >= 1 && keys.method <= 11 ? methodName(keys.method as MethodCode) : undefined;
    const about = { peer: to, txid: keys.txid, seq: keys.seq, ...(method === undefined ? {} : { method }) };
    if (!this.failLimiter.tryTake(this.rateKeyOf(peer))) {
      this.emit(work, { kind: 'dropped', cause: 'fail-rate-limited', detail: `${cause}: ${detail}`, ...about });
      return;
    }
    let seq: number | undefined;
    let providerOrderId: string | undefined;
    const found = this.findTx(keys.txid);
    if (found !== undefined && sameFourTuple(found.tx.session.peer, peer) && found.tx.session.customerOrderId === keys.customerOrderId) {
      try {
        const taken = takeOutgoing(found.tx.session.outSeq);
        found.tx.session = { ...found.tx.session, outSeq: taken.next };
        seq = taken.seq;
        providerOrderId = found.order.id;
      } catch {
        seq = undefined;
      }
    }
    const message: FailMessage = {
      version: 1,
      method: Method.FAIL,
      seq: seq ?? randomInitialSequence(this.random),
      txid: keys.txid.toLowerCase(),
      customerOrderId: keys.customerOrderId,
      ...(providerOrderId === undefined ? {} : { providerOrderId }),
      statusCode,
    };
    const bytes = encodeMessage(message);
    work.out.sends.push({ to, bytes, message });
    this.emit(work, {
      kind: 'rejected',
      ...(providerOrderId === undefined ? {} : { orderId: providerOrderId }),
      cause,
      detail: `FAIL ${statusCode}: ${detail}`,
      ...about,
    });
  }

  // --- the state machine ----------------------------------------------------------------------

  /** Applies one event to the order's machine and performs its effects; false when refused. */
  private step(order: ServerOrderRecord, tx: ServerTransaction, event: ServerEvent, work: Work, extras: StepExtras): boolean {
    this.timersTouched.add(order.id);
    const outcome = transitionServer(order.fsm, event);
    const now = this.clock.now();
    if (!outcome.ok) {
      const { reason, failWith } = outcome.rejection;
      if (extras.origin === 'inbound' && failWith !== undefined) {
        // A request the table let through but the machine refuses (e.g. ACTIVATE without a
        // scheduled activation): answered inside its transaction, and cached like any answer.
        this.sendInTx(order, tx, { method: Method.FAIL, providerOrderId: order.id, statusCode: failWith }, work);
        this.emit(work, { kind: 'rejected', orderId: order.id, cause: event.type, detail: `FAIL ${failWith}: ${reason}`, txid: tx.session.txid });
      } else {
        const kind = extras.origin === 'inbound' ? 'dropped' : extras.origin === 'command' ? 'command-rejected' : 'info';
        this.emit(work, { kind, orderId: order.id, cause: event.type, from: order.fsm.state, detail: reason, txid: tx.session.txid });
      }
      return false;
    }
    const from = order.fsm.state;
    order.fsm = outcome.next;
    if (event.type === 'makeOffer' && extras.offer !== undefined) tx.offer = extras.offer;
    order.history.push({ at: now, from, to: outcome.next.state, cause: event.type, txid: tx.session.txid });
    this.emit(work, {
      kind: from === outcome.next.state ? 'info' : 'transition',
      orderId: order.id,
      from,
      to: outcome.next.state,
      cause: event.type,
      txid: tx.session.txid,
    });
    for (const effect of outcome.effects) this.perform(order, tx, effect, work, extras, event);
    return true;
  }

  private perform(order: ServerOrderRecord, tx: ServerTransaction, effect: ServerEffect, work: Work, extras: StepExtras, event: ServerEvent | undefined): void {
    this.timersTouched.add(order.id);
    const now = this.clock.now();
    switch (effect.type) {
      case 'send':
        this.performSend(order, tx, effect, work, event, extras.processingSubcode);
        return;
      case 'startTimer':
        if (effect.timer === 'validityOffer') {
          tx.session = withTimers(tx.session, setDeadline(tx.session.timers, 'validityOffer', effect.at));
        } else if (effect.timer === 'retransmit') {
          const seq = tx.session.lastSent?.seq;
          if (extras.retransmitTimer !== undefined) tx.session = withTimers(tx.session, setTimer(tx.session.timers, extras.retransmitTimer));
          else if (seq !== undefined) tx.session = withTimers(tx.session, scheduleRetransmit(tx.session.timers, seq, now, this.config.timers));
        } else {
          this.child(order, effect, work);
        }
        return;
      case 'cancelTimer':
        if (effect.timer === 'child') {
          this.child(order, effect, work);
          return;
        }
        tx.session = withTimers(tx.session, cancelTimer(tx.session.timers, effect.timer));
        if (effect.timer === 'retransmit') delete tx.retransmitHex;
        return;
      case 'notify':
        this.notice(order, effect.what, work, event);
        return;
      case 'reserveResources':
        if (tx.offer !== undefined) {
          const offered = tx.offer.cpd;
          this.consult(order, effect.type, work, undefined, () => this.decider.reserveResources?.(order.id, structuredClone(offered)));
        }
        return;
      case 'releaseResources':
        this.consult(order, effect.type, work, undefined, () => this.decider.releaseResources?.(order.id, effect.scope));
        this.emit(work, { kind: 'info', orderId: order.id, cause: 'releaseResources', detail: effect.scope });
        return;
      case 'commitResources':
        if (tx.offer !== undefined) {
          const agreed = tx.offer.cpd;
          this.consult(order, effect.type, work, undefined, () => this.decider.commitResources?.(order.id, structuredClone(agreed)));
        }
        return;
      case 'withdrawChildAgreements':
        this.child(order, effect, work);
        return;
      case 'applyActivation':
        this.consult(order, effect.type, work, undefined, () => this.decider.applyActivation?.(order.id, effect.schedule));
        return;
    }
  }

  /** Builds the message a `send` effect names from the order (docs/state-machines.md section 1). */
  private performSend(
    order: ServerOrderRecord,
    tx: ServerTransaction,
    effect: SendEffect,
    work: Work,
    event: ServerEvent | undefined,
    decidedSubcode?: ProcessingSubcodeValue,
  ): void {
    this.timersTouched.add(order.id);
    if (effect.to === 'child') {
      this.child(order, effect, work);
      return;
    }
    if (effect.retransmission) {
      this.retransmit(order, tx, work);
      return;
    }
    const providerOrderId = order.id;
    switch (effect.method) {
      case 'PROCESSING': {
        // The first PROCESSING of a pending decision may carry the decision's reason (9.2.2, 8.8).
        const processingSubcode = effect.processingSubcode ?? (event?.type === 'startProcessing' ? decidedSubcode : undefined);
        const body: MessageBody = {
          method: Method.PROCESSING,
          providerOrderId,
          ...(effect.expectedOfferTime === undefined ? {} : { expectedOfferTime: effect.expectedOfferTime }),
          ...(processingSubcode === undefined ? {} : { processingSubcode }),
        };
        const bytes = this.sendInTx(order, tx, body, work);
        // A PROCESSING asking for more time waits for ACK or FAIL, so it is retransmitted (timers.ts
        // expectsReply): a later request (needMoreTime), or the first PROCESSING whose time lies
        // beyond the client's deadline (9.1.7, 11.1.1; C24).
        const asking = event?.type === 'needMoreTime' || (event?.type === 'startProcessing' && event.asksMoreTime === true);
        if (asking && tx.session.lastSent !== undefined) {
          tx.retransmitHex = toHex(bytes);
          tx.session = withTimers(tx.session, scheduleRetransmit(tx.session.timers, tx.session.lastSent.seq, this.clock.now(), this.config.timers));
        }
        return;
      }
      case 'OFFER': {
        const offer = tx.offer;
        if (offer === undefined) {
          this.emit(work, { kind: 'error', orderId: order.id, cause: 'send', detail: 'OFFER without an offer' });
          return;
        }
        const bytes = this.sendInTx(order, tx, this.offerBody(order, tx, offer), work);
        tx.retransmitHex = toHex(bytes);
        return;
      }
      case 'ACK': {
        const cpd = this.ackCpd(order, tx, effect.cpd);
        this.sendInTx(order, tx, { method: Method.ACK, providerOrderId, ...(cpd === undefined ? {} : { cpd }) }, work);
        return;
      }
      case 'FAIL':
        this.sendInTx(order, tx, { method: Method.FAIL, providerOrderId, statusCode: effect.statusCode ?? StatusCode.MESSAGE_VALIDATION_ERROR }, work);
        return;
      default:
        this.emit(work, { kind: 'error', orderId: order.id, cause: 'send', detail: `a server does not send ${effect.method}` });
    }
  }

  private offerBody(order: ServerOrderRecord, tx: ServerTransaction, offer: OfferRecord): MessageBody {
    return {
      method: Method.OFFER,
      providerOrderId: order.id,
      nonce: offer.nonce,
      validityOfferTime: offer.validityOfferTime,
      ...(offer.activationSchedule === undefined ? {} : { activationSchedule: offer.activationSchedule }),
      cpd: offer.cpd,
      ...(offer.ies === undefined ? {} : { ies: offer.ies }),
    };
  }

  /** 9.2.6 / C14: the CPD an ACK carries. */
  private ackCpd(order: ServerOrderRecord, tx: ServerTransaction, flavour: SendEffect['cpd']): Cpd | undefined {
    switch (flavour) {
      case 'offered':
      case 'updated':
        return tx.offer?.cpd ?? [];
      case 'requested':
        return tx.requestedCpd ?? order.requestedCpd;
      case 'empty':
        return [];
      default:
        return undefined;
    }
  }

  private notice(order: ServerOrderRecord, what: ServerNotice, work: Work, event?: ServerEvent): void {
    this.timersTouched.add(order.id);
    const now = this.clock.now();
    switch (what) {
      case 'decide':
        work.later.push(() => this.runDecider(order, work));
        break;
      case 'confirmAccept':
        work.later.push(() => this.runAcceptDecision(order, work));
        break;
      case 'moreTimeGranted':
      case 'moreTimeRefused': {
        const tx = this.cycleTx(order);
        tx.session = withTimers(tx.session, cancelTimer(tx.session.timers, 'retransmit'));
        delete tx.retransmitHex;
        const granted = what === 'moreTimeGranted';
        // 9.2.6: the ACK's EXPECTED_RESPONSE_TIME is the time granted (it may be earlier than asked).
        const until = granted && event?.type === 'ackReceived' ? event.expectedResponseTime : undefined;
        this.consult(order, what, work, undefined, () => this.decider.moreTimeAnswered?.(order.id, granted, until));
        this.emit(work, { kind: 'info', orderId: order.id, cause: what, ...(until === undefined ? {} : { detail: `until ${until}` }), txid: tx.session.txid });
        break;
      }
      case 'agreementReached': {
        const tx = this.cycleTx(order);
        if (tx.offer !== undefined) {
          // 9.1.10.3: the cycle's purpose decides; an UPDATE that names none keeps the test period.
          const options = tx.ies?.options;
          const previous = order.fsm.cycle === 'update' ? order.agreement?.testUntil : undefined;
          const testUntil = options?.purpose === undefined ? previous : options.purpose === 'test' ? options.testUntil : undefined;
          order.agreement = {
            cpd: tx.offer.cpd,
            txid: tx.session.txid,
            nonce: tx.offer.nonce,
            concludedAt: now,
            ...(testUntil === undefined ? {} : { testUntil }),
          };
        }
        delete order.decision;
        delete order.acceptPending;
        break;
      }
      case 'cycleEnded': {
        delete order.decision;
        delete order.acceptPending;
        if (order.fsm.cancelReason === 'withdrawn' && order.agreement !== undefined) order.agreement.withdrawnAt = now;
        // Every path out of a cycle, offer or not, so the decider can forget a pending decision.
        const outcome: CycleOutcome = {
          cycle: order.fsm.cycle,
          reason: order.fsm.cancelReason ?? order.fsm.updateEndedBy ?? 'cancelled',
          agreementKept: order.fsm.state === 'Completed',
        };
        this.consult(order, 'cycleEnded', work, undefined, () => this.decider.cycleEnded?.(order.id, outcome));
        break;
      }
      default:
        break;
    }
    this.emit(work, { kind: 'info', orderId: order.id, cause: what });
  }

  private child(order: ServerOrderRecord, effect: ServerEffect, work: Work): void {
    this.onChildEffect?.(order.id, effect);
    this.emit(work, { kind: 'info', orderId: order.id, cause: CHILD_EFFECT, detail: JSON.stringify(effect) });
  }

  // --- decisions ------------------------------------------------------------------------------

  private runDecider(order: ServerOrderRecord, work: Work): void {
    if (!NEGOTIATING.includes(order.fsm.state)) return;
    const tx = this.cycleTx(order);
    const request: DecisionRequest = {
      orderId: order.id,
      customerOrderId: order.customerOrderId,
      ...(order.owner === undefined ? {} : { identity: order.owner }),
      cycle: order.fsm.cycle,
      cpd: structuredClone(tx.requestedCpd ?? order.requestedCpd),
      ...(tx.ies === undefined ? {} : { ies: structuredClone(tx.ies) }),
      ...(order.fsm.cycle === 'update' && order.agreement !== undefined ? { agreement: structuredClone(order.agreement.cpd) } : {}),
      ...(order.decision?.approved ? { approved: true } : {}),
    };
    // A decider that fails leaves the order waiting for completeDecision, as a pending one does.
    const decision = this.consult<ServerDecision>(order, 'decide', work, { kind: 'pending' }, () => this.decider.decide(request));
    this.applyDecision(order, tx, decision, work, 'decision');
  }

  private applyDecision(order: ServerOrderRecord, tx: ServerTransaction, decision: ServerDecision, work: Work, origin: Origin): void {
    this.timersTouched.add(order.id);
    const state = order.fsm.state;
    if (!NEGOTIATING.includes(state)) {
      this.emit(work, { kind: 'command-rejected', orderId: order.id, cause: 'decision', from: state, detail: `no decision is expected in ${state}` });
      return;
    }
    const fresh = state === 'PQOReceived';
    const extras: StepExtras = { origin };
    const approved = order.decision?.approved;
    const wait = (expectedOfferTime?: DateTime): void => {
      order.decision = {
        kind: 'pending',
        since: this.clock.now(),
        ...(expectedOfferTime === undefined ? {} : { expectedOfferTime }),
        ...(approved ? { approved } : {}),
      };
    };
    switch (decision.kind) {
      case 'offer': {
        const offer = this.prepareOffer(order, tx, decision, work);
        if (offer === undefined) {
          // The decider's offer cannot be encoded: keep the order waiting for a usable decision.
          // The offer never leaves, so whatever the decider holds for it is released now.
          if (fresh) this.step(order, tx, { type: 'startProcessing' }, work, extras);
          this.consult(order, 'releaseResources', work, undefined, () => this.decider.releaseResources?.(order.id, 'negotiation'));
          this.emit(work, { kind: 'info', orderId: order.id, cause: 'releaseResources', detail: 'negotiation (offer refused)' });
          wait();
          return;
        }
        if (fresh && this.config.quotationAnswer === 'processing-first') {
          if (!this.step(order, tx, { type: 'startProcessing' }, work, extras)) return;
        }
        const activationType = decision.ies?.options?.activationType;
        const event: ServerEvent = {
          type: 'makeOffer',
          validityOfferTime: offer.validityOfferTime,
          ...(activationType === undefined ? {} : { activationType }),
          ...(offer.activationSchedule === undefined ? {} : { activationSchedule: offer.activationSchedule }),
        };
        if (this.step(order, tx, event, work, { ...extras, offer })) delete order.decision;
        return;
      }
      case 'fail':
        if (this.step(order, tx, { type: 'decideFail', statusCode: decision.statusCode }, work, extras)) delete order.decision;
        return;
      case 'pending':
        if (fresh) {
          const processingSubcode = 'processingSubcode' in decision ? decision.processingSubcode : undefined;
          const asksMoreTime = asksForMoreTime(decision.expectedOfferTime, processingSubcode, tx.expectedResponseTime);
          const started = this.step(
            order,
            tx,
            {
              type: 'startProcessing',
              ...(decision.expectedOfferTime === undefined ? {} : { expectedOfferTime: decision.expectedOfferTime }),
              ...(asksMoreTime ? { asksMoreTime: true as const } : {}),
            },
            work,
            processingSubcode === undefined ? extras : { ...extras, processingSubcode },
          );
          if (!started) return;
        }
        wait(decision.expectedOfferTime);
        return;
      case 'admin':
        if (fresh && !this.step(order, tx, { type: 'startProcessing' }, work, extras)) return;
        if (approved || order.fsm.adminApprovalPending) {
          // Already approved (or already asked): keep waiting for a decision.
          wait();
          return;
        }
        if (this.step(order, tx, { type: 'needAdminApproval' }, work, extras)) {
          order.decision = { kind: 'admin', since: this.clock.now() };
        }
        return;
    }
  }

  /** The offer of a decision, checked by encoding it: an offer that cannot go on the wire is refused. */
  private prepareOffer(order: ServerOrderRecord, tx: ServerTransaction, decision: Extract<Decision, { kind: 'offer' }>, work: Work): OfferRecord | undefined {
    const nonce = tx.session.nonce ?? order.nonce;
    const draft: OfferRecord = {
      cpd: plain(decision.cpd),
      validityOfferTime: decision.validityOfferTime ?? millisToDateTime(this.clock.now() + this.config.offerValidityMs),
      ...(decision.activationSchedule === undefined ? {} : { activationSchedule: decision.activationSchedule }),
      ...(decision.ies === undefined ? {} : { ies: plain(decision.ies) }),
      nonce,
      madeAt: this.clock.now(),
    };
    const trial = { version: 1, seq: 0, txid: tx.session.txid, customerOrderId: order.customerOrderId, ...this.offerBody(order, tx, draft) } as CpnpMessage;
    try {
      const decoded = decodeMessage(encodeMessage(trial));
      if (!decoded.ok || decoded.message.method !== Method.OFFER) throw decoded.ok ? new Error('not an OFFER') : decoded.error;
      // Keep the canonical form: the ACCEPT must repeat exactly these bytes (10.2).
      return { ...draft, cpd: decoded.message.cpd, ...(decoded.message.ies === undefined ? {} : { ies: decoded.message.ies }) };
    } catch (error) {
      this.emit(work, {
        kind: 'error',
        orderId: order.id,
        cause: 'invalid-offer',
        detail: error instanceof Error ? error.message : String(error),
      });
      return undefined;
    }
  }

  private runAcceptDecision(order: ServerOrderRecord, work: Work): void {
    if (order.fsm.state !== 'AcceptReceived') return;
    const tx = this.cycleTx(order);
    const confirm = this.decider.confirmAccept?.bind(this.decider);
    const decision: AcceptDecision =
      confirm === undefined
        ? { kind: 'confirm' }
        : this.consult(order, 'confirmAccept', work, { kind: 'pending' }, () =>
            confirm({ orderId: order.id, cycle: order.fsm.cycle, cpd: structuredClone(tx.offer?.cpd ?? []) }),
          );
    const extras: StepExtras = { origin: 'decision' };
    if (decision.kind === 'confirm') this.step(order, tx, { type: 'confirmAccept' }, work, extras);
    else if (decision.kind === 'refuse') this.step(order, tx, { type: 'refuseAccept', statusCode: decision.statusCode }, work, extras);
    else {
      order.acceptPending = true;
      this.emit(work, { kind: 'info', orderId: order.id, cause: 'accept-pending' });
    }
  }

  /** WITHDRAW / ACTIVATE once the decider let it proceed or refused it. */
  private resolveRequest(order: ServerOrderRecord, tx: ServerTransaction, held: HeldRequest, decision: RequestDecision, work: Work): void {
    const extras: StepExtras = { origin: 'inbound' };
    if (held.method === 'WITHDRAW') {
      if (decision.kind === 'fail') {
        // The machine has no refusal for WITHDRAW; the agreement stays (the client alarms, 11.1.2).
        this.sendInTx(order, tx, { method: Method.FAIL, providerOrderId: order.id, statusCode: decision.statusCode }, work);
        this.emit(work, { kind: 'rejected', orderId: order.id, cause: 'withdraw-refused', detail: `FAIL ${decision.statusCode}`, txid: tx.session.txid });
      } else {
        this.step(order, tx, { type: 'withdrawReceived' }, work, extras);
      }
      return;
    }
    if (decision.kind === 'fail') this.step(order, tx, { type: 'refuseActivate', statusCode: decision.statusCode }, work, extras);
    else this.step(order, tx, { type: 'activateReceived', schedule: held.activationSchedule ?? null }, work, extras);
  }

  // --- sending and retransmitting ----------------------------------------------------------

  /**
   * Sends a new message in a transaction: next sequence number (11.3), recorded as the answer
   * to the last request received in it, and cached under that request's key (11.4).
   */
  private sendInTx(order: ServerOrderRecord, tx: ServerTransaction, body: MessageBody, work: Work): Uint8Array {
    this.timersTouched.add(order.id);
    const now = this.clock.now();
    const replyTo = tx.session.lastReceived;
    const ref = replyTo === undefined ? requestKey(tx.session.txid, -1, body.method) : requestKey(tx.session.txid, replyTo.seq, replyTo.method);
    const { entry, seq } = recordSent(tx.session, { method: body.method, ref, now, ...(replyTo === undefined ? {} : { inReplyTo: replyTo.seq }) });
    tx.session = entry;
    tx.lastActivity = now;
    const message = { version: 1, seq, txid: entry.txid, customerOrderId: entry.customerOrderId, ...body } as CpnpMessage;
    const bytes = encodeMessage(message);
    this.cache.put(this.cacheKeyOf(entry.peer), ref, bytes);
    const to = endpointOf(entry.peer);
    // 9.2.5: every FAIL is rate-limited, those answering inside a transaction too. The answer
    // stays recorded and cached (the order has moved on): it is only not put on the wire now,
    // and the client's retransmission of its request gets it once the peer has tokens again.
    if (body.method === Method.FAIL && !this.failLimiter.tryTake(this.rateKeyOf(entry.peer))) {
      this.emit(work, { kind: 'dropped', orderId: order.id, cause: 'fail-rate-limited', detail: 'FAIL recorded and cached, not sent now', ...this.about(message, to) });
      return bytes;
    }
    work.out.sends.push({ to, bytes, message });
    this.emit(work, { kind: 'sent', orderId: order.id, cause: 'send', ...this.about(message, to) });
    return bytes;
  }

  /** Sends the retransmitted message again: same bytes, same sequence number (11.1.1, 11.4). */
  private retransmit(order: ServerOrderRecord, tx: ServerTransaction, work: Work): void {
    this.timersTouched.add(order.id);
    const bytes = tx.retransmitHex === undefined ? undefined : fromHex(tx.retransmitHex);
    const decoded = bytes === undefined ? undefined : decodeMessage(bytes);
    if (bytes === undefined || decoded === undefined || !decoded.ok) {
      this.emit(work, { kind: 'error', orderId: order.id, cause: 'retransmit', detail: 'nothing to retransmit' });
      return;
    }
    if (tx.session.lastSent?.seq === decoded.message.seq) tx.session = recordRetransmission(tx.session, this.clock.now()).entry;
    const to = endpointOf(tx.session.peer);
    work.out.sends.push({ to, bytes, message: decoded.message });
    this.emit(work, { kind: 'retransmitted', orderId: order.id, cause: 'retransmit', ...this.about(decoded.message, to) });
  }

  // --- timers -------------------------------------------------------------------------------

  /** Fires every timer due at clock.now(), earliest first (deadlines before retransmissions). */
  private fireDue(work: Work): void {
    const now = this.clock.now();
    const priority = (t: Timer): number => TIMER_KINDS.indexOf(t.kind);
    for (;;) {
      this.indexTimers();
      const top = this.validTop();
      if (top === undefined || top.due > now) return;
      const order = this.orders.get(top.key);
      if (order === undefined) return;
      let best: { tx: ServerTransaction; timer: Timer } | undefined;
      for (const tx of order.transactions) {
        const timer = dueTimers(tx.session.timers, now)[0];
        if (timer === undefined) continue;
        if (best === undefined || timer.dueAt < best.timer.dueAt || (timer.dueAt === best.timer.dueAt && priority(timer) < priority(best.timer))) {
          best = { tx, timer };
        }
      }
      this.timersTouched.add(order.id);
      const testEnd = this.testPeriodDue(order);
      if (testEnd !== undefined && testEnd <= now && (best === undefined || testEnd <= best.timer.dueAt)) {
        this.endTestPeriod(order, work);
        this.drain(work);
        continue;
      }
      if (best === undefined) continue;
      const { tx, timer } = best;
      tx.session = withTimers(tx.session, cancelTimer(tx.session.timers, timer.kind));
      this.emit(work, { kind: 'timer', orderId: order.id, cause: timer.kind, txid: tx.session.txid });
      if (timer.kind === 'validityOffer') {
        // 9.1.8: the offer is silently removed.
        this.step(order, tx, { type: 'validityOfferTimeout' }, work, { origin: 'timer' });
      } else if (timer.kind === 'retransmit') {
        this.retransmitFired(order, tx, timer, work);
      }
      this.drain(work);
    }
  }

  /** The earliest timer of an order, if any (the end of a test period included). */
  private earliestDue(order: ServerOrderRecord): number | undefined {
    let next = this.testPeriodDue(order);
    for (const tx of order.transactions) {
      for (const timer of tx.session.timers) if (next === undefined || timer.dueAt < next) next = timer.dueAt;
    }
    return next;
  }

  /**
   * When a test agreement ends (9.1.10.3): only while the order rests in Completed. During an
   * UPDATE cycle it waits for the cycle's outcome: a new agreement for production has no end,
   * a failed UPDATE falls back to the test agreement, which then ends at once if its time passed.
   */
  private testPeriodDue(order: ServerOrderRecord): number | undefined {
    const agreement = order.agreement;
    if (agreement?.testUntil === undefined || agreement.testEndedAt !== undefined || order.fsm.state !== 'Completed') return undefined;
    return dateTimeToMillis(agreement.testUntil);
  }

  /** The test period is over: the agreement is withdrawn by the server (C25); nothing is sent. */
  private endTestPeriod(order: ServerOrderRecord, work: Work): void {
    const agreement = order.agreement;
    if (agreement === undefined) return;
    // Marked first, so that a refused step can never make the timer fire again and again.
    agreement.testEndedAt = this.clock.now();
    const tx = this.agreementTx(order) ?? this.cycleTx(order);
    this.emit(work, { kind: 'timer', orderId: order.id, cause: 'testPeriod', detail: `test period until ${agreement.testUntil ?? '?'}`, txid: tx.session.txid });
    this.step(order, tx, { type: 'testPeriodEnded' }, work, { origin: 'timer' });
  }

  /** Re-indexes the orders touched since the last call. */
  private indexTimers(): void {
    for (const id of this.timersTouched) {
      const order = this.orders.get(id);
      const due = order === undefined ? undefined : this.earliestDue(order);
      if (due === undefined) this.timerPushed.delete(id);
      else if (this.timerPushed.get(id) !== due) {
        this.timerHeap.push(due, id);
        this.timerPushed.set(id, due);
      }
    }
    this.timersTouched.clear();
  }

  /** The heap's top once stale entries are gone (an order whose earliest timer moved). */
  private validTop(): { due: number; key: string } | undefined {
    for (let top = this.timerHeap.peek(); top !== undefined; top = this.timerHeap.peek()) {
      const order = this.orders.get(top.key);
      const due = order === undefined ? undefined : this.earliestDue(order);
      if (due === top.due) return top;
      this.timerHeap.pop();
      // Self-repair: a change the index missed is indexed now.
      if (due !== undefined && this.timerPushed.get(top.key) !== due) {
        this.timerHeap.push(due, top.key);
        this.timerPushed.set(top.key, due);
      } else if (due === undefined && this.timerPushed.get(top.key) === top.due) this.timerPushed.delete(top.key);
    }
    return undefined;
  }

  private retransmitFired(order: ServerOrderRecord, tx: ServerTransaction, timer: Timer, work: Work): void {
    this.timersTouched.add(order.id);
    const outcome = onRetransmitFired(timer, this.clock.now(), this.config.timers);
    const cycle = tx.session.txid === order.cycleTxid;
    if (cycle && order.fsm.state === 'OfferProposed' && order.fsm.offerRetransmitting) {
      // 11.2.1: the OFFER is resent until PROCESSING, ACCEPT or DECLINE, up to the maximum retry.
      if (outcome.action === 'retransmit') this.step(order, tx, { type: 'retransmitTimeout' }, work, { origin: 'timer', retransmitTimer: outcome.timer });
      else this.step(order, tx, { type: 'retriesExhausted' }, work, { origin: 'timer' });
      return;
    }
    if (cycle && order.fsm.moreTimeRequested !== undefined && tx.retransmitHex !== undefined) {
      // The PROCESSING asking for more time, until the client's ACK or FAIL (9.2.2).
      if (outcome.action === 'retransmit') {
        this.retransmit(order, tx, work);
        tx.session = withTimers(tx.session, setTimer(tx.session.timers, outcome.timer));
      } else {
        delete tx.retransmitHex;
        this.emit(work, { kind: 'info', orderId: order.id, cause: 'more-time-unanswered', txid: tx.session.txid });
      }
      return;
    }
    delete tx.retransmitHex;
  }

  // --- helpers ----------------------------------------------------------------------------------

  /**
   * Calls the decider. The core must not throw half-way through a step because of application
   * code: an exception becomes an 'error' event and `fallback` (for decisions: wait, so the
   * application can still answer with completeDecision / confirmAccept / completeRequest).
   */
  private consult<T>(order: ServerOrderRecord, what: string, work: Work, fallback: T, call: () => T): T {
    try {
      return call();
    } catch (error) {
      this.emit(work, { kind: 'error', orderId: order.id, cause: `decider.${what}`, detail: error instanceof Error ? error.message : String(error) });
      return fallback;
    }
  }

  private newWork(): Work {
    return { out: emptyOutput(), later: [] };
  }

  private drain(work: Work): void {
    for (let next = work.later.shift(); next !== undefined; next = work.later.shift()) next();
  }

  private command(orderId: string, name: string, body: (order: ServerOrderRecord, work: Work) => void): EngineOutput {
    const work = this.newWork();
    this.fireDue(work);
    const order = this.orders.get(orderId);
    if (order === undefined) this.emit(work, { kind: 'command-rejected', orderId, cause: name, detail: 'unknown order' });
    else {
      this.timersTouched.add(order.id);
      body(order, work);
    }
    this.drain(work);
    this.indexTimers();
    return work.out;
  }

  private emit(work: Work, event: Omit<EngineEvent, 'side' | 'at'>): void {
    if (event.orderId !== undefined) this.timersTouched.add(event.orderId);
    work.out.events.push({ side: 'server', at: this.clock.now(), ...event });
  }

  private about(msg: CpnpMessage, peer: Endpoint): { method: MethodName; txid: Hex16; seq: number; peer: Endpoint } {
    return { method: methodName(msg.method), txid: msg.txid, seq: msg.seq, peer };
  }

  private register(order: ServerOrderRecord): void {
    this.orders.set(order.id, order);
    this.timersTouched.add(order.id);
    this.customerIds.add(order.customerOrderId);
    for (const tx of order.transactions) this.byTxid.set(tx.session.txid.toLowerCase(), order.id);
  }

  private findTx(txid: Hex16): { order: ServerOrderRecord; tx: ServerTransaction } | undefined {
    const key = txid.toLowerCase();
    const orderId = this.byTxid.get(key);
    const order = orderId === undefined ? undefined : this.orders.get(orderId);
    const tx = order?.transactions.find((t) => t.session.txid.toLowerCase() === key);
    return order === undefined || tx === undefined ? undefined : { order, tx };
  }

  private cycleTx(order: ServerOrderRecord): ServerTransaction {
    const tx = order.transactions.find((t) => t.session.txid === order.cycleTxid);
    if (tx === undefined) throw new Error(`order ${order.id} lost its cycle transaction`);
    return tx;
  }

  private agreementTx(order: ServerOrderRecord): ServerTransaction | undefined {
    const txid = order.agreement?.txid;
    return txid === undefined ? undefined : order.transactions.find((t) => t.session.txid === txid);
  }

  /** Bounds the transactions kept per order; never drops one still needed. */
  private pruneTransactions(order: ServerOrderRecord): void {
    while (order.transactions.length > this.config.maxTransactionsPerOrder) {
      const index = order.transactions.findIndex(
        (t) =>
          t.session.txid !== order.cycleTxid &&
          t.session.txid !== order.agreement?.txid &&
          t.held === undefined &&
          t.session.timers.length === 0,
      );
      if (index < 0) return;
      const [removed] = order.transactions.splice(index, 1);
      if (removed !== undefined) this.byTxid.delete(removed.session.txid.toLowerCase());
    }
  }

  /**
   * RFC 8921 13: "the CPNP server should not assign a Provider agreement identifier that is
   * equal to a Customer agreement identifier". "P-" + 12 random hex digits, drawn again while
   * it equals a customer identifier seen or an identifier already assigned.
   */
  private newProviderOrderId(customerOrderId: string): string {
    for (let attempt = 0; attempt < 1000; attempt++) {
      const id = `P-${toHex(this.random.bytes(6))}`;
      if (id !== customerOrderId && !this.orders.has(id) && !this.customerIds.has(id)) return id;
    }
    throw new Error('the random source keeps producing provider order identifiers already in use');
  }

  /** Answers are cached per client host (the peer controls its ports). */
  private cacheKeyOf(peer: PeerTuple): string {
    return `${peer.transport} ${normalizeAddress(peer.clientAddress)}`;
  }

  /** FAILs are rate-limited per source address (9.2.5). */
  private rateKeyOf(peer: PeerTuple): string {
    return normalizeAddress(peer.clientAddress);
  }
}
