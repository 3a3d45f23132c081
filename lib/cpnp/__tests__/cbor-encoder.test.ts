import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Decoder } from 'cbor-x';
import fc from 'fast-check';
import { decodeCbor } from '../cbor/decoder';
import { checkDeterministic, toEncodable } from '../cbor/deterministic';
import { compareEncodedKeys, encodeCbor, type Encodable, type EncodableKey } from '../cbor/encoder';
import { CborDateTag, CborFloat, type CborMapKey, type CborValue } from '../cbor/values';
import { toHex } from '../hex';

function hexOf(value: Encodable): string {
  return toHex(encodeCbor(value));
}

// ---------------------------------------------------------------------------------------------
// An independent reference of the deterministic form (wire-format.md section 2), written from
// RFC 8949 without cbor-x, so that encodeCbor is checked byte for byte against the spec.

/** A head whose argument follows in `width` bytes, big-endian (RFC 8949 3.1: 24..27 = 1, 2, 4, 8 bytes). */
function headOfWidth(major: number, argument: number, width: number): number[] {
  const out = [(major << 5) | (width === 1 ? 24 : width === 2 ? 25 : width === 4 ? 26 : 27)];
  let big = BigInt(argument);
  const tail: number[] = [];
  for (let i = 0; i < width; i++) {
    tail.unshift(Number(big & 0xffn));
    big >>= 8n;
  }
  return out.concat(tail);
}

function refHead(major: number, argument: number): number[] {
  if (argument < 24) return [(major << 5) | argument];
  return headOfWidth(major, argument, argument < 0x100 ? 1 : argument < 0x10000 ? 2 : argument < 0x1_0000_0000 ? 4 : 8);
}

function refEncode(value: Encodable): number[] {
  if (value === null) return [0xf6];
  if (value === false) return [0xf4];
  if (value === true) return [0xf5];
  if (typeof value === 'number') {
    if (Number.isInteger(value)) return value >= 0 ? refHead(0, value) : refHead(1, -1 - value);
    const view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, value);
    return [0xfb, ...new Uint8Array(view.buffer)];
  }
  if (typeof value === 'string') {
    const utf8 = new TextEncoder().encode(value);
    return [...refHead(3, utf8.length), ...utf8];
  }
  if (value instanceof Uint8Array) return [...refHead(2, value.length), ...value];
  if (Array.isArray(value)) return [...refHead(4, value.length), ...value.flatMap((item: Encodable) => refEncode(item))];
  const entries: [EncodableKey, Encodable][] =
    value instanceof Map ? [...(value as ReadonlyMap<EncodableKey, Encodable>)] : Object.entries(value).filter((e): e is [string, Encodable] => e[1] !== undefined);
  const encoded = entries.map(([k, v]) => ({ key: Uint8Array.from(refEncode(k)), value: refEncode(v) }));
  encoded.sort((a, b) => {
    if (a.key.length !== b.key.length) return a.key.length - b.key.length;
    return Buffer.compare(a.key, b.key);
  });
  return [...refHead(5, encoded.length), ...encoded.flatMap((e) => [...e.key, ...e.value])];
}

// ---------------------------------------------------------------------------------------------
// Generated Encodable trees.

const safeInteger = fc.oneof(
  fc.integer({ min: -30, max: 300 }),
  fc.integer({ min: -70000, max: 70000 }),
  fc.constantFrom(23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, -(2 ** 32), -(2 ** 32) - 1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, -0),
  fc.maxSafeInteger(),
);
// Integral doubles must be safe integers (encodeCbor refuses others); -0 and integral ones are fine.
const finiteNumber = fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d) || Number.isSafeInteger(d));
const text = fc.oneof(fc.string(), fc.string({ unit: 'binary', maxLength: 80 }), fc.constantFrom('', '__proto__', 'constructor', '\ufeff', 'x'.repeat(70)));
const key = fc.oneof(safeInteger, text);

const { tree } = fc.letrec<{ tree: Encodable; leaf: Encodable; node: Encodable }>((tie) => ({
  tree: fc.oneof({ depthSize: 'small', maxDepth: 6 }, tie('leaf'), tie('node')),
  leaf: fc.oneof(safeInteger, finiteNumber, text, fc.boolean(), fc.constant(null), fc.uint8Array({ maxLength: 40 })),
  node: fc.oneof(
    fc.array(tie('tree'), { maxLength: 6 }),
    fc.dictionary(text, fc.option(tie('tree'), { nil: undefined }), { maxKeys: 6 }),
    fc.uniqueArray(fc.tuple(key, tie('tree')), { maxLength: 6, selector: ([k]) => (Object.is(k, -0) ? 0 : k) }).map((entries) => new Map<EncodableKey, Encodable>(entries)),
  ),
}));

/** What decodeCbor gives back for `value`: maps become Map, non-integral numbers CborFloat. */
function expectedDecoding(value: Encodable): CborValue {
  if (typeof value === 'number') return Number.isInteger(value) ? value + 0 : new CborFloat(value);
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (Array.isArray(value)) return value.map((item: Encodable) => expectedDecoding(item));
  const entries: [EncodableKey, Encodable | undefined][] = value instanceof Map ? [...(value as ReadonlyMap<EncodableKey, Encodable>)] : Object.entries(value);
  const map = new Map<CborMapKey, CborValue>();
  for (const [k, v] of entries) if (v !== undefined) map.set(typeof k === 'number' ? k + 0 : k, expectedDecoding(v));
  return map;
}

/** Every map of a decoded tree, for key-order checks. */
function* mapsOf(value: CborValue): Generator<Map<CborMapKey, CborValue>> {
  if (Array.isArray(value)) for (const item of value) yield* mapsOf(item);
  if (value instanceof Map) {
    yield value;
    for (const item of value.values()) yield* mapsOf(item);
  }
}

/** cbor-x's view of the same data, in our model's plain shapes. */
function fromCborX(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (Array.isArray(value)) return value.map(fromCborX);
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [fromCborX(k), fromCborX(v)]));
  return value;
}

function unwrapFloats(value: CborValue): unknown {
  if (value instanceof CborFloat) return value.value;
  if (value instanceof CborDateTag) return value.text;
  if (Array.isArray(value)) return value.map(unwrapFloats);
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [k, unwrapFloats(v)]));
  return value;
}

const cborX = new Decoder({ mapsAsObjects: false, useRecords: false });

describe('encodeCbor: integers', () => {
  const cases: [number, string][] = [
    [0, '00'],
    [-0, '00'],
    [1, '01'],
    [23, '17'],
    [24, '1818'],
    [255, '18ff'],
    [256, '190100'],
    [65535, '19ffff'],
    [65536, '1a00010000'],
    [2 ** 31, '1a80000000'],
    [2 ** 32 - 1, '1affffffff'],
    [2 ** 32, '1b0000000100000000'],
    [Number.MAX_SAFE_INTEGER, '1b001fffffffffffff'],
    [-1, '20'],
    [-24, '37'],
    [-25, '3818'],
    [-256, '38ff'],
    [-257, '390100'],
    [-65536, '39ffff'],
    [-65537, '3a00010000'],
    [-(2 ** 31) - 1, '3a80000000'],
    [-(2 ** 32), '3affffffff'],
    [-(2 ** 32) - 1, '3b0000000100000000'],
    [Number.MIN_SAFE_INTEGER, '3b001ffffffffffffe'],
    [1.0, '01'],
    [1e15, '1b00038d7ea4c68000'],
  ];
  for (const [value, hex] of cases) {
    it(`${Object.is(value, -0) ? '-0' : value} → ${hex}`, () => assert.equal(hexOf(value), hex));
  }

  it('refuses integral numbers outside the safe range and non-finite numbers (RangeError)', () => {
    for (const value of [2 ** 53, -(2 ** 53), 1e300, -1e300, Number.MAX_VALUE, Number.NaN, Infinity, -Infinity]) {
      assert.throws(() => encodeCbor(value), RangeError, String(value));
      assert.throws(() => encodeCbor([value]), RangeError);
      assert.throws(() => encodeCbor({ a: value }), RangeError);
    }
  });
});

describe('encodeCbor: floats', () => {
  const cases: [number, string][] = [
    [1.5, 'fb3ff8000000000000'],
    [-1.5, 'fbbff8000000000000'],
    [0.1, 'fb3fb999999999999a'],
    [1.1, 'fb3ff199999999999a'],
    [0.5, 'fb3fe0000000000000'], // exact in float16, still float64
    [100000.5, 'fb40f86a0800000000'],
    [5e-324, 'fb0000000000000001'],
    [2 ** 52 - 0.5, 'fb432fffffffffffff'], // largest double below 2^52 with a fraction,
  ];
  for (const [value, hex] of cases) {
    it(`${value} → ${hex}`, () => assert.equal(hexOf(value), hex));
  }
});

describe('encodeCbor: strings', () => {
  it('writes text as UTF-8 with a shortest-form length', () => {
    assert.equal(hexOf(''), '60');
    assert.equal(hexOf('a'), '6161');
    assert.equal(hexOf('IETF'), '6449455446');
    assert.equal(hexOf('ü'), '62c3bc');
    assert.equal(hexOf('水'), '63e6b0b4');
    assert.equal(hexOf('\u{10151}'), '64f0908591');
    assert.equal(hexOf('x'.repeat(23)), `77${'78'.repeat(23)}`);
    assert.equal(hexOf('x'.repeat(24)), `7818${'78'.repeat(24)}`);
    assert.equal(hexOf('x'.repeat(256)), `790100${'78'.repeat(256)}`);
    // 100 characters take cbor-x's other (utf8Write) path: 200 bytes, one-byte length.
    assert.equal(hexOf('é'.repeat(100)), `78c8${'c3a9'.repeat(100)}`);
    assert.equal(hexOf('é'.repeat(20)), `7828${'c3a9'.repeat(20)}`);
  });

  it('refuses text with lone surrogates (RangeError)', () => {
    for (const bad of ['\ud800', 'a\udc00', `${'x'.repeat(80)}\ud83d`]) {
      assert.throws(() => encodeCbor(bad), RangeError);
      assert.throws(() => encodeCbor(new Map([[bad, 1]])), RangeError);
    }
    assert.equal(hexOf('\ud83d\ude00'), '64f09f9880');
  });

  it('writes byte strings as plain bstr, never tag 64', () => {
    assert.equal(hexOf(new Uint8Array(0)), '40');
    assert.equal(hexOf(Uint8Array.of(1, 2, 3, 4)), '4401020304');
    assert.equal(hexOf(new Uint8Array(24)), `5818${'00'.repeat(24)}`);
    assert.equal(hexOf(new Uint8Array(300).fill(7)), `59012c${'07'.repeat(300)}`);
    assert.equal(hexOf(Buffer.from([9, 8])), '420908');
    assert.equal(hexOf(Uint8Array.of(0, 1, 2, 3, 4).subarray(1, 3)), '420102');
  });
});

describe('encodeCbor: arrays, maps and objects', () => {
  it('writes definite lengths in shortest form', () => {
    assert.equal(hexOf([]), '80');
    assert.equal(hexOf([1, [2, 3], [4, 5]]), '8301820203820405');
    assert.equal(hexOf(Array.from({ length: 25 }, (_, i) => i + 1)), '98190102030405060708090a0b0c0d0e0f101112131415161718181819');
    assert.equal(hexOf({}), 'a0');
    assert.equal(hexOf(new Map()), 'a0');
    const big = Object.fromEntries(Array.from({ length: 24 }, (_, i) => [`k${String(i).padStart(2, '0')}`, i]));
    assert.match(hexOf(big), /^b818/);
    assert.match(hexOf(new Map(Array.from({ length: 256 }, (_, i) => [i, null]))), /^b90100/);
  });

  it('sorts keys as RFC 8949 4.2.1 does (shorter encoded key first, then bytewise)', () => {
    // The example of RFC 8949 4.2.1, restricted to integer and text keys.
    const map = new Map<EncodableKey, Encodable>([['aa', 5], ['z', 4], [-1, 3], [100, 2], [10, 1]]);
    assert.equal(hexOf(map), 'a50a012003186402617a0462616105');
    assert.equal(hexOf({ b: 1, a: 2, aa: 3, A: 4 }), 'a461410461610261620162616103');
    assert.equal(hexOf(new Map<EncodableKey, Encodable>([['1', 0], [1, 0], [-24, 0], [23, 0], [24, 0]])), 'a5010017003700181800613100');
  });

  it('sorts text keys by their UTF-8 bytes, not by UTF-16 code units', () => {
    // Both keys take 4 bytes: U+FFFF "a" is EF BF BF 61, U+10000 is F0 90 80 80 (UTF-16: FFFF > D800).
    assert.equal(hexOf(new Map([['\u{10000}', 1], ['\uffffa', 2]])), 'a264efbfbf610264f090808001');
    assert.equal(hexOf({ '\u{10000}': 1, '\ue000a': 2, 'ÿÿ': 3 }), 'a364c3bfc3bf0364ee808061' + '0264f090808001');
    // Same UTF-8 length, integers before text, positive before negative.
    assert.equal(hexOf(new Map<EncodableKey, Encodable>([['a', 0], [-25, 0], [24, 0]])), 'a31818003818006161' + '00');
  });

  it('sorts the keys of nested maps and objects too', () => {
    assert.equal(hexOf([{ b: { d: 1, c: 2 }, a: new Map([[2, 0], [1, 0]]) }]), '81a26161a2010002006162a2616302616401');
  });

  it('gives equal data equal bytes whatever the insertion order', () => {
    const a = { version: 1, nested: { x: [1, 2], y: 'z' }, list: [new Map<EncodableKey, Encodable>([[3, 'c'], ['a', 1]])] };
    const b = { list: [new Map<EncodableKey, Encodable>([['a', 1], [3, 'c']])], nested: { y: 'z', x: [1, 2] }, version: 1 };
    assert.equal(hexOf(a), hexOf(b));
  });

  it('omits object properties whose value is undefined', () => {
    assert.equal(hexOf({ a: 1, b: undefined }), 'a1616101');
    assert.equal(hexOf({ b: undefined }), 'a0');
  });

  it('writes plain objects with a null prototype and a "__proto__" own key as text-keyed maps', () => {
    const bare = Object.create(null) as Record<string, Encodable>;
    bare.k = 1;
    assert.equal(hexOf(bare), 'a1616b01');
    assert.equal(hexOf(JSON.parse('{"__proto__": 1}') as Encodable), 'a1695f5f70726f746f5f5f01');
  });

  it('refuses map keys that are not safe integers or text', () => {
    assert.throws(() => encodeCbor(new Map([[1.5, 0]])), RangeError);
    assert.throws(() => encodeCbor(new Map([[2 ** 53, 0]])), RangeError);
    assert.throws(() => encodeCbor(new Map([[Number.NaN, 0]])), RangeError);
    assert.throws(() => encodeCbor(new Map([[true, 0]]) as unknown as Encodable), TypeError);
    assert.throws(() => encodeCbor(new Map([[[1], 0]]) as unknown as Encodable), TypeError);
  });

  it('refuses values outside the Encodable model (TypeError)', () => {
    const bad: unknown[] = [undefined, [undefined], [1, , 2], new Map([[1, undefined]]), () => 1, Symbol('s'), 1n, new Date(0), new Set([1]), new CborFloat(1.5), new CborDateTag('x'), new Uint16Array(2), new ArrayBuffer(2), /re/];
    for (const value of bad) assert.throws(() => encodeCbor(value as Encodable), TypeError, String(value));
  });

  it('refuses cyclic structures (TypeError) but accepts shared, acyclic ones', () => {
    const cycle: Encodable[] = [];
    cycle.push(cycle);
    assert.throws(() => encodeCbor(cycle), TypeError);
    const shared = { a: 1 };
    assert.equal(hexOf([shared, shared]), '82a1616101a1616101');
  });
});

describe('encodeCbor: output buffer', () => {
  it('returns a fresh, exactly sized Uint8Array the caller owns', () => {
    const first = encodeCbor({ a: 'first' });
    const second = encodeCbor({ a: 'other' });
    assert.equal(first.constructor, Uint8Array);
    assert.equal(first.byteOffset, 0);
    assert.equal(first.buffer.byteLength, first.length);
    assert.notEqual(first.buffer, second.buffer);
    second[0] = 0;
    assert.equal(toHex(first), 'a16161656669727374');
    for (let i = 0; i < 2000; i++) encodeCbor(new Uint8Array(100)); // cbor-x reuses and reallocates its buffer
    assert.equal(toHex(first), 'a16161656669727374');
  });

  it('encodes values larger than the internal 8 KiB buffer', () => {
    const value = { data: new Uint8Array(20000).fill(1), text: 'é'.repeat(5000) };
    assert.deepEqual(decodeCbor(encodeCbor(value), { maxSize: 40000 }), expectedDecoding(value));
  });
});

describe('encodeCbor / decodeCbor / checkDeterministic properties', () => {
  it('decodeCbor(encodeCbor(v)) is v, modulo CborFloat and Map', () => {
    fc.assert(
      fc.property(tree, (value) => {
        assert.deepStrictEqual(decodeCbor(encodeCbor(value)), expectedDecoding(value));
      }),
      { numRuns: 400 },
    );
  });

  it('the output is the deterministic form: it equals an independent reference encoder and passes checkDeterministic', () => {
    fc.assert(
      fc.property(tree, (value) => {
        const encoded = encodeCbor(value);
        assert.equal(toHex(encoded), toHex(Uint8Array.from(refEncode(value))));
        assert.deepEqual(checkDeterministic(encoded), { ok: true });
        assert.deepEqual(encodeCbor(toEncodable(decodeCbor(encoded))), encoded);
      }),
      { numRuns: 400 },
    );
  });

  it('every map of the output has its keys in RFC 8949 4.2.1 order', () => {
    fc.assert(
      fc.property(tree, (value) => {
        for (const map of mapsOf(decodeCbor(encodeCbor(value)))) {
          const keys = [...map.keys()].map((k) => encodeCbor(k));
          for (let i = 1; i < keys.length; i++) {
            const previous = keys[i - 1];
            const current = keys[i];
            assert.ok(previous && current && compareEncodedKeys(previous, current) < 0);
            assert.ok(previous.length < current.length || (previous.length === current.length && Buffer.compare(previous, current) < 0));
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('cbor-x decodes the output to the same structure as decodeCbor', () => {
    fc.assert(
      fc.property(tree, (value) => {
        const encoded = encodeCbor(value);
        assert.deepStrictEqual(fromCborX(cborX.decode(encoded)), unwrapFloats(decodeCbor(encoded)));
      }),
      { numRuns: 300 },
    );
  });

  it('any valid encoding of the same data decodes to it, and only the deterministic one passes checkDeterministic', () => {
    fc.assert(
      fc.property(tree, fc.integer(), (value, seed) => {
        const deterministic = encodeCbor(value);
        const lenient = Uint8Array.from(lenientEncode(value, mulberry32(seed)));
        assert.deepStrictEqual(decodeCbor(lenient), expectedDecoding(value));
        assert.deepEqual(encodeCbor(toEncodable(decodeCbor(lenient))), deterministic);
        assert.equal(checkDeterministic(lenient).ok, Buffer.compare(lenient, deterministic) === 0);
      }),
      { numRuns: 400 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// A lenient encoder: valid but not deterministic CBOR of the same data (non-shortest heads,
// indefinite lengths with random chunks, float16/32 where exact, integral floats, any key order).

type Random = () => number;

function mulberry32(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function lenientHead(major: number, argument: number, random: Random): number[] {
  const shortest = refHead(major, argument);
  if (random() < 0.7) return shortest;
  const widths = [1, 2, 4, 8].filter((w) => argument < 2 ** (8 * w));
  return headOfWidth(major, argument, widths[Math.floor(random() * widths.length)] ?? 8);
}

function lenientString(major: number, data: Uint8Array, random: Random, isText: boolean): number[] {
  if (random() < 0.8) return [...lenientHead(major, data.length, random), ...data];
  const out = [(major << 5) | 31];
  let at = 0;
  while (at < data.length) {
    let end = Math.min(data.length, at + 1 + Math.floor(random() * 5));
    if (isText) while (end < data.length && ((data[end] ?? 0) & 0xc0) === 0x80) end++; // chunks hold whole characters
    if (random() < 0.2) out.push(...lenientHead(major, 0, random));
    out.push(...lenientHead(major, end - at, random), ...data.subarray(at, end));
    at = end;
  }
  out.push(0xff);
  return out;
}

function lenientNumber(value: number, random: Random): number[] {
  const asFloat = (): number[] => {
    const f16 = halfBits(value);
    const choice = random();
    if (f16 !== undefined && choice < 0.33) return [0xf9, f16 >> 8, f16 & 0xff];
    if (Math.fround(value) === value && choice < 0.66) {
      const view = new DataView(new ArrayBuffer(4));
      view.setFloat32(0, value);
      return [0xfa, ...new Uint8Array(view.buffer)];
    }
    const view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, value);
    return [0xfb, ...new Uint8Array(view.buffer)];
  };
  if (!Number.isInteger(value)) return asFloat();
  // An integral float is valid CBOR but different data (a CborFloat), so only the integer form here.
  return value >= 0 ? lenientHead(0, value, random) : lenientHead(1, -1 - value, random);
}

/** The binary16 bits of `value` if it is exactly representable as a half float. */
function halfBits(value: number): number | undefined {
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  const magnitude = Math.abs(value);
  for (let exponent = 0; exponent < 31; exponent++) {
    const step = exponent === 0 ? 2 ** -24 : 2 ** (exponent - 25);
    const mantissa = magnitude / step - (exponent === 0 ? 0 : 1024);
    if (Number.isInteger(mantissa) && mantissa >= 0 && mantissa < 1024) return sign | (exponent << 10) | mantissa;
  }
  return undefined;
}

function lenientEncode(value: Encodable, random: Random): number[] {
  if (value === null) return [0xf6];
  if (typeof value === 'boolean') return [value ? 0xf5 : 0xf4];
  if (typeof value === 'number') return lenientNumber(value, random);
  if (typeof value === 'string') return lenientString(3, new TextEncoder().encode(value), random, true);
  if (value instanceof Uint8Array) return lenientString(2, value, random, false);
  const indefinite = random() < 0.25;
  if (Array.isArray(value)) {
    const items = value.flatMap((item: Encodable) => lenientEncode(item, random));
    return indefinite ? [0x9f, ...items, 0xff] : [...lenientHead(4, value.length, random), ...items];
  }
  const entries: [EncodableKey, Encodable][] =
    value instanceof Map ? [...(value as ReadonlyMap<EncodableKey, Encodable>)] : Object.entries(value).filter((e): e is [string, Encodable] => e[1] !== undefined);
  for (let i = entries.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const picked = entries[j];
    const last = entries[i];
    if (picked && last) [entries[i], entries[j]] = [picked, last];
  }
  const body = entries.flatMap(([k, v]) => [...lenientEncode(k, random), ...lenientEncode(v, random)]);
  return indefinite ? [0xbf, ...body, 0xff] : [...lenientHead(5, entries.length, random), ...body];
}
