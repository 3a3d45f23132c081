import { cpdEquals } from '../cpd/equality';
import type { Cpd } from '../cpd/types';
import type { ClientState } from '../fsm/states';
import type { CpnpMessage, Hex16 } from '../message';
import { Method, methodName, type MethodCode } from '../method';
import { classifyIncoming, passesSeqRule, type SeqRule } from '../sequence';
import { identifierMismatch, type IdentifierKey, type SessionEntry, type TransactionKind } from '../session';
import type { PeerTuple } from './peer';

/**
 * Validation of messages received by a CPNP client: RFC 8921 section 10.1, Table 5, as data.
 *
 * The client never answers an invalid message with FAIL: it drops it silently (RFC 8921
 * 9.2.2 "must be silently ignored", section 13 "silently discard CPNP responses received from
 * unknown CPNP servers", wire-format.md section 7). Verdicts are accept, retransmission or drop.
 *
 * Rows marked 'extension' cover server messages that Table 5 forgets but the RFC sends to the
 * client (FAIL 9.2.10, PROCESSING asking for more time 9.2.2 or answering late 11.4, the ACK
 * of CANCEL / DECLINE / ACTIVATE 9.2.6, 9.2.11), including the answers to a CANCEL or DECLINE
 * that ended an UPDATE cycle, which arrive while the order is back in Completed (C1 of
 * docs/state-machines.md). docs/validation-and-timers.md explains each.
 *
 * The client half of the 4-tuple may be unknown when a transaction opens (a DTLS or TLS client
 * binds its socket on the first send): see ClientCandidate.localUnknown.
 */

export type CpdKey = 'offeredCpd' | 'updatedCpd' | 'emptyCpd';
export type ClientMatchKey = IdentifierKey | CpdKey;

export interface ClientRow {
  /** Stable name, e.g. "ACK (QUOTATION transaction)". */
  id: string;
  method: MethodCode;
  /** Transactions the row applies to; absent = any. */
  kinds?: readonly TransactionKind[];
  /** Members that must match the session entry / order (CPD keys are compared last). */
  matchKeys: readonly ClientMatchKey[];
  allowedStates: readonly ClientState[];
  seqRule: SeqRule;
  /** Access filters are a server-side check (Table 6); always false here. */
  accessFilter: boolean;
  source: 'rfc' | 'extension';
  note?: string;
}

const TUPLE: readonly IdentifierKey[] = ['fourTuple', 'txid', 'customerOrderId'];
const NEGOTIATION: readonly TransactionKind[] = ['quotation', 'update'];

/** RFC 8921 Table 5, plus the documented extension rows. */
export const CLIENT_TABLE: readonly ClientRow[] = [
  {
    id: 'PROCESSING',
    method: Method.PROCESSING,
    kinds: NEGOTIATION,
    matchKeys: TUPLE,
    allowedStates: ['PQOSent'],
    seqRule: 'greater',
    accessFilter: false,
    source: 'rfc',
  },
  {
    id: 'PROCESSING (later answer)',
    method: Method.PROCESSING,
    matchKeys: [...TUPLE, 'providerOrderId'],
    allowedStates: ['ServerProcessing', 'AcceptSent', 'Cancelled'],
    seqRule: 'greater',
    accessFilter: false,
    source: 'extension',
    note:
      'A server asks for more time with another PROCESSING (9.2.2), answers ACCEPT, CANCEL, DECLINE or ' +
      'WITHDRAW late with PROCESSING (11.4, Figure 14); by then the Provider Order Identifier is known.',
  },
  {
    id: 'PROCESSING (UPDATE ended by CANCEL or DECLINE)',
    method: Method.PROCESSING,
    kinds: ['update'],
    matchKeys: [...TUPLE, 'providerOrderId'],
    allowedStates: ['Completed'],
    seqRule: 'greater',
    accessFilter: false,
    source: 'extension',
    note:
      'A late answer (11.4) to the CANCEL or DECLINE that ended an UPDATE cycle: the order is back in ' +
      'Completed with its agreement (9.2.9; state-machines.md C1) while that request waits for its answer.',
  },
  {
    id: 'PROCESSING (ACTIVATE transaction)',
    method: Method.PROCESSING,
    kinds: ['activate'],
    matchKeys: [...TUPLE, 'providerOrderId'],
    allowedStates: ['Completed'],
    seqRule: 'greater',
    accessFilter: false,
    source: 'extension',
    note: 'A late answer to ACTIVATE (11.4); the client order stays Completed during an ACTIVATE transaction.',
  },
  {
    id: 'OFFER',
    method: Method.OFFER,
    kinds: NEGOTIATION,
    matchKeys: TUPLE,
    allowedStates: ['PQOSent'],
    seqRule: 'greater',
    accessFilter: false,
    source: 'rfc',
  },
  {
    id: 'OFFER (after PROCESSING)',
    method: Method.OFFER,
    kinds: NEGOTIATION,
    matchKeys: [...TUPLE, 'providerOrderId'],
    allowedStates: ['ServerProcessing'],
    seqRule: 'greater',
    accessFilter: false,
    source: 'rfc',
  },
  {
    id: 'ACK (QUOTATION transaction)',
    method: Method.ACK,
    kinds: ['quotation'],
    matchKeys: [...TUPLE, 'providerOrderId', 'offeredCpd'],
    allowedStates: ['AcceptSent'],
    seqRule: 'greater',
    accessFilter: false,
    source: 'rfc',
  },
  {
    id: 'ACK (UPDATE transaction)',
    method: Method.ACK,
    kinds: ['update'],
    matchKeys: [...TUPLE, 'providerOrderId', 'updatedCpd'],
    allowedStates: ['AcceptSent'],
    seqRule: 'greater',
    accessFilter: false,
    source: 'rfc',
  },
  {
    id: 'ACK (WITHDRAW transaction)',
    method: Method.ACK,
    kinds: ['withdraw'],
    matchKeys: [...TUPLE, 'providerOrderId', 'emptyCpd'],
    allowedStates: ['Cancelled'],
    seqRule: 'greater',
    accessFilter: false,
    source: 'rfc',
  },
  {
    id: 'ACK (CANCEL or DECLINE)',
    method: Method.ACK,
    kinds: NEGOTIATION,
    matchKeys: [...TUPLE, 'providerOrderId?'],
    allowedStates: ['Cancelled'],
    seqRule: 'greater',
    accessFilter: false,
    source: 'extension',
    note:
      'The server ACKs CANCEL and DECLINE (9.2.5, 9.2.6, 9.2.7); the client already moved the order to ' +
      'Cancelled. The CPD is not compared: 9.2.5 (Requested CPD) and 9.2.6 (Empty CPD) disagree, and a ' +
      'CANCEL sent before PROCESSING does not know the Provider Order Identifier.',
  },
  {
    id: 'ACK (CANCEL or DECLINE of an UPDATE)',
    method: Method.ACK,
    kinds: ['update'],
    matchKeys: [...TUPLE, 'providerOrderId'],
    allowedStates: ['Completed'],
    seqRule: 'greater',
    accessFilter: false,
    source: 'extension',
    note:
      'The ACK of a CANCEL or DECLINE that ended an UPDATE cycle (9.2.5, 9.2.6, 9.2.7): the order is back in ' +
      'Completed with its agreement (9.2.9; state-machines.md C1). An UPDATE transaction knows the Provider ' +
      'Order Identifier from the start, so it is compared; the CPD is not (as in "ACK (CANCEL or DECLINE)").',
  },
  {
    id: 'ACK (ACTIVATE transaction)',
    method: Method.ACK,
    kinds: ['activate'],
    matchKeys: [...TUPLE, 'providerOrderId'],
    allowedStates: ['Completed'],
    seqRule: 'greater',
    accessFilter: false,
    source: 'extension',
    note: 'The server confirms ACTIVATE with ACK (9.2.11, Figure 16); the order stays Completed.',
  },
  {
    id: 'FAIL',
    method: Method.FAIL,
    kinds: ['quotation', 'update', 'withdraw'],
    matchKeys: [...TUPLE, 'providerOrderId?'],
    allowedStates: ['PQOSent', 'ServerProcessing', 'OfferProcessing', 'AcceptSent', 'Cancelled'],
    seqRule: 'greater',
    accessFilter: false,
    source: 'extension',
    note:
      'The server ends a transaction with FAIL (9.2.10, 11.2.1) after QUOTATION/UPDATE, during processing, ' +
      'after the client\'s PROCESSING (OfferProcessing, state-machines.md C4), after ACCEPT, or when CANCEL / ' +
      'DECLINE / WITHDRAW matched nothing (9.2.5, 9.2.7, 9.2.8). FAIL may lack the Provider Order ' +
      'Identifier (wire-format.md section 3).',
  },
  {
    id: 'FAIL (UPDATE ended by CANCEL or DECLINE)',
    method: Method.FAIL,
    kinds: ['update'],
    matchKeys: [...TUPLE, 'providerOrderId?'],
    allowedStates: ['Completed'],
    seqRule: 'greater',
    accessFilter: false,
    source: 'extension',
    note:
      'The server refuses the CANCEL or DECLINE that ended an UPDATE cycle (9.2.5, 9.2.7) while the order is ' +
      'back in Completed with its agreement (9.2.9; state-machines.md C1). FAIL may lack the Provider ' +
      'Order Identifier (wire-format.md section 3).',
  },
  {
    id: 'FAIL (ACTIVATE transaction)',
    method: Method.FAIL,
    kinds: ['activate'],
    matchKeys: [...TUPLE, 'providerOrderId?'],
    allowedStates: ['Completed'],
    seqRule: 'greater',
    accessFilter: false,
    source: 'extension',
    note: 'The server refuses ACTIVATE with FAIL (9.2.11).',
  },
];

/** The rows that apply to a message of `method` in a transaction of `kind`. */
export function clientRowsFor(method: MethodCode, kind?: TransactionKind): ClientRow[] {
  return CLIENT_TABLE.filter(
    (row) => row.method === method && (kind === undefined || row.kinds === undefined || row.kinds.includes(kind)),
  );
}

/** What the client's store knows about the transaction a message names. */
export interface ClientCandidate {
  /** The session entry of the transaction (8.3). */
  session: SessionEntry;
  /** The order's state (8.11.1). */
  state: ClientState;
  /** The CPD of the OFFER received in this transaction: the Offered CPD of a QUOTATION
   * transaction, the Updated CPD of an UPDATE transaction (Table 5 ACK rows). */
  offeredCpd?: Cpd;
  /** The authenticated identity of the server this order was placed with, if known: a message
   * from another identity is a response from an unknown server (section 13). */
  serverIdentity?: string;
  /**
   * The client half of the session's 4-tuple (8.3) is not known yet: the transport had no
   * connection to the server when the transaction opened (a DTLS or TLS client binds its local
   * port on the first send). The 4-tuple check then compares the transport and the server
   * address and port only; every other check applies as usual. A message accepted this way
   * carries `local` in its verdict, which the caller must record in the session so that the
   * full 4-tuple is enforced for the rest of the transaction (docs/client-engine.md section 5a).
   */
  localUnknown?: boolean;
}

/** Finds the transaction by its Transaction-ID (8.4: unique at the client). */
export type ClientLookup = (key: { txid: Hex16 }) => ClientCandidate | undefined;

export type ClientCheck = 'method' | 'lookup' | IdentifierKey | 'identity' | 'seq' | 'state' | CpdKey;

export type ClientVerdict =
  /** Process the message; then record it with acceptIncoming(entry.session, msg). `local`: the
   * client half of the 4-tuple it arrived on, present when the candidate's was unknown; the
   * caller fixes the session's local endpoint to it. */
  | { verdict: 'accept'; entry: ClientCandidate; row: string; local?: { address: string; port: number } }
  /** A copy of the last message accepted (11.4): do not process it again; see
   * answerRetransmission() in session.ts. */
  | { verdict: 'retransmission'; entry: ClientCandidate; row: string }
  /** Discard silently. */
  | { verdict: 'drop'; check: ClientCheck; reason: string; row?: string };

type RowOutcome = ClientVerdict & { stage: number };

const STAGE = { keys: 1, identity: 2, seq: 3, state: 4, cpd: 5 } as const;

function messageCpd(msg: CpnpMessage): Cpd | undefined {
  return 'cpd' in msg ? msg.cpd : undefined;
}

function cpdMatches(key: CpdKey, msg: CpnpMessage, candidate: ClientCandidate): boolean {
  const cpd = messageCpd(msg);
  if (cpd === undefined) return false; // 9.2.6: the ACK must carry the CPD
  if (key === 'emptyCpd') return cpd.length === 0;
  return candidate.offeredCpd !== undefined && cpdEquals(cpd, candidate.offeredCpd);
}

function isCpdKey(key: ClientMatchKey): key is CpdKey {
  return key === 'offeredCpd' || key === 'updatedCpd' || key === 'emptyCpd';
}

function evaluateRow(row: ClientRow, msg: CpnpMessage, peer: PeerTuple, candidate: ClientCandidate): RowOutcome {
  const drop = (stage: number, check: ClientCheck, reason: string): RowOutcome => ({
    verdict: 'drop',
    check,
    reason: `${reason} (RFC 8921 10.1, ${row.id})`,
    row: row.id,
    stage,
  });
  const { session } = candidate;
  const idKeys = row.matchKeys.filter((k): k is IdentifierKey => !isCpdKey(k));
  // An unknown client half matches any: the transport and the server half are still compared.
  const reference = candidate.localUnknown
    ? { ...session, peer: { ...session.peer, clientAddress: peer.clientAddress, clientPort: peer.clientPort } }
    : session;
  const mismatch = identifierMismatch(reference, msg, peer, idKeys);
  if (mismatch !== undefined) return drop(STAGE.keys, mismatch, `${mismatch} does not match the session entry`);

  if (candidate.serverIdentity !== undefined && peer.identity !== candidate.serverIdentity) {
    return drop(STAGE.identity, 'identity', 'the message comes from another server identity');
  }

  // 11.3 / 11.4: equal = retransmission of the last accepted message, lower = replay.
  const seqClass = classifyIncoming(msg.seq, session.inSeq);
  if (seqClass === 'replay') return drop(STAGE.seq, 'seq', `seq ${msg.seq} is below ${session.inSeq}: replay`);
  if (seqClass === 'retransmission') {
    if (session.lastReceived?.method !== msg.method) {
      return drop(STAGE.seq, 'seq', `seq ${msg.seq} was already used by another message`);
    }
    return { verdict: 'retransmission', entry: candidate, row: row.id, stage: STAGE.seq };
  }
  if (!passesSeqRule(row.seqRule, msg.seq, session.inSeq)) return drop(STAGE.seq, 'seq', 'sequence rule');

  if (!row.allowedStates.includes(candidate.state)) {
    return drop(STAGE.state, 'state', `order state ${candidate.state} is not ${row.allowedStates.join(' / ')}`);
  }
  for (const key of row.matchKeys) {
    if (isCpdKey(key) && !cpdMatches(key, msg, candidate)) return drop(STAGE.cpd, key, `${key} does not match`);
  }
  return {
    verdict: 'accept',
    entry: candidate,
    row: row.id,
    ...(candidate.localUnknown ? { local: { address: peer.clientAddress, port: peer.clientPort } } : {}),
    stage: STAGE.cpd + 1,
  };
}

function strip(outcome: RowOutcome): ClientVerdict {
  const { stage: _stage, ...verdict } = outcome;
  return verdict;
}

/**
 * Judges a message received by the client on transport session `peer` (Table 5). Checks, in
 * order: a row exists for the method; the transaction exists (Transaction-ID); the row's
 * identifiers and 4-tuple (its client half only once known, see ClientCandidate.localUnknown);
 * the server identity; the sequence number (replay → drop, equal → retransmission); the order
 * state; the CPD. A message is accepted when one row accepts it.
 */
export function validateOnClient(msg: CpnpMessage, peer: PeerTuple, lookup: ClientLookup): ClientVerdict {
  if (clientRowsFor(msg.method).length === 0) {
    return { verdict: 'drop', check: 'method', reason: `${methodName(msg.method)} is never sent to a client` };
  }
  const candidate = lookup({ txid: msg.txid });
  if (candidate === undefined) {
    return { verdict: 'drop', check: 'lookup', reason: 'no transaction with this Transaction-ID (RFC 8921 section 13)' };
  }
  const rows = clientRowsFor(msg.method, candidate.session.kind);
  if (rows.length === 0) {
    return {
      verdict: 'drop',
      check: 'method',
      reason: `${methodName(msg.method)} is not expected in a ${candidate.session.kind} transaction`,
    };
  }
  const outcomes = rows.map((row) => evaluateRow(row, msg, peer, candidate));
  const accepted = outcomes.find((o) => o.verdict === 'accept') ?? outcomes.find((o) => o.verdict === 'retransmission');
  if (accepted !== undefined) return strip(accepted);
  // Report the failure of the row written for the current state (e.g. the provider order
  // identifier of "OFFER (after PROCESSING)"), else the one that got furthest.
  const relevant = outcomes.find((o, i) => rows[i]?.allowedStates.includes(candidate.state));
  const furthest = outcomes.reduce((best, o) => (o.stage > best.stage ? o : best));
  return strip(relevant ?? furthest);
}
