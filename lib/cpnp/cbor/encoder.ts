/**
 * The deterministic CBOR encoder of wire-format.md section 2: definite lengths, shortest-form
 * integers and lengths, integral numbers as integers and every other number as a 64-bit float,
 * no tags, and the keys of every map in RFC 8949 4.2.1 order. Two equal values therefore
 * encode to the same bytes, which is how "the Offered CPD must match" (RFC 8921 10.2) is checked.
 *
 * One pass, written here (issue 8): the value is walked once and its bytes written into a
 * reused buffer; a map's keys are put in order as its entries are written. (It used to be
 * normalised into a tree of sorted Maps that cbor-x then wrote: two passes and a copy of every
 * map, the larger part of encoding a message.) The tests compare it byte for byte with an
 * independent reference encoder written from RFC 8949 (cbor-encoder.test.ts).
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

const SMALLEST_UINT64 = 0x1_0000_0000;
// With the u flag a well-formed surrogate pair is one code point, so only lone surrogates match.
const LONE_SURROGATE = /\p{Cs}/u;
/** Below this depth cycles are not looked for: a cycle always gets deeper than that. */
const CYCLE_CHECK_DEPTH = 32;

const utf8 = new TextEncoder();

/**
 * Writes CBOR items into a growing buffer, reused from one message to the next. `take()` returns
 * a fresh copy of what was written and starts over.
 */
export class CborWriter {
  private buf = new Uint8Array(8192);
  private view = new DataView(this.buf.buffer);
  private pos = 0;
  private readonly stack: object[] = [];

  /** A copy of the bytes written (owned by the caller); the writer starts over. */
  take(): Uint8Array {
    const out = this.buf.slice(0, this.pos);
    this.pos = 0;
    this.stack.length = 0;
    return out;
  }

  /** Forgets what was written (after an error). */
  reset(): void {
    this.pos = 0;
    this.stack.length = 0;
  }

  /** A head: major type and argument in shortest form (RFC 8949 3). */
  head(major: number, argument: number): void {
    this.ensure(9);
    const m = major << 5;
    const buf = this.buf;
    if (argument < 24) {
      buf[this.pos++] = m | argument;
    } else if (argument < 0x100) {
      buf[this.pos++] = m | 24;
      buf[this.pos++] = argument;
    } else if (argument < 0x10000) {
      buf[this.pos++] = m | 25;
      buf[this.pos++] = argument >>> 8;
      buf[this.pos++] = argument & 0xff;
    } else if (argument < SMALLEST_UINT64) {
      buf[this.pos++] = m | 26;
      this.view.setUint32(this.pos, argument);
      this.pos += 4;
    } else {
      buf[this.pos++] = m | 27;
      this.view.setUint32(this.pos, Math.floor(argument / SMALLEST_UINT64));
      this.view.setUint32(this.pos + 4, argument % SMALLEST_UINT64);
      this.pos += 8;
    }
  }

  number(value: number): void {
    if (!Number.isFinite(value)) throw new RangeError(`cannot encode ${value}: not in the CBOR data model of wire-format.md`);
    if (!Number.isInteger(value)) {
      this.ensure(9);
      this.buf[this.pos++] = 0xfb;
      this.view.setFloat64(this.pos, value);
      this.pos += 8;
      return;
    }
    if (!Number.isSafeInteger(value)) throw new RangeError(`cannot encode ${value}: integral numbers must be within ±(2^53-1)`);
    // -0 is the integer 0.
    if (value >= 0) this.head(0, value + 0);
    else this.head(1, -1 - value);
  }

  text(value: string): void {
    const length = value.length;
    // ASCII (the usual case) is one byte per code unit: written as it is scanned.
    this.ensure(9 + length);
    const start = this.pos;
    this.head(3, length);
    const buf = this.buf;
    let pos = this.pos;
    for (let i = 0; i < length; i++) {
      const unit = value.charCodeAt(i);
      if (unit >= 0x80) {
        this.pos = start;
        this.nonAsciiText(value);
        return;
      }
      buf[pos++] = unit;
    }
    this.pos = pos;
  }

  /** A byte string given as hex text already checked to be an even run of hex digits (codec.ts). */
  hexBytes(hex: string): void {
    const length = hex.length >>> 1;
    this.head(2, length);
    this.ensure(length);
    const buf = this.buf;
    for (let i = 0; i < length; i++) buf[this.pos++] = (hexValue(hex.charCodeAt(2 * i)) << 4) | hexValue(hex.charCodeAt(2 * i + 1));
  }

  /** Bytes already in CBOR form, e.g. a map key encoded once at load (cbor/fixed-keys.ts). */
  raw(encoded: Uint8Array): void {
    const length = encoded.length;
    this.ensure(length);
    const buf = this.buf;
    let pos = this.pos;
    for (let i = 0; i < length; i++) buf[pos++] = encoded[i] as number;
    this.pos = pos;
  }

  /**
   * Starts a map of at most 23 entries whose count is known only once they are written: one
   * head byte is reserved here and filled in by closeSmallMap with the position returned.
   */
  openSmallMap(): number {
    this.ensure(1);
    return this.pos++;
  }

  closeSmallMap(at: number, count: number): void {
    if (count > 23) throw new RangeError(`a small map holds at most 23 entries, got ${count}`);
    this.buf[at] = 0xa0 | count;
  }

  bytes(value: Uint8Array): void {
    this.head(2, value.length);
    this.ensure(value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
  }

  /** Any Encodable value (caller bugs throw RangeError or TypeError, see encodeCbor). */
  value(value: unknown): void {
    switch (typeof value) {
      case 'number':
        this.number(value);
        return;
      case 'string':
        this.text(value);
        return;
      case 'boolean':
        this.ensure(1);
        this.buf[this.pos++] = value ? 0xf5 : 0xf4;
        return;
      case 'object':
        break;
      default:
        throw new TypeError(`cannot encode a value of type ${typeof value}`);
    }
    if (value === null) {
      this.ensure(1);
      this.buf[this.pos++] = 0xf6;
      return;
    }
    // Buffer and other Uint8Array subclasses are plain bstr too.
    if (value instanceof Uint8Array) {
      this.bytes(value);
      return;
    }
    const stack = this.stack;
    if (stack.length >= CYCLE_CHECK_DEPTH && stack.includes(value)) throw new TypeError('cannot encode a cyclic structure');
    stack.push(value);
    if (Array.isArray(value)) {
      const items = value as readonly unknown[];
      this.head(4, items.length);
      for (let i = 0; i < items.length; i++) {
        const item = items[i];
        if (item === undefined) throw new TypeError(`cannot encode undefined (array index ${i})`);
        this.value(item);
      }
    } else if (value instanceof Map) {
      this.map(value as Map<unknown, unknown>);
    } else {
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) throw new TypeError(`cannot encode an instance of ${describeClass(value)}`);
      this.object(value as Record<string, unknown>);
    }
    stack.pop();
  }

  /** A plain object: a text-keyed map without its `undefined` properties. */
  private object(value: Record<string, unknown>): void {
    const keys = Object.keys(value);
    let count = 0;
    let ascii = true;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      if (value[key] === undefined) continue;
      keys[count++] = key;
      if (ascii && !isAscii(key)) ascii = false;
    }
    keys.length = count;
    if (ascii) sortAsciiKeys(keys);
    else keys.sort(compareTextKeys);
    this.head(5, count);
    for (let i = 0; i < count; i++) {
      const key = keys[i] as string;
      this.text(key);
      this.value(value[key]);
    }
  }

  /** A Map: keys are safe integers or text, in RFC 8949 4.2.1 order. */
  private map(value: Map<unknown, unknown>): void {
    const entries: SortableEntry[] = [];
    for (const [key, item] of value) {
      if (item === undefined) throw new TypeError(`cannot encode undefined (map key ${String(key)})`);
      if (typeof key === 'string') {
        if (LONE_SURROGATE.test(key)) throw new RangeError('cannot encode text with a lone surrogate (not valid UTF-8)');
        const length = utf8Length(key);
        entries.push({ key, encodedLength: headLength(length) + length, major: 3, argument: 0, value: item });
      } else if (typeof key === 'number') {
        if (!Number.isSafeInteger(key)) throw new RangeError(`cannot encode map key ${key}: keys are safe integers or text`);
        const argument = key >= 0 ? key + 0 : -1 - key;
        entries.push({ key, encodedLength: headLength(argument), major: key >= 0 ? 0 : 1, argument, value: item });
      } else {
        throw new TypeError(`cannot encode a map key of type ${typeof key}`);
      }
    }
    entries.sort(compareEntries);
    this.head(5, entries.length);
    for (const entry of entries) {
      if (typeof entry.key === 'string') this.text(entry.key);
      else this.number(entry.key);
      this.value(entry.value);
    }
  }

  private nonAsciiText(value: string): void {
    // cbor-x and TextEncoder would write a lone surrogate as U+FFFD, which is other data.
    if (LONE_SURROGATE.test(value)) throw new RangeError('cannot encode text with a lone surrogate (not valid UTF-8)');
    const length = utf8Length(value);
    this.head(3, length);
    this.ensure(length);
    utf8.encodeInto(value, this.buf.subarray(this.pos, this.pos + length));
    this.pos += length;
  }

  private ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
}

/** One reusable writer: encodeCbor is synchronous, so calls never interleave. */
const writer = new CborWriter();

/**
 * Encodes `value` in the deterministic form of wire-format.md section 2 and returns a fresh
 * Uint8Array owned by the caller. Caller bugs throw: RangeError for numbers outside the data
 * model (NaN, Infinity, integral but not a safe integer) or text with lone surrogates,
 * TypeError for values that are not Encodable (undefined, functions, class instances, cycles).
 */
export function encodeCbor(value: Encodable): Uint8Array {
  try {
    writer.value(value);
  } catch (error) {
    writer.reset();
    throw error;
  }
  return writer.take();
}

/**
 * The shared writer, for encoders that write some items themselves (codec.ts); same rules. `input`
 * is handed to `write`, so callers need no closure per call.
 */
export function withCborWriter<T>(write: (w: CborWriter, input: T) => void, input: T): Uint8Array {
  try {
    write(writer, input);
  } catch (error) {
    writer.reset();
    throw error;
  }
  return writer.take();
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) >= 0x80) return false;
  return true;
}

/**
 * Sorts ASCII keys in encoded order, which for them is (length, then code units). An insertion
 * sort in place: objects have a handful of keys, and this is the hot path of encoding.
 */
function sortAsciiKeys(keys: string[]): void {
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i] as string;
    let j = i - 1;
    while (j >= 0) {
      const other = keys[j] as string;
      if (other.length < key.length || (other.length === key.length && other < key)) break;
      keys[j + 1] = other;
      j--;
    }
    keys[j + 1] = key;
  }
}

/** 0..15 for a hex digit of either case. */
function hexValue(unit: number): number {
  return unit <= 0x39 ? unit - 0x30 : (unit | 0x20) - 0x57;
}

/** Text keys in encoded order: UTF-8 length (the head grows with it), then code points. */
function compareTextKeys(a: string, b: string): number {
  return utf8Length(a) - utf8Length(b) || compareCodePoints(a, b);
}

/**
 * A map entry with what RFC 8949 4.2.1 compares, derived without encoding the key: the length
 * of the encoded key, then its first byte's major type (0 and 1 integers before 3 text), then
 * the argument (integers) or the UTF-8 bytes, i.e. the code points (text). For keys of equal
 * encoded length and major type this is exactly the bytewise order of the encodings.
 */
interface SortableEntry {
  readonly key: number | string;
  readonly encodedLength: number;
  readonly major: number;
  readonly argument: number;
  readonly value: unknown;
}

function compareEntries(a: SortableEntry, b: SortableEntry): number {
  return (
    a.encodedLength - b.encodedLength ||
    a.major - b.major ||
    (a.major === 3 ? compareCodePoints(a.key as string, b.key as string) : a.argument - b.argument)
  );
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
