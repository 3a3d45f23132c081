import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isDateTime } from '../date-time';

/** The former regex reading of wire-format.md section 4, kept as the reference. */
function reference(text: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/.exec(text);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = month === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
  return month >= 1 && month <= 12 && day >= 1 && day <= days && hour <= 23 && minute <= 59 && second <= 60;
}

const RUNS = Number(process.env.CPNP_PROPERTY_RUNS ?? 300) * 30;

describe('isDateTime (wire-format.md section 4)', () => {
  it('agrees with the regex reading on near-date-times', () => {
    const unit = fc.constantFrom(...'0123456789-T:.Zz+ 9١'.split(''));
    // A valid date-time with a few characters replaced, inserted or removed.
    const near = fc
      .record({
        ms: fc.integer({ min: Date.UTC(1000, 0, 1), max: Date.UTC(9999, 11, 31) }),
        fraction: fc.string({ unit: fc.constantFrom(...'0123456789'), maxLength: 11 }),
        edits: fc.array(fc.record({ at: fc.nat(40), kind: fc.constantFrom('set', 'insert', 'delete'), char: unit }), { maxLength: 2 }),
      })
      .map(({ ms, fraction, edits }) => {
        let text = `${new Date(ms).toISOString().slice(0, 19)}${fraction ? `.${fraction}` : ''}Z`;
        for (const e of edits) {
          const at = e.at % (text.length + 1);
          if (e.kind === 'set') text = text.slice(0, at) + e.char + text.slice(at + 1);
          else if (e.kind === 'insert') text = text.slice(0, at) + e.char + text.slice(at);
          else text = text.slice(0, at) + text.slice(at + 1);
        }
        return text;
      });
    // Any digits in the fixed positions: out-of-range fields and leap days.
    const fields = fc
      .tuple(fc.integer({ min: 0, max: 9999 }), fc.array(fc.integer({ min: 0, max: 99 }), { minLength: 5, maxLength: 5 }))
      .map(([y, [mo = 0, d = 0, h = 0, mi = 0, s = 0]]) => {
        const two = (n: number) => String(n).padStart(2, '0');
        return `${String(y).padStart(4, '0')}-${two(mo)}-${two(d)}T${two(h)}:${two(mi)}:${two(s)}Z`;
      });
    fc.assert(
      fc.property(fc.oneof(near, fields, fc.string({ unit, maxLength: 32 })), (text) => {
        assert.equal(isDateTime(text), reference(text), JSON.stringify(text));
      }),
      { numRuns: RUNS },
    );
  });

  it('knows the edges', () => {
    assert.equal(isDateTime('2024-02-29T23:59:60Z'), true);
    assert.equal(isDateTime('2023-02-29T00:00:00Z'), false);
    assert.equal(isDateTime('2026-11-22T11:00:00.123456789Z'), true);
    assert.equal(isDateTime('2026-11-22T11:00:00.1234567890Z'), false);
    assert.equal(isDateTime('2026-11-22T11:00:00.Z'), false);
    assert.equal(isDateTime('2026-11-22T11:00:00+00:00'), false);
    assert.equal(isDateTime('2026-11-22 11:00:00Z'), false);
  });
});
