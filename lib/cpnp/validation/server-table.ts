import { cpdEquals } from '../cpd/equality';
import type { Cpd } from '../cpd/types';
import { CHILD_STATES, type ServerState } from '../fsm/states';
import type { ActivationType } from '../information-elements';
import type { CpnpMessage, Hex16 } from '../message';
import { Method, methodName, type MethodCode } from '../method';
import { classifyIncoming, passesSeqRule, type SeqRule } from '../sequence';
import { identifierMismatch, type IdentifierKey, type SessionEntry } from '../session';
import { StatusCode, type StatusCodeValue } from '../status-code';
import type { PeerTuple } from './peer';

/**
 * Validation of messages received by a CPNP server: RFC 8921 section 10.2, Table 6, as data.
 *
 * Verdicts: accept; retransmission (11.4: answer again, do not process twice); fail with a
 * status code (9.2.10) for requests the server must refuse (9.2.5, 9.2.7, 9.2.8, 9.2.9,
 * 9.2.11, 11.2.2, 11.2.3); drop for replays (11.3) and for invalid responses (PROCESSING, ACK,
 * FAIL from the client), which are never answered with FAIL so two peers cannot loop.
 *
 * Status codes (docs/validation-and-timers.md): 1 for a missing order and for every mismatch
 * (identifiers, nonce, state, CPD), so that a prober does not learn which part was wrong; 2
 * when the order has an owner and the peer is not authenticated; 3 when every identifier
 * matches but the peer's authenticated identity is not the owner's; 4 when an access filter
 * says "prohibit"; 8 for ACTIVATE on an order not negotiated with activationType "scheduled".
 */

export type ServerMatchKey = IdentifierKey | 'offeredCpd';

export interface ServerRow {
  id: string;
  method: MethodCode;
  /**
   * How the order is found: 'txid' = the transaction the message belongs to; 'providerOrderId'
   * = an existing order, for methods that open a new transaction on it (UPDATE, WITHDRAW,
   * ACTIVATE: new Transaction-ID, 9.2.9 / 9.2.11); 'none' = the message creates the order.
   */
  lookup: 'none' | 'txid' | 'providerOrderId';
  matchKeys: readonly ServerMatchKey[];
  /** [] with lookup 'none': there is no order yet. */
  allowedStates: readonly ServerState[];
  seqRule: SeqRule;
  /** Table 6 "The source IP address passes existing access filters (if any)". */
  accessFilter: boolean;
  /** An extra condition on the order. */
  requires?: 'moreTimeRequested' | 'scheduledActivation';
  /** Requests are refused with FAIL; responses are dropped. */
  onFailure: 'fail' | 'drop';
  source: 'rfc' | 'extended' | 'extension';
  note?: string;
}

const TUPLE: readonly IdentifierKey[] = ['fourTuple', 'txid', 'customerOrderId'];
const AGREEMENT: readonly ServerMatchKey[] = ['customerOrderId', 'providerOrderId', 'nonce'];

/*
 * The Child* states of 8.8 (fsm/states.ts CHILD_STATES): Table 6 has no rows for them. To the
 * customer the order is still being processed, so what a customer may send while it awaits
 * processing stays valid there: CANCEL (9.2.7, "at any stage ... before an agreement is
 * reached") and the answer (ACK or FAIL 7) to a request for more time (9.2.2, subcode 2
 * "Request external resources"). The state machine accepts these in every Child* state.
 */
const CHILD_STATES_NOTE =
  'The Child* states (8.8, Figure 9) are ours too: Table 6 has no rows for them, and to the customer an order ' +
  'whose child order runs is still awaiting processing.';

/** The checks of the customer's answer to a request for more time (9.2.2): FAIL 7 refuses it, ACK grants it. */
const MORE_TIME_ANSWER: Omit<ServerRow, 'id' | 'method' | 'source' | 'note'> = {
  lookup: 'txid',
  matchKeys: [...TUPLE, 'providerOrderId'],
  allowedStates: ['AwaitingProcessing', ...CHILD_STATES],
  requires: 'moreTimeRequested',
  seqRule: 'greater',
  accessFilter: false,
  onFailure: 'drop',
};

/** RFC 8921 Table 6; 'extended' rows add checks or states, 'extension' rows are not in it. */
export const SERVER_TABLE: readonly ServerRow[] = [
  {
    id: 'QUOTATION',
    method: Method.QUOTATION,
    lookup: 'none',
    matchKeys: [],
    allowedStates: [],
    seqRule: 'not-lower',
    accessFilter: true,
    onFailure: 'fail',
    source: 'rfc',
  },
  {
    id: 'PROCESSING',
    method: Method.PROCESSING,
    lookup: 'txid',
    matchKeys: [...TUPLE, 'providerOrderId'],
    allowedStates: ['OfferProposed', 'ProcessingReceived'],
    seqRule: 'greater',
    accessFilter: false,
    onFailure: 'drop',
    source: 'extended',
    note:
      'Table 6 lists only the sequence check. We also require the identifiers every other in-transaction ' +
      'row uses (section 13: responses must carry the correct order identifiers) and the states in which ' +
      'the client answers an OFFER with PROCESSING (Figure 9).',
  },
  {
    id: 'CANCEL',
    method: Method.CANCEL,
    lookup: 'txid',
    matchKeys: [...TUPLE, 'providerOrderId?'],
    allowedStates: ['PQOReceived', 'AwaitingProcessing', 'OfferProposed', 'ProcessingReceived', 'AcceptReceived', ...CHILD_STATES],
    seqRule: 'greater',
    accessFilter: false,
    onFailure: 'fail',
    source: 'extended',
    note:
      'Table 6 omits AwaitingProcessing, yet Figure 9 draws CANCEL from it and 9.2.7 allows CANCEL "at any ' +
      'stage ... before an agreement is reached". A Provider Order Identifier, when the CANCEL carries one ' +
      `(wire-format.md section 3), must be this order's. ${CHILD_STATES_NOTE} 9.2.7 applies there too.`,
  },
  {
    id: 'ACCEPT',
    method: Method.ACCEPT,
    lookup: 'txid',
    matchKeys: [...TUPLE, 'providerOrderId', 'nonce', 'offeredCpd'],
    allowedStates: ['OfferProposed', 'ProcessingReceived'],
    seqRule: 'greater',
    accessFilter: false,
    onFailure: 'fail',
    source: 'rfc',
  },
  {
    id: 'FAIL',
    method: Method.FAIL,
    ...MORE_TIME_ANSWER,
    source: 'extended',
    note: `Table 6 lists AwaitingProcessing only. ${CHILD_STATES_NOTE} The server asks for more time there with subcode 2 (9.2.2).`,
  },
  {
    id: 'ACK',
    method: Method.ACK,
    ...MORE_TIME_ANSWER,
    source: 'extension',
    note: 'The client grants more time with ACK (9.2.2, 9.2.6); same checks and states as the FAIL row that refuses it.',
  },
  {
    id: 'DECLINE',
    method: Method.DECLINE,
    lookup: 'txid',
    matchKeys: [...TUPLE, 'providerOrderId', 'nonce'],
    allowedStates: ['OfferProposed', 'ProcessingReceived'],
    seqRule: 'greater',
    accessFilter: false,
    onFailure: 'fail',
    source: 'rfc',
  },
  {
    id: 'UPDATE',
    method: Method.UPDATE,
    lookup: 'providerOrderId',
    matchKeys: AGREEMENT,
    allowedStates: ['Completed'],
    seqRule: 'none',
    accessFilter: true,
    onFailure: 'fail',
    source: 'rfc',
  },
  {
    id: 'WITHDRAW',
    method: Method.WITHDRAW,
    lookup: 'providerOrderId',
    matchKeys: AGREEMENT,
    allowedStates: ['Completed'],
    seqRule: 'none',
    accessFilter: true,
    onFailure: 'fail',
    source: 'rfc',
  },
  {
    id: 'ACTIVATE',
    method: Method.ACTIVATE,
    lookup: 'providerOrderId',
    matchKeys: AGREEMENT,
    allowedStates: ['Completed'],
    requires: 'scheduledActivation',
    seqRule: 'none',
    accessFilter: true,
    onFailure: 'fail',
    source: 'rfc',
  },
];

export function serverRowFor(method: MethodCode): ServerRow | undefined {
  return SERVER_TABLE.find((row) => row.method === method);
}

/** What the server's store knows about an order. */
export interface ServerCandidate {
  /**
   * lookup by txid: the session entry of that transaction. lookup by providerOrderId: the entry
   * of the transaction that produced the order's current agreement (its customerOrderId,
   * providerOrderId and nonce are the ones UPDATE / WITHDRAW / ACTIVATE must repeat).
   */
  session: SessionEntry;
  state: ServerState;
  /** Authenticated identity of the customer that placed the order (PeerTuple.identity). */
  owner?: string;
  /** The CPD of the OFFER sent in this transaction (Offered CPD, or Updated CPD after UPDATE). */
  offeredCpd?: Cpd;
  /** The server sent PROCESSING asking for more time and awaits ACK or FAIL (9.2.2). */
  moreTimeRequested?: boolean;
  /** Negotiated Negotiation Option (9.1.10.3); ACTIVATE needs "scheduled" (9.2.11). */
  activationType?: ActivationType;
}

export type ServerLookupKey = { by: 'txid'; txid: Hex16 } | { by: 'providerOrderId'; providerOrderId: string };
export type ServerLookup = (key: ServerLookupKey) => ServerCandidate | undefined;

/** An access filter's answer: 'prohibit' → FAIL 4 (Administratively prohibited), 'drop' →
 * silence (e.g. unknown sources during a flood, section 13). */
export type AccessDecision = 'allow' | 'prohibit' | 'drop';
export type AccessFilter = (peer: PeerTuple, msg: CpnpMessage) => AccessDecision;

export interface ServerValidationOptions {
  /** Absent: every source passes ("access filters (if any)"). */
  accessFilter?: AccessFilter;
}

export type ServerCheck =
  | 'method'
  | 'access'
  | 'lookup'
  | 'repeat'
  | IdentifierKey
  | 'authentication'
  | 'identity'
  | 'seq'
  | 'state'
  | 'moreTimeRequested'
  | 'scheduledActivation'
  | 'offeredCpd';

export type ServerVerdict =
  /** Process the message. entry is undefined for a QUOTATION (a new order); for UPDATE /
   * WITHDRAW / ACTIVATE it is the order, and the caller opens a new session (openServerSession);
   * otherwise record the message with acceptIncoming(entry.session, msg). */
  | { verdict: 'accept'; entry: ServerCandidate | undefined; row: string }
  /** A copy of the last accepted message (11.4): answer again, never process twice. */
  | { verdict: 'retransmission'; entry: ServerCandidate; row: string }
  /** Answer with FAIL(statusCode), rate-limited per peer (9.2.5, wire-format.md section 7). */
  | { verdict: 'fail'; statusCode: StatusCodeValue; check: ServerCheck; reason: string; row: string }
  /** Discard silently. */
  | { verdict: 'drop'; check: ServerCheck; reason: string; row?: string };

function refuse(row: ServerRow, check: ServerCheck, reason: string, statusCode: StatusCodeValue = StatusCode.MESSAGE_VALIDATION_ERROR): ServerVerdict {
  const text = `${reason} (RFC 8921 10.2, ${row.id})`;
  return row.onFailure === 'fail'
    ? { verdict: 'fail', statusCode, check, reason: text, row: row.id }
    : { verdict: 'drop', check, reason: text, row: row.id };
}

function drop(row: ServerRow, check: ServerCheck, reason: string): ServerVerdict {
  return { verdict: 'drop', check, reason: `${reason} (RFC 8921 11.3, ${row.id})`, row: row.id };
}

/** 9.2.10 codes 2 and 3: whose order is it? */
function ownerCheck(row: ServerRow, candidate: ServerCandidate, peer: PeerTuple): ServerVerdict | undefined {
  if (candidate.owner === undefined) return undefined;
  if (peer.identity === undefined) {
    return refuse(row, 'authentication', 'the order belongs to an authenticated customer', StatusCode.AUTHENTICATION_REQUIRED);
  }
  if (peer.identity !== candidate.owner) {
    return refuse(row, 'identity', 'the order belongs to another customer', StatusCode.AUTHORIZATION_FAILED);
  }
  return undefined;
}

/** 11.3 / 11.4 on an existing transaction: replay → drop, equal → retransmission. */
function sequenceCheck(row: ServerRow, msg: CpnpMessage, candidate: ServerCandidate): ServerVerdict | 'new' {
  const { session } = candidate;
  const seqClass = classifyIncoming(msg.seq, session.inSeq);
  if (seqClass === 'replay') return drop(row, 'seq', `seq ${msg.seq} is below ${session.inSeq}: replay`);
  if (seqClass === 'retransmission') {
    if (session.lastReceived?.method !== msg.method) return drop(row, 'seq', `seq ${msg.seq} was already used by another message`);
    return { verdict: 'retransmission', entry: candidate, row: row.id };
  }
  if (!passesSeqRule(row.seqRule, msg.seq, session.inSeq)) return drop(row, 'seq', 'sequence rule');
  return 'new';
}

/**
 * A transaction-opening message (QUOTATION, UPDATE, WITHDRAW, ACTIVATE) whose Transaction-ID
 * already has a session: a retransmission if it repeats the opening message, else dropped
 * (a new request needs a new Transaction-ID, 8.4 / 9.2.9 / 9.2.11).
 */
function repeatedOpening(row: ServerRow, msg: CpnpMessage, peer: PeerTuple, existing: ServerCandidate): ServerVerdict {
  const keys = [...new Set<IdentifierKey>([...TUPLE, ...identifierKeys(row)])];
  const mismatch = identifierMismatch(existing.session, msg, peer, keys);
  if (mismatch !== undefined) return drop(row, 'repeat', `Transaction-ID already used by another transaction (${mismatch})`);
  if (existing.owner !== undefined && peer.identity !== existing.owner) {
    return drop(row, 'repeat', 'Transaction-ID already used by another customer');
  }
  const seq = sequenceCheck(row, msg, existing);
  if (seq !== 'new') return seq;
  return drop(row, 'repeat', 'the transaction is already open: a new request needs a new Transaction-ID');
}

function identifierKeys(row: ServerRow): IdentifierKey[] {
  return row.matchKeys.filter((k): k is IdentifierKey => k !== 'offeredCpd');
}

function messageCpd(msg: CpnpMessage): Cpd | undefined {
  return 'cpd' in msg ? msg.cpd : undefined;
}

/**
 * Judges a message received by the server on transport session `peer` (Table 6). Order of
 * checks: a row exists for the method; access filter; a repeated transaction-opening message;
 * the order exists; identifiers and 4-tuple; owner identity; sequence number; state; extra
 * condition; CPD.
 */
export function validateOnServer(
  msg: CpnpMessage,
  peer: PeerTuple,
  lookup: ServerLookup,
  options: ServerValidationOptions = {},
): ServerVerdict {
  const row = serverRowFor(msg.method);
  if (row === undefined) {
    return { verdict: 'drop', check: 'method', reason: `${methodName(msg.method)} is never sent to a server` };
  }

  if (row.accessFilter && options.accessFilter !== undefined) {
    const decision = options.accessFilter(peer, msg);
    if (decision === 'prohibit') return refuse(row, 'access', 'access filter', StatusCode.ADMINISTRATIVELY_PROHIBITED);
    if (decision === 'drop') return { verdict: 'drop', check: 'access', reason: `access filter (RFC 8921 10.2, ${row.id})`, row: row.id };
  }

  const byTxid = lookup({ by: 'txid', txid: msg.txid });
  if (row.lookup !== 'txid' && byTxid !== undefined) return repeatedOpening(row, msg, peer, byTxid);
  if (row.lookup === 'none') return { verdict: 'accept', entry: undefined, row: row.id };

  let candidate: ServerCandidate | undefined = byTxid;
  if (row.lookup === 'providerOrderId') {
    const providerOrderId = 'providerOrderId' in msg ? msg.providerOrderId : undefined;
    candidate = providerOrderId === undefined ? undefined : lookup({ by: 'providerOrderId', providerOrderId });
  }
  if (candidate === undefined) return refuse(row, 'lookup', 'no matching order');

  const mismatch = identifierMismatch(candidate.session, msg, peer, identifierKeys(row));
  if (mismatch !== undefined) return refuse(row, mismatch, `${mismatch} does not match the order`);

  const owner = ownerCheck(row, candidate, peer);
  if (owner !== undefined) return owner;

  if (row.lookup === 'txid') {
    const seq = sequenceCheck(row, msg, candidate);
    if (seq !== 'new') return seq;
  }

  if (!row.allowedStates.includes(candidate.state)) {
    return refuse(row, 'state', `order state ${candidate.state} is not ${row.allowedStates.join(' / ')}`);
  }
  if (row.requires === 'moreTimeRequested' && candidate.moreTimeRequested !== true) {
    return refuse(row, 'moreTimeRequested', 'no request for more time is pending');
  }
  if (row.requires === 'scheduledActivation' && candidate.activationType !== 'scheduled') {
    return refuse(row, 'scheduledActivation', 'explicit activation was not negotiated for this order', StatusCode.UNSUPPORTED_ACTIVATION_TYPE);
  }
  if (row.matchKeys.includes('offeredCpd')) {
    const cpd = messageCpd(msg);
    if (cpd === undefined || candidate.offeredCpd === undefined || !cpdEquals(cpd, candidate.offeredCpd)) {
      return refuse(row, 'offeredCpd', 'the CPD differs from the Offered CPD');
    }
  }
  return { verdict: 'accept', entry: candidate, row: row.id };
}
