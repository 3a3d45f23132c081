/**
 * "No silent divergence" (issue 7; docs/state-machines.md C9, C10, C23, C5): the real client
 * engine against the real server engine, in simulated time.
 *
 * - Four named regression tests, one per hole found when the engine was first embedded.
 * - A seeded property over lossy runs of every flow: at quiescence both sides agree on the
 *   order's outcome, or the client order carries an open alarm. The test command runs a short
 *   sample; CPNP_LONG_PROPERTY=1 runs thousands of seeds.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { seededRandom } from '../random';
import type { Packet } from '../transport/memory';
import {
  RESPONSE_WINDOW_MS,
  T0,
  divergence,
  fromServer,
  lossy,
  methodOf,
  randomPlan,
  runPlan,
  type Plan,
  type RunResult,
} from './divergence-harness';

const BASE: Plan = {
  decide: 'offer',
  serverDelayMs: 10_000,
  moreTime: 'ignore',
  processOffer: false,
  offerAction: 'accept',
  confirm: 'confirm',
  after: 'none',
  review: 'proceed',
};

/** Drops the first `count` packets the server sends with `method`. */
function dropFirst(method: string, count = 1): (packet: Packet) => 'drop' | 'deliver' {
  let left = count;
  return (packet) => {
    if (left > 0 && fromServer(packet) && methodOf(packet) === method) {
      left--;
      return 'drop';
    }
    return 'deliver';
  };
}

function alarms(run: RunResult): string[] {
  return run.sim.events.filter((e) => e.simNode === 'client' && e.kind === 'alarm').map((e) => e.cause);
}

function serverOrder(run: RunResult) {
  const order = run.server.listOrders()[0];
  assert.ok(order, 'the server has the order');
  return order;
}

describe('no silent divergence: the four holes, each a regression test', () => {
  test('1a. interim PROCESSING, then the final ACK is lost: the re-query recovers it (C9)', () => {
    const run = runPlan({ plan: { ...BASE, confirm: 'pending' }, faults: dropFirst('ACK') });
    assert.equal(run.stop, 'idle');
    assert.ok(run.network.log.some((l) => l.decision === 'drop' && methodOf(l.packet) === 'ACK'), 'the ACK was lost');
    assert.equal(serverOrder(run).fsm.state, 'Completed');
    assert.equal(run.client.state(run.id), 'Completed', 'the client learns the agreement from the re-queried ACCEPT');
    assert.equal(run.client.order(run.id)?.agreement?.nonce, serverOrder(run).agreement?.nonce);
    assert.equal(divergence(run), undefined);
    assert.equal(run.sim.nextDue(), undefined, 'nothing left running');
  });

  test('1b. interim PROCESSING to a WITHDRAW, then the refusal (FAIL 4) is lost: re-queried, the FAIL raises the alarm (11.1.2)', () => {
    const run = runPlan({ plan: { ...BASE, after: 'withdraw', review: 'pendingFail' }, faults: dropFirst('FAIL') });
    assert.ok(run.network.log.some((l) => l.decision === 'drop' && methodOf(l.packet) === 'FAIL'), 'the FAIL was lost once');
    assert.ok(run.sim.events.some((e) => e.simNode === 'client' && e.kind === 'received' && e.method === 'PROCESSING' && e.cause === 'processingReceived'));
    assert.equal(serverOrder(run).fsm.state, 'Completed', 'the server refused the WITHDRAW');
    assert.ok(alarms(run).includes('withdrawalRefused'), 'the re-queried WITHDRAW got the stored FAIL: alarm');
    assert.ok(run.client.openAlarms(run.id).some((a) => a.kind === 'withdrawalRefused'));
    assert.equal(divergence(run), undefined);
    assert.equal(run.sim.nextDue(), undefined);
  });

  test('2. CANCEL crossing the ACK (C23): no CANCEL is sent; the ACK concludes, the agreement is withdrawn at once', () => {
    const run = runPlan({ plan: { ...BASE, offerAction: 'acceptThenCancel' } });
    assert.equal(run.sim.sentBy('client').filter((s) => s.message.method === 7).length, 0, 'no CANCEL');
    assert.equal(run.client.order(run.id)?.fsm.cancelReason, 'withdrawn');
    assert.equal(serverOrder(run).fsm.state, 'Cancelled');
    assert.equal(serverOrder(run).fsm.cancelReason, 'withdrawn');
    assert.equal(divergence(run), undefined);
    assert.deepEqual(alarms(run), []);
  });

  test('3. unanswered ACCEPT (C10): alarm, the order shows "unknown", a late ACK is the truth and settles the alarm', () => {
    // Every answer of the server is lost for 40 s: the ACCEPT's retries (2+4+8+16 s) run out.
    const run = runPlan({
      plan: BASE,
      faults: dropFirst('ACK', 4),
    });
    const unanswered = runPlan({ plan: BASE, faults: (packet) => (fromServer(packet) && methodOf(packet) === 'ACK' ? 'drop' : 'deliver') });
    // Forever lost: the order stays AcceptSent with the outcome unknown and an open alarm.
    assert.equal(unanswered.client.state(unanswered.id), 'AcceptSent');
    assert.equal(unanswered.client.order(unanswered.id)?.fsm.outstanding?.unknown, true);
    assert.deepEqual(
      unanswered.client.openAlarms(unanswered.id).map((a) => a.kind),
      ['acceptUnanswered'],
    );
    assert.equal(serverOrder(unanswered).fsm.state, 'Completed');
    assert.equal(divergence(unanswered), undefined, 'a disagreement, but an explicit one');
    // Lost for a while only: the re-query gets the stored ACK; the alarm is settled by the answer.
    assert.ok(alarms(run).includes('acceptUnanswered'));
    assert.equal(run.client.state(run.id), 'Completed');
    assert.deepEqual(run.client.openAlarms(run.id), []);
    assert.equal(run.client.order(run.id)?.alarms?.[0]?.settledBy, 'answer');
    assert.equal(divergence(run), undefined);
  });

  test('4. EXPECTED_OFFER_TIME past the client\'s EXPECTED_RESPONSE_TIME is a more-time request the client decides (C5)', () => {
    // The customer asked for an answer within a minute; the server says "in 30 days".
    const ignored = runPlan({ plan: { ...BASE, decide: 'pending', offerTime: 'beyond', serverDelayMs: 600_000 } });
    const notice = ignored.sim.events.find((e) => e.simNode === 'client' && e.cause === 'decideMoreTime');
    assert.ok(notice, 'the application is asked');
    assert.equal(typeof notice.data?.expectedOfferTime, 'string');
    assert.equal(notice.data?.deadline, T0 + RESPONSE_WINDOW_MS);
    const rec = ignored.client.order(ignored.id);
    assert.equal(rec?.fsm.state, 'Cancelled', 'not answered before the deadline: cancelled at the deadline');
    assert.equal(rec?.fsm.cancelReason, 'timeout');
    const cancel = ignored.sim.sentBy('client').find((s) => s.message.method === 7);
    assert.ok(cancel === undefined || cancel.at === T0 + RESPONSE_WINDOW_MS);
    assert.equal(serverOrder(ignored).fsm.state, 'Cancelled');
    assert.equal(divergence(ignored), undefined);
    // Granted: the negotiation goes on to the offer.
    const granted = runPlan({ plan: { ...BASE, decide: 'pending', offerTime: 'beyond', moreTime: 'grant', serverDelayMs: 120_000 } });
    assert.equal(granted.client.state(granted.id), 'Completed');
    // Refused: FAIL 7, the original deadline stands.
    const refused = runPlan({ plan: { ...BASE, decide: 'pending', offerTime: 'beyond', moreTime: 'refuse', serverDelayMs: 120_000 } });
    assert.ok(refused.sim.sentBy('client').some((s) => s.message.method === 10), 'FAIL 7 sent');
    assert.equal(refused.client.order(refused.id)?.fsm.cancelReason, 'timeout');
    assert.equal(divergence(refused), undefined);
    // Automatic up to a configured limit.
    const auto = runPlan({
      plan: { ...BASE, decide: 'pending', offerTime: 'beyond', serverDelayMs: 120_000 },
      clientConfig: { autoGrantMoreTimeMs: 40 * 86_400_000 },
    });
    assert.ok(auto.sim.events.some((e) => e.simNode === 'client' && e.cause === 'autoGrantMoreTime'));
    assert.equal(auto.client.state(auto.id), 'Completed');
    // A time within the window is simply accepted (11.1.1).
    const within = runPlan({ plan: { ...BASE, decide: 'pending', offerTime: 'within', serverDelayMs: 20_000 } });
    assert.ok(!within.sim.events.some((e) => e.simNode === 'client' && e.cause === 'decideMoreTime'));
    assert.equal(within.client.state(within.id), 'Completed');
  });
});

/** The property: `runs` seeded lossy runs of random plans. */
function property(runs: number, seedBase: number): void {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 2 ** 30 }), (seed) => {
      const random = seededRandom(seed + seedBase);
      const plan = randomPlan(random);
      const drop = [0, 0.05, 0.2, 0.4][seed % 4] ?? 0.2;
      const run = runPlan({ plan, seed, faults: lossy(random, { drop, duplicate: 0.05, delay: 0.05 }) });
      if (run.stop !== 'idle') throw new Error(`seed ${seed}: the run did not come to rest (${JSON.stringify(plan)})`);
      if (run.sim.errors.length > 0) throw new Error(`seed ${seed}: ${String(run.sim.errors[0]?.error)}`);
      const problem = divergence(run);
      if (problem !== undefined) throw new Error(`seed ${seed}, drop ${drop}: ${problem}; plan ${JSON.stringify(plan)}`);
    }),
    { numRuns: runs, seed: seedBase },
  );
}

describe('no silent divergence: seeded lossy property over every flow', () => {
  const long = process.env.CPNP_LONG_PROPERTY === '1';
  test(`${long ? 3000 : 150} seeded lossy runs: both sides agree, or the client order carries an open alarm`, () => {
    property(long ? 3000 : 150, 20261204);
  });
});
