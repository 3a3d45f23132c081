import { Encoder, FLOAT32_OPTIONS, type Options } from 'cbor-x';

/**
 * The deterministic CBOR encoder of wire-format.md section 2: definite lengths, shortest-form
 * integers and lengths, integral numbers as integers and every other number as a 64-bit float,
 * no tags, and the keys of every map in RFC 8949 4.2.1 order. Two equal values therefore
 * encode to the same bytes, which is how "the Offered CPD must match" (RFC 8921 10.2) is checked.
 *
 * cbor-x writes the bytes. It does not sort keys, writes integers of 2^32 and more as floats,
 * and tags or shares structures under some options, so the value is first normalised into a
 * tree that cbor-x, with the options below, can only write one way: Maps with sorted keys,
 * BigInt for integers beyond 32 bits, plain Uint8Arrays, and nothing else.
 */

export type EncodableKey = number | string;

/** A value encodeCbor accepts. Plain objects are text-keyed maps; `undefined` properties are omitted. */
export type Encodable =
  | number
  | string
  | boolean
  | null
  | Uint8Array
  | readonly Encodable[]
  | ReadonlyMap<EncodableKey, Encodable>
  | EncodableObject;

export interface EncodableObject {
  readonly [key: string]: Encodable | undefined;
}

/** What reaches cbor-x: every value has exactly one encoding under ENCODER_OPTIONS. */
type Normalised = number | bigint | string | boolean | null | Uint8Array | Normalised[] | Map<number | bigint | string, Normalised>;

const ENCODER_OPTIONS: Options & { useTag259ForMaps: boolean } = {
  // No tag 105 record definitions: objects would otherwise become cbor-x "records".
  useRecords: false,
  // With useRecords:false cbor-x defaults this to true, and then tags every Map with 259.
  mapsAsObjects: false,
  useTag259ForMaps: false,
  // Shortest map header for plain objects instead of a fixed map16 (0xb9); we only pass Maps anyway.
  variableMapSize: true,
  // Non-integral numbers always as float64 (0xfb), never float16/32.
  useFloat32: FLOAT32_OPTIONS.NEVER,
  alwaysUseFloat: false,
  // Uint8Array as a plain bstr: without this cbor-x wraps it in tag 64 under Node.
  tagUint8Array: false,
  // No tag 51 packed strings, no tag 28/29 shared references, no string bundles, no tag 55799.
  pack: false,
  structuredClone: false,
  bundleStrings: false,
  useSelfDescribedHeader: false,
  useToJSON: false,
  largeBigIntToFloat: false,
};

/** One reusable instance: cbor-x keeps its output buffer between calls. */
const cborX = new Encoder(ENCODER_OPTIONS);

const SMALLEST_UINT64 = 0x1_0000_0000;
const SMALLEST_NEGATIVE_INT32 = -0x1_0000_0000;
// With the u flag a well-formed surrogate pair is one code point, so only lone surrogates match.
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Encodes `value` in the deterministic form of wire-format.md section 2 and returns a fresh
 * Uint8Array owned by the caller. Caller bugs throw: RangeError for numbers outside the data
 * model (NaN, Infinity, integral but not a safe integer) or text with lone surrogates,
 * TypeError for values that are not Encodable (undefined, functions, class instances, cycles).
 */
export function encodeCbor(value: Encodable): Uint8Array {
  const encoded = cborX.encode(normalise(value, new Set()));
  // cbor-x returns a view into its shared, reused buffer: copy it into an array we own.
  return new Uint8Array(encoded);
}

function normalise(value: unknown, ancestors: Set<object>): Normalised {
  switch (typeof value) {
    case 'number':
      return normaliseNumber(value);
    case 'string':
      return checkText(value);
    case 'boolean':
      return value;
    case 'object':
      break;
    default:
      throw new TypeError(`cannot encode a value of type ${typeof value}`);
  }
  if (value === null) return null;
  // Buffer and other Uint8Array subclasses are written by cbor-x as plain bstr too.
  if (value instanceof Uint8Array) return value;
  if (ancestors.has(value)) throw new TypeError('cannot encode a cyclic structure');
  ancestors.add(value);
  let result: Normalised;
  if (Array.isArray(value)) {
    const items: Normalised[] = [];
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (item === undefined) throw new TypeError(`cannot encode undefined (array index ${i})`);
      items.push(normalise(item, ancestors));
    }
    result = items;
  } else if (value instanceof Map) {
    result = normaliseMap(value, false, ancestors);
  } else {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      throw new TypeError(`cannot encode an instance of ${describeClass(value)}`);
    }
    result = normaliseMap(Object.entries(value), true, ancestors);
  }
  ancestors.delete(value);
  return result;
}

/** Integral numbers as integers (shortest form), everything else as float64. */
function normaliseNumber(value: number): number | bigint {
  if (!Number.isFinite(value)) throw new RangeError(`cannot encode ${value}: not in the CBOR data model of wire-format.md`);
  if (!Number.isInteger(value)) return value;
  if (!Number.isSafeInteger(value)) throw new RangeError(`cannot encode ${value}: integral numbers must be within ±(2^53-1)`);
  if (value === 0) return 0; // -0 is the integer 0
  // cbor-x writes integers outside [-2^32, 2^32) as float64; BigInt makes it write 0x1b / 0x3b,
  // which for those magnitudes is the shortest form.
  if (value >= SMALLEST_UINT64 || value < SMALLEST_NEGATIVE_INT32) return BigInt(value);
  return value;
}

function checkText(text: string): string {
  // cbor-x would write a lone surrogate as invalid UTF-8 (or as U+FFFD), which no decoder accepts back.
  if (LONE_SURROGATE.test(text)) throw new RangeError('cannot encode text with a lone surrogate (not valid UTF-8)');
  return text;
}

/**
 * A map entry with what RFC 8949 4.2.1 compares, derived without encoding the key: the length
 * of the encoded key, then its first byte's major type (0 and 1 integers before 3 text), then
 * the argument (integers) or the UTF-8 bytes, i.e. the code points (text). For keys of equal
 * encoded length and major type this is exactly the bytewise order of the encodings.
 */
interface SortableEntry {
  readonly key: number | bigint | string;
  readonly encodedLength: number;
  readonly major: number;
  readonly argument: number;
  readonly text: string;
  readonly value: unknown;
}

/** A Map whose insertion order is the RFC 8949 4.2.1 order of the encoded keys. */
function normaliseMap(entries: Iterable<[unknown, unknown]>, omitUndefined: boolean, ancestors: Set<object>): Map<number | bigint | string, Normalised> {
  const sortable: SortableEntry[] = [];
  for (const [key, value] of entries) {
    if (value === undefined) {
      if (omitUndefined) continue;
      throw new TypeError(`cannot encode undefined (map key ${String(key)})`);
    }
    if (typeof key === 'string') {
      const length = utf8Length(checkText(key));
      sortable.push({ key, encodedLength: headLength(length) + length, major: 3, argument: 0, text: key, value });
    } else if (typeof key === 'number') {
      if (!Number.isSafeInteger(key)) throw new RangeError(`cannot encode map key ${key}: keys are safe integers or text`);
      const argument = key >= 0 ? key + 0 : -1 - key;
      sortable.push({ key: normaliseNumber(key), encodedLength: headLength(argument), major: key >= 0 ? 0 : 1, argument, text: '', value });
    } else {
      throw new TypeError(`cannot encode a map key of type ${typeof key}`);
    }
  }
  sortable.sort(compareEntries);
  const map = new Map<number | bigint | string, Normalised>();
  for (const entry of sortable) map.set(entry.key, normalise(entry.value, ancestors));
  return map;
}

function compareEntries(a: SortableEntry, b: SortableEntry): number {
  return a.encodedLength - b.encodedLength || a.major - b.major || (a.major === 3 ? compareCodePoints(a.text, b.text) : a.argument - b.argument);
}

/** Bytes taken by a head with this argument (RFC 8949 3: 1, 2, 3, 5 or 9). */
function headLength(argument: number): number {
  return argument < 24 ? 1 : argument < 0x100 ? 2 : argument < 0x10000 ? 3 : argument < SMALLEST_UINT64 ? 5 : 9;
}

/** UTF-8 length of well-formed text, without allocating. */
function utf8Length(text: string): number {
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) length += 1;
    else if (unit < 0x800) length += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff) {
      length += 4; // a surrogate pair: one supplementary code point
      i++;
    } else length += 3;
  }
  return length;
}

/**
 * Code point order of two strings, which is the bytewise order of their UTF-8. UTF-16 code
 * units order surrogates (supplementary code points) below U+E000..U+FFFF, so those two ranges
 * are swapped before comparing.
 */
function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

function codePointRank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit <= 0xdfff ? unit + 0x2000 : unit - 0x800;
}

/** RFC 8949 4.2.1: shorter encoded key first, then bytewise lexicographic. */
export function compareEncodedKeys(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return a.length - b.length;
  for (let i = 0; i < a.length; i++) {
    const diff = (a[i] ?? 0) - (b[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

function describeClass(value: object): string {
  const name: unknown = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name ? name : 'a class';
}
