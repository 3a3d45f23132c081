import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { pickOffer, type GroupOffer } from '../group';

const offer = fc.record({
  id: fc.string({ minLength: 1, maxLength: 6 }),
  negotiationId: fc.string({ minLength: 1, maxLength: 6 }),
  receivedAt: fc.integer({ min: 0, max: 1000 }),
  price: fc.option(fc.integer({ min: 1, max: 1000 }), { nil: undefined }),
  meetsBounds: fc.boolean(),
}) as fc.Arbitrary<GroupOffer>;

test('the selection rule only ever picks an offer that meets every bound (8.10)', () => {
  fc.assert(
    fc.property(fc.array(offer, { maxLength: 8 }), fc.boolean(), fc.constantFrom('first' as const, 'cheapest' as const), (offers, all, rule) => {
      const pick = pickOffer(rule, offers, all);
      if (pick) assert.ok(pick.meetsBounds);
      if (!offers.some((o) => o.meetsBounds)) assert.equal(pick, undefined);
    }),
  );
});

test('"first" picks the earliest acceptable offer at once; "cheapest" waits for every answer, then the lowest price', () => {
  fc.assert(
    fc.property(fc.array(offer, { minLength: 1, maxLength: 8 }), (offers) => {
      const acceptable = offers.filter((o) => o.meetsBounds);
      const first = pickOffer('first', offers, false);
      if (acceptable.length > 0) assert.equal(first?.receivedAt, Math.min(...acceptable.map((o) => o.receivedAt)));
      assert.equal(pickOffer('cheapest', offers, false), undefined);
      const cheapest = pickOffer('cheapest', offers, true);
      const priced = acceptable.filter((o) => o.price !== undefined);
      if (priced.length > 0) assert.equal(cheapest?.price, Math.min(...priced.map((o) => o.price ?? Infinity)));
    }),
  );
});
