import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Decoder } from 'cbor-x';
import fc from 'fast-check';
import { decodeCbor } from '../cbor/decoder';
import { checkDeterministic, toEncodable } from '../cbor/deterministic';
import { encodeCbor } from '../cbor/encoder';
import { CborDateTag, CborFloat, type CborValue } from '../cbor/values';
import { CpnpDecodeError } from '../errors';
import { fromHex } from '../hex';

/**
 * Fuzzing of the CBOR decoder (wire-format.md section 7: a receiver never crashes): random
 * bytes, random sequences of "interesting" head bytes, and mutations of every test vector.
 * Only CpnpDecodeError may escape decodeCbor; what it accepts must agree with
 * checkDeterministic and re-encode consistently. CPNP_FUZZ_RUNS sets the total case count.
 */

const TOTAL_RUNS = fuzzRuns(process.env.CPNP_FUZZ_RUNS, 100_000);
// The project's own copy of the vectors (codec-vectors.test.ts also runs the public set).
const VECTORS = fileURLToPath(new URL('../vectors/', import.meta.url));

function fuzzRuns(setting: string | undefined, fallback: number): number {
  if (setting === undefined || setting === '') return fallback;
  const runs = Number(setting);
  assert.ok(Number.isSafeInteger(runs) && runs > 0, `CPNP_FUZZ_RUNS must be a positive integer, got ${setting}`);
  return runs;
}

interface Vector {
  name: string;
  hex: string;
}

function load(file: string): Vector[] {
  return JSON.parse(readFileSync(`${VECTORS}${file}`, 'utf8')) as Vector[];
}

function bytesOf(hex: string): Uint8Array {
  const bytes = fromHex(hex);
  assert.ok(bytes, `bad hex ${hex}`);
  return bytes;
}

const valid = load('valid.json');
const lenient = load('valid-lenient.json');
const seeds = [...valid, ...lenient, ...load('invalid.json')].map((v) => ({ name: v.name, bytes: bytesOf(v.hex) }));

const cborX = new Decoder({ mapsAsObjects: false, useRecords: false });

function plain(value: unknown): unknown {
  if (value instanceof CborFloat) return value.value;
  if (value instanceof CborDateTag) return value.text;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (Array.isArray(value)) return value.map(plain);
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [plain(k), plain(v)]));
  return value;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

const stats = { accepted: 0, rejected: 0, deterministic: 0, rules: new Map<string, number>() };

/** The fuzz oracle for one input. */
function exercise(input: Uint8Array): void {
  let value: CborValue;
  try {
    value = decodeCbor(input);
  } catch (error) {
    if (!(error instanceof CpnpDecodeError) || !error.rule.startsWith('cbor.')) throw error;
    stats.rejected++;
    stats.rules.set(error.rule, (stats.rules.get(error.rule) ?? 0) + 1);
    assert.equal(checkDeterministic(input).ok, false);
    return;
  }
  stats.accepted++;
  const check = checkDeterministic(input);
  // The deterministic encoding of the data, if the data has one (an integral float beyond 2^53 has none).
  let canonical: Uint8Array | undefined;
  try {
    canonical = encodeCbor(toEncodable(value));
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
  }
  assert.equal(check.ok, canonical !== undefined && sameBytes(canonical, input), `checkDeterministic disagrees with re-encoding for ${Buffer.from(input).toString('hex')}`);
  if (canonical !== undefined) {
    assert.deepEqual(checkDeterministic(canonical), { ok: true });
    assert.ok(sameBytes(encodeCbor(toEncodable(decodeCbor(canonical))), canonical));
  }
  if (check.ok) {
    stats.deterministic++;
    assert.deepStrictEqual(plain(cborX.decode(input)), plain(value));
  }
}

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; byte: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; count: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'duplicate'; at: number; count: number };

const at = fc.nat({ max: 4095 });
const interestingByte = fc.constantFrom(0x00, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1f, 0x20, 0x38, 0x3b, 0x40, 0x41, 0x58, 0x5b, 0x5f, 0x60, 0x61, 0x78, 0x7b, 0x7f, 0x80, 0x81, 0x98, 0x9b, 0x9f, 0xa0, 0xa1, 0xb8, 0xbb, 0xbf, 0xc0, 0xc1, 0xd8, 0xd9, 0xdb, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xff, 0x7e, 0x7c);
const anyByte = fc.integer({ min: 0, max: 255 });

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at, byte: fc.oneof(anyByte, interestingByte) }),
  fc.record({ kind: fc.constant('insert' as const), at, bytes: fc.uint8Array({ minLength: 1, maxLength: 9 }) }),
  fc.record({ kind: fc.constant('delete' as const), at, count: fc.integer({ min: 1, max: 9 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at }),
  fc.record({ kind: fc.constant('duplicate' as const), at, count: fc.integer({ min: 1, max: 16 }) }),
);

function mutate(seed: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let bytes = seed;
  for (const m of mutations) {
    const i = bytes.length === 0 ? 0 : m.at % bytes.length;
    switch (m.kind) {
      case 'flip':
      case 'set': {
        if (bytes.length === 0) break;
        const copy = bytes.slice();
        copy[i] = m.kind === 'flip' ? (copy[i] ?? 0) ^ (1 << m.bit) : m.byte;
        bytes = copy;
        break;
      }
      case 'insert':
        bytes = concat(bytes.subarray(0, i), m.bytes, bytes.subarray(i));
        break;
      case 'delete':
        bytes = concat(bytes.subarray(0, i), bytes.subarray(i + m.count));
        break;
      case 'truncate':
        bytes = bytes.slice(0, i);
        break;
      case 'duplicate':
        bytes = concat(bytes.subarray(0, i + m.count), bytes.subarray(i));
        break;
    }
  }
  return bytes;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

// Share of the total: 30% uniform random bytes, 20% sequences of head-like bytes, 50% mutations.
const randomRuns = Math.max(1, Math.round(TOTAL_RUNS * 0.3));
const headRuns = Math.max(1, Math.round(TOTAL_RUNS * 0.2));
const mutationRunsPerSeed = Math.max(1, Math.round((TOTAL_RUNS - randomRuns - headRuns) / seeds.length));

describe(`decodeCbor fuzz (${TOTAL_RUNS} cases; CPNP_FUZZ_RUNS overrides)`, () => {
  const before = valid.map((v) => decodeCbor(bytesOf(v.hex)));

  it(`random byte arrays up to 64 bytes (${randomRuns} runs)`, () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), exercise), { numRuns: randomRuns });
  });

  it(`random sequences of head bytes and arguments (${headRuns} runs)`, () => {
    const piece = fc.oneof({ weight: 3, arbitrary: interestingByte.map((b) => [b]) }, { weight: 1, arbitrary: fc.array(anyByte, { minLength: 1, maxLength: 8 }) });
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 24 }), (pieces) => exercise(Uint8Array.from(pieces.flat()))),
      { numRuns: headRuns },
    );
  });

  it(`mutations of every test vector (${mutationRunsPerSeed} runs × ${seeds.length} vectors)`, () => {
    for (const seed of seeds) {
      fc.assert(
        fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (mutations) => exercise(mutate(seed.bytes, mutations))),
        { numRuns: mutationRunsPerSeed },
      );
    }
  });

  it('every proper prefix of a valid vector is truncated, every valid vector plus a byte has trailing bytes', () => {
    for (const vector of [...valid, ...lenient]) {
      const bytes = bytesOf(vector.hex);
      for (let end = 0; end < bytes.length; end++) {
        assert.throws(
          () => decodeCbor(bytes.subarray(0, end)),
          (error: unknown) => error instanceof CpnpDecodeError && error.rule === 'cbor.truncated',
          `${vector.name} cut at ${end}`,
        );
      }
    }
    for (const vector of [...valid, ...lenient]) {
      assert.throws(
        () => decodeCbor(concat(bytesOf(vector.hex), Uint8Array.of(0))),
        (error: unknown) => error instanceof CpnpDecodeError && error.rule === 'cbor.trailing',
      );
    }
  });

  it('pathological inputs of the maximum size fail fast with a decode error', () => {
    const size = 16384;
    const cases: [string, Uint8Array, string][] = [
      ['nested arrays', new Uint8Array(size).fill(0x81), 'cbor.depth'],
      ['nested indefinite arrays', new Uint8Array(size).fill(0x9f), 'cbor.depth'],
      ['nested indefinite maps', Uint8Array.from({ length: size }, (_, i) => (i % 2 === 0 ? 0xbf : 0x01)), 'cbor.depth'],
      ['nested tags', new Uint8Array(size).fill(0xc0), 'cbor.tag'],
      ['nested indefinite byte strings', new Uint8Array(size).fill(0x5f), 'cbor.indefinite-chunk'],
      ['breaks', new Uint8Array(size).fill(0xff), 'cbor.break'],
      ['empty chunks with no break', concat(Uint8Array.of(0x5f), new Uint8Array(size - 1).fill(0x40)), 'cbor.truncated'],
      ['an array of 2^32-1 nulls', concat(Uint8Array.of(0x9a, 0xff, 0xff, 0xff, 0xff), new Uint8Array(size - 5).fill(0xf6)), 'cbor.truncated'],
      ['a map of duplicate keys', concat(Uint8Array.of(0xb9, 0x1f, 0xfe), new Uint8Array(size - 3).fill(0x00)), 'cbor.duplicate-key'],
    ];
    for (const [name, input, rule] of cases) {
      assert.equal(input.length, size, name);
      assert.throws(() => decodeCbor(input), (error: unknown) => error instanceof CpnpDecodeError && error.rule === rule, name);
    }
    // The biggest legal structures decode: 16382 empty chunks, and an array of 16381 items.
    assert.deepEqual(decodeCbor(concat(Uint8Array.of(0x5f), new Uint8Array(size - 2).fill(0x40), Uint8Array.of(0xff))), new Uint8Array(0));
    assert.equal((decodeCbor(concat(Uint8Array.of(0x99, 0x3f, 0xfd), new Uint8Array(size - 3).fill(0xf5))) as boolean[]).length, size - 3);
  });

  it('the fuzz exercised both outcomes, and every valid vector still decodes to the same value', () => {
    assert.ok(stats.accepted > 0 && stats.rejected > 0, JSON.stringify({ accepted: stats.accepted, rejected: stats.rejected }));
    if (TOTAL_RUNS >= 10_000) {
      assert.ok(stats.deterministic > 0, 'some fuzzed inputs were deterministic encodings');
      for (const rule of ['cbor.truncated', 'cbor.trailing', 'cbor.duplicate-key', 'cbor.utf8', 'cbor.key-type', 'cbor.reserved', 'cbor.break', 'cbor.simple', 'cbor.tag']) {
        assert.ok((stats.rules.get(rule) ?? 0) > 0, `fuzzing never hit ${rule}: ${JSON.stringify([...stats.rules])}`);
      }
    }
    valid.forEach((vector, i) => {
      assert.deepStrictEqual(decodeCbor(bytesOf(vector.hex)), before[i], vector.name);
    });
  });
});
