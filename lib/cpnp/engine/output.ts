/**
 * What an engine core (client or server) hands back after each input: the messages to put on
 * the wire and structured events. The cores never send or log themselves; a runner (runner.ts)
 * or a test harness (simulation.ts) acts on this value. Events are plain records so that
 * "every state change with timestamp and cause" can be persisted later as-is.
 */
import type { DiffSummary } from '../cpd/diff';
import type { Cpd } from '../cpd/types';
import type { DateTime } from '../date-time';
import type { DeclineReasonValue } from '../decline-reason';
import type { ActivationStatus, AlarmKind } from '../fsm/events';
import type { CancelReason } from '../fsm/states';
import type { ActivationSchedule, CpnpMessage } from '../message';
import type { ProcessingSubcodeValue } from '../processing-subcode';
import type { StatusCodeValue } from '../status-code';
import type { MethodName } from '../method';
import type { Endpoint, Inbound } from '../transport/transport';

/** One message to send: the encoded bytes (sent as-is, also on retransmission) and its typed form. */
export interface EngineSend {
  to: Endpoint;
  bytes: Uint8Array;
  message: CpnpMessage;
}

/**
 * Kinds of events:
 * - 'transition': an order changed state (from → to).
 * - 'sent' / 'retransmitted': a message left (or left again, RFC 8921 11.4).
 * - 'received': a valid message was accepted and processed.
 * - 'duplicate': a retransmitted request was answered from the cache without processing (11.4).
 * - 'dropped': an inbound message was discarded (decode error, section 10 table, unknown peer...).
 * - 'rejected': a FAIL answered an invalid request (server side).
 * - 'timer': a timer fired (expected-response, validity, retransmission...).
 * - 'offer': an offer arrived and awaits an application decision (client side).
 * - 'notice': the state machine asks someone to act (evaluate an offer, answer a time request...).
 * - 'alarm': RFC 8921 11.1.2 "must send an alarm to the administrator" (and similar).
 * - 'command-rejected': an application command was refused (bad state, unknown order...).
 * - 'send-error': the transport failed to send (reported by the runner).
 * - 'error': any other failure the runner caught.
 * - 'group': a parallel negotiation group (8.10) changed (client side; cause group-*).
 * - 'info': anything else worth logging.
 */
export const ENGINE_EVENT_KINDS = [
  'transition',
  'sent',
  'retransmitted',
  'received',
  'duplicate',
  'dropped',
  'rejected',
  'timer',
  'offer',
  'notice',
  'alarm',
  'command-rejected',
  'send-error',
  'error',
  'info',
  'group',
] as const;
export type EngineEventKind = (typeof ENGINE_EVENT_KINDS)[number];

export interface EngineEvent {
  kind: EngineEventKind;
  /** Which engine produced it. */
  side: 'client' | 'server';
  /** The engine's label (e.g. a host name), when several engines share a log. */
  node?: string;
  /** clock.now() when it happened (milliseconds since the Unix epoch). */
  at: number;
  /** The order concerned (customerOrderId on the client; the server's own order key on the server). */
  orderId?: string;
  /** State before / after, for 'transition' (and optionally others). */
  from?: string;
  to?: string;
  /** Short machine-readable cause, e.g. 'offerReceived', 'retriesExhausted', 'unknown-server'. */
  cause: string;
  /** The CPNP method involved, if any. */
  method?: MethodName;
  /** The remote endpoint involved, if any. */
  peer?: Endpoint;
  /** TRANSACTION_ID involved, if any. */
  txid?: string;
  /** SEQUENCE_NUMBER involved, if any. */
  seq?: number;
  /** Free text for humans. */
  detail?: string;
  /** Typed facts for a UI (which fields are set depends on kind and cause; see EngineEventData). */
  data?: EngineEventData;
}

/**
 * The machine-readable content of an event, so that an application renders it without parsing
 * `detail` or re-decoding datagrams. Every field is optional; docs/client-engine.md lists which
 * event carries which.
 */
export interface EngineEventData {
  /** FAIL received or sent (9.2.10, Table 1). */
  statusCode?: StatusCodeValue;
  /** PROCESSING_SUBCODE of a received PROCESSING (Table 2). */
  processingSubcode?: ProcessingSubcodeValue;
  /** EXPECTED_OFFER_TIME of a received PROCESSING (9.1.7): the time the server asks for. */
  expectedOfferTime?: DateTime;
  /** EXPECTED_RESPONSE_TIME sent (QUOTATION, UPDATE, the ACK granting more time). */
  expectedResponseTime?: DateTime;
  /** VALIDITY_OFFER_TIME of an OFFER (9.1.8). */
  validityOfferTime?: DateTime;
  /** The client's deadline for the offer (ms since the epoch), when it has one. */
  deadline?: number;
  /** The Offered CPD of an OFFER. */
  offeredCpd?: Cpd;
  /** Clause-by-clause summary of the offer against the request (cpd/diff.ts). */
  offerDiff?: DiffSummary;
  /** A decline's reason codes (9.2.5). */
  declineReasons?: DeclineReasonValue[];
  /** Alarm events: which alarm; 'alarm-resolved' info events: the alarm settled. */
  alarm?: AlarmKind;
  /** command-rejected events: the refusal code (RefusalCode in client-engine.ts). */
  refusal?: string;
  /** The order's cancel reason once Cancelled. */
  cancelReason?: CancelReason;
  /** The Provider Order Identifier, once known. */
  providerOrderId?: string;
  /** The agreement's activation sub-state. */
  activation?: ActivationStatus;
  /** ACTIVATE sent: the schedule asked for. */
  activationSchedule?: ActivationSchedule;
  /** Parallel negotiation (8.10): the group the order belongs to. */
  groupId?: string;
}

export interface EngineOutput {
  sends: EngineSend[];
  events: EngineEvent[];
}

export function emptyOutput(): EngineOutput {
  return { sends: [], events: [] };
}

/** Appends `more` into `into` (mutating it) and returns it. */
export function appendOutput(into: EngineOutput, more: EngineOutput): EngineOutput {
  into.sends.push(...more.sends);
  into.events.push(...more.events);
  return into;
}

/** A fresh output holding all of `outputs`, in order. */
export function mergeOutputs(...outputs: EngineOutput[]): EngineOutput {
  const out = emptyOutput();
  for (const o of outputs) appendOutput(out, o);
  return out;
}

/**
 * The minimal interface a runner or simulation needs from an engine core: both the client
 * and the server engine implement it.
 */
export interface EngineCore {
  receive(inbound: Inbound): EngineOutput;
  /** Fires every timer due at clock.now(). */
  tick(): EngineOutput;
  /** The earliest pending timer (ms since epoch), or undefined when none. */
  nextDue(): number | undefined;
}

/**
 * A core that can record one step and undo it (the client engine): the runner's commit hook
 * writes `changes()` and then settles, or rolls back when the write failed, so that memory never
 * runs ahead of storage and nothing is sent about a change that was not stored.
 */
export interface JournaledCore<Changes = unknown> extends EngineCore {
  begin(): void;
  changes(): Changes;
  settle(): void;
  rollback(): void;
}

export function isJournaled(core: EngineCore): core is JournaledCore {
  const c = core as Partial<JournaledCore>;
  return typeof c.begin === 'function' && typeof c.changes === 'function' && typeof c.settle === 'function' && typeof c.rollback === 'function';
}
