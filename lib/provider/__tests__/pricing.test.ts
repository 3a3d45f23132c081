import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { coveringLevel, priceOffer } from '../pricing';
import { examplePolicy } from './fixtures';

describe('pricing', () => {
  const { pricing } = examplePolicy();

  it('prices each CPP: (per CPP + per Mbit/s * billable) * (1 + premiums)', () => {
    const price = priceOffer(pricing, [
      // Billable: max(100, 40) + max(10, 30) = 130 Mbit/s; 50 + 2.5 * 130 = 375; +25 % +40 %.
      { cpp: 0, attachments: [{ inMbps: 100, outMbps: 40 }, { inMbps: 10, outMbps: 30 }], availabilityPercent: 99.99, qosClass: 'premium' },
      // No capacity, availability between levels (covered by 99.95: +10 %), no QoS: 50 * 1.1.
      { cpp: 1, attachments: [], availabilityPercent: 99.92 },
    ]);
    assert.deepEqual(price, {
      currency: 'EUR',
      monthly: 673.75,
      lines: [
        { cpp: 0, billableMbps: 130, base: 375, availabilityLevel: 99.99, availabilityPremiumPct: 25, qosClass: 'premium', qosPremiumPct: 40, monthly: 618.75 },
        { cpp: 1, billableMbps: 0, base: 50, availabilityLevel: 99.95, availabilityPremiumPct: 10, qosPremiumPct: 0, monthly: 55 },
      ],
    });
  });

  it('an availability above every level has no covering level and no premium; an empty offer costs nothing', () => {
    const price = priceOffer(pricing, [{ cpp: 0, attachments: [{ inMbps: 1, outMbps: 1 }], availabilityPercent: 99.999 }]);
    assert.equal(price.lines[0]?.availabilityLevel, undefined);
    assert.equal(price.lines[0]?.monthly, 52.5);
    assert.deepEqual(priceOffer(pricing, []), { currency: 'EUR', monthly: 0, lines: [] });
  });

  it('finds the covering level', () => {
    assert.equal(coveringLevel([99.99, 99.9], 99.9), 99.9);
    assert.equal(coveringLevel([99.99, 99.9], 99.91), 99.99);
    assert.equal(coveringLevel([99.99, 99.9], 50), 99.9);
    assert.equal(coveringLevel([99.99, 99.9], 100), undefined);
  });
});
