import { dateTimeToMillis, type DateTime } from './date-time';
import { Method, type MethodCode } from './method';
import { isSequenceNumber } from './sequence';

/**
 * CPNP timers (RFC 8921 sections 8.5, 11.1, 11.2.1 and 11.4) as plain data stored with a
 * session or an order. Nothing here schedules anything: the runtime asks nextDue() when to wake
 * up, and dueTimers() which timers have fired at the injected clock's time.
 */

/** Listed in the order timers that fall due together are handled: deadlines end an order, so
 * they go before a retransmission that would be pointless afterwards. */
export const TIMER_KINDS = ['expectedResponse', 'expectedOffer', 'validityOffer', 'withdrawRetry', 'requery', 'retransmit'] as const;
export type TimerKind = (typeof TIMER_KINDS)[number];

export interface Timer {
  readonly kind: TimerKind;
  /** Epoch milliseconds. */
  readonly dueAt: number;
  /** retransmit: retransmissions already made; withdrawRetry: withdrawal cycles already made;
   * requery (client): re-query rounds already made for a request whose answer is pending or unknown. */
  readonly attempt: number;
  /** retransmit only: the sequence number of the message, reused by every copy (11.1.1, 11.4). */
  readonly seq?: number;
}

export type Timers = readonly Timer[];

export interface TimerConfig {
  /** RETRANS_TIMER (8.5): wait before the first retransmission; doubles for each later one. */
  retransTimerMs: number;
  /** Maximum retry threshold (8.5, 11.4 "e.g., three times"): retransmissions before giving up. */
  maxRetries: number;
  /** Delay between Withdrawal cycles once retries are exhausted (11.1.2). */
  withdrawRetryMs: number;
}

export const DEFAULT_TIMER_CONFIG: Readonly<TimerConfig> = {
  retransTimerMs: 2000,
  maxRetries: 3,
  withdrawRetryMs: 300_000,
};

/**
 * RFC 8921 11.1.2 says a client "must not retry this Withdrawal cycle more frequently than every
 * 300 seconds and must not retry more frequently than every 60 seconds". The two bounds
 * contradict each other; we default to 300 s and let configuration lower it to 60 s, never less.
 */
export const WITHDRAW_RETRY_FLOOR_MS = 60_000;

/** A complete, checked configuration; withdrawRetryMs below the 60 s floor is raised to it. */
export function timerConfig(overrides: Partial<TimerConfig> = {}): TimerConfig {
  const config = { ...DEFAULT_TIMER_CONFIG, ...overrides };
  if (!Number.isFinite(config.retransTimerMs) || config.retransTimerMs <= 0) {
    throw new RangeError('retransTimerMs must be a positive number of milliseconds');
  }
  if (!Number.isInteger(config.maxRetries) || config.maxRetries < 0) {
    throw new RangeError('maxRetries must be a non-negative integer');
  }
  if (!Number.isFinite(config.withdrawRetryMs)) throw new RangeError('withdrawRetryMs must be finite');
  return { ...config, withdrawRetryMs: Math.max(config.withdrawRetryMs, WITHDRAW_RETRY_FLOOR_MS) };
}

// --- the timer list -------------------------------------------------------------------------

const PRIORITY = new Map<TimerKind, number>(TIMER_KINDS.map((kind, i) => [kind, i]));

function byDue(a: Timer, b: Timer): number {
  return a.dueAt - b.dueAt || (PRIORITY.get(a.kind) ?? 0) - (PRIORITY.get(b.kind) ?? 0);
}

export function findTimer(timers: Timers, kind: TimerKind): Timer | undefined {
  return timers.find((t) => t.kind === kind);
}

/** Adds a timer, replacing the one of the same kind: a session has at most one of each. */
export function setTimer(timers: Timers, timer: Timer): Timers {
  return [...timers.filter((t) => t.kind !== timer.kind), timer];
}

export function cancelTimer(timers: Timers, kind: TimerKind): Timers {
  return timers.filter((t) => t.kind !== kind);
}

/** The timer that fires first (ties broken by TIMER_KINDS order), or undefined if none. */
export function nextDue(timers: Timers): Timer | undefined {
  return [...timers].sort(byDue)[0];
}

/** The timers that have fired at `now` (dueAt <= now), in the order to handle them. */
export function dueTimers(timers: Timers, now: number): Timer[] {
  return timers.filter((t) => t.dueAt <= now).sort(byDue);
}

// --- retransmission (8.5, 11.4) -----------------------------------------------------------

/** The wait after the original send (attempt 0) or after retransmission number `attempt`:
 * RETRANS_TIMER doubled each time — 2, 4, 8 s before retransmissions 1..3, then 16 s for the
 * answer to the last one before giving up (defaults). */
export function retransmitDelay(attempt: number, config: TimerConfig = DEFAULT_TIMER_CONFIG): number {
  return config.retransTimerMs * 2 ** attempt;
}

/** Arms the retransmission timer after the first send of message `seq`. */
export function scheduleRetransmit(
  timers: Timers,
  seq: number,
  now: number,
  config: TimerConfig = DEFAULT_TIMER_CONFIG,
): Timers {
  if (!isSequenceNumber(seq)) throw new RangeError(`not a sequence number: ${seq}`);
  return setTimer(timers, { kind: 'retransmit', dueAt: now + retransmitDelay(0, config), attempt: 0, seq });
}

export type RetransmitOutcome =
  /** Send the cached message again with the SAME sequence number, and keep `timer`. */
  | { action: 'retransmit'; attempt: number; seq: number; timer: Timer }
  /** MAX_RETRIES reached: remove the timer and let the state machine give up (timeout). */
  | { action: 'give-up'; attempts: number; seq: number };

/** What to do when the retransmit timer fires at `now`. */
export function onRetransmitFired(
  timer: Timer,
  now: number,
  config: TimerConfig = DEFAULT_TIMER_CONFIG,
): RetransmitOutcome {
  if (timer.kind !== 'retransmit' || timer.seq === undefined) throw new TypeError('not a retransmit timer');
  if (timer.attempt >= config.maxRetries) return { action: 'give-up', attempts: timer.attempt, seq: timer.seq };
  const attempt = timer.attempt + 1;
  return {
    action: 'retransmit',
    attempt,
    seq: timer.seq,
    timer: { kind: 'retransmit', dueAt: now + retransmitDelay(attempt, config), attempt, seq: timer.seq },
  };
}

/**
 * Whether a message needs the retransmission timer, i.e. whether its sender expects a reply
 * (11.4). Not: the server's closing ACK or FAIL ("the last message ... the retransmission timer
 * will be disabled"), and answers that no reply follows (the client's PROCESSING, its ACK or
 * FAIL to a time-extension request; the server's plain PROCESSING). A server PROCESSING that
 * asks for more time waits for ACK or FAIL (9.2.2), and an OFFER for PROCESSING, ACCEPT or
 * DECLINE (11.2.1). A lost answer is recovered by the peer retransmitting its request.
 */
export function expectsReply(
  role: 'client' | 'server',
  method: MethodCode,
  options: { moreTimeRequest?: boolean } = {},
): boolean {
  if (role === 'server') {
    if (method === Method.OFFER) return true;
    return method === Method.PROCESSING && options.moreTimeRequest === true;
  }
  return (
    method === Method.QUOTATION ||
    method === Method.ACCEPT ||
    method === Method.DECLINE ||
    method === Method.CANCEL ||
    method === Method.WITHDRAW ||
    method === Method.UPDATE ||
    method === Method.ACTIVATE
  );
}

// --- deadlines from message date-times (8.5, 9.1.6-9.1.8) -----------------------------------

export type DeadlineKind = 'expectedResponse' | 'expectedOffer' | 'validityOffer';

/**
 * A deadline timer from a message date-time: EXPECTED_RESPONSE_TIME (9.1.6),
 * EXPECTED_OFFER_TIME (9.1.7) or VALIDITY_OFFER_TIME (9.1.8). `undefined` is the "infinite"
 * time of 11.1.1 (wire-format.md section 3: the key is left out), so there is no timer.
 */
export function deadlineTimer(kind: DeadlineKind, at: DateTime | undefined): Timer | undefined {
  return at === undefined ? undefined : { kind, dueAt: dateTimeToMillis(at), attempt: 0 };
}

/** Sets (or, for an infinite time, clears) the deadline of `kind`, replacing any earlier one —
 * e.g. a granted time extension replaces the previous EXPECTED_OFFER_TIME. */
export function setDeadline(timers: Timers, kind: DeadlineKind, at: DateTime | undefined): Timers {
  const timer = deadlineTimer(kind, at);
  return timer === undefined ? cancelTimer(timers, kind) : setTimer(timers, timer);
}

// --- withdrawal cycles (11.1.2) -------------------------------------------------------------

/**
 * After a WITHDRAW exhausted its retries (and the administrator was alarmed), schedules the
 * next Withdrawal cycle no sooner than withdrawRetryMs (>= 60 s) from now. `cycles` counts the
 * cycles already run.
 */
export function scheduleWithdrawRetry(
  timers: Timers,
  now: number,
  cycles: number,
  config: TimerConfig = DEFAULT_TIMER_CONFIG,
): Timers {
  const delay = Math.max(config.withdrawRetryMs, WITHDRAW_RETRY_FLOOR_MS);
  return setTimer(cancelTimer(timers, 'retransmit'), { kind: 'withdrawRetry', dueAt: now + delay, attempt: cycles });
}
