import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decodeCbor, type CborDecodeOptions } from '../cbor/decoder';
import { checkDeterministic, toEncodable } from '../cbor/deterministic';
import { encodeCbor } from '../cbor/encoder';
import { CborDateTag, CborFloat, type CborValue } from '../cbor/values';
import { CpnpDecodeError } from '../errors';
import { toHex } from '../hex';
import { MAX_MESSAGE_SIZE } from '../message';
import { StatusCode } from '../status-code';

// The project's own copy of the vectors (codec-vectors.test.ts also runs the public set).
const VECTORS = fileURLToPath(new URL('../vectors/', import.meta.url));

interface Vector {
  name: string;
  hex: string;
}

function loadVectors(file: string): Vector[] {
  return JSON.parse(readFileSync(`${VECTORS}${file}`, 'utf8')) as Vector[];
}

function bytes(hex: string): Uint8Array {
  const clean = hex.replace(/\s+/g, '');
  assert.match(clean, /^(?:[0-9a-f]{2})*$/, `bad hex in test: ${hex}`);
  return Uint8Array.from(clean.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}

function decodeHex(hex: string, options?: CborDecodeOptions): CborValue {
  return decodeCbor(bytes(hex), options);
}

/** Asserts that decoding fails with a CpnpDecodeError of `rule`, and returns the error. */
function rejects(hex: string | Uint8Array, rule: string, options?: CborDecodeOptions): CpnpDecodeError {
  const input = typeof hex === 'string' ? bytes(hex) : hex;
  let caught: unknown;
  try {
    decodeCbor(input, options);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof CpnpDecodeError, `expected CpnpDecodeError ${rule} for ${typeof hex === 'string' ? hex : `${hex.length} bytes`}, got ${String(caught)}`);
  assert.equal(caught.rule, rule, `rule for ${typeof hex === 'string' ? hex : 'input'}: ${caught.message}`);
  assert.equal(caught.statusCode, StatusCode.MESSAGE_VALIDATION_ERROR);
  return caught;
}

function notDeterministic(hex: string, reason: RegExp): void {
  const result = checkDeterministic(bytes(hex));
  assert.equal(result.ok, false, `${hex} must not be deterministic`);
  if (!result.ok) assert.match(result.reason, reason);
}

describe('decodeCbor: test vectors', () => {
  for (const vector of loadVectors('valid.json')) {
    it(`valid ${vector.name}: decodes, is deterministic, re-encodes byte for byte`, () => {
      const decoded = decodeHex(vector.hex);
      assert.ok(decoded instanceof Map);
      assert.deepEqual(checkDeterministic(bytes(vector.hex)), { ok: true });
      assert.equal(toHex(encodeCbor(toEncodable(decoded))), vector.hex);
    });
  }

  for (const vector of loadVectors('valid-lenient.json')) {
    it(`valid-lenient ${vector.name}: decodes to the data of the deterministic form, is not deterministic`, () => {
      const decoded = decodeHex(vector.hex);
      const check = checkDeterministic(bytes(vector.hex));
      assert.equal(check.ok, false);
      const reencoded = encodeCbor(toEncodable(decoded));
      assert.notEqual(toHex(reencoded), vector.hex);
      assert.deepEqual(checkDeterministic(reencoded), { ok: true });
      assert.deepEqual(toEncodable(decodeCbor(reencoded)), toEncodable(decoded));
    });
  }

  it('valid-lenient date-time-with-tag-0 decodes the tag to CborDateTag', () => {
    const vector = loadVectors('valid-lenient.json').find((v) => v.name === 'date-time-with-tag-0');
    assert.ok(vector);
    const decoded = decodeHex(vector.hex);
    assert.ok(decoded instanceof Map);
    assert.deepEqual(decoded.get(9), new CborDateTag('2026-11-22T10:05:00.250Z'));
  });

  const cborLevel: Record<string, string> = { 'trailing-bytes': 'cbor.trailing', truncated: 'cbor.truncated' };
  for (const vector of loadVectors('invalid.json')) {
    const rule = cborLevel[vector.name];
    if (rule) {
      it(`invalid ${vector.name}: ${rule}`, () => {
        rejects(vector.hex, rule);
      });
    } else {
      it(`invalid ${vector.name}: well-formed CBOR (its error belongs to the schema layer)`, () => {
        assert.doesNotThrow(() => decodeHex(vector.hex));
      });
    }
  }

  it('the trailing-bytes error names the rule in its message', () => {
    const vector = loadVectors('invalid.json').find((v) => v.name === 'trailing-bytes');
    assert.ok(vector);
    assert.match(rejects(vector.hex, 'cbor.trailing').message, /bytes after the top-level item/);
  });
});

describe('decodeCbor: integers', () => {
  it('accepts every encoding width, shortest or not', () => {
    for (const hex of ['01', '1801', '190001', '1a00000001', '1b0000000000000001']) assert.equal(decodeHex(hex), 1);
    for (const hex of ['20', '3800', '390000', '3a00000000', '3b0000000000000000']) assert.equal(decodeHex(hex), -1);
    assert.equal(decodeHex('17'), 23);
    assert.equal(decodeHex('1818'), 24);
    assert.equal(decodeHex('19ffff'), 65535);
    assert.equal(decodeHex('1affffffff'), 4294967295);
    assert.equal(decodeHex('1b0000000100000000'), 4294967296);
    assert.equal(decodeHex('3affffffff'), -4294967296);
    assert.equal(decodeHex('3b0000000100000000'), -4294967297);
  });

  it('accepts the safe-integer extremes', () => {
    assert.equal(decodeHex('1b001fffffffffffff'), Number.MAX_SAFE_INTEGER);
    assert.equal(decodeHex('3b001ffffffffffffe'), Number.MIN_SAFE_INTEGER);
  });

  it('rejects integers outside the safe range (cbor.integer-range)', () => {
    rejects('1b0020000000000000', 'cbor.integer-range'); // 2^53
    rejects('1bffffffffffffffff', 'cbor.integer-range'); // 2^64-1
    rejects('3b0020000000000000', 'cbor.integer-range'); // -2^53-1
    rejects('3b001fffffffffffff', 'cbor.integer-range'); // -2^53
    rejects('3bffffffffffffffff', 'cbor.integer-range'); // -2^64
  });

  it('never yields -0 for an integer', () => {
    assert.ok(Object.is(decodeHex('00'), 0));
  });
});

describe('decodeCbor: floats', () => {
  const cases: [string, number][] = [
    ['f93c00', 1],
    ['f9c400', -4],
    ['f97bff', 65504],
    ['f93555', 0.333251953125],
    ['f90001', 2 ** -24], // smallest subnormal half
    ['f903ff', 6.097555160522461e-5], // largest subnormal half
    ['f90400', 2 ** -14], // smallest normal half
    ['f98001', -(2 ** -24)],
    ['fa47c35000', 100000],
    ['fa3fc00000', 1.5],
    ['fa00000001', 1.401298464324817e-45],
    ['fb3ff199999999999a', 1.1],
    ['fb0000000000000001', 5e-324],
    ['fb7fefffffffffffff', Number.MAX_VALUE],
  ];
  for (const [hex, value] of cases) {
    it(`${hex} → CborFloat(${value})`, () => {
      assert.deepEqual(decodeHex(hex), new CborFloat(value));
    });
  }

  it('keeps the sign of a float zero', () => {
    const negative = decodeHex('f98000');
    assert.ok(negative instanceof CborFloat && Object.is(negative.value, -0));
    const positive = decodeHex('fb0000000000000000');
    assert.ok(positive instanceof CborFloat && Object.is(positive.value, 0));
  });

  it('rejects NaN and ±Infinity in every width (cbor.float)', () => {
    for (const hex of ['f97e00', 'f97c00', 'f9fc00', 'f97c01', 'fa7fc00000', 'fa7f800000', 'faff800000', 'fb7ff8000000000000', 'fb7ff0000000000000', 'fbfff0000000000000']) {
      rejects(hex, 'cbor.float');
    }
  });
});

describe('decodeCbor: simple values', () => {
  it('decodes false, true and null', () => {
    assert.equal(decodeHex('f4'), false);
    assert.equal(decodeHex('f5'), true);
    assert.equal(decodeHex('f6'), null);
  });

  it('rejects undefined and every other simple value (cbor.simple)', () => {
    assert.match(rejects('f7', 'cbor.simple').message, /undefined/);
    for (const hex of ['e0', 'f0', 'f3', 'f820', 'f8ff', 'f814']) rejects(hex, 'cbor.simple');
  });

  it('rejects a truncated one-byte simple value (cbor.truncated)', () => {
    rejects('f8', 'cbor.truncated');
  });
});

describe('decodeCbor: strings', () => {
  it('decodes definite byte and text strings', () => {
    assert.deepEqual(decodeHex('40'), new Uint8Array(0));
    assert.deepEqual(decodeHex('4401020304'), new Uint8Array([1, 2, 3, 4]));
    assert.equal(decodeHex('60'), '');
    assert.equal(decodeHex('6449455446'), 'IETF');
    assert.equal(decodeHex('62c3bc'), 'ü');
    assert.equal(decodeHex('63e6b0b4'), '水');
    assert.equal(decodeHex('64f0908591'), '\u{10151}');
    assert.equal(decodeHex('780161'), 'a');
  });

  it('decodes long non-ASCII text (the TextDecoder path) and keeps a leading BOM', () => {
    const text = `é${'x'.repeat(40)}水`;
    const utf8 = new TextEncoder().encode(text);
    assert.equal(decodeCbor(Uint8Array.from([0x78, utf8.length, ...utf8])), text);
    assert.equal(decodeHex('63efbbbf'), '\ufeff');
    assert.equal(decodeHex('64efbbbf61'), '\ufeffa');
  });

  it('rejects invalid UTF-8 (cbor.utf8)', () => {
    for (const hex of ['61ff', '62c328', '62c080', '63eda080', '64f4908080', '61c3', '62e282', '7821' + 'c0'.repeat(33)]) {
      rejects(hex, 'cbor.utf8');
    }
  });

  it('decodes indefinite-length byte and text strings', () => {
    assert.deepEqual(decodeHex('5f42010243030405ff'), new Uint8Array([1, 2, 3, 4, 5]));
    assert.deepEqual(decodeHex('5fff'), new Uint8Array(0));
    assert.deepEqual(decodeHex('5f4040ff'), new Uint8Array(0));
    assert.equal(decodeHex('7f657374726561646d696e67ff'), 'streaming');
    assert.equal(decodeHex('7fff'), '');
    assert.equal(decodeHex('7f62c3bc780161ff'), 'üa');
  });

  it('rejects bad chunks of indefinite-length strings (cbor.indefinite-chunk)', () => {
    rejects('5f6161ff', 'cbor.indefinite-chunk'); // text chunk in a byte string
    rejects('7f4161ff', 'cbor.indefinite-chunk'); // byte chunk in a text string
    rejects('5f5fffff', 'cbor.indefinite-chunk'); // nested indefinite
    rejects('7f7fffff', 'cbor.indefinite-chunk');
    rejects('5f01ff', 'cbor.indefinite-chunk');
    rejects('7fc06161ff', 'cbor.indefinite-chunk');
  });

  it('requires every text chunk to be valid UTF-8 on its own (RFC 8949 3.2.3)', () => {
    rejects('7f61c361a9ff', 'cbor.utf8');
  });

  it('rejects unterminated indefinite-length strings (cbor.truncated)', () => {
    rejects('5f', 'cbor.truncated');
    rejects('5f4100', 'cbor.truncated');
    rejects('7f6161', 'cbor.truncated');
    rejects('5f4201', 'cbor.truncated');
  });

  it('returns a copy of byte strings, not a view into the input', () => {
    const input = bytes('4401020304');
    const out = decodeCbor(input);
    assert.ok(out instanceof Uint8Array);
    assert.notEqual(out.buffer, input.buffer);
    input[1] = 0xee;
    assert.deepEqual(out, new Uint8Array([1, 2, 3, 4]));
  });

  it('returns plain Uint8Arrays for Buffer input and for sub-views of a larger buffer', () => {
    const out = decodeCbor(Buffer.from('4401020304', 'hex'));
    assert.equal(out?.constructor, Uint8Array);
    assert.deepEqual(out, new Uint8Array([1, 2, 3, 4]));
    const big = bytes('ff4201020000ff');
    assert.deepEqual(decodeCbor(big.subarray(1, 4)), new Uint8Array([1, 2]));
  });

  it('decodes input in shared memory', () => {
    const text = `é${'x'.repeat(35)}`;
    const data = [0x82, 0x78, 37, ...new TextEncoder().encode(text), 0x41, 0x07];
    const shared = new Uint8Array(new SharedArrayBuffer(data.length));
    shared.set(data);
    assert.deepEqual(decodeCbor(shared), [text, new Uint8Array([7])]);
  });
});

describe('decodeCbor: arrays and maps', () => {
  it('decodes definite and indefinite arrays', () => {
    assert.deepEqual(decodeHex('80'), []);
    assert.deepEqual(decodeHex('83010203'), [1, 2, 3]);
    assert.deepEqual(decodeHex('9f018202039f0405ffff'), [1, [2, 3], [4, 5]]);
    assert.deepEqual(decodeHex('9fff'), []);
    assert.deepEqual(decodeHex('98190102030405060708090a0b0c0d0e0f101112131415161718181819'), Array.from({ length: 25 }, (_, i) => i + 1));
    assert.deepEqual(decodeHex('990001f5'), [true]);
  });

  it('decodes maps into Map, keeping key order and types', () => {
    const map = decodeHex('a3026161016162616301');
    assert.ok(map instanceof Map);
    assert.deepEqual([...map.keys()], [2, 1, 'c']);
    assert.deepEqual(map, new Map<string | number, CborValue>([[2, 'a'], [1, 'b'], ['c', 1]]));
    assert.deepEqual(decodeHex('bf6161016162f6ff'), new Map([['a', 1], ['b', null]]));
    assert.deepEqual(decodeHex('a0'), new Map());
    assert.deepEqual(decodeHex('bfff'), new Map());
    assert.deepEqual(decodeHex('a1206161'), new Map([[-1, 'a']]));
    assert.deepEqual(decodeHex('a17f6161ff01'), new Map([['a', 1]])); // indefinite text key
  });

  it('never builds plain objects (no prototype pollution)', () => {
    const map = decodeHex('a1695f5f70726f746f5f5fa16161f5'); // {"__proto__": {"a": true}}
    assert.ok(map instanceof Map);
    assert.deepEqual(map.get('__proto__'), new Map([['a', true]]));
    assert.equal(({} as Record<string, unknown>).a, undefined);
  });

  it('rejects duplicate keys, even when encoded differently (cbor.duplicate-key)', () => {
    assert.match(rejects('a20101180102', 'cbor.duplicate-key').message, /duplicate map key 1/); // 0x01 vs 0x1801
    assert.match(rejects('a205010502', 'cbor.duplicate-key').message, /duplicate map key 5/);
    rejects('a2200139000002', 'cbor.duplicate-key'); // -1 as 0x20 and 0x390000
    assert.match(rejects('a26161016161f4', 'cbor.duplicate-key').message, /duplicate map key "a"/);
    rejects('a261610178016102', 'cbor.duplicate-key'); // "a" as 0x6161 and 0x780161
    rejects('a26161017f6161ff02', 'cbor.duplicate-key'); // "a" definite and indefinite
    rejects('bf0101010102ff', 'cbor.duplicate-key');
  });

  it('keeps an integer key and the text of its digits apart', () => {
    assert.deepEqual(decodeHex('a2016131613101'), new Map<string | number, CborValue>([[1, '1'], ['1', 1]]));
  });

  it('rejects map keys that are not integers or text (cbor.key-type)', () => {
    for (const hex of ['a1f93c0001', 'a1fb3ff800000000000001', 'a1410001', 'a18001', 'a1a001', 'a1c0616101', 'a1f401', 'a1f601', 'bf5fffff', 'bf80ffff']) {
      rejects(hex, 'cbor.key-type');
    }
  });

  it('rejects lengths that cannot fit in the remaining input before allocating (cbor.truncated)', () => {
    rejects('9bffffffffffffffff', 'cbor.truncated');
    rejects('bbffffffffffffffff', 'cbor.truncated');
    rejects('5bffffffffffffffff', 'cbor.truncated');
    rejects('7bffffffffffffffff', 'cbor.truncated');
    rejects('5affffffff00', 'cbor.truncated');
    rejects('7affffffff616161', 'cbor.truncated');
    rejects('9affffffff00', 'cbor.truncated');
    rejects('ba0000000101', 'cbor.truncated'); // one entry needs at least two bytes
    rejects('8301', 'cbor.truncated');
    rejects('a201', 'cbor.truncated');
    rejects('a10102ff', 'cbor.trailing');
  });

  it('rejects truncated heads and items (cbor.truncated)', () => {
    for (const hex of ['', '18', '19ff', '1a0000', '1b00000000000000', '38', '41', '62c3', 'f9', 'fa0000', 'fb00000000000000', 'd8', 'c0', '9f', '9f01', 'bf', 'bf01', 'a1', '8181', '818181']) {
      rejects(hex, 'cbor.truncated');
    }
    assert.match(rejects('', 'cbor.truncated').message, /empty input/);
  });

  it('rejects a lone break or a break in the wrong place (cbor.break)', () => {
    for (const hex of ['ff', '81ff', 'a101ff', 'bf01ff', '9fbf01ffff01']) rejects(hex, 'cbor.break');
  });

  it('rejects reserved additional information 28-30 (cbor.reserved)', () => {
    for (const major of [0, 1, 2, 3, 4, 5, 6, 7]) {
      for (const ai of [28, 29, 30]) rejects(Uint8Array.of((major << 5) | ai, 0, 0, 0, 0, 0, 0, 0, 0), 'cbor.reserved');
    }
    rejects('1c', 'cbor.reserved');
  });

  it('rejects indefinite length on integers and tags (cbor.reserved)', () => {
    for (const hex of ['1f', '3f', 'df00']) rejects(hex, 'cbor.reserved');
  });

  it('rejects trailing bytes after the top-level item (cbor.trailing)', () => {
    for (const hex of ['0000', 'f6f6', '8000', 'a0ff', '4100ff']) rejects(hex, 'cbor.trailing');
  });
});

describe('decodeCbor: tags', () => {
  it('decodes tag 0 around a text string to CborDateTag, in any head width', () => {
    const expected = new CborDateTag('2013-03-21T20:04:00Z');
    assert.deepEqual(decodeHex('c074323031332d30332d32315432303a30343a30305a'), expected);
    assert.deepEqual(decodeHex('d80074323031332d30332d32315432303a30343a30305a'), expected);
    assert.deepEqual(decodeHex('c07f6a323031332d30332d32316a5432303a30343a30305aff'), expected);
  });

  it('rejects every other tag and tag 0 around anything but text (cbor.tag)', () => {
    rejects('c11a514b67b0', 'cbor.tag'); // tag 1 epoch time
    rejects('d9d9f701', 'cbor.tag'); // tag 55799 self-described CBOR
    rejects('d84042ffff', 'cbor.tag'); // tag 64 uint8 typed array
    rejects('c24101', 'cbor.tag'); // bignum
    rejects('db000000000000000001', 'cbor.tag');
    rejects('dbffffffffffffffff01', 'cbor.tag');
    assert.match(rejects('c001', 'cbor.tag').message, /tag 0 must wrap a text string/);
    rejects('c04100', 'cbor.tag');
    rejects('c0c06161', 'cbor.tag');
    rejects('c080', 'cbor.tag');
  });

  it('checks the text inside tag 0 like any text', () => {
    rejects('c061ff', 'cbor.utf8');
    rejects('c07c', 'cbor.reserved');
    rejects('c062', 'cbor.truncated');
  });
});

describe('decodeCbor: limits', () => {
  it('rejects input longer than MAX_MESSAGE_SIZE before parsing (cbor.size)', () => {
    // Would be a truncated item if it were parsed: the size rule comes first.
    rejects(new Uint8Array(MAX_MESSAGE_SIZE + 1).fill(0x9f), 'cbor.size');
    const exact = new Uint8Array(MAX_MESSAGE_SIZE);
    exact.set([0x59, 0x3f, 0xfd]);
    assert.equal((decodeCbor(exact) as Uint8Array).length, MAX_MESSAGE_SIZE - 3);
  });

  it('honours a custom maxSize', () => {
    rejects('83010203', 'cbor.size', { maxSize: 3 });
    assert.deepEqual(decodeHex('83010203', { maxSize: 4 }), [1, 2, 3]);
    const big = new Uint8Array(20000);
    big.set([0x59, 0x4e, 0x1d]);
    assert.equal((decodeCbor(big, { maxSize: 20000 }) as Uint8Array).length, 19997);
  });

  it('accepts 16 levels of nesting and rejects 17 (cbor.depth)', () => {
    assert.doesNotThrow(() => decodeHex(`${'81'.repeat(15)}80`));
    assert.doesNotThrow(() => decodeHex(`${'81'.repeat(16)}00`));
    rejects(`${'81'.repeat(16)}80`, 'cbor.depth');
    rejects(`${'81'.repeat(17)}00`, 'cbor.depth');
    rejects(`${'9f'.repeat(17)}${'ff'.repeat(17)}`, 'cbor.depth');
    rejects(`${'a101'.repeat(17)}00`, 'cbor.depth');
    rejects(`${'bf01'.repeat(17)}00${'ff'.repeat(17)}`, 'cbor.depth');
    // Tag 0 wraps a leaf, so it does not count as a level.
    assert.doesNotThrow(() => decodeHex(`${'81'.repeat(15)}81c06161`));
  });

  it('honours a custom maxDepth', () => {
    rejects('8180', 'cbor.depth', { maxDepth: 1 });
    assert.deepEqual(decodeHex('8180', { maxDepth: 2 }), [[]]);
    rejects('80', 'cbor.depth', { maxDepth: 0 });
    assert.equal(decodeHex('01', { maxDepth: 0 }), 1);
  });

  it('survives the deepest nesting the size limit allows, with no stack overflow', () => {
    const deep = new Uint8Array(MAX_MESSAGE_SIZE).fill(0x81);
    rejects(deep, 'cbor.truncated', { maxDepth: MAX_MESSAGE_SIZE });
    deep[MAX_MESSAGE_SIZE - 1] = 0x00;
    const value = decodeCbor(deep, { maxDepth: MAX_MESSAGE_SIZE });
    let depth = 0;
    for (let v: CborValue | undefined = value; Array.isArray(v); v = v[0]) depth++;
    assert.equal(depth, MAX_MESSAGE_SIZE - 1);
    rejects(deep, 'cbor.depth');
  });

  it('treats invalid options as programming errors (RangeError)', () => {
    assert.throws(() => decodeHex('00', { maxDepth: -1 }), RangeError);
    assert.throws(() => decodeHex('00', { maxSize: Number.NaN }), RangeError);
  });
});

describe('decodeCbor: errors', () => {
  it('locates the error with a path of array indexes and map keys', () => {
    const error = rejects('a20f81a1656e6f64657382a0f710a0', 'cbor.simple');
    assert.equal(error.path, '[15][0].nodes[1]');
    assert.match(error.message, /^\[15\]\[0\]\.nodes\[1\]: undefined is not allowed \(byte 12\)$/);
    assert.equal(rejects('a1616182f6f8', 'cbor.truncated').path, 'a[1]');
    assert.equal(rejects('0000', 'cbor.trailing').path, '');
  });

  it('rejects non-byte-array input with a CpnpDecodeError', () => {
    assert.throws(() => decodeCbor('a0' as unknown as Uint8Array), (error: unknown) => error instanceof CpnpDecodeError && error.rule === 'cbor.input');
  });
});

describe('checkDeterministic', () => {
  it('accepts the deterministic encoding', () => {
    for (const hex of ['00', '17', '1818', '18ff', '190100', '1a00010000', '1b0000000100000000', '20', '37', '3818', '3b0000000100000000', 'f4', 'f5', 'f6', 'fb3ff8000000000000', '40', '60', '80', 'a0', 'a3010a2001616100', 'a20a00186400', '8261616162']) {
      assert.deepEqual(checkDeterministic(bytes(hex)), { ok: true }, hex);
    }
  });

  it('rejects non-shortest heads', () => {
    for (const hex of ['1800', '1817', '190000', '1900ff', '1a0000ffff', '1b00000000ffffffff', '3800', '3817', '5801ff', '780161', '980100', 'b8010100', 'b9000100f4']) {
      notDeterministic(hex, /shortest form/);
    }
  });

  it('rejects indefinite lengths, tags and floats that are not a non-integral float64', () => {
    notDeterministic('5f4100ff', /indefinite-length byte string/);
    notDeterministic('7fff', /indefinite-length text string/);
    notDeterministic('9fff', /indefinite-length array/);
    notDeterministic('bfff', /indefinite-length map/);
    notDeterministic('c06161', /tags/);
    notDeterministic('f93e00', /half-precision/);
    notDeterministic('fa3fc00000', /single-precision/);
    notDeterministic('fb3ff0000000000000', /integral/);
    notDeterministic('fb8000000000000000', /integral/); // -0.0 is the integer 0
    notDeterministic('fb7e37e43c8800759c', /integral/); // 1e300
  });

  it('rejects map keys out of RFC 8949 4.2.1 order, at any depth', () => {
    notDeterministic('a202000100', /map key 1 is not in RFC 8949 4.2.1 order/); // 2 before 1
    notDeterministic('a21864002000', /map key -1 is not in/); // 100 (0x1864) before -1 (0x20): shorter first
    notDeterministic('a2616200616100', /map key "a" is not in/); // "b" before "a"
    notDeterministic('a262616100616200', /map key "b" is not in/); // "aa" before "b": shorter first
    notDeterministic('a26161000100', /map key 1 is not in/); // text before integer
    notDeterministic('81a2616200616100', /order \(byte 5\)/);
    assert.deepEqual(checkDeterministic(bytes('a5' + '0a00' + '2000' + '186400' + '617a00' + '62616100')), { ok: true }); // RFC 8949 4.2.1 example
    assert.deepEqual(checkDeterministic(bytes('81a2616100616200')), { ok: true });
  });

  it('reports undecodable input as not deterministic with the decode rule', () => {
    notDeterministic('a20101180102', /cbor\.duplicate-key/);
    notDeterministic('0000', /cbor\.trailing/);
    notDeterministic('', /cbor\.truncated/);
  });

  it('names the byte offset of the first departure', () => {
    notDeterministic('8301021801', /\(byte 3\)/);
  });
});
