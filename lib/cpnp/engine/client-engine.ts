/**
 * The embedded CPNP client engine (RFC 8921 8.11.1 Figure 8, 10.1, 11.1, 11.4): a synchronous,
 * deterministic core that owns the client's orders and their transactions. It glues the codec,
 * the client state machine (fsm/client.ts), the Table 5 validation (validation/client-table.ts),
 * session entries, sequence numbers and timers together. It performs no I/O and reads no system
 * time: every input (command, received message, tick) returns an EngineOutput — the messages to
 * send and structured events — that a runner (runner.ts) or a simulation (simulation.ts) acts on.
 * See docs/client-engine.md.
 */
import type { Clock } from '../clock';
import { decodeMessage, encodeMessage } from '../codec';
import type { Cpd } from '../cpd/types';
import { dateTimeToMillis, isDateTime, type DateTime } from '../date-time';
import type { DeclineReasonValue } from '../decline-reason';
import { diffCpd } from '../cpd/diff';
import type { ActivationStatus, AlarmKind, SendEffect } from '../fsm/events';
import type { ProcessingSubcodeValue } from '../processing-subcode';
import {
  clientOrderProblems,
  createClientOrder,
  isMoreTimeRequest,
  transitionClient,
  type ClientEffect,
  type ClientEvent,
  type ClientOrderState,
  type ClientOutcome,
  type ClientTimer,
} from '../fsm/client';
import type { ClientState } from '../fsm/states';
import { fromHex, toHex } from '../hex';
import type { ActivationType, InformationElements } from '../information-elements';
import { CPNP_VERSION, type ActivationSchedule, type CpnpMessage, type Hex16 } from '../message';
import { Method, methodName, type MethodName } from '../method';
import type { RandomSource } from '../random';
import { StatusCode } from '../status-code';
import {
  acceptIncoming,
  answerRetransmission,
  learnIdentifiers,
  openClientSession,
  recordRetransmission,
  recordSent,
  transactionKindOf,
  type SessionEntry,
} from '../session';
import {
  cancelTimer,
  dueTimers,
  findTimer,
  nextDue as firstTimer,
  onRetransmitFired,
  scheduleRetransmit,
  scheduleWithdrawRetry,
  setDeadline,
  setTimer,
  timerConfig,
  type Timer,
  type TimerConfig,
  type TimerKind,
  type Timers,
} from '../timers';
import type { Endpoint, Inbound } from '../transport/transport';
import { validateOnClient, type ClientCandidate } from '../validation/client-table';
import { normalizeAddress, type PeerTuple, type Transport } from '../validation/peer';
import { TimerQueue } from './timer-queue';
import { emptyOutput, type EngineCore, type EngineEvent, type EngineEventData, type EngineEventKind, type EngineOutput } from './output';

// ---------------------------------------------------------------------------------------------
// Public types

export interface ClientEngineConfig {
  /** RETRANS_TIMER, MAX_RETRIES, withdrawal retry spacing (8.5, 11.1.2, 11.4). */
  timers: TimerConfig;
  /** Answer every OFFER at once with PROCESSING (Figure 6) so the server stops retransmitting it;
   * the accept/decline decision stays with the application. */
  autoProcessOffer: boolean;
  /** Events kept per order in its history (oldest dropped first). */
  historyLimit: number;
  /**
   * Re-query of a request that got an interim PROCESSING or went unanswered (C9, C10): it is
   * re-sent (same bytes) every `intervalMs`, at most `maxRounds` times; then the order keeps its
   * alarm until an answer or an operator (requery, resolveAlarm) settles it.
   */
  requery: { intervalMs: number; maxRounds: number };
  /**
   * More time (9.2.2, 11.1.1): a request for an offer time up to this many ms past the order's
   * EXPECTED_RESPONSE_TIME is granted without asking the application. Undefined: always ask.
   * CreateOrderInput.moreTimeLimit overrides it per order.
   */
  autoGrantMoreTimeMs?: number;
}

/** Default re-query: every minute for half an hour. */
export const DEFAULT_REQUERY = { intervalMs: 60_000, maxRounds: 30 } as const;

/**
 * Machine-readable reasons a command is refused (CommandResult.code); the order is unchanged.
 * - unknown-order: no such order in memory (evicted orders must be restored first);
 * - duplicate-order: createOrder with an identifier in use;
 * - invalid-input: a bad date-time, CPD, IE, identifier or local endpoint;
 * - wrong-state: the order's state does not allow the command (Figure 8);
 * - offer-expired: accept/decline/processOffer after VALIDITY_OFFER_TIME;
 * - busy: a request of the agreement (UPDATE, WITHDRAW, ACTIVATE) still waits for its answer;
 * - cancel-pending: cancel was already requested while the ACCEPT waits for its answer (C23);
 * - not-scheduled: ACTIVATE on an order without explicit activation (9.2.11);
 * - no-time-request: grant/refuse more time while the server asked for none;
 * - bad-time: grantMoreTime(until) in the past or later than the time asked for;
 * - encode-failed: the message could not be built or encoded.
 */
export const REFUSAL_CODES = [
  'unknown-order',
  'duplicate-order',
  'invalid-input',
  'wrong-state',
  'offer-expired',
  'busy',
  'cancel-pending',
  'not-scheduled',
  'no-time-request',
  'bad-time',
  'encode-failed',
] as const;
export type RefusalCode = (typeof REFUSAL_CODES)[number];

/** An alarm raised on an order (11.1.2; C9, C10, C23): open until an answer or an operator settles it. */
export interface ClientAlarm {
  kind: AlarmKind;
  raisedAt: number;
  open: boolean;
  settledAt?: number;
  /** 'answer': a final answer made the outcome known; 'operator': resolveAlarm(). */
  settledBy?: 'answer' | 'operator';
  note?: string;
}

/** Alarms a final answer settles: they only said "the outcome is unknown". */
const SETTLED_BY_ANSWER: ReadonlySet<AlarmKind> = new Set<AlarmKind>(['acceptUnanswered', 'answerOverdue', 'withdrawalUnanswered']);

/**
 * Where the client's messages to `server` leave from and its responses arrive: the client half
 * of the 4-tuple (8.3). A function is asked whenever a transaction opens, e.g.
 * `(server) => transport.localFor(server)`; undefined means "not known yet" (a DTLS or TLS
 * client binds its local port when the first connection to that server opens). So does an
 * endpoint with port 0 or an unspecified address (0.0.0.0, ::), which is what a transport's
 * local() reports before it is bound.
 */
export type LocalEndpointSource = Endpoint | ((server: Endpoint) => Endpoint | undefined);

export interface ClientEngineDeps {
  clock: Clock;
  random: RandomSource;
  /** The client half of each transaction's 4-tuple (8.3); see LocalEndpointSource. While it is
   * unknown, the first response that passes every other Table 5 check fixes it for the rest of
   * the transaction (docs/client-engine.md section 5a). */
  localEndpoint: LocalEndpointSource;
  /** The transport kind of the 4-tuple (validation/peer.ts); default 'udp'. */
  transport?: Transport;
  /** A label put on every event (e.g. the host name). */
  label?: string;
  config?: {
    timers?: Partial<TimerConfig>;
    autoProcessOffer?: boolean;
    historyLimit?: number;
    requery?: Partial<ClientEngineConfig['requery']>;
    autoGrantMoreTimeMs?: number;
  };
}

/** What the client asked for in a QUOTATION or an UPDATE. */
export interface ClientRequestData {
  cpd: Cpd;
  ies?: InformationElements;
  expectedResponseTime?: DateTime;
}

/** The last OFFER received (9.2.3): what ACCEPT copies (9.2.4). */
export interface ClientOffer {
  txid: Hex16;
  seq: number;
  providerOrderId: string;
  nonce: Hex16;
  cpd: Cpd;
  validityOfferTime: DateTime;
  activationSchedule?: ActivationSchedule;
  ies?: InformationElements;
  receivedAt: number;
}

/** The agreement concluded by the last ACK to an ACCEPT (Accepted / Updated CPD). */
export interface ClientAgreement {
  cpd: Cpd;
  providerOrderId: string;
  nonce: Hex16;
  txid: Hex16;
  cycle: 'quotation' | 'update';
  concludedAt: number;
}

/** The encoded copy of the last message sent in the current transaction (11.4: resent as is). */
export interface SentCache {
  ref: string;
  hex: string;
  message: CpnpMessage;
}

/** One order as the engine stores it: plain JSON, the unit of snapshot()/restore(). */
export interface ClientOrderRecord {
  customerOrderId: string;
  /** The server this order is negotiated with. */
  server: Endpoint;
  /** Its authenticated identity, when the transport authenticates (section 13). */
  serverIdentity?: string;
  /** The local endpoint of the current transaction (client half of its 4-tuple, 8.3): resolved
   * when the transaction opens, or fixed by its first valid response. Absent while unknown (the
   * session's peer then holds the placeholder UNKNOWN_LOCAL) and before the first transaction. */
  local?: Endpoint;
  /** CreateOrderInput.local: the local endpoint of every transaction of this order. */
  pinnedLocal?: Endpoint;
  createdAt: number;
  updatedAt: number;
  fsm: ClientOrderState;
  /** The QUOTATION request. */
  request: ClientRequestData;
  /** The UPDATE request of the last update cycle. */
  update?: ClientRequestData;
  providerOrderId?: string;
  /** The nonce to present in UPDATE / WITHDRAW / ACTIVATE: the one of the OFFER that produced
   * the agreement (an UPDATE's OFFER brings a new one, 11.2.3). */
  nonce?: Hex16;
  offer?: ClientOffer;
  agreement?: ClientAgreement;
  /** The session entry of the current transaction (8.3). */
  session?: SessionEntry;
  sent?: SentCache;
  timers: Timers;
  /** Withdrawal cycles scheduled after exhausted retries (11.1.2). */
  withdrawCycles: number;
  /** Messages processed per Transaction-ID: a retransmitted response is never processed twice. */
  processed: Record<string, number>;
  history: EngineEvent[];
  /** Alarms raised on this order, oldest first (absent in records of older versions). */
  alarms?: ClientAlarm[];
  /** The latest offer time the customer accepts without being asked (more time, 9.2.2). */
  moreTimeLimit?: DateTime;
  /** The PROCESSING_SUBCODE of the pending more-time request, if it gave one. */
  moreTimeSubcode?: ProcessingSubcodeValue;
  /** Parallel negotiation (8.10): the group this order belongs to. */
  groupId?: string;
  /** The Transaction-ID re-pinned to a new local endpoint after a restore (8.3): a FAIL 1 in it
   * may only mean "wrong 4-tuple", so it is not taken as the answer to the request. */
  repinned?: string;
}

export interface ClientEngineStats {
  received: number;
  processed: number;
  sent: number;
  retransmitted: number;
  /** Retransmitted responses recognised and not processed again (11.4). */
  duplicates: number;
  /** Dropped inbound messages by cause: decode, unknown-server, lookup, fourTuple, seq, state, fsm... */
  dropped: Record<string, number>;
}

/** What one step changed (the runner's commit hook): the orders to write, the ids evicted. */
export interface ClientChanges {
  orders: ClientOrderRecord[];
  evicted: string[];
}

export interface ClientEngineSnapshot {
  format: 'cpnp-client-engine';
  version: 1;
  orders: ClientOrderRecord[];
  stats: ClientEngineStats;
}

/** Every command returns an EngineOutput (to send even when the command is refused: due timers
 * fire first) plus its verdict. A refusal never changes the order. */
export type CommandResult = EngineOutput &
  ({ ok: true; orderId: string } | { ok: false; orderId?: string; code: RefusalCode; reason: string });

export interface CreateOrderInput {
  cpd: Cpd;
  ies?: InformationElements;
  expectedResponseTime?: DateTime;
  server: Endpoint;
  serverIdentity?: string;
  /** Default: "C-" followed by 12 random hex digits. */
  customerOrderId?: string;
  /** Pins the local endpoint of every transaction of this order. Default: the engine's
   * localEndpoint, resolved whenever a transaction opens. */
  local?: Endpoint;
  /** More time up to this offer time is granted automatically (overrides config.autoGrantMoreTimeMs). */
  moreTimeLimit?: DateTime;
  /** Parallel negotiation (8.10): the group the order belongs to (set by ParallelNegotiator). */
  groupId?: string;
}

export interface UpdateInput {
  cpd: Cpd;
  /** Mandatory in UPDATE (9.2.9). */
  expectedResponseTime: DateTime;
  ies?: InformationElements;
}

// ---------------------------------------------------------------------------------------------
// Internals

/** A programming or data error while building a message: turns a command into a refusal. */
class EngineError extends Error {
  override readonly name = 'ClientEngineError';
}

const FSM_TIMER_KIND: Readonly<Record<ClientTimer, TimerKind>> = {
  expectedResponse: 'expectedResponse',
  expectedOffer: 'expectedOffer',
  validityOffer: 'validityOffer',
  retransmit: 'retransmit',
  withdrawalRetry: 'withdrawRetry',
  requery: 'requery',
};

/** Messages the client sends in answer to the server's last message (11.4: a retransmission of
 * that message is answered with the same bytes). */
const ANSWERS: ReadonlySet<MethodName> = new Set<MethodName>(['PROCESSING', 'ACCEPT', 'DECLINE', 'ACK', 'FAIL']);

const ZERO_TXID = '00000000000000000000000000000000';

/**
 * The client half of a session's 4-tuple while the local endpoint is unknown. It is only a
 * placeholder: validation is told `localUnknown` explicitly, and this value matches no endpoint
 * a transport reports, so that a session whose flag were lost would fail closed.
 */
export const UNKNOWN_LOCAL: Readonly<Endpoint> = Object.freeze({ address: 'unknown', port: 0 });

/** An endpoint a transport could really receive on: a port and a specific address. */
function usableLocal(endpoint: Endpoint | undefined): Endpoint | undefined {
  if (endpoint === undefined || typeof endpoint.address !== 'string' || typeof endpoint.port !== 'number') return undefined;
  if (!Number.isInteger(endpoint.port) || endpoint.port < 1 || endpoint.port > 65535) return undefined;
  const address = normalizeAddress(endpoint.address);
  if (address === '' || address === '0.0.0.0' || address === '::' || address === UNKNOWN_LOCAL.address) return undefined;
  return { address: endpoint.address, port: endpoint.port };
}

interface StepContext {
  cause: string;
  method?: MethodName;
  /** Typed facts of the input (the received message), copied onto the notices it leads to. */
  data?: EngineEventData;
  /** retransmitTimeout: the timer that onRetransmitFired computed (backoff, same seq). */
  retransmitNext?: Timer;
}

function endpointKey(e: Endpoint): string {
  return `${normalizeAddress(e.address)}|${e.port}`;
}

function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return a.port === b.port && normalizeAddress(a.address) === normalizeAddress(b.address);
}

/** Typed facts of a message the client sends (EngineEventData). */
function sentData(message: CpnpMessage): EngineEventData {
  switch (message.method) {
    case Method.DECLINE:
      return message.reasons === undefined ? {} : { declineReasons: [...message.reasons] };
    case Method.FAIL:
      return { statusCode: message.statusCode };
    case Method.QUOTATION:
    case Method.UPDATE:
    case Method.ACK:
      return message.expectedResponseTime === undefined ? {} : { expectedResponseTime: message.expectedResponseTime };
    case Method.ACTIVATE:
      return { activationSchedule: message.activationSchedule };
    default:
      return {};
  }
}

/**
 * A working copy of a stored order for one step. Stored records are never changed in place (the
 * journal keeps them for rollback), and the state machine and session helpers return new
 * objects, so only the members a step mutates in place are copied: `processed`, `history` and
 * `alarms`. A full structuredClone per input cost about 100 µs (docs/benchmarks.md).
 */
function draftOf(rec: ClientOrderRecord): ClientOrderRecord {
  return {
    ...rec,
    processed: { ...rec.processed },
    history: rec.history.slice(),
    ...(rec.alarms === undefined ? {} : { alarms: rec.alarms.map((a) => ({ ...a })) }),
  };
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// ---------------------------------------------------------------------------------------------

export class ClientEngine implements EngineCore {
  private readonly clock: Clock;
  private readonly random: RandomSource;
  private readonly localEndpoint: LocalEndpointSource;
  private readonly transport: Transport;
  private readonly label: string | undefined;
  readonly config: ClientEngineConfig;
  private readonly orderMap = new Map<string, ClientOrderRecord>();
  /** Lowercase Transaction-ID of each order's current transaction → customerOrderId (8.4). */
  private readonly byTxid = new Map<string, string>();
  /** Finished orders evicted from memory: id → server (still ours: ids stay unique, section 13). */
  private readonly evicted = new Map<string, Endpoint>();
  /** Live orders per server endpoint: "is this a server we negotiate with" in O(1). */
  private readonly serverCount = new Map<string, number>();
  /** Each order's earliest timer (O(log n) nextDue and tick). */
  private readonly timerQueue = new TimerQueue();
  /** The undo log of the step in progress (begin() … settle()/rollback()). */
  private journal: { undo: Map<string, ClientOrderRecord | undefined>; evicted: Map<string, Endpoint | undefined>; stats: ClientEngineStats } | undefined;
  private statsValue: ClientEngineStats = { received: 0, processed: 0, sent: 0, retransmitted: 0, duplicates: 0, dropped: {} };

  constructor(deps: ClientEngineDeps) {
    this.clock = deps.clock;
    this.random = deps.random;
    this.localEndpoint = deps.localEndpoint;
    this.transport = deps.transport ?? 'udp';
    this.label = deps.label;
    this.config = {
      timers: timerConfig(deps.config?.timers),
      autoProcessOffer: deps.config?.autoProcessOffer ?? false,
      historyLimit: deps.config?.historyLimit ?? 1000,
      requery: { ...DEFAULT_REQUERY, ...deps.config?.requery },
      ...(deps.config?.autoGrantMoreTimeMs === undefined ? {} : { autoGrantMoreTimeMs: deps.config.autoGrantMoreTimeMs }),
    };
  }

  // --- getters ---------------------------------------------------------------------------

  /** A copy of one order, or undefined. */
  order(customerOrderId: string): ClientOrderRecord | undefined {
    const rec = this.orderMap.get(customerOrderId);
    return rec === undefined ? undefined : clone(rec);
  }

  /** Copies of all orders, in creation order. */
  orders(): ClientOrderRecord[] {
    return [...this.orderMap.values()].map(clone);
  }

  state(customerOrderId: string): ClientState | undefined {
    return this.orderMap.get(customerOrderId)?.fsm.state;
  }

  /** The activation sub-state of the order's agreement (9.2.11), if it has one. */
  activation(customerOrderId: string): ActivationStatus | undefined {
    return this.orderMap.get(customerOrderId)?.fsm.activation;
  }

  stats(): ClientEngineStats {
    return clone(this.statsValue);
  }

  // --- EngineCore ------------------------------------------------------------------------

  /** The earliest timer of all orders: O(log n), from the timer queue. */
  nextDue(): number | undefined {
    return this.timerQueue.peek();
  }

  /** Fires every timer due at clock.now(), earliest order first, each order's in due order. */
  tick(): EngineOutput {
    const out = emptyOutput();
    const now = this.clock.now();
    for (const id of this.timerQueue.popDue(now)) {
      // Each firing removes its timer or moves it to the future; the bound is a safety net.
      for (let guard = 0; guard < 64; guard++) {
        const rec = this.orderMap.get(id);
        const due = rec === undefined ? undefined : dueTimers(rec.timers, now)[0];
        if (rec === undefined || due === undefined) break;
        this.fireTimer(rec, due, out);
      }
      const rec = this.orderMap.get(id);
      if (rec !== undefined) this.timerQueue.set(id, firstTimer(rec.timers)?.dueAt);
    }
    return out;
  }

  // --- per-order persistence (the runner's commit hook, docs/client-engine.md section 8) ----

  /**
   * Starts recording a step: every order changed from now on keeps its previous version, so
   * that rollback() can put the engine back exactly where it was. The runner calls begin()
   * before each input when a commit hook is configured; without it nothing is recorded.
   */
  begin(): void {
    this.journal = { undo: new Map(), evicted: new Map(), stats: clone(this.statsValue) };
  }

  /** The orders changed (or created) since begin(), as copies, and the ids evicted. */
  changes(): ClientChanges {
    const journal = this.journal;
    if (journal === undefined) return { orders: [], evicted: [] };
    const orders: ClientOrderRecord[] = [];
    const evicted: string[] = [];
    for (const id of journal.undo.keys()) {
      const rec = this.orderMap.get(id);
      if (rec !== undefined) orders.push(clone(rec));
      else if (this.evicted.has(id)) evicted.push(id);
    }
    return { orders, evicted };
  }

  /** The step is stored: forget its undo log. */
  settle(): void {
    this.journal = undefined;
  }

  /** The step could not be stored: every order changed since begin() goes back to what it was. */
  rollback(): void {
    const journal = this.journal;
    this.journal = undefined;
    if (journal === undefined) return;
    for (const [id, previous] of journal.undo) {
      const current = this.orderMap.get(id);
      if (current !== undefined) {
        this.unindex(current);
        this.orderMap.delete(id);
      }
      if (previous !== undefined) {
        this.orderMap.set(id, previous);
        this.index(previous);
      }
    }
    for (const [id, server] of journal.evicted) {
      if (server === undefined) this.evicted.delete(id);
      else this.evicted.set(id, server);
    }
    this.statsValue = journal.stats;
  }

  /**
   * Adds one order read back from storage (restore per order). Throws RangeError when the
   * record is invalid or the id is live already. A transaction whose local endpoint is no longer
   * the transport's (the process came back on another local port, always with TLS) is re-pinned:
   * its local half becomes unknown again, so the next valid response on the new port fixes it
   * (section 5a), and the request is re-sent from there under 11.4.
   */
  load(record: ClientOrderRecord): CommandResult {
    const out = this.tick();
    const rec = clone(record);
    const problems = clientOrderProblems(rec?.fsm);
    if (typeof rec?.customerOrderId !== 'string' || problems.length > 0 || !Array.isArray(rec.timers)) {
      throw new RangeError(`order ${String(rec?.customerOrderId)} is invalid: ${problems.join('; ')}`);
    }
    if (this.orderMap.has(rec.customerOrderId)) throw new RangeError(`order ${rec.customerOrderId} is loaded already`);
    const local = emptyOutput();
    this.repin(rec, local);
    this.remember(rec.customerOrderId);
    this.evicted.delete(rec.customerOrderId);
    this.store(rec, local, out);
    return { ...out, ok: true, orderId: rec.customerOrderId };
  }

  /**
   * Removes a finished order from memory (reload it with load()). Finished: Completed or
   * Cancelled, no request outstanding, no timer, no open alarm. Its id stays reserved.
   */
  evict(id: string): CommandResult {
    const out = this.tick();
    const rec = this.orderMap.get(id);
    if (rec === undefined) return this.refused(out, id, 'evict', 'unknown-order', `unknown order ${id}`);
    const finished =
      (rec.fsm.state === 'Completed' || rec.fsm.state === 'Cancelled') &&
      rec.fsm.outstanding === undefined &&
      rec.timers.length === 0 &&
      !(rec.alarms ?? []).some((a) => a.open);
    if (!finished) return this.refused(out, id, 'evict', 'wrong-state', 'only finished orders (no request, timer or open alarm) are evicted');
    this.remember(id);
    this.unindex(rec);
    this.orderMap.delete(id);
    this.evicted.set(id, clone(rec.server));
    out.events.push(this.event('info', { cause: 'evicted', orderId: id }));
    return { ...out, ok: true, orderId: id };
  }

  /** Whether an order id is in memory ('live'), evicted, or unknown. */
  presence(id: string): 'live' | 'evicted' | 'unknown' {
    return this.orderMap.has(id) ? 'live' : this.evicted.has(id) ? 'evicted' : 'unknown';
  }

  /** How many orders are in memory. */
  get size(): number {
    return this.orderMap.size;
  }

  /**
   * Handles one received datagram. Due timers fire first (a deadline that has passed wins over a
   * late message). Anything undecodable, unknown or invalid (Table 5) is dropped silently and
   * counted (RFC 13, wire-format.md 7); a retransmitted response is answered from the cache and
   * never processed twice (11.4).
   */
  receive(inbound: Inbound): EngineOutput {
    const out = this.tick();
    this.statsValue.received++;
    const decoded = decodeMessage(inbound.bytes);
    if (!decoded.ok) {
      this.dropped(out, 'decode', decoded.error.message, inbound.from);
      return out;
    }
    const msg = decoded.message;
    const method = methodName(msg.method);
    if (!this.knownServer(inbound.from)) {
      this.dropped(out, 'unknown-server', 'no order is negotiated with this server (RFC 8921 section 13)', inbound.from, msg);
      return out;
    }
    const peer: PeerTuple = {
      transport: this.transport,
      clientAddress: inbound.to.address,
      clientPort: inbound.to.port,
      serverAddress: inbound.from.address,
      serverPort: inbound.from.port,
      ...(inbound.identity === undefined ? {} : { identity: inbound.identity }),
    };
    const orderId = this.byTxid.get(msg.txid.toLowerCase());
    const rec = orderId === undefined ? undefined : this.orderMap.get(orderId);
    const verdict = validateOnClient(msg, peer, ({ txid }) =>
      rec !== undefined && txid.toLowerCase() === msg.txid.toLowerCase() ? this.candidate(rec) : undefined,
    );
    if (verdict.verdict === 'drop' || rec === undefined) {
      const check = verdict.verdict === 'drop' ? verdict.check : 'lookup';
      const reason = verdict.verdict === 'drop' ? verdict.reason : 'no transaction';
      this.dropped(out, check, reason, inbound.from, msg);
      return out;
    }
    if (verdict.verdict === 'retransmission') {
      this.answerDuplicate(rec, msg, out);
      return out;
    }

    // Section 13: a Provider Order Identifier is fixed once known, and never one of our own
    // identifiers (a swapped or reflected identifier is an attack or a bug, never a new value).
    if ('providerOrderId' in msg && msg.providerOrderId !== undefined) {
      if (rec.providerOrderId !== undefined && msg.providerOrderId !== rec.providerOrderId) {
        this.dropped(out, 'providerOrderId', `the provider order identifier changed from ${rec.providerOrderId}`, inbound.from, msg);
        return out;
      }
      if (this.orderMap.has(msg.providerOrderId) || this.evicted.has(msg.providerOrderId)) {
        this.dropped(out, 'providerOrderId', 'the provider order identifier is one of our customer order identifiers', inbound.from, msg);
        return out;
      }
    }
    if (msg.method === Method.FAIL && msg.statusCode === StatusCode.MESSAGE_VALIDATION_ERROR && rec.repinned === msg.txid.toLowerCase()) {
      // 8.3: the server binds the transaction to its old 4-tuple and refuses the copy sent from
      // the new port; that refusal says nothing about the request (e.g. an agreement may exist).
      this.dropped(out, 'repinned', 'FAIL 1 in a transaction re-pinned after a restore: not an answer', inbound.from, msg);
      return out;
    }
    const event = this.inboundEvent(rec, msg);
    if (event === undefined) {
      this.dropped(out, 'method', `${method} is not handled by the client`, inbound.from, msg);
      return out;
    }
    const draft = draftOf(rec);
    const outcome = transitionClient(draft.fsm, event);
    if (!outcome.ok) {
      this.dropped(out, 'fsm', outcome.rejection.reason, inbound.from, msg);
      return out;
    }
    // Session bookkeeping (11.3, 11.1.1) before the effects, so answers know what they answer.
    if (draft.session === undefined) {
      this.dropped(out, 'lookup', 'the order has no open transaction', inbound.from, msg);
      return out;
    }
    const local = emptyOutput();
    if (verdict.local !== undefined) {
      // The first response that passed every other check (RFC 8921 10.1; its Transaction-ID is
      // 128 random bits only the server knows) fixes the client half of the 4-tuple for the
      // rest of the transaction. docs/client-engine.md section 5a.
      this.fixLocal(draft, verdict.local, local, 'first valid response');
    }
    const session = draft.session;
    draft.session = acceptIncoming(session, msg);
    draft.processed[msg.txid.toLowerCase()] = (draft.processed[msg.txid.toLowerCase()] ?? 0) + 1;
    if (msg.method === Method.PROCESSING || msg.method === Method.OFFER) {
      draft.session = learnIdentifiers(draft.session, {
        providerOrderId: msg.providerOrderId,
        ...(msg.method === Method.OFFER ? { nonce: msg.nonce } : {}),
      });
      draft.providerOrderId ??= msg.providerOrderId;
    }
    if (event.type === 'moreTimeRequestReceived') {
      if (event.processingSubcode === undefined) delete draft.moreTimeSubcode;
      else draft.moreTimeSubcode = event.processingSubcode;
    }
    const data = this.messageData(msg);
    if (msg.method === Method.OFFER) {
      draft.offer = {
        txid: msg.txid,
        seq: msg.seq,
        providerOrderId: msg.providerOrderId,
        nonce: msg.nonce,
        cpd: msg.cpd,
        validityOfferTime: msg.validityOfferTime,
        ...(msg.activationSchedule === undefined ? {} : { activationSchedule: msg.activationSchedule }),
        ...(msg.ies === undefined ? {} : { ies: msg.ies }),
        receivedAt: this.clock.now(),
      };
      // Until an agreement exists, the offer's nonce is the order's (9.1.5); during an UPDATE
      // cycle the agreement's nonce stays in force until the new agreement is concluded.
      if (!draft.fsm.hasAgreement) draft.nonce = msg.nonce;
    }
    this.statsValue.processed++;
    this.emit(local, draft, 'received', { cause: event.type, method, seq: msg.seq, txid: msg.txid, peer: inbound.from, data });
    try {
      this.commit(draft, outcome, { cause: event.type, method, data }, local);
      if (msg.method === Method.OFFER && this.config.autoProcessOffer && draft.fsm.state === 'OfferReceived') {
        const auto = transitionClient(draft.fsm, { type: 'processOffer' });
        if (auto.ok) this.commit(draft, auto, { cause: 'autoProcessOffer' }, local);
      }
      this.autoGrantMoreTime(draft, local);
    } catch (error) {
      this.dropped(out, 'internal', errorText(error), inbound.from, msg);
      return out;
    }
    this.store(draft, local, out);
    return out;
  }

  // --- commands --------------------------------------------------------------------------

  /** A new local order in Created (8.11.1, 11.1.1): nothing is sent until approve + sendQuotation. */
  createOrder(input: CreateOrderInput): CommandResult {
    const out = this.tick();
    const now = this.clock.now();
    const id = input.customerOrderId ?? this.newOrderId();
    if (id === undefined) return this.refused(out, undefined, 'createOrder', 'invalid-input', 'could not draw a unique order identifier');
    if (this.orderMap.has(id) || this.evicted.has(id)) return this.refused(out, id, 'createOrder', 'duplicate-order', `order ${id} already exists`);
    if (input.expectedResponseTime !== undefined && !isDateTime(input.expectedResponseTime)) {
      return this.refused(out, id, 'createOrder', 'invalid-input', 'expectedResponseTime is not a CPNP date-time');
    }
    if (input.moreTimeLimit !== undefined && !isDateTime(input.moreTimeLimit)) {
      return this.refused(out, id, 'createOrder', 'invalid-input', 'moreTimeLimit is not a CPNP date-time');
    }
    const request: ClientRequestData = {
      cpd: clone(input.cpd),
      ...(input.ies === undefined ? {} : { ies: clone(input.ies) }),
      ...(input.expectedResponseTime === undefined ? {} : { expectedResponseTime: input.expectedResponseTime }),
    };
    // Encode a trial QUOTATION now so a bad identifier, CPD or IE is refused at creation.
    try {
      encodeMessage({ version: CPNP_VERSION, method: Method.QUOTATION, seq: 0, txid: ZERO_TXID, customerOrderId: id, ...request });
    } catch (error) {
      return this.refused(out, id, 'createOrder', 'invalid-input', `invalid order: ${errorText(error)}`);
    }
    // The local endpoint is resolved when each transaction opens, not now: a DTLS or TLS client
    // learns it only when its first connection to the server opens.
    let pinnedLocal: Endpoint | undefined;
    if (input.local !== undefined) {
      pinnedLocal = usableLocal(input.local);
      if (pinnedLocal === undefined) return this.refused(out, id, 'createOrder', 'invalid-input', 'local is not a bound endpoint (address and port)');
    }
    const rec: ClientOrderRecord = {
      customerOrderId: id,
      server: { address: input.server.address, port: input.server.port },
      ...(input.serverIdentity === undefined ? {} : { serverIdentity: input.serverIdentity }),
      ...(pinnedLocal === undefined ? {} : { pinnedLocal }),
      ...(input.moreTimeLimit === undefined ? {} : { moreTimeLimit: input.moreTimeLimit }),
      ...(input.groupId === undefined ? {} : { groupId: input.groupId }),
      createdAt: now,
      updatedAt: now,
      fsm: createClientOrder(),
      request,
      timers: [],
      withdrawCycles: 0,
      processed: {},
      history: [],
    };
    const local = emptyOutput();
    this.emit(local, rec, 'transition', { cause: 'createOrder', to: rec.fsm.state, peer: rec.server });
    this.store(rec, local, out);
    return { ...out, ok: true, orderId: id };
  }

  /** The administrator allows processing (8.11.1 Created → AwaitingProcessing). */
  approve(id: string): CommandResult {
    return this.command(id, 'approve', { type: 'adminApprove' });
  }

  /** The administrator rejects the order before it is sent (→ Cancelled(rejected)). */
  reject(id: string): CommandResult {
    return this.command(id, 'reject', { type: 'adminReject' });
  }

  /** Sends the QUOTATION (9.2.1) in a new transaction (8.4). */
  sendQuotation(id: string): CommandResult {
    const rec = this.orderMap.get(id);
    return this.command(id, 'sendQuotation', {
      type: 'sendQuotation',
      expectedResponseTime: rec?.request.expectedResponseTime,
      activationType: rec?.request.ies?.options?.activationType,
    });
  }

  /** Sends PROCESSING for the offer (Figure 6): the server stops retransmitting it (11.2.1). */
  processOffer(id: string): CommandResult {
    return this.command(id, 'processOffer', { type: 'processOffer' });
  }

  /** ACCEPT, copied from the OFFER (9.2.4). */
  accept(id: string): CommandResult {
    return this.command(id, 'accept', { type: 'accept' });
  }

  decline(id: string, reasons?: DeclineReasonValue[]): CommandResult {
    return this.command(id, 'decline', { type: 'decline', ...(reasons && reasons.length > 0 ? { reasons } : {}) });
  }

  /** CANCEL (9.2.7): locally before anything was sent, on the wire afterwards. */
  cancel(id: string): CommandResult {
    return this.command(id, 'cancel', { type: 'cancel' });
  }

  /** WITHDRAW a Completed agreement (9.2.8, 11.1.2) in a new transaction. */
  withdraw(id: string): CommandResult {
    return this.command(id, 'withdraw', { type: 'withdraw' });
  }

  /** UPDATE a Completed agreement (9.2.9, 11.1.3) in a new transaction. */
  update(id: string, input: UpdateInput): CommandResult {
    if (!isDateTime(input.expectedResponseTime)) {
      return this.refused(this.tick(), id, 'update', 'invalid-input', 'expectedResponseTime is not a CPNP date-time');
    }
    const data: ClientRequestData = {
      cpd: clone(input.cpd),
      expectedResponseTime: input.expectedResponseTime,
      ...(input.ies === undefined ? {} : { ies: clone(input.ies) }),
    };
    const activationType: ActivationType | undefined = input.ies?.options?.activationType;
    return this.command(
      id,
      'update',
      {
        type: 'sendUpdate',
        expectedResponseTime: input.expectedResponseTime,
        ...(activationType === undefined ? {} : { activationType }),
      },
      (draft) => {
        draft.update = data;
      },
    );
  }

  /** ACTIVATE (9.2.11): null = now, 0 = deactivate, a date-time = then. */
  activate(id: string, schedule: ActivationSchedule): CommandResult {
    return this.command(id, 'activate', { type: 'activate', schedule });
  }

  /**
   * Grants the time the server asked for with ACK (9.2.2, 9.2.6, Figure 11). `until` replaces
   * the asked time in the ACK and in the offer deadline.
   */
  grantMoreTime(id: string, until?: DateTime): CommandResult {
    if (until !== undefined && !isDateTime(until)) {
      return this.refused(this.tick(), id, 'grantMoreTime', 'invalid-input', 'until is not a CPNP date-time');
    }
    if (until !== undefined) {
      // Bounds: a grant is in the future and never more than the server asked for.
      const asked = this.orderMap.get(id)?.fsm.moreTimeRequested;
      const at = dateTimeToMillis(until);
      if (at <= this.clock.now() || (asked !== undefined && at > dateTimeToMillis(asked))) {
        return this.refused(this.tick(), id, 'grantMoreTime', 'bad-time', 'until must lie in the future and not after the time the server asked for');
      }
    }
    return this.command(id, 'grantMoreTime', { type: 'grantMoreTime' }, undefined, (effects) =>
      until === undefined
        ? effects
        : effects.map((effect): ClientEffect => {
            if (effect.type === 'send' && effect.method === 'ACK') return { ...effect, expectedResponseTime: until };
            if (effect.type === 'startTimer' && effect.timer === 'expectedOffer') return { ...effect, at: until };
            return effect;
          }),
    );
  }

  /** Refuses more time with FAIL 7 (Figure 12); the earlier offer deadline stays. */
  refuseMoreTime(id: string): CommandResult {
    return this.command(id, 'refuseMoreTime', { type: 'refuseMoreTime' });
  }

  /** The administrator gives up an unanswered request (11.1.2). */
  stopRetrying(id: string): CommandResult {
    return this.command(id, 'stopRetrying', { type: 'stopRetrying' });
  }

  /**
   * An operator's "ask again now" for a request whose answer is pending or unknown (C9, C10):
   * the same bytes are re-sent, and the server answers with its stored answer (11.4).
   */
  requery(id: string): CommandResult {
    return this.command(id, 'requery', { type: 'requeryDue' });
  }

  /** The alarms of an order still open (an operator has not settled them, no answer did). */
  openAlarms(id: string): ClientAlarm[] {
    return clone((this.orderMap.get(id)?.alarms ?? []).filter((a) => a.open));
  }

  /**
   * An operator settles the order's open alarms (e.g. after contacting the provider). The order's
   * state is unchanged; `note` is kept with the alarms.
   */
  resolveAlarm(id: string, note?: string): CommandResult {
    const out = this.tick();
    const rec = this.orderMap.get(id);
    if (rec === undefined) return this.refused(out, id, 'resolveAlarm', 'unknown-order', `unknown order ${id}`);
    const draft = draftOf(rec);
    const local = emptyOutput();
    if (this.settleAlarms(draft, local, 'operator', note) === 0) {
      return this.refused(out, id, 'resolveAlarm', 'wrong-state', 'the order has no open alarm');
    }
    this.store(draft, local, out);
    return { ...out, ok: true, orderId: id };
  }

  // --- persistence -----------------------------------------------------------------------

  /** Everything the engine knows, as plain JSON (timers are absolute times: they survive). */
  snapshot(): ClientEngineSnapshot {
    return {
      format: 'cpnp-client-engine',
      version: 1,
      orders: [...this.orderMap.values()].map(clone),
      stats: clone(this.statsValue),
    };
  }

  /** A new engine continuing from a snapshot. Throws RangeError on a malformed snapshot. */
  static restore(snapshot: unknown, deps: ClientEngineDeps): ClientEngine {
    const snap = clone(snapshot) as Partial<ClientEngineSnapshot> | null;
    if (snap === null || typeof snap !== 'object' || snap.format !== 'cpnp-client-engine' || snap.version !== 1) {
      throw new RangeError('not a cpnp-client-engine snapshot (version 1)');
    }
    if (!Array.isArray(snap.orders)) throw new RangeError('snapshot.orders must be an array');
    const engine = new ClientEngine(deps);
    for (const rec of snap.orders) {
      const problems = clientOrderProblems(rec?.fsm);
      if (typeof rec?.customerOrderId !== 'string' || problems.length > 0 || !Array.isArray(rec.timers)) {
        throw new RangeError(`snapshot order ${String(rec?.customerOrderId)} is invalid: ${problems.join('; ')}`);
      }
      if (engine.orderMap.has(rec.customerOrderId)) throw new RangeError(`duplicate order ${rec.customerOrderId}`);
      engine.orderMap.set(rec.customerOrderId, rec);
      engine.index(rec);
    }
    if (snap.stats !== undefined) engine.statsValue = snap.stats;
    return engine;
  }

  // --- internals: inputs -----------------------------------------------------------------

  /**
   * The local endpoint for transactions with the order's server, if it is known now. A source
   * that throws, or reports an unbound endpoint, counts as "not known yet".
   */
  private resolveLocal(rec: ClientOrderRecord): Endpoint | undefined {
    if (rec.pinnedLocal !== undefined) return clone(rec.pinnedLocal);
    try {
      const source = this.localEndpoint;
      return usableLocal(typeof source === 'function' ? source(clone(rec.server)) : source);
    } catch {
      return undefined;
    }
  }

  /** Fixes the client half of the current transaction's 4-tuple (8.3) from now on. */
  private fixLocal(draft: ClientOrderRecord, endpoint: Endpoint, out: EngineOutput, how: string): void {
    const local = { address: endpoint.address, port: endpoint.port };
    draft.local = local;
    if (draft.session !== undefined) {
      draft.session = { ...draft.session, peer: { ...draft.session.peer, clientAddress: local.address, clientPort: local.port } };
    }
    this.emit(out, draft, 'info', {
      cause: 'local-endpoint',
      detail: `local endpoint ${local.address}:${local.port} (${how})`,
      ...(draft.session === undefined ? {} : { txid: draft.session.txid }),
    });
  }

  /** While the current transaction's local endpoint is unknown, asks the source again: the
   * transport may have connected since the transaction opened. */
  private refreshLocal(draft: ClientOrderRecord, out: EngineOutput): void {
    if (draft.local !== undefined || draft.session === undefined) return;
    const local = this.resolveLocal(draft);
    if (local !== undefined) this.fixLocal(draft, local, out, 'reported by the transport');
  }

  private newOrderId(): string | undefined {
    for (let i = 0; i < 16; i++) {
      const id = `C-${toHex(this.random.bytes(6))}`;
      if (!this.orderMap.has(id)) return id;
    }
    return undefined;
  }

  private knownServer(from: Endpoint): boolean {
    return (this.serverCount.get(endpointKey(from)) ?? 0) > 0;
  }

  /** Index entries of an order: its current Transaction-ID, its server, its earliest timer. */
  private index(rec: ClientOrderRecord): void {
    const id = rec.customerOrderId;
    if (rec.session !== undefined) this.byTxid.set(rec.session.txid.toLowerCase(), id);
    const key = endpointKey(rec.server);
    this.serverCount.set(key, (this.serverCount.get(key) ?? 0) + 1);
    this.timerQueue.set(id, firstTimer(rec.timers)?.dueAt);
  }

  private unindex(rec: ClientOrderRecord): void {
    const id = rec.customerOrderId;
    if (rec.session !== undefined) {
      const txid = rec.session.txid.toLowerCase();
      if (this.byTxid.get(txid) === id) this.byTxid.delete(txid);
    }
    const key = endpointKey(rec.server);
    const count = (this.serverCount.get(key) ?? 0) - 1;
    if (count > 0) this.serverCount.set(key, count);
    else this.serverCount.delete(key);
    this.timerQueue.set(id, undefined);
  }

  /** Journals the version of order `id` before the step's first change to it. */
  private remember(id: string): void {
    const journal = this.journal;
    if (journal === undefined || journal.undo.has(id)) return;
    journal.undo.set(id, this.orderMap.get(id));
    journal.evicted.set(id, this.evicted.get(id));
  }

  /**
   * Restore on another local port: a transaction whose local endpoint differs from the one the
   * transport reports now is re-pinned (section 5a: unknown until the first valid response).
   */
  private repin(rec: ClientOrderRecord, out: EngineOutput): void {
    if (rec.session === undefined || rec.local === undefined || rec.pinnedLocal !== undefined) return;
    const now = this.resolveLocal(rec);
    if (now !== undefined && sameEndpoint(now, rec.local)) return;
    const before = rec.local;
    delete rec.local;
    rec.repinned = rec.session.txid.toLowerCase();
    rec.session = { ...rec.session, peer: { ...rec.session.peer, clientAddress: UNKNOWN_LOCAL.address, clientPort: UNKNOWN_LOCAL.port } };
    this.emit(out, rec, 'info', {
      cause: 'local-endpoint',
      detail: `restored away from ${before.address}:${before.port}: the local endpoint is learnt again`,
      txid: rec.session.txid,
    });
    if (now !== undefined) this.fixLocal(rec, now, out, 'reported by the transport after a restore');
  }

  /** What validation (Table 5) sees of an order: its current transaction and its real state. */
  private candidate(rec: ClientOrderRecord): ClientCandidate | undefined {
    const session = rec.session;
    if (session === undefined) return undefined;
    const offered = rec.offer !== undefined && rec.offer.txid.toLowerCase() === session.txid.toLowerCase();
    return {
      session,
      state: rec.fsm.state,
      ...(offered && rec.offer ? { offeredCpd: rec.offer.cpd } : {}),
      ...(rec.serverIdentity === undefined ? {} : { serverIdentity: rec.serverIdentity }),
      ...(rec.local === undefined ? { localUnknown: true } : {}),
    };
  }

  /** The state machine event of a validated response (10.1, 9.2.2 for the two PROCESSINGs). */
  private inboundEvent(rec: ClientOrderRecord, msg: CpnpMessage): ClientEvent | undefined {
    switch (msg.method) {
      case Method.PROCESSING:
        if (msg.expectedOfferTime !== undefined && isMoreTimeRequest(rec.fsm, msg, this.offerDeadline(rec))) {
          return {
            type: 'moreTimeRequestReceived',
            expectedOfferTime: msg.expectedOfferTime,
            ...(msg.processingSubcode === undefined ? {} : { processingSubcode: msg.processingSubcode }),
          };
        }
        return {
          type: 'processingReceived',
          ...(msg.expectedOfferTime === undefined ? {} : { expectedOfferTime: msg.expectedOfferTime }),
          // C9: the interim answers of one request are bounded (config.requery.maxRounds).
          ...((rec.fsm.outstanding?.requeries ?? 0) >= this.config.requery.maxRounds ? { overdue: true } : {}),
        };
      case Method.OFFER: {
        const activationType = msg.ies?.options?.activationType;
        return {
          type: 'offerReceived',
          validityOfferTime: msg.validityOfferTime,
          ...(activationType === undefined ? {} : { activationType }),
          ...(msg.activationSchedule === undefined ? {} : { activationSchedule: msg.activationSchedule }),
        };
      }
      case Method.ACK:
        return { type: 'ackReceived' };
      case Method.FAIL:
        return { type: 'failReceived', statusCode: msg.statusCode };
      default:
        return undefined;
    }
  }

  /** 11.4: the server repeated its last message; resend our answer to it, never reprocess. */
  private answerDuplicate(rec: ClientOrderRecord, msg: CpnpMessage, out: EngineOutput): void {
    this.statsValue.duplicates++;
    const session = rec.session;
    if (session === undefined) return;
    const method = methodName(msg.method);
    const draft = draftOf(rec);
    const local = emptyOutput();
    const answer = answerRetransmission(session, msg.seq, this.clock.now());
    this.emit(local, draft, 'duplicate', {
      cause: `retransmission:${answer.action}`,
      method,
      seq: msg.seq,
      txid: msg.txid,
      peer: rec.server,
    });
    if (answer.action === 'resend' && draft.sent !== undefined && draft.sent.ref === answer.sent.ref) {
      this.resendCached(draft, local, 'answer to a retransmitted response');
    }
    // 'processing': no answer exists yet; the client's answers are decisions of the application
    // (offer evaluation, time extension), so the server's retransmission simply waits for them.
    this.store(draft, local, out);
  }

  private fireTimer(rec: ClientOrderRecord, timer: Timer, out: EngineOutput): void {
    const draft = draftOf(rec);
    draft.timers = cancelTimer(draft.timers, timer.kind);
    const ctx: StepContext = { cause: `timer:${timer.kind}` };
    let event: ClientEvent;
    switch (timer.kind) {
      case 'expectedResponse':
        event = { type: 'expectedResponseTimeout' };
        break;
      case 'expectedOffer':
        event = { type: 'expectedOfferTimeout' };
        break;
      case 'validityOffer':
        event = { type: 'validityOfferTimeout' };
        break;
      case 'withdrawRetry':
        event = { type: 'withdrawalRetryDue' };
        break;
      case 'requery':
        event = { type: 'requeryDue' };
        break;
      case 'retransmit': {
        const fired = onRetransmitFired(timer, this.clock.now(), this.config.timers);
        if (fired.action === 'retransmit') {
          event = { type: 'retransmitTimeout' };
          ctx.retransmitNext = fired.timer;
        } else {
          // C10: another re-query round is allowed while the configured rounds last.
          const rounds = draft.fsm.outstanding?.requeries ?? 0;
          event = { type: 'retriesExhausted', ...(rounds < this.config.requery.maxRounds ? { requery: true } : {}) };
        }
        break;
      }
    }
    ctx.cause = event.type;
    const local = emptyOutput();
    this.emit(local, draft, 'timer', { cause: event.type, detail: `${timer.kind} due at ${timer.dueAt}` });
    const outcome = transitionClient(draft.fsm, event);
    if (!outcome.ok) {
      // A stale timer (its state already left): it is simply removed.
      this.emit(local, draft, 'info', { cause: 'timer-ignored', detail: outcome.rejection.reason });
      this.store(draft, local, out);
      return;
    }
    const before = draftOf(draft);
    try {
      this.commit(draft, outcome, ctx, local);
      this.store(draft, local, out);
    } catch (error) {
      const failed = emptyOutput();
      this.emit(failed, before, 'error', { cause: event.type, detail: errorText(error) });
      this.store(before, failed, out);
    }
  }

  private command(
    id: string,
    name: string,
    event: ClientEvent,
    prepare?: (draft: ClientOrderRecord) => void,
    rewrite?: (effects: ClientEffect[]) => ClientEffect[],
  ): CommandResult {
    const out = this.tick();
    const rec = this.orderMap.get(id);
    if (rec === undefined) {
      const why = this.evicted.has(id) ? `order ${id} is evicted: load() it first` : `unknown order ${id}`;
      return this.refused(out, id, name, 'unknown-order', why);
    }
    const draft = draftOf(rec);
    prepare?.(draft);
    const outcome = transitionClient(draft.fsm, event);
    if (!outcome.ok) return this.refused(out, id, name, this.refusalCode(rec, event, outcome.rejection.code), outcome.rejection.reason);
    const step: ClientOutcome = rewrite ? { ...outcome, effects: rewrite(outcome.effects) } : outcome;
    const local = emptyOutput();
    try {
      this.commit(draft, step, { cause: name }, local);
    } catch (error) {
      return this.refused(out, id, name, 'encode-failed', errorText(error));
    }
    this.store(draft, local, out);
    return { ...out, ok: true, orderId: id };
  }

  // --- internals: applying a transition --------------------------------------------------

  /** Applies an accepted transition to `draft`: new FSM state, then its effects in order. */
  private commit(draft: ClientOrderRecord, outcome: ClientOutcome, ctx: StepContext, out: EngineOutput): void {
    if (!outcome.ok) throw new EngineError(outcome.rejection.reason);
    const from = draft.fsm.state;
    if (from === 'AcceptSent' && ctx.cause === 'ackReceived' && draft.offer !== undefined) {
      // The ACK concluded the agreement (9.2.6): the offer's CPD and nonce are now the order's,
      // before the effects run (a cancel requested meanwhile withdraws it at once, C23).
      draft.agreement = {
        cpd: draft.offer.cpd,
        providerOrderId: draft.offer.providerOrderId,
        nonce: draft.offer.nonce,
        txid: draft.offer.txid,
        cycle: draft.fsm.cycle,
        concludedAt: this.clock.now(),
      };
      draft.nonce = draft.offer.nonce;
      draft.providerOrderId = draft.offer.providerOrderId;
    }
    draft.fsm = outcome.next;
    if (draft.fsm.moreTimeRequested === undefined) delete draft.moreTimeSubcode;
    for (const effect of outcome.effects) {
      switch (effect.type) {
        case 'send':
          this.performSend(draft, effect, out);
          break;
        case 'startTimer':
          this.startTimer(draft, effect.timer, effect.at, effect.minDelaySeconds, ctx);
          break;
        case 'cancelTimer':
          draft.timers = cancelTimer(draft.timers, FSM_TIMER_KIND[effect.timer]);
          break;
        case 'notify':
          if (effect.what === 'outcomeKnown') this.settleAlarms(draft, out, 'answer');
          this.emit(out, draft, effect.what === 'evaluateOffer' ? 'offer' : 'notice', {
            cause: effect.what,
            data: this.noticeData(draft, effect.what, ctx),
          });
          break;
        case 'alarm':
          (draft.alarms ??= []).push({ kind: effect.reason, raisedAt: this.clock.now(), open: true });
          this.emit(out, draft, 'alarm', { cause: effect.reason, data: { alarm: effect.reason, ...this.orderData(draft) } });
          break;
      }
    }
    if (draft.fsm.state !== from) {
      this.emit(out, draft, 'transition', { cause: ctx.cause, from, to: draft.fsm.state, method: ctx.method, data: this.orderData(draft) });
    }
  }

  /** Marks the open alarms settled (by an answer: only those that said "unknown"). */
  private settleAlarms(draft: ClientOrderRecord, out: EngineOutput, by: 'answer' | 'operator', note?: string): number {
    let settled = 0;
    for (const alarm of draft.alarms ?? []) {
      if (!alarm.open || (by === 'answer' && !SETTLED_BY_ANSWER.has(alarm.kind))) continue;
      alarm.open = false;
      alarm.settledAt = this.clock.now();
      alarm.settledBy = by;
      if (note !== undefined) alarm.note = note;
      settled++;
      this.emit(out, draft, 'info', { cause: 'alarm-settled', detail: `${alarm.kind} settled by ${by}`, data: { alarm: alarm.kind } });
    }
    return settled;
  }

  /** What every event about an order may carry: its identifiers and outcome so far. */
  private orderData(rec: ClientOrderRecord): EngineEventData {
    return {
      ...(rec.providerOrderId === undefined ? {} : { providerOrderId: rec.providerOrderId }),
      ...(rec.fsm.cancelReason === undefined ? {} : { cancelReason: rec.fsm.cancelReason }),
      ...(rec.fsm.activation === undefined ? {} : { activation: clone(rec.fsm.activation) }),
      ...(rec.groupId === undefined ? {} : { groupId: rec.groupId }),
    };
  }

  private noticeData(rec: ClientOrderRecord, what: string, ctx: StepContext): EngineEventData {
    const data: EngineEventData = { ...this.orderData(rec), ...ctx.data };
    if (what === 'evaluateOffer' && rec.offer !== undefined) {
      const requested = rec.fsm.cycle === 'update' && rec.update !== undefined ? rec.update.cpd : rec.request.cpd;
      data.offeredCpd = clone(rec.offer.cpd);
      data.validityOfferTime = rec.offer.validityOfferTime;
      try {
        data.offerDiff = diffCpd(requested, rec.offer.cpd).summary;
      } catch {
        // A CPD the diff cannot read is still an offer; the summary is just absent.
      }
    }
    if (what === 'decideMoreTime' && rec.fsm.moreTimeRequested !== undefined) {
      data.expectedOfferTime = rec.fsm.moreTimeRequested;
      if (rec.moreTimeSubcode !== undefined) data.processingSubcode = rec.moreTimeSubcode;
      const deadline = this.offerDeadline(rec);
      if (deadline !== undefined) data.deadline = deadline;
    }
    return data;
  }

  /** Typed facts of a received message (EngineEventData). */
  private messageData(msg: CpnpMessage): EngineEventData {
    switch (msg.method) {
      case Method.FAIL:
        return { statusCode: msg.statusCode };
      case Method.PROCESSING:
        return {
          ...(msg.expectedOfferTime === undefined ? {} : { expectedOfferTime: msg.expectedOfferTime }),
          ...(msg.processingSubcode === undefined ? {} : { processingSubcode: msg.processingSubcode }),
        };
      case Method.OFFER:
        return { validityOfferTime: msg.validityOfferTime, providerOrderId: msg.providerOrderId };
      default:
        return {};
    }
  }

  /** The client's deadline for an offer (ms): its response or offer timer, if one runs. */
  private offerDeadline(rec: ClientOrderRecord): number | undefined {
    return findTimer(rec.timers, 'expectedOffer')?.dueAt ?? findTimer(rec.timers, 'expectedResponse')?.dueAt;
  }

  /**
   * More time is the client's decision (9.2.2, 11.1.1): granted at once up to the order's limit
   * (or config.autoGrantMoreTimeMs past its EXPECTED_RESPONSE_TIME), else left to the
   * application, which answers before the deadline; at the deadline the order is cancelled.
   */
  private autoGrantMoreTime(draft: ClientOrderRecord, out: EngineOutput): void {
    const asked = draft.fsm.moreTimeRequested;
    if (asked === undefined || draft.fsm.state !== 'ServerProcessing') return;
    let limit: number | undefined;
    if (draft.moreTimeLimit !== undefined) limit = dateTimeToMillis(draft.moreTimeLimit);
    else if (this.config.autoGrantMoreTimeMs !== undefined) {
      const ert = (draft.fsm.cycle === 'update' ? draft.update : draft.request)?.expectedResponseTime;
      if (ert !== undefined) limit = dateTimeToMillis(ert) + this.config.autoGrantMoreTimeMs;
    }
    if (limit === undefined || dateTimeToMillis(asked) > limit) return;
    const grant = transitionClient(draft.fsm, { type: 'grantMoreTime' });
    if (!grant.ok) return;
    // Answered already: the application is not asked (its decideMoreTime notice is withdrawn).
    const asking = out.events.findIndex((e) => e.kind === 'notice' && e.cause === 'decideMoreTime' && e.orderId === draft.customerOrderId);
    if (asking >= 0) out.events.splice(asking, 1);
    this.emit(out, draft, 'info', {
      cause: 'autoGrantMoreTime',
      detail: `more time granted up to ${asked} (limit ${new Date(limit).toISOString()})`,
      data: { ...this.orderData(draft), expectedOfferTime: asked, ...(draft.moreTimeSubcode === undefined ? {} : { processingSubcode: draft.moreTimeSubcode }) },
    });
    this.commit(draft, grant, { cause: 'autoGrantMoreTime', data: { expectedResponseTime: asked } }, out);
  }

  private startTimer(
    draft: ClientOrderRecord,
    timer: ClientTimer,
    at: DateTime | undefined,
    minDelaySeconds: number | undefined,
    ctx: StepContext,
  ): void {
    const now = this.clock.now();
    switch (timer) {
      case 'retransmit': {
        if (ctx.retransmitNext !== undefined) {
          draft.timers = setTimer(draft.timers, ctx.retransmitNext);
          return;
        }
        const seq = draft.session?.lastSent?.seq;
        if (seq === undefined) throw new EngineError('retransmit timer without a sent message');
        draft.timers = scheduleRetransmit(draft.timers, seq, now, this.config.timers);
        return;
      }
      case 'requery':
        draft.timers = setTimer(draft.timers, {
          kind: 'requery',
          dueAt: now + this.config.requery.intervalMs,
          attempt: draft.fsm.outstanding?.requeries ?? 0,
        });
        return;
      case 'withdrawalRetry': {
        const floor = (minDelaySeconds ?? 0) * 1000;
        const config = { ...this.config.timers, withdrawRetryMs: Math.max(this.config.timers.withdrawRetryMs, floor) };
        draft.timers = scheduleWithdrawRetry(draft.timers, now, draft.withdrawCycles, config);
        draft.withdrawCycles++;
        return;
      }
      default:
        draft.timers = setDeadline(draft.timers, timer, at);
    }
  }

  /** The 4-tuple of a new transaction: the client half is UNKNOWN_LOCAL while `local` is. */
  private peerFor(draft: ClientOrderRecord, local: Endpoint | undefined): PeerTuple {
    const client = local ?? UNKNOWN_LOCAL;
    return {
      transport: this.transport,
      clientAddress: client.address,
      clientPort: client.port,
      serverAddress: draft.server.address,
      serverPort: draft.server.port,
      ...(draft.serverIdentity === undefined ? {} : { identity: draft.serverIdentity }),
    };
  }

  /** Builds, encodes and records one message of a `send` effect (or resends the cached one). */
  private performSend(draft: ClientOrderRecord, effect: SendEffect, out: EngineOutput): void {
    if (effect.retransmission) {
      const last = draft.session?.lastSent;
      if (last === undefined || methodName(last.method) !== effect.method) {
        throw new EngineError(`no ${effect.method} to retransmit`);
      }
      this.resendCached(draft, out, 'retransmission timer');
      return;
    }
    const code = Method[effect.method];
    const kind = transactionKindOf(code);
    if (kind !== undefined) {
      // QUOTATION, UPDATE, WITHDRAW, ACTIVATE open a new transaction: new random
      // Transaction-ID and first sequence number (8.4, 9.2.9, 9.2.11), and its own 4-tuple,
      // whose local half is resolved now (undefined: learnt from the first valid response).
      const local = this.resolveLocal(draft);
      if (local === undefined) delete draft.local;
      else draft.local = local;
      draft.session = openClientSession(
        {
          peer: this.peerFor(draft, local),
          kind,
          customerOrderId: draft.customerOrderId,
          ...(kind === 'quotation' || draft.providerOrderId === undefined ? {} : { providerOrderId: draft.providerOrderId }),
          ...(kind === 'quotation' || draft.nonce === undefined ? {} : { nonce: draft.nonce }),
        },
        this.random,
      );
      draft.sent = undefined;
      delete draft.repinned;
      if (local === undefined) {
        this.emit(out, draft, 'info', {
          cause: 'local-endpoint',
          detail: 'local endpoint not known yet: the first valid response fixes it',
          txid: draft.session.txid,
        });
      }
    } else {
      this.refreshLocal(draft, out);
    }
    const session = draft.session;
    if (session === undefined) throw new EngineError(`${effect.method} needs an open transaction`);
    const seq = session.outSeq;
    const message = this.buildMessage(draft, session, effect, seq);
    const bytes = encodeMessage(message);
    const ref = `${session.txid}/${seq}`;
    const inReplyTo = ANSWERS.has(effect.method) ? session.inSeq : undefined;
    const recorded = recordSent(session, {
      method: code,
      ref,
      now: this.clock.now(),
      ...(inReplyTo === undefined ? {} : { inReplyTo }),
    });
    draft.session = recorded.entry;
    draft.sent = { ref, hex: toHex(bytes), message };
    out.sends.push({ to: clone(draft.server), bytes, message });
    this.statsValue.sent++;
    this.emit(out, draft, 'sent', { cause: effect.method, method: effect.method, seq, txid: session.txid, peer: draft.server, data: sentData(message) });
  }

  /** Puts the cached bytes of the last message on the wire again: same seq (11.1.1, 11.4). */
  private resendCached(draft: ClientOrderRecord, out: EngineOutput, why: string): void {
    this.refreshLocal(draft, out);
    const session = draft.session;
    const cache = draft.sent;
    if (session?.lastSent === undefined || cache === undefined || cache.ref !== session.lastSent.ref) {
      throw new EngineError('the last sent message is not cached');
    }
    const bytes = fromHex(cache.hex);
    if (bytes === undefined) throw new EngineError('corrupt message cache');
    draft.session = recordRetransmission(session, this.clock.now()).entry;
    out.sends.push({ to: clone(draft.server), bytes, message: clone(cache.message) });
    this.statsValue.retransmitted++;
    this.emit(out, draft, 'retransmitted', {
      cause: why,
      method: methodName(cache.message.method),
      seq: cache.message.seq,
      txid: cache.message.txid,
      peer: draft.server,
      detail: `copy ${draft.session.lastSent?.transmissions ?? 0}`,
    });
  }

  /** The wire message for a send effect, from the order's data (9.2). */
  private buildMessage(draft: ClientOrderRecord, session: SessionEntry, effect: SendEffect, seq: number): CpnpMessage {
    const base = { version: CPNP_VERSION, seq, txid: session.txid, customerOrderId: draft.customerOrderId } as const;
    const providerOrderId = session.providerOrderId ?? draft.providerOrderId;
    const need = <T>(value: T | undefined, what: string): T => {
      if (value === undefined) throw new EngineError(`${effect.method} needs ${what}`);
      return value;
    };
    const offer = (): ClientOffer => {
      const o = need(draft.offer, 'an offer');
      if (o.txid.toLowerCase() !== session.txid.toLowerCase()) throw new EngineError('the offer belongs to another transaction');
      return o;
    };
    switch (effect.method) {
      case 'QUOTATION': {
        const r = draft.request;
        const expectedResponseTime = effect.expectedResponseTime ?? r.expectedResponseTime;
        return {
          ...base,
          method: Method.QUOTATION,
          ...(expectedResponseTime === undefined ? {} : { expectedResponseTime }),
          cpd: r.cpd,
          ...(r.ies === undefined ? {} : { ies: r.ies }),
        };
      }
      case 'UPDATE': {
        const r = need(draft.update, 'an update request');
        return {
          ...base,
          method: Method.UPDATE,
          providerOrderId: need(providerOrderId, 'the provider order identifier'),
          nonce: need(draft.nonce, 'the nonce'),
          expectedResponseTime: need(effect.expectedResponseTime ?? r.expectedResponseTime, 'EXPECTED_RESPONSE_TIME'),
          cpd: r.cpd,
          ...(r.ies === undefined ? {} : { ies: r.ies }),
        };
      }
      case 'PROCESSING':
        return { ...base, method: Method.PROCESSING, providerOrderId: need(providerOrderId, 'the provider order identifier') };
      case 'ACCEPT': {
        // 9.2.4: "The fields of this message must be copied from the received OFFER message."
        const o = offer();
        return { ...base, method: Method.ACCEPT, providerOrderId: o.providerOrderId, nonce: o.nonce, cpd: o.cpd };
      }
      case 'DECLINE': {
        const o = offer();
        return {
          ...base,
          method: Method.DECLINE,
          providerOrderId: o.providerOrderId,
          nonce: o.nonce,
          ...(effect.reasons && effect.reasons.length > 0 ? { reasons: effect.reasons } : {}),
        };
      }
      case 'CANCEL':
        // wire-format.md 3: key 6 once known.
        return { ...base, method: Method.CANCEL, ...(providerOrderId === undefined ? {} : { providerOrderId }) };
      case 'WITHDRAW':
        return {
          ...base,
          method: Method.WITHDRAW,
          providerOrderId: need(providerOrderId, 'the provider order identifier'),
          nonce: need(draft.nonce, 'the nonce'),
          // Figure 14 shows WITHDRAW(CPD): the Accepted CPD, optional in 9.2.8.
          ...(draft.agreement === undefined ? {} : { cpd: draft.agreement.cpd }),
        };
      case 'ACTIVATE':
        return {
          ...base,
          method: Method.ACTIVATE,
          providerOrderId: need(providerOrderId, 'the provider order identifier'),
          nonce: need(draft.nonce, 'the nonce'),
          activationSchedule: effect.activationSchedule === undefined ? null : effect.activationSchedule,
        };
      case 'ACK':
        // The client's ACK grants more time: key 8, no CPD (wire-format.md 3).
        return {
          ...base,
          method: Method.ACK,
          providerOrderId: need(providerOrderId, 'the provider order identifier'),
          ...(effect.expectedResponseTime === undefined ? {} : { expectedResponseTime: effect.expectedResponseTime }),
        };
      case 'FAIL':
        return {
          ...base,
          method: Method.FAIL,
          ...(providerOrderId === undefined ? {} : { providerOrderId }),
          statusCode: need(effect.statusCode, 'a status code'),
        };
      default:
        throw new EngineError(`the client never sends ${effect.method}`);
    }
  }

  // --- internals: output -----------------------------------------------------------------

  /** Commits a draft order and appends its output. */
  private store(rec: ClientOrderRecord, local: EngineOutput, out: EngineOutput): void {
    rec.updatedAt = this.clock.now();
    const id = rec.customerOrderId;
    this.remember(id);
    const previous = this.orderMap.get(id);
    if (previous !== undefined) this.unindex(previous);
    // The history is the order's audit trail (kind, cause, states, method, detail); the typed
    // `data` goes to the application with the events and is not copied here.
    for (const e of local.events) {
      if (e.orderId !== id) continue;
      const { data: _data, ...entry } = e;
      rec.history.push(entry.peer === undefined ? entry : { ...entry, peer: { ...entry.peer } });
    }
    if (rec.history.length > this.config.historyLimit) rec.history.splice(0, rec.history.length - this.config.historyLimit);
    this.orderMap.set(id, rec);
    this.index(rec);
    out.sends.push(...local.sends);
    out.events.push(...local.events);
  }

  private emit(
    out: EngineOutput,
    rec: ClientOrderRecord,
    kind: EngineEventKind,
    fields: Omit<EngineEvent, 'kind' | 'side' | 'at' | 'orderId'>,
  ): void {
    out.events.push(this.event(kind, { ...fields, orderId: rec.customerOrderId }));
  }

  private event(kind: EngineEventKind, fields: Omit<EngineEvent, 'kind' | 'side' | 'at'>): EngineEvent {
    const event: EngineEvent = { kind, side: 'client', at: this.clock.now(), ...fields };
    if (this.label !== undefined) event.node = this.label;
    for (const key of Object.keys(event) as (keyof EngineEvent)[]) if (event[key] === undefined) delete event[key];
    if (event.peer !== undefined) event.peer = { address: event.peer.address, port: event.peer.port };
    return event;
  }

  private dropped(out: EngineOutput, cause: string, reason: string, from: Endpoint, msg?: CpnpMessage): void {
    this.statsValue.dropped[cause] = (this.statsValue.dropped[cause] ?? 0) + 1;
    out.events.push(
      this.event('dropped', {
        cause,
        detail: reason,
        peer: from,
        ...(msg === undefined ? {} : { method: methodName(msg.method), seq: msg.seq, txid: msg.txid }),
      }),
    );
  }

  private refused(out: EngineOutput, id: string | undefined, name: string, code: RefusalCode, reason: string): CommandResult {
    out.events.push(
      this.event('command-rejected', { cause: name, detail: reason, data: { refusal: code }, ...(id === undefined ? {} : { orderId: id }) }),
    );
    return { ...out, ok: false, code, reason, ...(id === undefined ? {} : { orderId: id }) };
  }

  /** The refusal code of a command the state machine refused. */
  private refusalCode(rec: ClientOrderRecord, event: ClientEvent, code: string | undefined): RefusalCode {
    if (code !== undefined && (REFUSAL_CODES as readonly string[]).includes(code)) return code as RefusalCode;
    const offerCommand = event.type === 'accept' || event.type === 'decline' || event.type === 'processOffer';
    if (offerCommand && rec.fsm.cancelReason === 'expired') return 'offer-expired';
    if (offerCommand && rec.fsm.updateEndedBy === 'expired' && rec.fsm.state === 'Completed') return 'offer-expired';
    return 'wrong-state';
  }
}
