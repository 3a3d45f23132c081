import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SimulatedClock } from '../clock';
import { asDateTime, dateTimeToMillis } from '../date-time';
import { Method, METHOD_CODES } from '../method';
import { SEQ_MAX } from '../sequence';
import {
  cancelTimer,
  DEFAULT_TIMER_CONFIG,
  deadlineTimer,
  dueTimers,
  expectsReply,
  findTimer,
  nextDue,
  onRetransmitFired,
  retransmitDelay,
  scheduleRetransmit,
  scheduleWithdrawRetry,
  setDeadline,
  setTimer,
  timerConfig,
  WITHDRAW_RETRY_FLOOR_MS,
  type Timer,
  type TimerConfig,
  type Timers,
} from '../timers';

/** Drives the retransmission timer with a simulated clock until it gives up; returns what was sent. */
function runRetransmissions(seq: number, config: TimerConfig, clock: SimulatedClock) {
  let timers: Timers = scheduleRetransmit([], seq, clock.now(), config);
  const sent: { at: number; seq: number; attempt: number }[] = [];
  for (let guard = 0; guard < 1000; guard++) {
    const next = nextDue(timers);
    assert.ok(next !== undefined);
    clock.set(next.dueAt);
    const [fired] = dueTimers(timers, clock.now());
    assert.ok(fired !== undefined);
    const outcome = onRetransmitFired(fired, clock.now(), config);
    if (outcome.action === 'give-up') {
      timers = cancelTimer(timers, 'retransmit');
      return { sent, gaveUpAt: clock.now(), attempts: outcome.attempts, outcomeSeq: outcome.seq, timers };
    }
    sent.push({ at: clock.now(), seq: outcome.seq, attempt: outcome.attempt });
    timers = setTimer(timers, outcome.timer);
  }
  throw new Error('never gave up');
}

describe('configuration (8.5, 11.1.2)', () => {
  it('defaults: RETRANS_TIMER 2 s, 3 retries, withdrawal cycles every 300 s', () => {
    assert.deepEqual(timerConfig(), { retransTimerMs: 2000, maxRetries: 3, withdrawRetryMs: 300_000 });
    assert.deepEqual(timerConfig(), { ...DEFAULT_TIMER_CONFIG });
  });
  it('the withdrawal interval may go down to 60 s but never below', () => {
    assert.equal(timerConfig({ withdrawRetryMs: 60_000 }).withdrawRetryMs, 60_000);
    assert.equal(timerConfig({ withdrawRetryMs: 1000 }).withdrawRetryMs, WITHDRAW_RETRY_FLOOR_MS);
    assert.equal(timerConfig({ withdrawRetryMs: 900_000 }).withdrawRetryMs, 900_000);
  });
  it('rejects nonsense', () => {
    assert.throws(() => timerConfig({ retransTimerMs: 0 }), RangeError);
    assert.throws(() => timerConfig({ maxRetries: -1 }), RangeError);
    assert.throws(() => timerConfig({ maxRetries: 1.5 }), RangeError);
    assert.throws(() => timerConfig({ withdrawRetryMs: Number.NaN }), RangeError);
  });
});

describe('retransmission (8.5, 11.1.1, 11.4)', () => {
  it('backs off 2, 4, 8 s, retransmits three times with the same seq, then gives up after 16 s more', () => {
    const clock = new SimulatedClock(1_000_000);
    const result = runRetransmissions(4242, DEFAULT_TIMER_CONFIG, clock);
    assert.deepEqual(result.sent, [
      { at: 1_002_000, seq: 4242, attempt: 1 },
      { at: 1_006_000, seq: 4242, attempt: 2 },
      { at: 1_014_000, seq: 4242, attempt: 3 },
    ]);
    assert.equal(result.gaveUpAt, 1_030_000);
    assert.equal(result.attempts, 3);
    assert.equal(result.outcomeSeq, 4242);
    assert.deepEqual(result.timers, []);
  });
  it('retransmitDelay doubles', () => {
    assert.deepEqual([0, 1, 2, 3].map((a) => retransmitDelay(a)), [2000, 4000, 8000, 16000]);
  });
  it('maxRetries 0 gives up on the first expiry', () => {
    const outcome = onRetransmitFired({ kind: 'retransmit', dueAt: 0, attempt: 0, seq: 1 }, 0, timerConfig({ maxRetries: 0 }));
    assert.deepEqual(outcome, { action: 'give-up', attempts: 0, seq: 1 });
  });
  it('only a retransmit timer can fire as one; a bad seq cannot be scheduled', () => {
    assert.throws(() => onRetransmitFired({ kind: 'expectedOffer', dueAt: 0, attempt: 0 }, 0), TypeError);
    assert.throws(() => scheduleRetransmit([], SEQ_MAX + 1, 0), RangeError);
  });
  it('property: never more than MAX_RETRIES copies, always the same seq, strictly later each time', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: SEQ_MAX }),
        fc.integer({ min: 0, max: 8 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 0, max: 2 ** 40 }),
        (seq, maxRetries, retransTimerMs, start) => {
          const config = timerConfig({ maxRetries, retransTimerMs });
          const result = runRetransmissions(seq, config, new SimulatedClock(start));
          assert.equal(result.sent.length, maxRetries);
          assert.equal(result.attempts, maxRetries);
          assert.equal(result.outcomeSeq, seq);
          let previous = start;
          result.sent.forEach((s, i) => {
            assert.equal(s.seq, seq);
            assert.equal(s.attempt, i + 1);
            assert.ok(s.at > previous);
            previous = s.at;
          });
          assert.ok(result.gaveUpAt > previous);
        },
      ),
    );
  });
  it('a new send replaces the pending retransmission timer', () => {
    const t1 = scheduleRetransmit([], 10, 0);
    const t2 = scheduleRetransmit(t1, 11, 500);
    assert.equal(t2.length, 1);
    assert.deepEqual(findTimer(t2, 'retransmit'), { kind: 'retransmit', dueAt: 2500, attempt: 0, seq: 11 });
  });
});

describe('which messages wait for a reply (11.4)', () => {
  it('client requests do; its answers do not', () => {
    const waiting = METHOD_CODES.filter((m) => expectsReply('client', m));
    assert.deepEqual(waiting, [Method.QUOTATION, Method.ACCEPT, Method.DECLINE, Method.CANCEL, Method.WITHDRAW, Method.UPDATE, Method.ACTIVATE]);
  });
  it('server: OFFER and a PROCESSING asking for more time; never the closing ACK or FAIL', () => {
    assert.deepEqual(METHOD_CODES.filter((m) => expectsReply('server', m)), [Method.OFFER]);
    assert.equal(expectsReply('server', Method.PROCESSING, { moreTimeRequest: true }), true);
    assert.equal(expectsReply('server', Method.ACK, { moreTimeRequest: true }), false);
    assert.equal(expectsReply('server', Method.FAIL), false);
  });
});

describe('deadlines from message date-times (8.5, 9.1.6-9.1.8)', () => {
  const at = asDateTime('2030-05-01T12:00:00Z');
  it('a date-time gives a timer at that instant', () => {
    assert.deepEqual(deadlineTimer('validityOffer', at), { kind: 'validityOffer', dueAt: dateTimeToMillis(at), attempt: 0 });
  });
  it('a missing EXPECTED_RESPONSE_TIME is infinite: no timer', () => {
    assert.equal(deadlineTimer('expectedResponse', undefined), undefined);
    const timers = setDeadline(setDeadline([], 'expectedResponse', at), 'expectedResponse', undefined);
    assert.deepEqual(timers, []);
  });
  it('a granted extension replaces the earlier EXPECTED_OFFER_TIME', () => {
    const later = asDateTime('2030-05-01T12:30:00Z');
    const timers = setDeadline(setDeadline([], 'expectedOffer', at), 'expectedOffer', later);
    assert.equal(timers.length, 1);
    assert.equal(timers[0]?.dueAt, dateTimeToMillis(later));
  });
});

describe('nextDue / dueTimers', () => {
  const timers: Timer[] = [
    { kind: 'retransmit', dueAt: 5000, attempt: 0, seq: 1 },
    { kind: 'validityOffer', dueAt: 5000, attempt: 0 },
    { kind: 'expectedOffer', dueAt: 9000, attempt: 0 },
    { kind: 'withdrawRetry', dueAt: 3000, attempt: 1 },
  ];
  it('nextDue is the earliest; none when empty', () => {
    assert.equal(nextDue(timers)?.kind, 'withdrawRetry');
    assert.equal(nextDue([]), undefined);
  });
  it('dueTimers fires dueAt <= now, deadlines before a retransmission due at the same time', () => {
    assert.deepEqual(dueTimers(timers, 2999), []);
    assert.deepEqual(dueTimers(timers, 3000).map((t) => t.kind), ['withdrawRetry']);
    assert.deepEqual(dueTimers(timers, 5000).map((t) => t.kind), ['withdrawRetry', 'validityOffer', 'retransmit']);
    assert.deepEqual(dueTimers(timers, 10_000).map((t) => t.kind), ['withdrawRetry', 'validityOffer', 'retransmit', 'expectedOffer']);
  });
  it('a simulated clock walks through them in order', () => {
    const clock = new SimulatedClock(0);
    const order: string[] = [];
    let pending: Timers = timers;
    for (let t = nextDue(pending); t !== undefined; t = nextDue(pending)) {
      clock.set(t.dueAt);
      for (const fired of dueTimers(pending, clock.now())) {
        order.push(`${fired.kind}@${clock.now()}`);
        pending = cancelTimer(pending, fired.kind);
      }
    }
    assert.deepEqual(order, ['withdrawRetry@3000', 'validityOffer@5000', 'retransmit@5000', 'expectedOffer@9000']);
  });
});

describe('withdrawal cycles (11.1.2)', () => {
  it('the next cycle is 300 s later by default and replaces the retransmit timer', () => {
    const timers = scheduleWithdrawRetry(scheduleRetransmit([], 7, 0), 1000, 1);
    assert.deepEqual(timers, [{ kind: 'withdrawRetry', dueAt: 301_000, attempt: 1 }]);
  });
  it('never sooner than 60 s, even with a raw config below the floor', () => {
    const timers = scheduleWithdrawRetry([], 0, 0, { ...DEFAULT_TIMER_CONFIG, withdrawRetryMs: 5 });
    assert.equal(timers[0]?.dueAt, 60_000);
  });
});
