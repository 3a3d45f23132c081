import type { Cpd } from './cpd/types';
import type { DateTime } from './date-time';
import type { DeclineReasonValue } from './decline-reason';
import type { InformationElements } from './information-elements';
import { type Method, type MethodCode } from './method';
import type { ProcessingSubcodeValue } from './processing-subcode';
import type { StatusCodeValue } from './status-code';

/**
 * The typed model of the 11 CPNP operation messages (RFC 8921 section 9.2). It is also the
 * JSON form of wire-format.md section 6: byte strings are lowercase hex, date-times are text.
 */

/** 16 random bytes as 32 lowercase hex digits (TRANSACTION_ID, NONCE). */
export type Hex16 = string;

/**
 * ACTIVATION_SCHEDULE (RFC 8921 9.2.11): null = activate now, 0 = deactivate,
 * a date-time = activate then.
 */
export type ActivationSchedule = null | 0 | DateTime;

interface Base {
  /** VERSION — always 1 (RFC 8921 9.2). */
  version: 1;
  /** SEQUENCE_NUMBER (9.1.4, 11.3): 0..2^32-1. */
  seq: number;
  /** TRANSACTION_ID (8.4, 9.1.3). */
  txid: Hex16;
  /** CUSTOMER_ORDER_IDENTIFIER (9.1.1): 1..64 bytes UTF-8, no control characters. */
  customerOrderId: string;
}

/** 9.2.1 — client → server: a Provisioning Quotation Order. */
export interface QuotationMessage extends Base {
  method: typeof Method.QUOTATION;
  expectedResponseTime?: DateTime;
  /** Requested CPD. */
  cpd: Cpd;
  ies?: InformationElements;
}

/** 9.2.2 — either side: received and being processed; from the server, may ask for more time. */
export interface ProcessingMessage extends Base {
  method: typeof Method.PROCESSING;
  providerOrderId: string;
  expectedOfferTime?: DateTime;
  processingSubcode?: ProcessingSubcodeValue;
}

/** 9.2.3 — server → client. */
export interface OfferMessage extends Base {
  method: typeof Method.OFFER;
  providerOrderId: string;
  nonce: Hex16;
  validityOfferTime: DateTime;
  activationSchedule?: ActivationSchedule;
  /** Offered CPD (Updated CPD in an UPDATE transaction). */
  cpd: Cpd;
  ies?: InformationElements;
}

/** 9.2.4 — client → server: call for agreement; cpd must equal the Offered CPD. */
export interface AcceptMessage extends Base {
  method: typeof Method.ACCEPT;
  providerOrderId: string;
  nonce: Hex16;
  cpd: Cpd;
  ies?: InformationElements;
}

/** 9.2.5 — client → server. */
export interface DeclineMessage extends Base {
  method: typeof Method.DECLINE;
  providerOrderId: string;
  nonce: Hex16;
  reasons?: DeclineReasonValue[];
}

/** 9.2.6 — server closes a transaction, or client grants more time (expectedResponseTime, no cpd). */
export interface AckMessage extends Base {
  method: typeof Method.ACK;
  providerOrderId: string;
  expectedResponseTime?: DateTime;
  cpd?: Cpd;
  ies?: InformationElements;
}

/** 9.2.7 — client → server; providerOrderId once known (wire-format.md section 3). */
export interface CancelMessage extends Base {
  method: typeof Method.CANCEL;
  providerOrderId?: string;
  cpd?: Cpd;
}

/** 9.2.8 — client → server: withdraw an agreement. */
export interface WithdrawMessage extends Base {
  method: typeof Method.WITHDRAW;
  providerOrderId: string;
  nonce: Hex16;
  cpd?: Cpd;
  ies?: InformationElements;
}

/** 9.2.9 — client → server: renegotiate an agreement. */
export interface UpdateMessage extends Base {
  method: typeof Method.UPDATE;
  providerOrderId: string;
  nonce: Hex16;
  expectedResponseTime: DateTime;
  /** Updated (requested) CPD. */
  cpd: Cpd;
  ies?: InformationElements;
}

/** 9.2.10 — either side; providerOrderId absent only when there is no order to name. */
export interface FailMessage extends Base {
  method: typeof Method.FAIL;
  providerOrderId?: string;
  statusCode: StatusCodeValue;
}

/** 9.2.11 — client → server. */
export interface ActivateMessage extends Base {
  method: typeof Method.ACTIVATE;
  providerOrderId: string;
  nonce: Hex16;
  activationSchedule: ActivationSchedule;
  ies?: InformationElements;
}

export type CpnpMessage =
  | QuotationMessage
  | ProcessingMessage
  | OfferMessage
  | AcceptMessage
  | DeclineMessage
  | AckMessage
  | CancelMessage
  | WithdrawMessage
  | UpdateMessage
  | FailMessage
  | ActivateMessage;

export type MessageOf<M extends MethodCode> = Extract<CpnpMessage, { method: M }>;

/** Top-level CBOR keys (wire-format.md section 2) and their JSON names, in key order. */
export const FIELD_KEYS = {
  version: 1,
  method: 2,
  seq: 3,
  txid: 4,
  customerOrderId: 5,
  providerOrderId: 6,
  nonce: 7,
  expectedResponseTime: 8,
  expectedOfferTime: 9,
  validityOfferTime: 10,
  processingSubcode: 11,
  statusCode: 12,
  reasons: 13,
  activationSchedule: 14,
  cpd: 15,
  ies: 16,
} as const;

export type FieldName = keyof typeof FIELD_KEYS;
export type FieldKey = (typeof FIELD_KEYS)[FieldName];

export const FIELD_NAMES: readonly FieldName[] = Object.keys(FIELD_KEYS) as FieldName[];
export const FIELD_BY_KEY: ReadonlyMap<number, FieldName> = new Map(
  FIELD_NAMES.map((name) => [FIELD_KEYS[name], name]),
);

export type Presence = 'M' | 'O';

/**
 * Which keys each method carries (wire-format.md section 3): M = mandatory, O = optional,
 * absent from the row = forbidden. Keys 1-5 are mandatory everywhere.
 */
export const PRESENCE: Readonly<Record<MethodCode, Readonly<Partial<Record<FieldName, Presence>>>>> = {
  1: { expectedResponseTime: 'O', cpd: 'M', ies: 'O' },
  2: { providerOrderId: 'M', expectedOfferTime: 'O', processingSubcode: 'O' },
  3: { providerOrderId: 'M', nonce: 'M', validityOfferTime: 'M', activationSchedule: 'O', cpd: 'M', ies: 'O' },
  4: { providerOrderId: 'M', nonce: 'M', cpd: 'M', ies: 'O' },
  5: { providerOrderId: 'M', nonce: 'M', reasons: 'O' },
  6: { providerOrderId: 'M', expectedResponseTime: 'O', cpd: 'O', ies: 'O' },
  7: { providerOrderId: 'O', cpd: 'O' },
  8: { providerOrderId: 'M', nonce: 'M', cpd: 'O', ies: 'O' },
  9: { providerOrderId: 'M', nonce: 'M', expectedResponseTime: 'M', cpd: 'M', ies: 'O' },
  10: { providerOrderId: 'O', statusCode: 'M' },
  11: { providerOrderId: 'M', nonce: 'M', activationSchedule: 'M', ies: 'O' },
};

export const COMMON_FIELDS: readonly FieldName[] = ['version', 'method', 'seq', 'txid', 'customerOrderId'];

export function presenceOf(method: MethodCode, field: FieldName): Presence | undefined {
  if ((COMMON_FIELDS as readonly string[]).includes(field)) return 'M';
  return PRESENCE[method][field];
}

/** MAX_MESSAGE_SIZE (wire-format.md section 1): bytes of encoded CBOR on every transport. */
export const MAX_MESSAGE_SIZE = 16384;
/** The CPNP version this implementation speaks (RFC 8921 9.2). */
export const CPNP_VERSION = 1;
