import { CborDateTag, CborFloat } from './cbor/values';
import { isDateTime, type DateTime } from './date-time';
import { CpnpDecodeError } from './errors';
import { fromHex, toHex } from './hex';

/**
 * Typed reads of an untrusted value tree with a path for error messages. The same reader
 * serves values decoded from CBOR (maps are Map, bstr is Uint8Array, floats are CborFloat,
 * tag 0 is CborDateTag) and the JSON form (plain objects, hex strings, plain numbers), so the
 * schema of wire-format.md and cpp-model.md is written once.
 */
export type SourceForm = 'cbor' | 'json';

// C0, DEL and C1 control characters (wire-format.md key 5: "no control characters").
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f]/;

export function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

/**
 * A plain object seen as the read-only Map the schema reads (own enumerable string keys, as
 * Object.entries lists them), without copying it into a Map: encodeMessage validates every
 * message it writes through the JSON form, and that copy was a tenth of encoding (issue 8).
 */
class ObjectFields implements ReadonlyMap<string, unknown> {
  constructor(private readonly object: Record<string, unknown>) {}
  get size(): number {
    return Object.keys(this.object).length;
  }
  has(key: string): boolean {
    // Own data of a plain object (checked by map()): enumerable unless made otherwise on purpose.
    return Object.hasOwn(this.object, key);
  }
  get(key: string): unknown {
    return this.has(key) ? this.object[key] : undefined;
  }
  keys(): MapIterator<string> {
    return Object.keys(this.object)[Symbol.iterator]();
  }
  values(): MapIterator<unknown> {
    return Object.values(this.object)[Symbol.iterator]();
  }
  entries(): MapIterator<[string, unknown]> {
    return Object.entries(this.object)[Symbol.iterator]();
  }
  [Symbol.iterator](): MapIterator<[string, unknown]> {
    return this.entries();
  }
  forEach(fn: (value: unknown, key: string, map: ReadonlyMap<string, unknown>) => void): void {
    for (const [key, value] of Object.entries(this.object)) fn(value, key, this);
  }
}

/** Bytes of `text` in UTF-8 as TextEncoder writes it (a lone surrogate as U+FFFD), without encoding it. */
function utf8ByteLength(text: string): number {
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) length += 1;
    else if (unit < 0x800) length += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      length += 4;
      i++;
    } else length += 3;
  }
  return length;
}

const LOWER_HEX_16 = /^[0-9a-f]{32}$/;

export class SchemaReader {
  constructor(readonly form: SourceForm) {}

  fail(rule: string, path: string, detail: string): never {
    throw new CpnpDecodeError(rule, path, detail);
  }

  /** A text-keyed map, as entries in order. Rejects non-text keys. */
  map(value: unknown, path: string): ReadonlyMap<string, unknown> {
    if (this.form === 'cbor') {
      if (!(value instanceof Map)) this.fail('type', path, 'expected a map');
      for (const key of value.keys()) {
        if (typeof key !== 'string') this.fail('type', path, `map keys must be text, got ${String(key)}`);
      }
      return value as Map<string, unknown>;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.fail('type', path, 'expected an object');
    }
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) this.fail('type', path, 'expected a plain object');
    return new ObjectFields(value as Record<string, unknown>);
  }

  /** Fails on any key of `map` not in `allowed`. */
  onlyKeys(map: ReadonlyMap<string, unknown>, allowed: readonly string[], path: string, rule = 'unknown-key'): void {
    for (const key of map.keys()) {
      if (!allowed.includes(key)) this.fail(rule, join(path, key), `unknown key "${key}"`);
    }
  }

  array(value: unknown, path: string, min = 0, max = Number.POSITIVE_INFINITY): unknown[] {
    if (!Array.isArray(value)) this.fail('type', path, 'expected an array');
    if (value.length < min || value.length > max) {
      this.fail('length', path, `expected ${min}..${max === Infinity ? '∞' : max} items, got ${value.length}`);
    }
    return value;
  }

  text(value: unknown, path: string): string {
    if (typeof value !== 'string') this.fail('type', path, 'expected text');
    return value;
  }

  /** An identifier: 1..64 bytes of UTF-8 with no control characters (wire-format.md keys 5, 6). */
  identifier(value: unknown, path: string): string {
    const text = this.text(value, path);
    const bytes = utf8ByteLength(text);
    if (bytes < 1 || bytes > 64) this.fail('identifier', path, `identifier must be 1..64 bytes, got ${bytes}`);
    if (CONTROL_RE.test(text)) this.fail('identifier', path, 'identifier must not contain control characters');
    return text;
  }

  oneOfText<T extends string>(value: unknown, path: string, choices: readonly T[]): T {
    const text = this.text(value, path);
    if (!(choices as readonly string[]).includes(text)) {
      this.fail('enum', path, `expected one of ${choices.map((c) => `"${c}"`).join(', ')}, got "${text}"`);
    }
    return text as T;
  }

  bool(value: unknown, path: string): boolean {
    if (typeof value !== 'boolean') this.fail('type', path, 'expected true or false');
    return value;
  }

  /** An unsigned integer in [min, max]; a CBOR float is a type error even when integral. */
  uint(value: unknown, path: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    if (value instanceof CborFloat) this.fail('type', path, 'expected an unsigned integer, got a float');
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) this.fail('type', path, 'expected an unsigned integer');
    if (value < min || value > max) this.fail('range', path, `expected ${min}..${max}, got ${value}`);
    return value;
  }

  /** Any finite number; integral values must be safe integers so JSON and CBOR agree. */
  number(value: unknown, path: string): number {
    const n = value instanceof CborFloat ? value.value : value;
    if (typeof n !== 'number' || !Number.isFinite(n)) this.fail('type', path, 'expected a finite number');
    if (Number.isInteger(n) && !Number.isSafeInteger(n)) this.fail('range', path, 'integral numbers must be within ±(2^53-1)');
    return Object.is(n, -0) ? 0 : n;
  }

  /** Exactly 16 bytes: a bstr on the wire, lowercase hex in JSON (wire-format.md keys 4, 7). */
  bytes16(value: unknown, path: string): string {
    if (this.form === 'cbor') {
      if (!(value instanceof Uint8Array)) this.fail('type', path, 'expected a byte string');
      if (value.length !== 16) this.fail('length', path, `must be 16 bytes, got ${value.length}`);
      return toHex(value);
    }
    if (typeof value !== 'string') this.fail('type', path, 'expected hex text');
    if (LOWER_HEX_16.test(value)) return value;
    const bytes = fromHex(value);
    if (!bytes || value !== value.toLowerCase()) this.fail('type', path, 'expected lowercase hex');
    this.fail('length', path, `must be 16 bytes, got ${bytes.length}`);
  }

  /** wire-format.md section 4: RFC 3339 UTC "Z" text, untagged or in tag 0 on the wire. */
  dateTime(value: unknown, path: string): DateTime {
    const text = this.form === 'cbor' && value instanceof CborDateTag ? value.text : value;
    if (typeof text !== 'string') this.fail('type', path, 'expected an RFC 3339 date-time');
    if (!isDateTime(text)) this.fail('date-time', path, `"${text}" is not an RFC 3339 UTC date-time ending in Z`);
    return text;
  }

  /** Reads an optional map field: undefined when absent. */
  optional<T>(map: ReadonlyMap<string, unknown>, key: string, path: string, read: (v: unknown, p: string) => T): T | undefined {
    return map.has(key) ? read(map.get(key), join(path, key)) : undefined;
  }

  required<T>(map: ReadonlyMap<string, unknown>, key: string, path: string, read: (v: unknown, p: string) => T, rule = 'missing'): T {
    if (!map.has(key)) this.fail(rule, join(path, key), `"${key}" is required`);
    return read(map.get(key), join(path, key));
  }

  textList(value: unknown, path: string, min = 0): string[] {
    return this.array(value, path, min).map((item, i) => this.text(item, join(path, i)));
  }
}
