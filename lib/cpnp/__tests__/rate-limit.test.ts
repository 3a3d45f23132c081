import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SimulatedClock } from '../clock';
import { RateLimiter, tokenBucketConfig } from '../engine/rate-limit';

describe('RateLimiter: token bucket per peer (RFC 8921 9.2.5)', () => {
  it('allows a burst of `capacity`, then refuses', () => {
    const limiter = new RateLimiter(new SimulatedClock(0), { capacity: 3, refillPerSecond: 1 });
    assert.deepEqual([1, 2, 3, 4, 5].map(() => limiter.tryTake('a')), [true, true, true, false, false]);
  });

  it('refills at refillPerSecond, never above capacity', () => {
    const clock = new SimulatedClock(0);
    const limiter = new RateLimiter(clock, { capacity: 2, refillPerSecond: 2 });
    assert.ok(limiter.tryTake('a'));
    assert.ok(limiter.tryTake('a'));
    assert.equal(limiter.tryTake('a'), false);
    clock.advance(499);
    assert.equal(limiter.tryTake('a'), false, 'not a whole token yet');
    clock.advance(1);
    assert.ok(limiter.tryTake('a'), 'one token after 500 ms at 2/s');
    clock.advance(60_000);
    assert.equal(limiter.available('a'), 2, 'capped at capacity');
  });

  it('keeps peers apart', () => {
    const limiter = new RateLimiter(new SimulatedClock(0), { capacity: 1, refillPerSecond: 0 });
    assert.ok(limiter.tryTake('a'));
    assert.equal(limiter.tryTake('a'), false);
    assert.ok(limiter.tryTake('b'));
  });

  it('a clock stepping backwards refills nothing', () => {
    const clock = new SimulatedClock(10_000);
    const limiter = new RateLimiter(clock, { capacity: 1, refillPerSecond: 1 });
    assert.ok(limiter.tryTake('a'));
    clock.set(0);
    assert.equal(limiter.tryTake('a'), false);
    clock.set(999);
    assert.equal(limiter.tryTake('a'), false, 'elapsed time counts from the step back, not from before it');
    clock.set(1000);
    assert.ok(limiter.tryTake('a'));
  });

  it('bounds the peers it tracks (least recently used forgotten)', () => {
    const limiter = new RateLimiter(new SimulatedClock(0), { capacity: 1, refillPerSecond: 0, maxPeers: 2 });
    limiter.tryTake('a');
    limiter.tryTake('b');
    limiter.tryTake('c');
    assert.equal(limiter.peerCount(), 2);
    assert.ok(limiter.tryTake('a'), 'a was forgotten and starts again with a full bucket');
    assert.equal(limiter.tryTake('c'), false, 'c is still remembered');
  });

  it('snapshot / restore keeps the buckets', () => {
    const clock = new SimulatedClock(0);
    const limiter = new RateLimiter(clock, { capacity: 2, refillPerSecond: 1 });
    limiter.tryTake('a');
    limiter.tryTake('a');
    const restored = RateLimiter.restore(JSON.parse(JSON.stringify(limiter.snapshot())), clock, { capacity: 2, refillPerSecond: 1 });
    assert.equal(restored.tryTake('a'), false);
    clock.advance(1000);
    assert.ok(restored.tryTake('a'));
  });

  it('rejects nonsensical configurations', () => {
    assert.throws(() => tokenBucketConfig({ capacity: 0 }));
    assert.throws(() => tokenBucketConfig({ refillPerSecond: -1 }));
    assert.throws(() => tokenBucketConfig({ maxPeers: 0 }));
  });

  it('property: over any window of d ms a peer gets at most capacity + rate*d/1000 tokens', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 0, max: 5 }),
        fc.array(fc.integer({ min: 0, max: 700 }), { minLength: 1, maxLength: 120 }),
        (capacity, refillPerSecond, gaps) => {
          const clock = new SimulatedClock(0);
          const limiter = new RateLimiter(clock, { capacity, refillPerSecond });
          const grants: number[] = [];
          for (const gap of gaps) {
            clock.advance(gap);
            if (limiter.tryTake('p')) grants.push(clock.now());
          }
          for (let i = 0; i < grants.length; i++) {
            for (let j = i; j < grants.length; j++) {
              const window = (grants[j] ?? 0) - (grants[i] ?? 0);
              assert.ok(j - i + 1 <= capacity + (refillPerSecond * window) / 1000 + 1e-9, `${j - i + 1} grants in ${window} ms`);
            }
          }
        },
      ),
    );
  });

  it('property: after an idle period of capacity/rate seconds, a full burst is available again', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 30 }), (capacity, rate, used) => {
        const clock = new SimulatedClock(0);
        const limiter = new RateLimiter(clock, { capacity, refillPerSecond: rate });
        for (let i = 0; i < used; i++) limiter.tryTake('p');
        clock.advance(Math.ceil((capacity / rate) * 1000));
        for (let i = 0; i < capacity; i++) assert.ok(limiter.tryTake('p'));
        assert.equal(limiter.tryTake('p'), false);
      }),
    );
  });
});
