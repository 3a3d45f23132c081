import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SimulatedClock } from '../clock';
import { requestKey, ResponseCache, responseCacheConfig } from '../engine/response-cache';
import { Method } from '../method';

const bytes = (...values: number[]) => new Uint8Array(values);

describe('ResponseCache (RFC 8921 11.4)', () => {
  it('returns the stored answer for the same request key, and nothing for another', () => {
    const cache = new ResponseCache(new SimulatedClock(0));
    const key = requestKey('AABB', 7, Method.ACCEPT);
    cache.put('peer-a', key, bytes(1, 2, 3));
    assert.deepEqual(cache.get('peer-a', key), bytes(1, 2, 3));
    assert.equal(cache.get('peer-a', requestKey('aabb', 7, Method.DECLINE)), undefined, 'another method');
    assert.equal(cache.get('peer-a', requestKey('aabb', 8, Method.ACCEPT)), undefined, 'another seq');
    assert.equal(cache.get('peer-b', key), undefined, 'another peer');
  });

  it('keys are case-insensitive in the Transaction-ID', () => {
    assert.equal(requestKey('AABB', 1, Method.QUOTATION), requestKey('aabb', 1, Method.QUOTATION));
  });

  it('replaces the answer of a request (a later answer in the transaction)', () => {
    const cache = new ResponseCache(new SimulatedClock(0));
    const key = requestKey('aa', 1, Method.QUOTATION);
    cache.put('p', key, bytes(1));
    cache.put('p', key, bytes(2));
    assert.deepEqual(cache.get('p', key), bytes(2));
    assert.equal(cache.size('p'), 1);
  });

  it('copies bytes in and out', () => {
    const cache = new ResponseCache(new SimulatedClock(0));
    const stored = bytes(9, 9);
    cache.put('p', 'k', stored);
    stored[0] = 0;
    const out = cache.get('p', 'k');
    assert.deepEqual(out, bytes(9, 9));
    if (out) out[1] = 0;
    assert.deepEqual(cache.get('p', 'k'), bytes(9, 9));
  });

  it('expires entries ttlMs after they were stored', () => {
    const clock = new SimulatedClock(1000);
    const cache = new ResponseCache(clock, { ttlMs: 500 });
    cache.put('p', 'k', bytes(1));
    clock.set(1499);
    assert.deepEqual(cache.get('p', 'k'), bytes(1), 'still valid just before the TTL');
    clock.set(1500);
    assert.equal(cache.get('p', 'k'), undefined, 'expired at the TTL');
    assert.equal(cache.size(), 0, 'the expired entry is gone');
  });

  it('prune removes expired entries and empty peers', () => {
    const clock = new SimulatedClock(0);
    const cache = new ResponseCache(clock, { ttlMs: 100 });
    cache.put('a', 'k1', bytes(1));
    clock.set(50);
    cache.put('b', 'k2', bytes(2));
    clock.set(120);
    cache.prune();
    assert.equal(cache.peerCount(), 1);
    assert.equal(cache.size('b'), 1);
  });

  it('evicts the least recently used entry of a peer beyond maxEntriesPerPeer', () => {
    const cache = new ResponseCache(new SimulatedClock(0), { maxEntriesPerPeer: 2 });
    cache.put('p', 'k1', bytes(1));
    cache.put('p', 'k2', bytes(2));
    cache.get('p', 'k1'); // k1 becomes the most recently used
    cache.put('p', 'k3', bytes(3));
    assert.equal(cache.get('p', 'k2'), undefined);
    assert.deepEqual(cache.get('p', 'k1'), bytes(1));
    assert.deepEqual(cache.get('p', 'k3'), bytes(3));
  });

  it('one peer cannot evict the answers of another', () => {
    const cache = new ResponseCache(new SimulatedClock(0), { maxEntriesPerPeer: 3 });
    cache.put('victim', 'k', bytes(7));
    for (let i = 0; i < 1000; i++) cache.put('flooder', `k${i}`, bytes(i & 0xff));
    assert.deepEqual(cache.get('victim', 'k'), bytes(7));
    assert.equal(cache.size('flooder'), 3);
  });

  it('evicts the least recently used peer beyond maxPeers', () => {
    const cache = new ResponseCache(new SimulatedClock(0), { maxPeers: 2 });
    cache.put('a', 'k', bytes(1));
    cache.put('b', 'k', bytes(2));
    cache.get('a', 'k');
    cache.put('c', 'k', bytes(3));
    assert.equal(cache.get('b', 'k'), undefined);
    assert.equal(cache.peerCount(), 2);
  });

  it('snapshot / restore round-trips through JSON, TTL included', () => {
    const clock = new SimulatedClock(0);
    const cache = new ResponseCache(clock, { ttlMs: 1000 });
    cache.put('a', 'k1', bytes(1, 2));
    clock.set(400);
    cache.put('b', 'k2', bytes(3));
    const restored = ResponseCache.restore(JSON.parse(JSON.stringify(cache.snapshot())), clock, { ttlMs: 1000 });
    assert.deepEqual(restored.get('a', 'k1'), bytes(1, 2));
    clock.set(1000);
    assert.equal(restored.get('a', 'k1'), undefined, 'expires at its original deadline');
    assert.deepEqual(restored.get('b', 'k2'), bytes(3));
  });

  it('rejects nonsensical configurations', () => {
    assert.throws(() => responseCacheConfig({ maxEntriesPerPeer: 0 }));
    assert.throws(() => responseCacheConfig({ maxPeers: 1.5 }));
    assert.throws(() => responseCacheConfig({ ttlMs: 0 }));
  });

  it('property: bounds hold and get only ever returns the last value put, before it expires (model check)', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('put' as const), peer: fc.integer({ min: 0, max: 5 }), key: fc.integer({ min: 0, max: 8 }), value: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('get' as const), peer: fc.integer({ min: 0, max: 5 }), key: fc.integer({ min: 0, max: 8 }) }),
      fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 400 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), (ops, maxEntriesPerPeer, maxPeers) => {
        const clock = new SimulatedClock(0);
        const ttlMs = 1000;
        const cache = new ResponseCache(clock, { maxEntriesPerPeer, maxPeers, ttlMs });
        const lastPut = new Map<string, { value: number; at: number }>();
        for (const o of ops) {
          if (o.kind === 'wait') {
            clock.advance(o.ms);
            continue;
          }
          const id = `${o.peer}|${o.key}`;
          if (o.kind === 'put') {
            cache.put(`p${o.peer}`, `k${o.key}`, bytes(o.value));
            lastPut.set(id, { value: o.value, at: clock.now() });
          } else {
            const got = cache.get(`p${o.peer}`, `k${o.key}`);
            const model = lastPut.get(id);
            // Soundness: whatever is returned is the latest value put, and not expired.
            if (got !== undefined) {
              assert.ok(model !== undefined);
              assert.deepEqual(got, bytes(model.value));
              assert.ok(clock.now() - model.at < ttlMs);
            }
          }
          assert.ok(cache.peerCount() <= maxPeers);
          for (let p = 0; p <= 5; p++) assert.ok(cache.size(`p${p}`) <= maxEntriesPerPeer);
        }
      }),
    );
  });

  it('property: a freshly put entry is always retrievable immediately', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string({ maxLength: 3 }), fc.string({ maxLength: 3 })), { minLength: 1, maxLength: 50 }), (pairs) => {
        const cache = new ResponseCache(new SimulatedClock(0), { maxEntriesPerPeer: 2, maxPeers: 2 });
        pairs.forEach(([peer, key], i) => {
          cache.put(peer, key, bytes(i & 0xff));
          assert.deepEqual(cache.get(peer, key), bytes(i & 0xff));
        });
      }),
    );
  });
});
