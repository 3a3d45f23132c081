import type { CborWriter } from './cbor/encoder';
import type { FixedKeys } from './cbor/fixed-keys';
import { isDateTime } from './date-time';
import { SchemaReader } from './schema-reader';

/**
 * The write side of schema-reader.ts: checks of the JSON form that write the checked value
 * straight into a CborWriter, for the one-pass validating encoder (message-writer.ts, issue 8).
 *
 * A check here only ever accepts what the reader accepts, and the bytes it writes are those of
 * the reader's typed copy. It does not describe failures: any doubt throws NOT_ON_FAST_PATH and
 * codec.ts then runs the reader itself, which names the rule broken (or, when the value is
 * valid after all, e.g. a CborFloat in a JSON-form number, encodes it the reader's way). So the
 * errors of encodeMessage stay those of readMessage, in the same order, by construction.
 */
export const NOT_ON_FAST_PATH = new Error('not on the fast path of the validating encoder');

/** Primitive checks that never copy anything are shared with the reader. */
const reader = new SchemaReader('json');

export type Fields = Readonly<Record<string, unknown>>;

/** A plain object (the reader's `map` for the JSON form). */
export function plainObject(value: unknown): Fields {
  if (typeof value !== 'object' || value === null) throw NOT_ON_FAST_PATH;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) throw NOT_ON_FAST_PATH;
  return value as Fields;
}

/**
 * Ends a closed map: `written` keys of `keys` were defined and written; any other own
 * enumerable key (unknown, or a known one holding `undefined`, which the reader refuses) fails.
 */
export function closeMap(w: CborWriter, at: number, fields: Fields, written: number): void {
  if (Object.keys(fields).length !== written) throw NOT_ON_FAST_PATH;
  w.closeSmallMap(at, written);
}

/** Writes the key of `keys` at `index` (the caller found its value defined). */
export function key(w: CborWriter, keys: FixedKeys, index: number): void {
  w.raw(keys.encoded[index] as Uint8Array);
}

export function text(w: CborWriter, value: unknown): string {
  if (typeof value !== 'string') throw NOT_ON_FAST_PATH;
  w.text(value);
  return value;
}

export function textList(w: CborWriter, value: unknown, min = 0, max = Number.POSITIVE_INFINITY): void {
  if (!Array.isArray(value) || value.length < min || value.length > max) throw NOT_ON_FAST_PATH;
  const items = value as readonly unknown[];
  w.head(4, items.length);
  for (let i = 0; i < items.length; i++) text(w, items[i]);
}

export function oneOfText(w: CborWriter, value: unknown, choices: readonly string[]): string {
  if (typeof value !== 'string' || !choices.includes(value)) throw NOT_ON_FAST_PATH;
  w.text(value);
  return value;
}

export function bool(w: CborWriter, value: unknown): void {
  if (typeof value !== 'boolean') throw NOT_ON_FAST_PATH;
  w.value(value);
}

/** An unsigned integer in [min, max] (reader.uint). */
export function uint(w: CborWriter, value: unknown, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) throw NOT_ON_FAST_PATH;
  w.head(0, value + 0);
  return value;
}

/** A finite number, integral ones safe (reader.number, which also turns -0 into 0 as the writer does). */
export function number(w: CborWriter, value: unknown, min = Number.NEGATIVE_INFINITY, max = Number.POSITIVE_INFINITY): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw NOT_ON_FAST_PATH;
  if (Number.isInteger(value) && !Number.isSafeInteger(value)) throw NOT_ON_FAST_PATH;
  if (value < min || value > max) throw NOT_ON_FAST_PATH;
  w.number(value);
  return value;
}

export function dateTime(w: CborWriter, value: unknown): void {
  if (typeof value !== 'string' || !isDateTime(value)) throw NOT_ON_FAST_PATH;
  w.text(value);
}

/** An identifier (wire-format.md keys 5, 6): printable ASCII checked here, anything else by the reader. */
export function identifier(w: CborWriter, value: unknown): void {
  if (typeof value !== 'string') throw NOT_ON_FAST_PATH;
  const length = value.length;
  let plain = length >= 1 && length <= 64;
  for (let i = 0; plain && i < length; i++) {
    const unit = value.charCodeAt(i);
    if (unit < 0x20 || unit > 0x7e) plain = false;
  }
  if (!plain) reader.identifier(value, '');
  w.text(value);
}

/** 16 bytes as 32 lowercase hex digits (TRANSACTION_ID, NONCE), written as a bstr. */
export function hex16(w: CborWriter, value: unknown): void {
  if (typeof value !== 'string' || value.length !== 32) throw NOT_ON_FAST_PATH;
  for (let i = 0; i < 32; i++) {
    const unit = value.charCodeAt(i);
    if (!((unit >= 0x30 && unit <= 0x39) || (unit >= 0x61 && unit <= 0x66))) throw NOT_ON_FAST_PATH;
  }
  w.hexBytes(value);
}
