/**
 * Vocabulary shared by the two order state machines (fsm/client.ts, fsm/server.ts): outcomes,
 * effects, the rule-table shape and the activation sub-state of a Completed order.
 *
 * The machines are pure: a transition takes the persisted order state and one event and
 * returns the next state plus effects as data. Effects name what must happen (a message to
 * send, a timer to start, resources to release); the runtime performs them. Nothing here
 * builds wire messages or reads a clock.
 */
import type { DateTime } from '../date-time';
import type { DeclineReasonValue } from '../decline-reason';
import type { ActivationType } from '../information-elements';
import type { ActivationSchedule } from '../message';
import type { MethodName } from '../method';
import type { ProcessingSubcodeValue } from '../processing-subcode';
import type { StatusCodeValue } from '../status-code';
import type { CancelReason } from './states';

/**
 * Which negotiation cycle an order is in. An UPDATE re-runs the negotiation states on top of
 * an existing agreement (RFC 8921 9.2.9: "also considered to be a negotiation cycle", 11.1.3).
 */
export type NegotiationCycle = 'quotation' | 'update';

/**
 * Terms of the negotiation cycle in progress that the machines need after the cycle ends:
 * the activation type (requested in the QUOTATION/UPDATE options, possibly restated by the
 * OFFER, RFC 9.2.1 / 9.2.3) and the ACTIVATION_SCHEDULE of the offer.
 */
export interface NegotiationTerms {
  activationType?: ActivationType;
  activationSchedule?: ActivationSchedule;
}

/**
 * Activation sub-state of a Completed order (RFC 8921 9.2.11). The order stays Completed;
 * ACTIVATE only switches this. "scheduled" means active from `at` on; the machines keep no
 * timer for it, readers compare `at` with their clock.
 */
export type ActivationStatus =
  | { status: 'active' }
  | { status: 'inactive' }
  | { status: 'scheduled'; at: DateTime };

/** ACTIVATION_SCHEDULE semantics (9.2.11): null = now, 0 = deactivate, date-time = then. */
export function activationFromSchedule(schedule: ActivationSchedule): ActivationStatus {
  if (schedule === null) return { status: 'active' };
  if (schedule === 0) return { status: 'inactive' };
  return { status: 'scheduled', at: schedule };
}

/**
 * Activation sub-state when a negotiation cycle concludes. An explicit schedule in the offer
 * wins. Otherwise a "scheduled" order waits for ACTIVATE (inactive), except that an update
 * of an order that already was "scheduled" keeps its current status; without an activation
 * type the order is active once negotiation ends (9.1.10.3), and so is a "permanent" one.
 */
export function activationOnAgreement(
  terms: NegotiationTerms | undefined,
  previous: { activationType?: ActivationType; activation?: ActivationStatus },
): ActivationStatus {
  if (terms?.activationSchedule !== undefined) return activationFromSchedule(terms.activationSchedule);
  if (terms?.activationType === 'scheduled') {
    return previous.activationType === 'scheduled' && previous.activation ? previous.activation : { status: 'inactive' };
  }
  return { status: 'active' };
}

/**
 * What both machines persist about an order's negotiation cycles and its agreement (plain
 * JSON); fsm/client.ts and fsm/server.ts add their own fields.
 */
export interface OrderCycleState<S extends string> {
  state: S;
  /** The cycle in progress, or the last one once the order rests in Completed/Cancelled. */
  cycle: NegotiationCycle;
  /** A Completed agreement exists (also during an UPDATE cycle on top of it). */
  hasAgreement: boolean;
  /** Only in Cancelled. */
  cancelReason?: CancelReason;
  /** Why the last UPDATE cycle ended without a new agreement (the order stayed Completed). */
  updateEndedBy?: CancelReason;
  /** Terms of the cycle in progress. */
  terms?: NegotiationTerms;
  /** Activation type of the agreement (absent: active once negotiation ends, 9.1.10.3). */
  activationType?: ActivationType;
  /** Activation sub-state of the agreement; present exactly when hasAgreement. */
  activation?: ActivationStatus;
}

/**
 * Which CPD an ACK carries (RFC 8921 9.2.6). 'none': the ACK carries no CPD — the client's
 * ACK granting more time (wire-format.md section 3) and the ACK to an ACTIVATE (Figure 16).
 */
export type AckCpd = 'offered' | 'updated' | 'requested' | 'empty' | 'none';

/**
 * "Send this message." Only the parameters decided by the machine or carried by the event
 * are given; the runtime fills identifiers, sequence numbers and CPDs from the order.
 * `retransmission: true` means "send again, unchanged, the last message of this method"
 * (same sequence number, RFC 8921 11.1.1 / 11.4).
 */
export interface SendEffect {
  type: 'send';
  method: MethodName;
  /** Server only: to the remote server of the child order (RFC 8921 8.8), not to the client. */
  to?: 'child';
  /** ACK only. */
  cpd?: AckCpd;
  /** FAIL only. */
  statusCode?: StatusCodeValue;
  /** DECLINE only. */
  reasons?: DeclineReasonValue[];
  /** QUOTATION / UPDATE, and the client's ACK granting more time (9.2.6). */
  expectedResponseTime?: DateTime;
  /** PROCESSING from the server. */
  expectedOfferTime?: DateTime;
  /** PROCESSING from the server asking for more time (Table 2). */
  processingSubcode?: ProcessingSubcodeValue;
  /** OFFER. */
  validityOfferTime?: DateTime;
  /** OFFER / ACTIVATE. */
  activationSchedule?: ActivationSchedule;
  retransmission?: true;
}

/** A SendEffect for `method` with the given parameters. */
export const send = (method: SendEffect['method'], extra: Omit<SendEffect, 'type' | 'method'> = {}): SendEffect => ({
  type: 'send',
  method,
  ...extra,
});

/**
 * Start (or restart) a timer. `at` is an absolute deadline taken from a message; without it
 * the runtime uses its configured delay (RETRANS_TIMER, child-order deadline). The withdrawal
 * retry cycle carries its spacing bounds instead (RFC 8921 11.1.2).
 */
export interface StartTimerEffect<T extends string> {
  type: 'startTimer';
  timer: T;
  at?: DateTime;
  minDelaySeconds?: number;
  preferredDelaySeconds?: number;
}

/** Stop a timer; stopping a timer that is not running is a no-op. */
export interface CancelTimerEffect<T extends string> {
  type: 'cancelTimer';
  timer: T;
}

/** Tell a person or the negotiation logic that something needs its attention. */
export interface NotifyEffect<N extends string> {
  type: 'notify';
  what: N;
}

/**
 * RFC 8921 11.1.2: "must send an alarm to the administrator". The same alarm is raised
 * whenever the outcome at the server is unknown after the client gave up: an unanswered ACCEPT
 * (the agreement may exist there, 11.1.1) or ACTIVATE (the service may be switched, 9.2.11).
 */
export interface AlarmEffect {
  type: 'alarm';
  reason: AlarmKind;
}

/**
 * Why an administrator is alarmed. 11.1.2 names the withdrawal alarms; the others mark a state
 * in which the client cannot know what the server concluded (docs/state-machines.md C9, C10,
 * C23): the order carries the alarm until an answer or an operator settles it.
 */
export const ALARM_KINDS = [
  'withdrawalUnanswered',
  'withdrawalRefused',
  'acceptUnanswered',
  'activationUnanswered',
  'answerOverdue',
  'cancelTooLate',
] as const;
export type AlarmKind = (typeof ALARM_KINDS)[number];

/** A next state and what to do about it. */
export interface Step<O, F> {
  next: O;
  effects: F[];
}

/** A (state, event) pair the machine does not allow: a value, never an exception. */
export interface Rejection<S extends string> {
  state: S;
  event: string;
  reason: string;
  /** A machine-readable refusal code, when the rule gave one (e.g. 'busy'); absent: the pair is not in the table. */
  code?: string;
  /**
   * Server only, for requests received from the client: the FAIL status code to answer with
   * (RFC 8921 10.2, 9.2.7, 9.2.8, 9.2.11). Absent: drop silently.
   */
  failWith?: StatusCodeValue;
}

export type Outcome<O, F, S extends string> =
  | { ok: true; next: O; effects: F[] }
  | { ok: false; rejection: Rejection<S> };

/** A rule's own refusal, when the pair is in the table but the order's data forbids it. */
export interface Refusal {
  refuse: string;
  /** Machine-readable refusal code (client commands: see RefusalCode in engine/client-engine.ts). */
  code?: string;
  failWith?: StatusCodeValue;
}

/**
 * One entry of a transition table: the states it may lead to (documentation, checked by the
 * tests), the RFC text it implements, and the pure function computing the step.
 */
export interface Rule<O, E, F, S extends string> {
  readonly to: readonly S[];
  readonly rfc: string;
  apply(order: O, event: E): Step<O, F> | Refusal;
}

/** A transition table: state → event type → rule. Missing entries are rejections. */
export type RuleTable<O, E extends { type: string }, F, S extends string> = {
  readonly [K in S]: { readonly [T in E['type']]?: Rule<O, Extract<E, { type: T }>, F, S> };
};

/** Drops keys whose value is undefined (deeply, plain objects only) so JSON round-trips exactly. */
export function compact<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    if (inner !== undefined) out[key] = compact(inner);
  }
  return out as T;
}

/** An own property only: event types like "toString" must not reach Object.prototype. */
function own(record: object, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(record, key) ? (record as Record<string, unknown>)[key] : undefined;
}

/**
 * Runs one event through a table. Unknown states, unknown event types and pairs missing from
 * the table are rejected with `reason`; `failWith` decides the FAIL code for rejected requests.
 */
export function runTable<O extends { state: S }, E extends { type: string }, F, S extends string>(
  table: RuleTable<O, E, F, S>,
  order: O,
  event: E,
  failWith: (event: E) => StatusCodeValue | undefined,
): Outcome<O, F, S> {
  const reject = (reason: string, code?: StatusCodeValue, refusal?: string): Outcome<O, F, S> => ({
    ok: false,
    rejection: compact({ state: order.state, event: event.type, reason, failWith: code, code: refusal }),
  });
  const row = own(table, order.state) as object | undefined;
  if (row === undefined) return reject(`unknown state ${String(order.state)}`);
  const rule = own(row, event.type) as Rule<O, E, F, S> | undefined;
  if (rule === undefined) return reject(`${event.type} is not allowed in state ${order.state}`, failWith(event));
  const step = rule.apply(order, event);
  if ('refuse' in step) return reject(step.refuse, step.failWith ?? failWith(event), step.code);
  return { ok: true, next: compact(step.next), effects: step.effects.map((effect) => compact(effect)) };
}
