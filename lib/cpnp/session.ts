import type { CpnpMessage, Hex16 } from './message';
import { Method, type MethodCode } from './method';
import { newTransactionId, randomInitialSequence, type RandomSource } from './random';
import { classifyIncoming, isSequenceNumber, takeOutgoing } from './sequence';
import type { Timers } from './timers';
import { fourTupleMismatch, type PeerTuple } from './validation/peer';

/**
 * CPNP session entries (RFC 8921 section 8.3) and transactions (8.4). One entry per
 * transaction: the transport session (PeerTuple), the Transaction-ID, both order identifiers,
 * the nonce once known, and the two sequence counters of 11.3. Every function is pure and
 * returns a new entry.
 */

export type Role = 'client' | 'server';

/** What opened the transaction; the ACK rows of RFC Table 5 depend on it. */
export const TRANSACTION_KINDS = ['quotation', 'update', 'withdraw', 'activate'] as const;
export type TransactionKind = (typeof TRANSACTION_KINDS)[number];

const OPENERS: ReadonlyMap<MethodCode, TransactionKind> = new Map<MethodCode, TransactionKind>([
  [Method.QUOTATION, 'quotation'],
  [Method.UPDATE, 'update'],
  [Method.WITHDRAW, 'withdraw'],
  [Method.ACTIVATE, 'activate'],
]);

/** The kind of transaction a method opens (8.4, 9.2.9, 9.2.11: each takes a new
 * Transaction-ID), or undefined for methods sent inside an existing transaction. */
export function transactionKindOf(method: MethodCode): TransactionKind | undefined {
  return OPENERS.get(method);
}

/** The last message this side sent in the transaction, kept so it can be sent again. */
export interface SentRecord {
  seq: number;
  method: MethodCode;
  /** Opaque handle to the encoded bytes (a digest or a storage key): the exact same bytes
   * must go out on retransmission (11.4: no change of sequence number). */
  ref: string;
  /** The incoming sequence number this message answered, if it was an answer (11.4). */
  inReplyTo?: number;
  /** When it was last put on the wire (epoch ms). */
  transmittedAt: number;
  /** How many times it was put on the wire (1 = sent once, never retransmitted). */
  transmissions: number;
}

/** The last incoming message accepted: an equal seq with the same method is its retransmission. */
export interface ReceivedRecord {
  seq: number;
  method: MethodCode;
}

export interface SessionEntry {
  role: Role;
  /** Transport session (8.3). */
  peer: PeerTuple;
  kind: TransactionKind;
  /** Transaction-ID (8.4), chosen by the client. */
  txid: Hex16;
  /** Customer agreement identifier (9.1.1). */
  customerOrderId: string;
  /** Provider agreement identifier (9.1.2): the client learns it from PROCESSING or OFFER. */
  providerOrderId?: string;
  /** The server's nonce for the order (9.1.5). */
  nonce?: Hex16;
  /** Next outgoing sequence number (11.3); SEQ_MAX + 1 once exhausted. */
  outSeq: number;
  /** Highest incoming sequence number accepted (11.3); undefined until the peer's first message. */
  inSeq?: number;
  lastReceived?: ReceivedRecord;
  lastSent?: SentRecord;
  /** Timers of this transaction (timers.ts). */
  timers: Timers;
}

export interface ClientSessionInit {
  peer: PeerTuple;
  kind: TransactionKind;
  customerOrderId: string;
  /** Known for UPDATE / WITHDRAW / ACTIVATE transactions (they name an existing order). */
  providerOrderId?: string;
  nonce?: Hex16;
}

/** A client opens a transaction: a new random Transaction-ID and a random first sequence
 * number (8.4). */
export function openClientSession(init: ClientSessionInit, random: RandomSource): SessionEntry {
  return {
    role: 'client',
    peer: init.peer,
    kind: init.kind,
    txid: newTransactionId(random),
    customerOrderId: init.customerOrderId,
    ...(init.providerOrderId === undefined ? {} : { providerOrderId: init.providerOrderId }),
    ...(init.nonce === undefined ? {} : { nonce: init.nonce }),
    outSeq: randomInitialSequence(random),
    timers: [],
  };
}

export interface ServerSessionInit {
  peer: PeerTuple;
  /** The validated QUOTATION, UPDATE, WITHDRAW or ACTIVATE that opens the transaction. */
  opening: CpnpMessage;
  /** For a QUOTATION: the identifier the server assigns (11.2.1). Otherwise the message's. */
  providerOrderId?: string;
  /** The nonce of the order, if not the one in the message. */
  nonce?: Hex16;
}

/**
 * The server sets up a session on the opening message (11.2.1): it stores the Transaction-ID,
 * takes the message's seq as its incoming counter and draws its own outgoing counter (RFC 8.4
 * only says the client picks randomly; the server does the same for its direction).
 */
export function openServerSession(init: ServerSessionInit, random: RandomSource): SessionEntry {
  const { opening } = init;
  const kind = transactionKindOf(opening.method);
  if (kind === undefined) throw new RangeError(`method ${opening.method} does not open a transaction`);
  const ids = messageIdentifiers(opening);
  const providerOrderId = init.providerOrderId ?? ids.providerOrderId;
  const nonce = init.nonce ?? ids.nonce;
  return {
    role: 'server',
    peer: init.peer,
    kind,
    txid: opening.txid,
    customerOrderId: opening.customerOrderId,
    ...(providerOrderId === undefined ? {} : { providerOrderId }),
    ...(nonce === undefined ? {} : { nonce }),
    outSeq: randomInitialSequence(random),
    inSeq: opening.seq,
    lastReceived: { seq: opening.seq, method: opening.method },
    timers: [],
  };
}

/**
 * Records a NEW message about to be sent: it takes the next outgoing sequence number (11.3)
 * and becomes the message a retransmission repeats. Throws SequenceExhaustedError rather than
 * wrap (sequence.ts).
 */
export function recordSent(
  entry: SessionEntry,
  sent: { method: MethodCode; ref: string; now: number; inReplyTo?: number },
): { entry: SessionEntry; seq: number } {
  const { seq, next } = takeOutgoing(entry.outSeq);
  const lastSent: SentRecord = {
    seq,
    method: sent.method,
    ref: sent.ref,
    ...(sent.inReplyTo === undefined ? {} : { inReplyTo: sent.inReplyTo }),
    transmittedAt: sent.now,
    transmissions: 1,
  };
  return { entry: { ...entry, outSeq: next, lastSent }, seq };
}

/**
 * Records a retransmission of the last sent message: same bytes, same sequence number
 * (11.1.1, 11.4), outSeq unchanged. Throws if nothing was sent yet.
 */
export function recordRetransmission(entry: SessionEntry, now: number): { entry: SessionEntry; sent: SentRecord } {
  if (entry.lastSent === undefined) throw new RangeError('nothing was sent in this transaction');
  const sent: SentRecord = { ...entry.lastSent, transmittedAt: now, transmissions: entry.lastSent.transmissions + 1 };
  return { entry: { ...entry, lastSent: sent }, sent };
}

/**
 * Records an incoming message that passed validation: its seq becomes the incoming counter
 * (11.3). Throws if the seq is not above the counter: such a message is a retransmission or a
 * replay and must never be processed (validation returns those verdicts instead).
 */
export function acceptIncoming(entry: SessionEntry, msg: { seq: number; method: MethodCode }): SessionEntry {
  if (!isSequenceNumber(msg.seq)) throw new RangeError(`not a sequence number: ${msg.seq}`);
  const kind = classifyIncoming(msg.seq, entry.inSeq);
  if (kind !== 'first' && kind !== 'new') throw new RangeError(`seq ${msg.seq} is a ${kind} (inSeq ${entry.inSeq})`);
  return { ...entry, inSeq: msg.seq, lastReceived: { seq: msg.seq, method: msg.method } };
}

/** Stores identifiers learnt from the peer: the client takes the Provider Order Identifier from
 * PROCESSING or OFFER (11.1.1) and the nonce from OFFER (9.1.5). */
export function learnIdentifiers(
  entry: SessionEntry,
  ids: { providerOrderId?: string; nonce?: Hex16 },
): SessionEntry {
  return {
    ...entry,
    ...(ids.providerOrderId === undefined ? {} : { providerOrderId: ids.providerOrderId }),
    ...(ids.nonce === undefined ? {} : { nonce: ids.nonce }),
  };
}

export function withTimers(entry: SessionEntry, timers: Timers): SessionEntry {
  return { ...entry, timers };
}

/** Minimum gap between two copies of the same cached answer (11.4 "with a limited frequency"). */
export const ANSWER_RESEND_INTERVAL_MS = 1000;

export type RetransmissionAnswer =
  /** Resend the cached answer (the same bytes) and record it with recordRetransmission. */
  | { action: 'resend'; sent: SentRecord }
  /** No answer exists yet: 11.4 says to answer with PROCESSING. */
  | { action: 'processing' }
  /** The answer went out less than `minIntervalMs` ago: do nothing. */
  | { action: 'wait' };

/** How to react to a retransmission of the incoming message `seq` (11.4). */
export function answerRetransmission(
  entry: SessionEntry,
  seq: number,
  now: number,
  minIntervalMs: number = ANSWER_RESEND_INTERVAL_MS,
): RetransmissionAnswer {
  const sent = entry.lastSent;
  if (sent === undefined || sent.inReplyTo !== seq) return { action: 'processing' };
  if (now - sent.transmittedAt < minIntervalMs) return { action: 'wait' };
  return { action: 'resend', sent };
}

// --- matching a message against an entry (RFC 8921 section 10) --------------------------------

/**
 * The identifying members of RFC Tables 5 and 6. 'providerOrderId?' compares the Provider
 * Order Identifier only when both the message and the entry carry one (used where a message
 * may legitimately lack it or the entry may not know it yet, e.g. FAIL and CANCEL).
 */
export type IdentifierKey = 'fourTuple' | 'txid' | 'customerOrderId' | 'providerOrderId' | 'providerOrderId?' | 'nonce';

export interface MessageIdentifiers {
  txid: Hex16;
  customerOrderId: string;
  providerOrderId?: string;
  nonce?: Hex16;
}

export function messageIdentifiers(msg: CpnpMessage): MessageIdentifiers {
  const providerOrderId = 'providerOrderId' in msg ? msg.providerOrderId : undefined;
  const nonce = 'nonce' in msg ? msg.nonce : undefined;
  return {
    txid: msg.txid,
    customerOrderId: msg.customerOrderId,
    ...(providerOrderId === undefined ? {} : { providerOrderId }),
    ...(nonce === undefined ? {} : { nonce }),
  };
}

/** Hex is case-insensitive on decode (hex.ts); compare byte strings case-insensitively. */
function sameHex(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();
}

/** The first of `keys` on which the message (received on `peer`) and the entry disagree. */
export function identifierMismatch(
  entry: SessionEntry,
  msg: CpnpMessage,
  peer: PeerTuple,
  keys: readonly IdentifierKey[],
): IdentifierKey | undefined {
  const ids = messageIdentifiers(msg);
  for (const key of keys) {
    switch (key) {
      case 'fourTuple':
        if (fourTupleMismatch(entry.peer, peer) !== undefined) return key;
        break;
      case 'txid':
        if (!sameHex(entry.txid, ids.txid)) return key;
        break;
      case 'customerOrderId':
        if (entry.customerOrderId !== ids.customerOrderId) return key;
        break;
      case 'providerOrderId':
        if (entry.providerOrderId === undefined || entry.providerOrderId !== ids.providerOrderId) return key;
        break;
      case 'providerOrderId?':
        if (entry.providerOrderId !== undefined && ids.providerOrderId !== undefined && entry.providerOrderId !== ids.providerOrderId) {
          return key;
        }
        break;
      case 'nonce':
        if (!sameHex(entry.nonce, ids.nonce)) return key;
        break;
    }
  }
  return undefined;
}
