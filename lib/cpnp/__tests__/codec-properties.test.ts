import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeMessage, encodeMessage, messageFromJson } from '../codec';
import { CpnpDecodeError } from '../errors';
import { METHOD_CODES, methodName } from '../method';
import { arbMessageOf } from './arbitrary-message';
import { bytesToHex, hexToBytes, vectorSets } from './vectors';

const RUNS = Number(process.env.CPNP_PROPERTY_RUNS ?? 300);

describe('encode∘decode round trip (fast-check)', () => {
  for (const method of METHOD_CODES) {
    it(`${methodName(method)}: decode(encode(m)) == m, and the JSON form round-trips`, () => {
      fc.assert(
        fc.property(arbMessageOf(method), (message) => {
          const bytes = encodeMessage(message);
          const decoded = decodeMessage(bytes);
          assert.ok(decoded.ok, decoded.ok ? '' : decoded.error.message);
          assert.deepStrictEqual(decoded.message, messageFromJsonOk(message));
          // Deterministic: equal messages give equal bytes.
          assert.equal(bytesToHex(encodeMessage(decoded.message)), bytesToHex(bytes));
          const viaJson = messageFromJson(JSON.parse(JSON.stringify(decoded.message)));
          assert.ok(viaJson.ok);
          assert.deepStrictEqual(viaJson.message, decoded.message);
        }),
        { numRuns: RUNS },
      );
    });
  }
});

function messageFromJsonOk(value: unknown) {
  const result = messageFromJson(value);
  if (!result.ok) throw result.error;
  return result.message;
}

const FUZZ_RUNS = Number(process.env.CPNP_FUZZ_RUNS ?? 100_000);

describe('decodeMessage on hostile input (fuzz)', () => {
  const [repo] = vectorSets();
  const seeds = [...(repo?.valid ?? []), ...(repo?.lenient ?? [])].map((v) => hexToBytes(v.hex));

  const mutated = fc
    .record({
      seed: fc.constantFrom(...seeds),
      edits: fc.array(
        fc.record({
          kind: fc.constantFrom('flip', 'set', 'cut', 'insert', 'delete'),
          at: fc.nat(),
          byte: fc.integer({ min: 0, max: 255 }),
          bit: fc.integer({ min: 0, max: 7 }),
        }),
        { minLength: 1, maxLength: 4 },
      ),
    })
    .map(({ seed, edits }) => {
      let b = Array.from(seed);
      for (const e of edits) {
        const at = b.length === 0 ? 0 : e.at % b.length;
        if (e.kind === 'flip' && b.length) b[at] = (b[at] ?? 0) ^ (1 << e.bit);
        else if (e.kind === 'set' && b.length) b[at] = e.byte;
        else if (e.kind === 'cut') b = b.slice(0, at);
        else if (e.kind === 'insert') b.splice(at, 0, e.byte);
        else if (e.kind === 'delete') b.splice(at, 1);
      }
      return new Uint8Array(b);
    });

  it(`never throws and only returns typed errors (${FUZZ_RUNS} cases), then still decodes correctly`, () => {
    const check = (bytes: Uint8Array) => {
      const result = decodeMessage(bytes);
      if (!result.ok) {
        assert.ok(result.error instanceof CpnpDecodeError);
        assert.equal(result.error.statusCode, 1);
        assert.notEqual(result.error.rule, 'internal', result.error.message);
      }
    };
    fc.assert(fc.property(mutated, check), { numRuns: Math.ceil(FUZZ_RUNS * 0.7) });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 96 }), check), { numRuns: Math.ceil(FUZZ_RUNS * 0.3) });
    for (const v of repo?.valid ?? []) {
      const again = decodeMessage(hexToBytes(v.hex));
      assert.ok(again.ok);
      assert.deepStrictEqual(JSON.parse(JSON.stringify(again.message)), v.json);
    }
  });

  it('rejects input larger than MAX_MESSAGE_SIZE without parsing it', () => {
    const big = new Uint8Array(16385).fill(0xa0);
    const result = decodeMessage(big);
    assert.equal(result.ok, false);
    if (!result.ok) assert.equal(result.error.rule, 'size');
  });

  it('rejects deeply nested input with a typed error', () => {
    const deep = new Uint8Array([0xa1, 0x10, ...new Array<number>(5000).fill(0x81), 0x00]);
    const result = decodeMessage(deep);
    assert.equal(result.ok, false);
  });
});
