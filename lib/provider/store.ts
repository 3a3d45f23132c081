import type { Clock } from '../cpnp/clock';
import { decodeMessage } from '../cpnp/codec';
import type { EngineOutput } from '../cpnp/engine/output';
import type { RateLimiterSnapshot } from '../cpnp/engine/rate-limit';
import type { ResponseCacheSnapshot } from '../cpnp/engine/response-cache';
import type { HistoryEntry, ServerOrderRecord, ServerTransaction } from '../cpnp/engine/server-engine';
import type { ServerState } from '../cpnp/fsm/states';
import { toHex } from '../cpnp/hex';
import { Method, methodName, type MethodCode, type MethodName } from '../cpnp/method';
import type { Endpoint, Inbound } from '../cpnp/transport/transport';
import { normalizeAddress, type PeerTuple, type Transport } from '../cpnp/validation/peer';
import { createHash } from 'node:crypto';
import type { Database } from '../db';
import { messageDigest } from '../db/digest';
import { SCHEDULED_ACTIVATION_CAUSE, type ProjectedActivation, type ScheduledActivationEntry } from './activation-scheduler';
import { toKbps, type CapacityLedger } from './capacity-ledger';
import { snapshotFromParts, type DecisionEngineSnapshot, type DecisionOrderPart } from './decision-engine';
import { prismaWriter, type StoreWriter, type WriteOp } from './store-writes';

/**
 * Persistence of the reference Provider (RFC 8921 8.11: "every order, transaction, state change
 * (with timestamp and cause) and message digest"), on the Prisma schema of prisma/schema.prisma.
 *
 * The server engine stays the source of truth while the process runs; the store writes what
 * each engine output changed, in ONE transaction per output (writeBatch), from the runner's
 * beforeSend hook. The runner sends an output's messages only once that transaction committed,
 * so nothing reaches the wire about a state change that a crash could lose. What is written:
 *
 * - ProviderOrder: the engine's order record as JSON (`snapshot`, what restore reads) and its
 *   projections (state, CPDs, nonce, activation status...), rewritten only when they changed.
 *   The record's `history` is not in that JSON (a StoredHistory instead: the entry count and the
 *   retransmission timer's entries): the history is append-only and its state changes are
 *   ProviderStateChange rows written once each, so a step does not rewrite every earlier entry
 *   (issue 8, delta writes). Orders stored by an earlier version (whole history in `snapshot`)
 *   keep that form;
 * - ProviderTransaction: one row per transaction, with the last answer's bytes (the 11.4 answer
 *   cache is rebuilt from them after a restart);
 * - ProviderStateChange: one row per new history entry of the order (the retransmission timer's
 *   self-transitions excepted: they are not state changes), plus one per scheduled activation that
 *   fires (told apart by their `detail`, which history rows never have); restore rebuilds the
 *   history from these rows and the snapshot's StoredHistory;
 * - ProviderMessage: SHA-256 digests of the message received and of every message sent;
 * - CapacityPool / CapacityReservation: a projection of the decision engine's capacity ledger
 *   (one row per order, pool and kind: held or committed);
 * - ScheduledActivation: the scheduler's activations (9.2.11);
 * - EngineState: the decision engine's snapshot (ledger included), the FAIL rate limiter, the
 *   partner coordinator's snapshot and the local ports of the partner transport (so that child
 *   orders keep their 4-tuple across a restart, 8.3), as JSON under fixed keys.
 *
 * Outputs that only drop messages write nothing: a flood of replayed or forged datagrams must
 * not turn into a flood of disk writes (RFC 8921 13); the log still records them.
 *
 * `load()` reads everything back for ServerEngine.restore and the other components, so that a
 * restarted server resumes every order and timer exactly where the committed state left them.
 */

/** What the provider's core (server.ts) hands to the runner: an engine output plus context. */
export interface ProviderOutput extends EngineOutput {
  /** The message received, for its digest (absent for timer ticks and commands). */
  inbound?: Inbound;
  /** Its keys, when the engine decoded it already (absent: the store decodes `inbound` itself). */
  received?: { txid: string; method: MethodCode; seq: number };
  /** The records of the orders this output concerns, taken right after it was produced. */
  orders?: ServerOrderRecord[];
  /** What goes to partner servers (child orders, 8.8): sent on the partner transport after the commit. */
  partner?: EngineOutput;
  /** The datagram a partner sent, for its digest. */
  partnerInbound?: Inbound;
}

/** Read access to the live components, used while a commit is planned. */
export interface StoreView {
  /** The transport kind of the server (the 4-tuple of every message logged). */
  transport: Transport;
  /** The server's own endpoint, for messages that name no transaction. */
  local(): Endpoint;
  orderIdOfTransaction(txid: string): string | undefined;
  /** The current record of an order (to write again what a failed commit carried). */
  getOrder?(orderId: string): ServerOrderRecord | undefined;
  /** Reported activation status of an order (ProviderOrder.activationStatus). */
  activationStatus(order: ServerOrderRecord): ProjectedActivation;
  /** The scheduler's activations (fired or not). */
  activations(): ScheduledActivationEntry[];
  /** The decision engine's state, ledger included (EngineState, and the capacity projection). */
  decisionSnapshot?(): DecisionEngineSnapshot;
  /**
   * Per-order persistence of the decision engine (preferred over decisionSnapshot when given):
   * the orders changed since they were last written, one order's part, and the acknowledgement
   * of what a commit wrote. Only changed orders are serialised: no whole-snapshot rewrite.
   */
  decisionChanges?(): [string, number][];
  decisionPart?(orderId: string): DecisionOrderPart | undefined;
  decisionWritten?(written: readonly (readonly [string, number])[]): void;
  ledger?: CapacityLedger;
  /** The partner coordinator's snapshot (8.8), when there is one. */
  coordinatorSnapshot?(): unknown;
  /** The client engine toward the partners (the child orders), when there is one. */
  partnerClientSnapshot?(): unknown;
  /** The partner transport: its kind and local endpoint, for the digests of child-order messages. */
  partnerTransport?: Transport;
  partnerLocal?(): Endpoint;
  /** The local ports the partner transport binds (server.ts), kept across restarts. */
  partnerPortsSnapshot?(): unknown;
  /** The FAIL rate limiter's buckets; asked for at most every `failLimiterPersistMs`. */
  failLimiterSnapshot?(): RateLimiterSnapshot;
}

/** Everything needed to restart where the last committed output left off. */
export interface LoadedState {
  orders: ServerOrderRecord[];
  /** The 11.4 answer cache, rebuilt from the transactions' last answers. */
  responseCache: ResponseCacheSnapshot;
  failLimiter?: RateLimiterSnapshot;
  decision?: DecisionEngineSnapshot;
  coordinator?: unknown;
  partnerClient?: unknown;
  partnerPorts?: unknown;
  /** Scheduled activations matching the orders' activation sub-states (9.2.11). */
  activations: ScheduledActivationEntry[];
}

export interface StoreOptions {
  clock: Clock;
  /** How rows are written (default: through Prisma; the provider uses a direct SQLite writer on SQLite files). */
  writer?: StoreWriter;
  /** Entries of the answer cache older than this are not rebuilt (the engine's TTL, 5 min). */
  responseCacheTtlMs?: number;
  /** Minimum gap between two writes of the FAIL rate limiter (default 5 s). */
  failLimiterPersistMs?: number;
}

export interface CommitOptions {
  /** Start-up: write every capacity pool, and check every order's capacity and every activation. */
  full?: boolean;
  /** Write the FAIL rate limiter now if it changed, whatever the interval (shutdown). */
  flushFailLimiter?: boolean;
}

/** How many rows of each kind a commit wrote (tests and debug logs). */
export interface CommitSummary {
  statements: number;
  orders: number;
  transactions: number;
  stateChanges: number;
  messages: number;
  reservations: number;
  activations: number;
  engineState: number;
}

/**
 * Per-order decision engine rows: EngineState key `${DECISION_ORDER_PREFIX}${orderId}`, JSON of
 * a DecisionOrderPart. The `decision-engine` row then holds only the pools (older databases hold
 * the whole snapshot there; the parts override it and the next start-up writes every part).
 */
export const DECISION_ORDER_PREFIX = 'decision-order:';

/** Keys of the EngineState rows. */
export const ENGINE_STATE_KEYS = {
  decision: 'decision-engine',
  failLimiter: 'fail-limiter',
  coordinator: 'partner-coordinator',
  partnerClient: 'partner-client-engine',
  partnerPorts: 'partner-local-ports',
} as const;

const OPENING_METHOD: Readonly<Record<string, MethodName>> = {
  quotation: 'QUOTATION',
  update: 'UPDATE',
  withdraw: 'WITHDRAW',
  activate: 'ACTIVATE',
};

/** The message whose arrival caused a state-machine event (for ProviderStateChange.method). */
const CAUSE_METHOD: Readonly<Record<string, MethodName>> = {
  quotationReceived: 'QUOTATION',
  updateReceived: 'UPDATE',
  processingReceived: 'PROCESSING',
  acceptReceived: 'ACCEPT',
  declineReceived: 'DECLINE',
  cancelReceived: 'CANCEL',
  withdrawReceived: 'WITHDRAW',
  activateReceived: 'ACTIVATE',
  refuseActivate: 'ACTIVATE',
  ackReceived: 'ACK',
  failReceived: 'FAIL',
};

const RESTING: readonly ServerState[] = ['Completed', 'Cancelled'];

/** The answer cache groups answers per client host: the same key as the server engine's. */
export function answerCacheKey(peer: PeerTuple): string {
  return `${peer.transport} ${normalizeAddress(peer.clientAddress)}`;
}

/**
 * What the `snapshot` column holds in place of the history (see the file comment): how many
 * entries it has, and the retransmission timer's self-transitions (not rows) with their indexes.
 */
interface StoredHistory {
  length: number;
  timer?: [number, HistoryEntry][];
}

function isStoredHistory(value: unknown): value is StoredHistory {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Number.isInteger((value as StoredHistory).length);
}

/** A retransmission timer firing: in the history, but not a state change (no ProviderStateChange row). */
function isTimerEntry(entry: HistoryEntry): boolean {
  return entry.cause === 'retransmitTimeout' && entry.from === entry.to;
}

/** The history again: the timer's entries at their indexes, the order's rows (in insertion order) in the other places. */
function mergeHistory(orderId: string, stored: StoredHistory, rows: readonly HistoryEntry[]): HistoryEntry[] {
  const timer = stored.timer ?? [];
  if (rows.length + timer.length !== stored.length) {
    throw new Error(`order ${orderId}: ${rows.length} state-change rows and ${timer.length} timer entries for ${stored.length} history entries`);
  }
  const history: HistoryEntry[] = new Array<HistoryEntry>(stored.length);
  for (const [i, entry] of timer) {
    if (!Number.isInteger(i) || i < 0 || i >= history.length || history[i] !== undefined) throw new Error(`order ${orderId}: stored timer entry at ${i} is out of place`);
    history[i] = entry;
  }
  let next = 0;
  for (let i = 0; i < history.length; i++) if (history[i] === undefined) history[i] = rows[next++] as HistoryEntry;
  return history;
}

/** A short fingerprint of a text already written (memos compare these, not whole snapshots). */
function fingerprint(text: string): string {
  return `${text.length}:${createHash('sha1').update(text).digest('base64')}`;
}

/**
 * What a planned commit changes in the memos. Applied when the commit is planned, not when it
 * resolves: the next group may be planned while this one commits (pipelining, issue 8) and must
 * not write the same rows again. The journal can undo it if the commit fails.
 */
type AfterCommit = (journal: MemoJournal) => void;

/** Memo changes of one planned commit, undoable (newest first) when that commit fails. */
class MemoJournal {
  private readonly undo: (() => void)[] = [];

  set<K, V>(map: Map<K, V>, key: K, value: V): void {
    this.remember(map, key);
    map.set(key, value);
  }

  delete<K, V>(map: Map<K, V>, key: K): void {
    this.remember(map, key);
    map.delete(key);
  }

  /** Registers an undo step that is not a map change. */
  onUndo(step: () => void): void {
    this.undo.push(step);
  }

  rollback(): void {
    for (let i = this.undo.length - 1; i >= 0; i--) this.undo[i]?.();
    this.undo.length = 0;
  }

  private remember<K, V>(map: Map<K, V>, key: K): void {
    if (map.has(key)) {
      const previous = map.get(key) as V;
      this.undo.push(() => map.set(key, previous));
    } else {
      this.undo.push(() => map.delete(key));
    }
  }
}

interface ReservationRow {
  id: number;
  pool: string;
  status: 'held' | 'committed';
  inKbps: number;
  outKbps: number;
  expiresAt: number | undefined;
}

interface DesiredReservation {
  pool: string;
  status: 'held' | 'committed';
  inKbps: number;
  outKbps: number;
  expiresAt: number | undefined;
}

interface TxProjection {
  method: MethodName;
  status: 'open' | 'closed';
  inSeq: number | undefined;
  outSeq: number | undefined;
  processed: number;
  peer: PeerTuple;
}

function peerColumns(peer: PeerTuple): { transport: string; clientAddress: string; clientPort: number; serverAddress: string; serverPort: number } {
  return { transport: peer.transport, clientAddress: peer.clientAddress, clientPort: peer.clientPort, serverAddress: peer.serverAddress, serverPort: peer.serverPort };
}

function cycleTx(order: ServerOrderRecord): ServerTransaction | undefined {
  return order.transactions.find((t) => t.session.txid === order.cycleTxid);
}

function txProjection(order: ServerOrderRecord, tx: ServerTransaction): TxProjection {
  const current = tx.session.txid === order.cycleTxid && !RESTING.includes(order.fsm.state);
  return {
    method: OPENING_METHOD[tx.session.kind] ?? 'QUOTATION',
    status: current || tx.held !== undefined || tx.session.timers.length > 0 ? 'open' : 'closed',
    inSeq: tx.session.inSeq,
    outSeq: tx.session.lastSent?.seq,
    processed: tx.processed,
    peer: tx.session.peer,
  };
}

/** The last offer made on the order, any cycle (the column keeps it once the cycle ends). */
function lastOffer(order: ServerOrderRecord): ServerTransaction['offer'] {
  const cycle = cycleTx(order);
  if (cycle?.offer !== undefined) return cycle.offer;
  for (let i = order.transactions.length - 1; i >= 0; i--) {
    const offer = order.transactions[i]?.offer;
    if (offer !== undefined) return offer;
  }
  return undefined;
}

function mbpsToRoundedKbps(mbps: number): number {
  return Math.round(mbps * 1000);
}

export class ProviderStore {
  private readonly clock: Clock;
  private readonly ttlMs: number;
  private readonly failLimiterPersistMs: number;
  /** Per order: a fingerprint of the activation status and snapshot text last written. */
  private readonly orderMemo = new Map<string, string>();
  private readonly writer: StoreWriter;
  /** Per order: how many history entries are in ProviderStateChange. */
  private readonly historyMemo = new Map<string, number>();
  /** Orders loaded with their whole history inside `snapshot` (an earlier version wrote them): they keep that form. */
  private readonly legacyHistory = new Set<string>();
  /** Per order and transaction: the projection last written. */
  private readonly txMemo = new Map<string, string>();
  /** EngineState texts last written, per key (fingerprints). */
  private readonly stateMemo = new Map<string, string>();
  /** Live reservation rows per order, keyed `${pool}|${status}`. */
  private readonly reservationMemo = new Map<string, Map<string, ReservationRow>>();
  /** Per order: the offered and agreed CPDs (the objects) last written in their columns. */
  private readonly cpdMemo = new Map<string, { offered: unknown; agreement: unknown }>();
  /** ScheduledActivation rows known, keyed `${orderId}|${dueAt}`. */
  private readonly activationMemo = new Map<string, { done: boolean }>();
  private failLimiterWrittenAt = Number.NEGATIVE_INFINITY;
  /** The last commit failed: what it carried is still to be written. */
  private lastCommitFailed = false;
  /** Orders a failed commit carried: written with the next commit, touched or not. */
  private readonly unwritten = new Set<string>();
  /** Decision-engine orders a failed commit carried (their parts are written with the next one). */
  private readonly unwrittenDecisions = new Set<string>();
  /** The journals of the commits planned and not yet resolved, oldest first. */
  private readonly inFlight: MemoJournal[] = [];
  /** Bumped after a failed commit is rolled back: writes planned on top of it carry the old one. */
  private generation = 0;
  /** Writers that are not pipelined: the highest generation a write failed in, and the write chain. */
  private poisoned = -1;
  private tail: Promise<unknown> = Promise.resolve();
  /** The id of the next CapacityReservation row (allocated here, so a pipelined plan knows it). */
  private nextReservationId = 1;
  private failLimiterDirty = false;

  constructor(
    readonly db: Database,
    options: StoreOptions,
  ) {
    this.clock = options.clock;
    this.writer = options.writer ?? prismaWriter(db);
    this.ttlMs = options.responseCacheTtlMs ?? 5 * 60_000;
    this.failLimiterPersistMs = options.failLimiterPersistMs ?? 5000;
  }

  /** True while the last commit failed (its changes wait for the next commit). */
  get failing(): boolean {
    return this.lastCommitFailed;
  }

  // --- loading ---------------------------------------------------------------------------------

  /** Reads the committed state back, and primes the memos the next commits compare against. */
  async load(): Promise<LoadedState> {
    const prisma = this.db.prisma;
    const [orderRows, historyRows, stateRows, answerRows, reservationRows, activationRows] = await Promise.all([
      prisma.providerOrder.findMany({ select: { id: true, snapshot: true, activationStatus: true }, orderBy: { createdAt: 'asc' } }),
      // In insertion order: each order's history entries in the order they were appended.
      prisma.providerStateChange.findMany({ select: { orderId: true, from: true, to: true, cause: true, txid: true, at: true, detail: true }, orderBy: { id: 'asc' } }),
      prisma.engineState.findMany(),
      prisma.providerTransaction.findMany({
        where: { lastAnswerAt: { gte: new Date(this.clock.now() - this.ttlMs) } },
        select: { orderId: true, txid: true, lastAnswer: true, lastAnswerAt: true },
      }),
      prisma.capacityReservation.findMany({ where: { status: { in: ['held', 'committed'] } } }),
      prisma.scheduledActivation.findMany({ where: { action: 'activate' } }),
    ]);
    const maxReservation = await prisma.capacityReservation.aggregate({ _max: { id: true } });
    this.nextReservationId = (maxReservation._max.id ?? 0) + 1;

    const histories = new Map<string, HistoryEntry[]>();
    for (const row of historyRows) {
      if (row.detail !== null) continue; // a scheduled activation firing, not a history entry
      const list = histories.get(row.orderId) ?? [];
      // The same keys, in the same order, as the engine's entries (server-engine.ts).
      list.push({
        at: row.at.getTime(),
        ...(row.from === null ? {} : { from: row.from as ServerState }),
        to: row.to as ServerState,
        cause: row.cause,
        ...(row.txid === null ? {} : { txid: row.txid }),
      });
      histories.set(row.orderId, list);
    }
    const orders: ServerOrderRecord[] = [];
    for (const row of orderRows) {
      let record: ServerOrderRecord;
      try {
        record = JSON.parse(row.snapshot) as ServerOrderRecord;
      } catch (error) {
        throw new Error(`order ${row.id}: its stored snapshot is not JSON (${error instanceof Error ? error.message : String(error)})`);
      }
      const stored: unknown = record.history;
      if (record.id !== row.id || !Array.isArray(record.transactions) || !(Array.isArray(stored) || isStoredHistory(stored))) {
        throw new Error(`order ${row.id}: its stored snapshot is not an order record of this server`);
      }
      if (!Array.isArray(stored)) {
        record.history = mergeHistory(row.id, stored, histories.get(row.id) ?? []); // same key, same place
      } else {
        this.legacyHistory.add(row.id);
      }
      orders.push(record);
      this.orderMemo.set(row.id, fingerprint(`${row.activationStatus}|${row.snapshot}`));
      this.historyMemo.set(row.id, record.history.length);
      for (const tx of record.transactions) this.txMemo.set(`${row.id}|${tx.session.txid}`, JSON.stringify(txProjection(record, tx)));
    }

    const state = new Map(stateRows.map((r) => [r.key, r.json]));
    for (const [key, text] of state) this.stateMemo.set(key, fingerprint(text));
    const parse = (key: string): unknown => {
      const text = state.get(key);
      if (text === undefined) return undefined;
      try {
        return JSON.parse(text) as unknown;
      } catch (error) {
        throw new Error(`EngineState "${key}" is not JSON (${error instanceof Error ? error.message : String(error)})`);
      }
    };

    for (const row of reservationRows) {
      const rows = this.reservationMemo.get(row.orderId) ?? new Map<string, ReservationRow>();
      const status = row.status === 'held' ? 'held' : 'committed';
      const key = `${row.pool}|${status}`;
      if (rows.has(key)) {
        // This store keeps one live row per order, pool and kind; a second one (written by
        // something else) would be counted twice, so it is released.
        await prisma.capacityReservation.update({ where: { id: row.id }, data: { status: 'released', releasedAt: new Date(this.clock.now()) } });
        continue;
      }
      rows.set(key, { id: row.id, pool: row.pool, status, inKbps: row.inKbps, outKbps: row.outKbps, expiresAt: row.expiresAt?.getTime() });
      this.reservationMemo.set(row.orderId, rows);
    }

    // Activations: the entry matching each order's current scheduled activation (done or not),
    // plus pending rows the next sync will find superseded and delete.
    const byKey = new Map(activationRows.map((r) => [`${r.orderId}|${r.at.getTime()}`, r]));
    const activations: ScheduledActivationEntry[] = [];
    for (const record of orders) {
      const activation = record.fsm.activation;
      if (activation?.status !== 'scheduled') continue;
      const dueAt = Date.parse(activation.at);
      const row = byKey.get(`${record.id}|${dueAt}`);
      if (row === undefined) continue;
      activations.push({ orderId: record.id, at: activation.at, dueAt, ...(row.done ? { firedAt: row.doneAt?.getTime() ?? dueAt } : {}) });
      this.activationMemo.set(`${record.id}|${dueAt}`, { done: row.done });
    }
    for (const row of activationRows) {
      if (!row.done) this.activationMemo.set(`${row.orderId}|${row.at.getTime()}`, { done: false });
    }

    const responseCache = this.rebuildAnswerCache(orders, answerRows);
    const parts: DecisionOrderPart[] = [];
    for (const key of state.keys()) if (key.startsWith(DECISION_ORDER_PREFIX)) parts.push(parse(key) as DecisionOrderPart);
    const base = parse(ENGINE_STATE_KEYS.decision) as DecisionEngineSnapshot | undefined;
    const decision = parts.length === 0 ? base : snapshotFromParts(base, parts, {});
    const failLimiter = parse(ENGINE_STATE_KEYS.failLimiter) as RateLimiterSnapshot | undefined;
    const coordinator = parse(ENGINE_STATE_KEYS.coordinator);
    const partnerClient = parse(ENGINE_STATE_KEYS.partnerClient);
    const partnerPorts = parse(ENGINE_STATE_KEYS.partnerPorts);
    return {
      orders,
      responseCache,
      ...(failLimiter === undefined ? {} : { failLimiter }),
      ...(decision === undefined ? {} : { decision }),
      ...(coordinator === undefined ? {} : { coordinator }),
      ...(partnerClient === undefined ? {} : { partnerClient }),
      ...(partnerPorts === undefined ? {} : { partnerPorts }),
      activations,
    };
  }

  /**
   * 11.4: the answer to the last request of each transaction, keyed as the engine keys it, so
   * that a request retransmitted across a restart gets the same bytes again and is not
   * processed twice. Only answers younger than the cache's TTL are rebuilt.
   */
  private rebuildAnswerCache(
    orders: readonly ServerOrderRecord[],
    rows: readonly { orderId: string; txid: string; lastAnswer: Uint8Array | null; lastAnswerAt: Date | null }[],
  ): ResponseCacheSnapshot {
    const byTx = new Map(rows.map((r) => [`${r.orderId}|${r.txid}`, r]));
    const entries: { peer: string; key: string; bytes: string; storedAt: number }[] = [];
    const now = this.clock.now();
    for (const order of orders) {
      for (const tx of order.transactions) {
        const row = byTx.get(`${order.id}|${tx.session.txid}`);
        const sent = tx.session.lastSent;
        if (row?.lastAnswer == null || row.lastAnswerAt === null || sent === undefined) continue;
        const storedAt = row.lastAnswerAt.getTime();
        if (now - storedAt >= this.ttlMs) continue;
        const bytes = new Uint8Array(row.lastAnswer);
        const decoded = decodeMessage(bytes);
        // Only the bytes of the message the session says was sent last answer its last request.
        if (!decoded.ok || decoded.message.seq !== sent.seq) continue;
        entries.push({ peer: answerCacheKey(tx.session.peer), key: sent.ref, bytes: toHex(bytes), storedAt });
      }
    }
    entries.sort((a, b) => a.storedAt - b.storedAt);
    const peers = new Map<string, { key: string; bytes: string; storedAt: number }[]>();
    for (const { peer, ...entry } of entries) {
      // Re-inserting moves the peer to the end: the most recently used comes last.
      const list = peers.get(peer) ?? [];
      peers.delete(peer);
      peers.set(peer, [...list, entry]);
    }
    return { peers: [...peers].map(([peer, list]) => ({ peer, entries: list })) };
  }

  /** Upserts every pool of the ledger: its capacity and what remains (start-up, policy edits). */
  private planPools(ledger: CapacityLedger, ops: WriteOp[]): void {
    for (const pool of ledger.pools()) {
      const capacity = ledger.capacity(pool);
      const usage = ledger.usage(pool);
      ops.push({
        kind: 'poolUpsert',
        id: pool,
        capacityInKbps: toKbps(capacity.inMbps),
        capacityOutKbps: toKbps(capacity.outMbps),
        availableInKbps: mbpsToRoundedKbps(usage.available.inMbps),
        availableOutKbps: mbpsToRoundedKbps(usage.available.outMbps),
      });
    }
  }

  // --- committing ------------------------------------------------------------------------------

  /** Writes what `output` changed in one transaction (commitBatch of one output). */
  commit(output: ProviderOutput, view: StoreView, options: CommitOptions = {}): Promise<CommitSummary> {
    return this.commitBatch([output], view, options);
  }

  /**
   * Group commit: writes what `outputs` changed, in order, in ONE transaction. Resolves once it is
   * committed; rejects when it is not (the runner then sends nothing of any of them). The memos
   * move only after a successful commit, so a failed one is written again by the next commit.
   * The order records written are the live ones at planning time, which include every output of
   * the batch (and possibly later steps: writing state ahead of the wire is safe, the reverse is
   * what must never happen).
   */
  async commitBatch(outputs: readonly ProviderOutput[], view: StoreView, options: CommitOptions = {}): Promise<CommitSummary> {
    const now = this.clock.now();
    const ops: WriteOp[] = [];
    const afterCommit: AfterCommit[] = [];
    const summary: CommitSummary = { statements: 0, orders: 0, transactions: 0, stateChanges: 0, messages: 0, reservations: 0, activations: 0, engineState: 0 };

    // The orders of the batch (each once, the latest record), then those a failed commit carried.
    const byId = new Map<string, ServerOrderRecord>();
    for (const output of outputs) for (const order of output.orders ?? []) byId.set(order.id, order);
    const carried = [...this.unwritten];
    for (const id of carried) {
      if (byId.has(id)) continue;
      const order = view.getOrder?.(id);
      if (order !== undefined) byId.set(id, order);
    }
    // The first transmission of each answer in the batch (11.4: what a retransmission gets again).
    const firstSends = new Map<string, Uint8Array>();
    for (const output of outputs) for (const send of output.sends) firstSends.set(`${send.message.txid.toLowerCase()}|${send.message.seq}`, send.bytes);

    // Orders, their transactions and their new history entries. The order row comes first: the
    // other rows reference it.
    const written = new Set<string>();
    for (const order of byId.values()) {
      const activation = view.activationStatus(order);
      const snapshot = this.snapshotText(order);
      const memo = fingerprint(`${activation}|${snapshot}`);
      if (this.orderMemo.get(order.id) !== memo) {
        const cols = this.orderColumns(order, activation, snapshot);
        // The engine replaces a CPD, never edits one: the same object is the same column text,
        // left as it is (COALESCE) instead of serialised and written again at every step.
        const written = { offered: cols.offeredCpd, agreement: cols.agreementCpd };
        const last = this.cpdMemo.get(order.id);
        if (last !== undefined && cols.offeredCpd !== undefined && cols.offeredCpd === last.offered) delete cols.offeredCpd;
        if (last !== undefined && cols.agreementCpd !== undefined && cols.agreementCpd === last.agreement) delete cols.agreementCpd;
        ops.push({ kind: 'order', id: order.id, createdAt: order.createdAt, cols });
        afterCommit.push((j) => {
          j.set(this.orderMemo, order.id, memo);
          j.set(this.cpdMemo, order.id, written);
        });
        summary.orders++;
      }
      written.add(order.id);
      for (const tx of order.transactions) this.planTransaction(order, tx, firstSends, ops, afterCommit, summary);
      this.planHistory(order, ops, afterCommit, summary);
    }
    for (const output of outputs) {
      for (const event of output.events) {
        if (event.cause !== SCHEDULED_ACTIVATION_CAUSE || event.orderId === undefined) continue;
        const order = byId.get(event.orderId);
        if (order === undefined) continue;
        ops.push({
          kind: 'stateChange',
          row: {
            orderId: order.id,
            from: order.fsm.state,
            to: order.fsm.state,
            cause: 'scheduledActivation',
            method: 'ACTIVATE',
            txid: null,
            at: event.at,
            detail: { activation: 'active', scheduledAt: order.fsm.activation?.status === 'scheduled' ? order.fsm.activation.at : null },
          },
        });
        summary.stateChanges++;
      }
    }

    // Engine-wide state, then its capacity projection.
    const stepped =
      options.full === true ||
      this.lastCommitFailed ||
      outputs.some((o) => o.events.some((e) => e.kind === 'transition' || e.kind === 'info' || e.kind === 'timer' || e.kind === 'command-rejected'));
    if (view.decisionChanges !== undefined && view.decisionPart !== undefined) {
      this.planDecisionParts(view, options.full === true, ops, afterCommit, summary);
    } else {
      // The decision engine only changes with a state-machine step (a decision, a hold, a release)
      // or a command: a dropped, duplicate or rejected message leaves it alone, so it is not even
      // serialised then, unless the last commit failed and its changes are still unwritten.
      const decision = stepped ? view.decisionSnapshot?.() : undefined;
      let decisionChanged = false;
      if (decision !== undefined) decisionChanged = this.planState(ENGINE_STATE_KEYS.decision, JSON.stringify(decision), ops, afterCommit, summary);
      if (view.ledger !== undefined && options.full === true) this.planPools(view.ledger, ops);
      if (view.ledger !== undefined && (decisionChanged || options.full === true)) {
        const holdUntil = new Map((decision?.orders ?? []).map((o) => [o.orderId, o.holdUntil]));
        this.planCapacity(view.ledger, [...new Set([...view.ledger.orders(), ...this.reservationMemo.keys()])], (id) => holdUntil.get(id), ops, afterCommit, summary);
      }
    }
    const coordinator = view.coordinatorSnapshot?.();
    if (coordinator !== undefined) this.planState(ENGINE_STATE_KEYS.coordinator, JSON.stringify(coordinator), ops, afterCommit, summary);
    const partnerClient = view.partnerClientSnapshot?.();
    if (partnerClient !== undefined) this.planState(ENGINE_STATE_KEYS.partnerClient, JSON.stringify(partnerClient), ops, afterCommit, summary);
    const partnerPorts = view.partnerPortsSnapshot?.();
    if (partnerPorts !== undefined) this.planState(ENGINE_STATE_KEYS.partnerPorts, JSON.stringify(partnerPorts), ops, afterCommit, summary);
    // Every FAIL sent (9.2.5: in a transaction or not, or a cached one again) takes a token.
    if (outputs.some((o) => o.sends.some((send) => send.message.method === Method.FAIL) || o.events.some((e) => e.kind === 'rejected'))) this.failLimiterDirty = true;
    if (this.failLimiterDirty && view.failLimiterSnapshot !== undefined && (options.flushFailLimiter === true || now - this.failLimiterWrittenAt >= this.failLimiterPersistMs)) {
      this.planState(ENGINE_STATE_KEYS.failLimiter, JSON.stringify(view.failLimiterSnapshot()), ops, afterCommit, summary);
      afterCommit.push((j) => {
        const [dirty, writtenAt] = [this.failLimiterDirty, this.failLimiterWrittenAt];
        j.onUndo(() => {
          this.failLimiterDirty = dirty;
          this.failLimiterWrittenAt = writtenAt;
        });
        this.failLimiterDirty = false;
        this.failLimiterWrittenAt = now;
      });
    }
    this.planActivations(view.activations(), ops, afterCommit, summary);

    // Message digests: only when something else is written or sent (see the file comment).
    const persisted = (orderId: string | undefined): string | null =>
      orderId !== undefined && (written.has(orderId) || this.orderMemo.has(orderId)) ? orderId : null;
    for (const output of outputs) {
      if (!(ops.length > 0 || output.sends.length > 0 || (output.partner?.sends.length ?? 0) > 0)) continue;
      if (output.inbound !== undefined) {
        const decoded = output.received === undefined ? decodeMessage(output.inbound.bytes) : { ok: true as const, message: output.received };
        if (decoded.ok) {
          const keys = decoded.message;
          ops.push({
            kind: 'message',
            row: {
              orderId: persisted(view.orderIdOfTransaction(keys.txid)),
              txid: keys.txid,
              direction: 'in',
              method: methodName(keys.method),
              seq: keys.seq,
              digest: messageDigest(output.inbound.bytes),
              size: output.inbound.bytes.length,
              transport: view.transport,
              clientAddress: output.inbound.from.address,
              clientPort: output.inbound.from.port,
              serverAddress: output.inbound.to.address,
              serverPort: output.inbound.to.port,
              at: now,
            },
          });
          summary.messages++;
        }
      }
      const local = view.local();
      for (const send of output.sends) {
        const orderId = persisted(view.orderIdOfTransaction(send.message.txid));
        const order = orderId === null ? undefined : byId.get(orderId);
        const tx = order?.transactions.find((t) => t.session.txid.toLowerCase() === send.message.txid.toLowerCase());
        ops.push({
          kind: 'message',
          row: {
            orderId,
            txid: send.message.txid,
            direction: 'out',
            method: methodName(send.message.method),
            seq: send.message.seq,
            digest: messageDigest(send.bytes),
            size: send.bytes.length,
            transport: view.transport,
            clientAddress: send.to.address,
            clientPort: send.to.port,
            serverAddress: tx?.session.peer.serverAddress ?? output.inbound?.to.address ?? local.address,
            serverPort: tx?.session.peer.serverPort ?? output.inbound?.to.port ?? local.port,
            at: now,
          },
        });
        summary.messages++;
      }

      // Child orders (8.8): the messages exchanged with partners, this server being the client.
      if ((output.partner !== undefined || output.partnerInbound !== undefined) && (ops.length > 0 || (output.partner?.sends.length ?? 0) > 0)) {
        const partnerLocal = view.partnerLocal?.() ?? { address: '0.0.0.0', port: 0 };
        const log = (direction: 'in' | 'out', bytes: Uint8Array, partner: Endpoint, ours: Endpoint): void => {
          const decoded = decodeMessage(bytes);
          if (!decoded.ok) return;
          ops.push({
            kind: 'message',
            row: {
              orderId: null,
              txid: decoded.message.txid,
              direction,
              method: methodName(decoded.message.method),
              seq: decoded.message.seq,
              digest: messageDigest(bytes),
              size: bytes.length,
              transport: view.partnerTransport ?? view.transport,
              clientAddress: ours.address,
              clientPort: ours.port,
              serverAddress: partner.address,
              serverPort: partner.port,
              at: now,
            },
          });
          summary.messages++;
        };
        if (output.partnerInbound !== undefined) log('in', output.partnerInbound.bytes, output.partnerInbound.from, output.partnerInbound.to);
        for (const send of output.partner?.sends ?? []) log('out', send.bytes, send.to, partnerLocal);
      }
    }

    summary.statements = ops.length;
    if (ops.length === 0) return summary;
    // The memos move now (see AfterCommit); a failure undoes them, and those of every commit
    // planned on top of this one (its writer refuses them: same generation).
    const journal = new MemoJournal();
    for (const id of carried) this.unwritten.delete(id);
    journal.onUndo(() => {
      for (const id of byId.keys()) this.unwritten.add(id);
    });
    for (const apply of afterCommit) apply(journal);
    this.inFlight.push(journal);
    try {
      await this.issue(ops, now, this.generation);
    } catch (error) {
      this.rollBackFrom(journal);
      throw error;
    }
    const index = this.inFlight.indexOf(journal);
    if (index >= 0) this.inFlight.splice(index, 1);
    this.lastCommitFailed = false;
    return summary;
  }

  /** Whether commits are planned while earlier ones are still being written. */
  get pipelined(): boolean {
    return this.writer.pipelined === true;
  }

  /**
   * Hands one commit's rows to the writer. A pipelined writer takes it at once (it runs writes in
   * order and refuses those planned on top of a failed one); any other writer gets one write at
   * a time, and the same refusal is enforced here.
   */
  private issue(ops: readonly WriteOp[], now: number, generation: number): Promise<unknown> {
    if (this.writer.pipelined === true) return this.writer.write(ops, now, generation);
    const run = async (): Promise<unknown> => {
      if (generation <= this.poisoned) throw new Error(`not written: an earlier commit of generation ${generation} failed`);
      try {
        return await this.writer.write(ops, now, generation);
      } catch (error) {
        this.poisoned = Math.max(this.poisoned, generation);
        throw error;
      }
    };
    const result = this.tail.then(run);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** A commit failed: undo its memo changes and those of every commit planned after it, newest first. */
  private rollBackFrom(journal: MemoJournal): void {
    this.lastCommitFailed = true;
    const index = this.inFlight.indexOf(journal);
    if (index < 0) return; // rolled back already, with an earlier commit that failed
    for (let i = this.inFlight.length - 1; i >= index; i--) this.inFlight[i]?.rollback();
    this.inFlight.length = index;
    this.generation++;
  }

  /** Closes the writer's own connection, if it has one (the Database is closed by its owner). */
  close(): void {
    this.writer.close?.();
  }

  private orderColumns(order: ServerOrderRecord, activation: ProjectedActivation, snapshot: string) {
    const cycle = cycleTx(order);
    const offer = lastOffer(order);
    const activationType = order.fsm.activationType ?? order.options.activationType;
    let cycles = 0;
    for (const h of order.history) if (h.cause === 'updateReceived') cycles++;
    return {
      customerOrderId: order.customerOrderId,
      ownerIdentity: order.owner ?? null,
      state: order.fsm.state,
      cancelReason: order.fsm.cancelReason ?? null,
      cycle: cycles,
      cycleTxid: order.cycleTxid,
      activationType: activationType ?? null,
      scope: order.options.scope ?? null,
      requestedCpd: cycle?.requestedCpd ?? order.requestedCpd,
      ...(offer === undefined ? {} : { offeredCpd: offer.cpd }),
      ...(order.agreement === undefined ? {} : { agreementCpd: order.agreement.cpd }),
      nonce: order.agreement?.nonce ?? order.nonce ?? null,
      validityOfferTime: cycle?.offer === undefined ? null : Date.parse(cycle.offer.validityOfferTime),
      activationStatus: activation,
      snapshot,
    };
  }

  private planTransaction(
    order: ServerOrderRecord,
    tx: ServerTransaction,
    firstSends: ReadonlyMap<string, Uint8Array>,
    ops: WriteOp[],
    afterCommit: AfterCommit[],
    summary: CommitSummary,
  ): void {
    const key = `${order.id}|${tx.session.txid}`;
    const projection = txProjection(order, tx);
    const text = JSON.stringify(projection);
    // The answer to the last request, when this batch is where it was first sent (11.4).
    const sent = tx.session.lastSent;
    const answer = sent !== undefined && sent.transmissions === 1 ? firstSends.get(`${tx.session.txid.toLowerCase()}|${sent.seq}`) : undefined;
    if (this.txMemo.get(key) === text && answer === undefined) return;
    ops.push({
      kind: 'transaction',
      orderId: order.id,
      txid: tx.session.txid,
      createdAt: tx.openedAt,
      cols: {
        customerOrderId: order.customerOrderId,
        method: projection.method,
        ...peerColumns(projection.peer),
        inSeq: projection.inSeq ?? null,
        outSeq: projection.outSeq ?? null,
        processed: projection.processed,
        status: projection.status,
        ...(answer === undefined || sent === undefined ? {} : { lastAnswer: answer, lastAnswerAt: sent.transmittedAt }),
      },
    });
    afterCommit.push((j) => j.set(this.txMemo, key, text));
    summary.transactions++;
  }

  /**
   * The `snapshot` column: the order record without its history (the entry count in its place,
   * the entries being ProviderStateChange rows), or whole for an order of the earlier form.
   */
  private snapshotText(order: ServerOrderRecord): string {
    if (this.legacyHistory.has(order.id)) return JSON.stringify(order);
    const timer: [number, HistoryEntry][] = [];
    order.history.forEach((entry, i) => {
      if (isTimerEntry(entry)) timer.push([i, entry]);
    });
    const history: StoredHistory = timer.length === 0 ? { length: order.history.length } : { length: order.history.length, timer };
    // A shallow copy: the same keys in the same order, only `history` replaced.
    return JSON.stringify({ ...order, history });
  }

  private planHistory(order: ServerOrderRecord, ops: WriteOp[], afterCommit: AfterCommit[], summary: CommitSummary): void {
    const done = this.historyMemo.get(order.id) ?? 0;
    if (order.history.length <= done) return;
    for (const entry of order.history.slice(done)) {
      // A retransmission timer firing is not a state change (the message log records the copy;
      // the snapshot's StoredHistory keeps the entry for restore).
      if (isTimerEntry(entry)) continue;
      ops.push({
        kind: 'stateChange',
        row: { orderId: order.id, from: entry.from ?? null, to: entry.to, cause: entry.cause, method: CAUSE_METHOD[entry.cause] ?? null, txid: entry.txid ?? null, at: entry.at },
      });
      summary.stateChanges++;
    }
    const length = order.history.length;
    afterCommit.push((j) => j.set(this.historyMemo, order.id, length));
  }

  /** Upserts an EngineState row when its text changed; true when it did. */
  private planState(key: string, text: string, ops: WriteOp[], afterCommit: AfterCommit[], summary: CommitSummary): boolean {
    const memo = fingerprint(text);
    if (this.stateMemo.get(key) === memo) return false;
    ops.push({ kind: 'engineState', key, json: text });
    afterCommit.push((j) => j.set(this.stateMemo, key, memo));
    summary.engineState++;
    return true;
  }

  /**
   * The decision engine, order by order: the part of every order changed since it was last
   * written (all of them at start-up, which also converts a database holding one whole
   * snapshot), the pools in the `decision-engine` row, and the capacity projection of those
   * orders only. Nothing here grows with the number of orders that did not change.
   */
  private planDecisionParts(view: StoreView, full: boolean, ops: WriteOp[], afterCommit: AfterCommit[], summary: CommitSummary): void {
    const changes = view.decisionChanges?.() ?? [];
    const ids = new Set(changes.map(([id]) => id));
    for (const id of this.unwrittenDecisions) ids.add(id);
    const ledger = view.ledger;
    if (full) {
      for (const id of ledger?.orders() ?? []) ids.add(id);
      for (const id of view.decisionSnapshot?.().orders.map((o) => o.orderId) ?? []) ids.add(id);
      if (ledger !== undefined) {
        const pools = ledger.toJSON().pools;
        this.planState(ENGINE_STATE_KEYS.decision, JSON.stringify({ version: 1, ledger: { version: 1, unit: 'kbps', pools, orders: {} }, orders: [] }), ops, afterCommit, summary);
        this.planPools(ledger, ops);
      }
    }
    const holdUntil = new Map<string, number | undefined>();
    for (const id of ids) {
      const part = view.decisionPart?.(id);
      if (part === undefined) continue;
      holdUntil.set(id, part.state.holdUntil);
      this.planState(`${DECISION_ORDER_PREFIX}${id}`, JSON.stringify(part), ops, afterCommit, summary);
    }
    if (ledger !== undefined) {
      const capacityIds = full ? [...new Set([...ids, ...this.reservationMemo.keys()])] : [...ids];
      this.planCapacity(ledger, capacityIds, (id) => holdUntil.get(id), ops, afterCommit, summary);
    }
    if (ids.size > 0) {
      afterCommit.push((j) => {
        this.unwrittenDecisions.clear();
        // A failed commit did not write them: the next one writes their current parts.
        j.onUndo(() => {
          for (const id of ids) this.unwrittenDecisions.add(id);
        });
        if (changes.length > 0) view.decisionWritten?.(changes);
      });
    }
  }

  /**
   * The ledger as rows, for `orderIds`: per order and pool, one 'committed' row (what the
   * agreement uses) and one 'held' row (what an open negotiation holds above it, until its
   * offer's validity). A hold that becomes the agreement is the same row, promoted. The pools'
   * remaining capacity follows.
   */
  private planCapacity(
    ledger: CapacityLedger,
    orderIds: readonly string[],
    holdUntilOf: (orderId: string) => number | undefined,
    ops: WriteOp[],
    afterCommit: AfterCommit[],
    summary: CommitSummary,
  ): void {
    const now = this.clock.now();
    const pools = new Set<string>();
    for (const orderId of orderIds) {
      const desired = new Map<string, DesiredReservation>();
      const holdings = ledger.order(orderId);
      const add = (status: 'held' | 'committed', record: Record<string, { inMbps: number; outMbps: number }> | undefined): void => {
        for (const [pool, b] of Object.entries(record ?? {})) {
          const inKbps = mbpsToRoundedKbps(b.inMbps);
          const outKbps = mbpsToRoundedKbps(b.outMbps);
          if (inKbps === 0 && outKbps === 0) continue;
          desired.set(`${pool}|${status}`, { pool, status, inKbps, outKbps, expiresAt: status === 'held' ? holdUntilOf(orderId) : undefined });
        }
      };
      add('committed', holdings?.committed);
      add('held', holdings?.held);
      const current = this.reservationMemo.get(orderId) ?? new Map<string, ReservationRow>();
      const same =
        desired.size === current.size &&
        [...desired].every(([key, d]) => {
          const row = current.get(key);
          return row !== undefined && row.inKbps === d.inKbps && row.outKbps === d.outKbps && row.expiresAt === d.expiresAt;
        });
      if (same) continue;

      const next = new Map<string, ReservationRow>();
      const remaining = new Map(current);
      // A hold turned into the agreement: promote the held row rather than open a new one.
      for (const [key, d] of desired) {
        if (d.status !== 'committed' || current.has(key)) continue;
        const heldKey = `${d.pool}|held`;
        const held = remaining.get(heldKey);
        if (held === undefined || desired.has(heldKey)) continue;
        remaining.delete(heldKey);
        ops.push({ kind: 'reservationSet', id: held.id, status: 'committed', inKbps: d.inKbps, outKbps: d.outKbps, expiresAt: null });
        next.set(key, { ...held, status: 'committed', inKbps: d.inKbps, outKbps: d.outKbps, expiresAt: undefined });
        pools.add(d.pool);
        summary.reservations++;
      }
      for (const [key, d] of desired) {
        if (next.has(key)) continue;
        const row = remaining.get(key);
        remaining.delete(key);
        pools.add(d.pool);
        if (row !== undefined) {
          if (row.inKbps !== d.inKbps || row.outKbps !== d.outKbps || row.expiresAt !== d.expiresAt) {
            ops.push({ kind: 'reservationSet', id: row.id, status: row.status, inKbps: d.inKbps, outKbps: d.outKbps, expiresAt: d.expiresAt ?? null });
            summary.reservations++;
          }
          next.set(key, { ...row, inKbps: d.inKbps, outKbps: d.outKbps, expiresAt: d.expiresAt });
          continue;
        }
        const id = this.nextReservationId++;
        next.set(key, { id, pool: d.pool, status: d.status, inKbps: d.inKbps, outKbps: d.outKbps, expiresAt: d.expiresAt });
        ops.push({ kind: 'reservationCreate', id, pool: d.pool, orderId, inKbps: d.inKbps, outKbps: d.outKbps, status: d.status, expiresAt: d.expiresAt ?? null });
        summary.reservations++;
      }
      for (const row of remaining.values()) {
        ops.push({ kind: 'reservationRelease', id: row.id, at: now });
        pools.add(row.pool);
        summary.reservations++;
      }
      afterCommit.push((j) => {
        if (next.size === 0) j.delete(this.reservationMemo, orderId);
        else j.set(this.reservationMemo, orderId, next);
      });
    }
    const known = new Set(ledger.pools());
    for (const pool of pools) {
      if (!known.has(pool)) continue;
      const usage = ledger.usage(pool);
      ops.push({ kind: 'poolAvailable', id: pool, availableInKbps: mbpsToRoundedKbps(usage.available.inMbps), availableOutKbps: mbpsToRoundedKbps(usage.available.outMbps) });
    }
  }

  /** ScheduledActivation rows follow the scheduler: new ones, fired ones, superseded ones. */
  private planActivations(entries: readonly ScheduledActivationEntry[], ops: WriteOp[], afterCommit: AfterCommit[], summary: CommitSummary): void {
    const desired = new Map(entries.map((e) => [`${e.orderId}|${e.dueAt}`, e]));
    for (const [key, entry] of desired) {
      const done = entry.firedAt !== undefined;
      const memo = this.activationMemo.get(key);
      if (memo !== undefined && memo.done === done) continue;
      ops.push({ kind: 'activationUpsert', orderId: entry.orderId, at: entry.dueAt, done, doneAt: entry.firedAt ?? null });
      afterCommit.push((j) => j.set(this.activationMemo, key, { done }));
      summary.activations++;
    }
    for (const [key, memo] of this.activationMemo) {
      if (desired.has(key)) continue;
      if (memo.done) {
        // Fired and since superseded: the row stays as history.
        afterCommit.push((j) => j.delete(this.activationMemo, key));
        continue;
      }
      // Superseded before it fired (a later ACTIVATE, a deactivation, a withdrawal).
      const [orderId = '', dueAt = '0'] = key.split('|');
      ops.push({ kind: 'activationDelete', orderId, at: Number(dueAt) });
      afterCommit.push((j) => j.delete(this.activationMemo, key));
      summary.activations++;
    }
  }
}
