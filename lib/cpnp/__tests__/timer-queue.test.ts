/**
 * TimerQueue (engine/timer-queue.ts) against a plain map as the model: any sequence of set,
 * clear, peek and popDue gives the same answers (fast-check).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { TimerQueue } from '../engine/timer-queue';

type Op = { kind: 'set'; key: string; at: number | undefined } | { kind: 'pop'; now: number } | { kind: 'peek' };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), key: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), at: fc.option(fc.integer({ min: 0, max: 1000 }), { nil: undefined }) }),
  fc.record({ kind: fc.constant('pop' as const), now: fc.integer({ min: 0, max: 1000 }) }),
  fc.record({ kind: fc.constant('peek' as const) }),
);

describe('TimerQueue', () => {
  test('matches a naive model for any sequence of operations', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const queue = new TimerQueue();
        const model = new Map<string, number>();
        for (const o of ops) {
          if (o.kind === 'set') {
            queue.set(o.key, o.at);
            if (o.at === undefined) model.delete(o.key);
            else model.set(o.key, o.at);
          } else if (o.kind === 'peek') {
            const min = model.size === 0 ? undefined : Math.min(...model.values());
            assert.equal(queue.peek(), min);
          } else {
            const due = [...model].filter(([, at]) => at <= o.now);
            const popped = queue.popDue(o.now);
            assert.deepEqual([...popped].sort(), due.map(([k]) => k).sort());
            // earliest first
            const times = popped.map((k) => model.get(k) as number);
            assert.deepEqual(times, [...times].sort((a, b) => a - b));
            for (const [k] of due) model.delete(k);
          }
          assert.equal(queue.size, model.size);
        }
      }),
      { numRuns: 300 },
    );
  });
});
