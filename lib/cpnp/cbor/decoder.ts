import { CpnpDecodeError } from '../errors';
import { MAX_MESSAGE_SIZE } from '../message';
import { CborDateTag, CborFloat, type CborMapKey, type CborValue } from './values';

/**
 * The strict, hardened CBOR decoder (RFC 8949) of wire-format.md sections 1, 2, 4 and 7.
 *
 * It reads exactly one data item into the CborValue model and accepts every valid encoding
 * of that data (non-shortest heads, indefinite lengths, half/single/double floats, tag 0
 * around a date-time), because section 2 requires decoders to be liberal in encoding.
 * It is strict about the data model: only tag 0, no undefined or other simple values, no
 * NaN/Infinity, integer or text map keys, no duplicate keys, no trailing bytes.
 *
 * Input is untrusted (section 7: "never crashes"), so the decoder is iterative (an explicit
 * stack bounded by maxDepth, no recursion), checks every declared length against the bytes
 * that remain before allocating, consumes at least one byte per step (no endless loop), and
 * throws nothing but CpnpDecodeError with a `cbor.*` rule.
 */

export interface CborDecodeOptions {
  /** Deepest allowed nesting of arrays and maps; the top-level container is depth 1. */
  maxDepth?: number;
  /** Longest accepted input in bytes, checked before parsing (wire-format.md section 1). */
  maxSize?: number;
}

export const DEFAULT_MAX_DEPTH = 16;

/** The result of a decode that also noted the first departure from the deterministic form. */
export interface AuditedDecode {
  value: CborValue;
  /** Why the input is not the deterministic encoding (wire-format.md section 2), if it is not. */
  nonDeterministic: string | undefined;
}

/** Decodes exactly one CBOR data item; throws CpnpDecodeError (rule `cbor.*`) on anything else. */
export function decodeCbor(bytes: Uint8Array, options?: CborDecodeOptions): CborValue {
  return run(bytes, options, false).value;
}

/**
 * decodeCbor that also reports the first place where the input differs from the deterministic
 * encoding of wire-format.md section 2 (used by checkDeterministic in cbor/deterministic.ts).
 */
export function decodeCborAudited(bytes: Uint8Array, options?: CborDecodeOptions): AuditedDecode {
  return run(bytes, options, true);
}

const INDEFINITE = -1;
const TWO_POW_32 = 0x1_0000_0000;
/** Byte strings and text shorter than this skip TextDecoder when they are pure ASCII. */
const ASCII_FAST_PATH = 32;
// fatal: invalid UTF-8 is an error, not U+FFFD; ignoreBOM: a leading U+FEFF is data, not dropped.
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const MAJOR_NAMES = ['unsigned integer', 'negative integer', 'byte string', 'text string', 'array', 'map', 'tag', 'float or simple value'];

function run(input: Uint8Array, options: CborDecodeOptions | undefined, audit: boolean): AuditedDecode {
  const maxDepth = limit(options?.maxDepth, DEFAULT_MAX_DEPTH, 'maxDepth');
  const maxSize = limit(options?.maxSize, MAX_MESSAGE_SIZE, 'maxSize');
  if (!(input instanceof Uint8Array)) throw new CpnpDecodeError('cbor.input', '', 'input is not a byte array');
  if (input.length > maxSize) {
    throw new CpnpDecodeError('cbor.size', '', `input is ${input.length} bytes, more than the limit of ${maxSize}`);
  }
  const bytes = plainBytes(input);
  const parser = new Parser(bytes, maxDepth, audit);
  const value = parser.item();
  if (parser.pos !== bytes.length) {
    throw new CpnpDecodeError('cbor.trailing', '', `${bytes.length - parser.pos} bytes after the top-level item (byte ${parser.pos})`);
  }
  return { value, nonDeterministic: parser.nonDeterministic };
}

function plainBytes(input: Uint8Array): Uint8Array {
  // Shared memory could change while we read it, and browsers' TextDecoder refuses it: copy it.
  if (typeof SharedArrayBuffer !== 'undefined' && input.buffer instanceof SharedArrayBuffer) return new Uint8Array(input);
  // A Buffer or other subclass would make slice() return views or subclass instances: use a plain view.
  return input.constructor === Uint8Array ? input : new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
}

/** Options are trusted code, so a bad one is a programming error (RangeError), not a decode error. */
function limit(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer`);
  return value;
}

/** An array or map under construction. */
class Frame {
  /** Map frames: the key read, waiting for its value. */
  key: CborMapKey = 0;
  hasKey = false;
  /** Audit mode: where the previous key of this map was encoded, for the RFC 8949 4.2.1 order. */
  previousKeyStart = -1;
  previousKeyEnd = -1;

  constructor(
    readonly container: CborValue[] | Map<CborMapKey, CborValue>,
    /** Items (array) or entries (map) still expected; INDEFINITE until a break. */
    public remaining: number,
  ) {}
}

class Parser {
  pos = 0;
  nonDeterministic: string | undefined = undefined;
  private readonly end: number;
  private readonly view: DataView;
  private readonly stack: Frame[] = [];

  constructor(
    private readonly bytes: Uint8Array,
    private readonly maxDepth: number,
    private readonly audit: boolean,
  ) {
    this.end = bytes.length;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Reads the whole item. Each turn of the loop consumes at least one byte. */
  item(): CborValue {
    const { bytes, stack } = this;
    for (;;) {
      const start = this.pos;
      if (start >= this.end) this.fail('truncated', start === 0 ? 'empty input' : 'input ends inside an item', start);
      const initial = bytes[start] ?? 0;
      this.pos = start + 1;
      const major = initial >> 5;
      const ai = initial & 0x1f;
      const top = stack[stack.length - 1];
      let value: CborValue;

      if (initial === 0xff) {
        // RFC 8949 3.2.1: a break only ends an indefinite-length array or map, never mid-entry.
        if (top === undefined || top.remaining !== INDEFINITE) this.fail('break', 'break outside an indefinite-length array or map', start);
        if (top.hasKey) this.fail('break', 'break between a map key and its value', start);
        stack.pop();
        value = top.container;
      } else {
        if (ai >= 28 && ai <= 30) this.fail('reserved', `reserved additional information ${ai}`, start);
        const expectingKey = top !== undefined && top.container instanceof Map && !top.hasKey;
        if (expectingKey && major !== 0 && major !== 1 && major !== 3) {
          this.fail('key-type', `map keys must be integers or text strings, got a ${MAJOR_NAMES[major] ?? 'value'}`, start);
        }
        switch (major) {
          case 0:
            value = this.unsigned(ai, start);
            break;
          case 1:
            value = this.negative(ai, start);
            break;
          case 2:
            value = this.byteString(ai, start);
            break;
          case 3:
            value = this.textString(ai, start);
            break;
          case 4:
          case 5: {
            if (stack.length >= this.maxDepth) this.fail('depth', `nesting deeper than ${this.maxDepth} levels`, start);
            const length = this.containerLength(major, ai, start);
            const frame = new Frame(major === 4 ? [] : new Map<CborMapKey, CborValue>(), length);
            if (length !== 0) {
              stack.push(frame);
              continue;
            }
            value = frame.container;
            break;
          }
          case 6:
            value = this.tagged(ai, start);
            break;
          default:
            value = this.simpleOrFloat(ai, start);
        }
        if (expectingKey) {
          this.acceptKey(top, value, start);
          continue;
        }
      }

      // Attach the finished value to its parent; a parent that is thereby complete is itself
      // a finished value for the next parent up.
      for (;;) {
        const parent = stack[stack.length - 1];
        if (parent === undefined) return value;
        const { container } = parent;
        if (container instanceof Map) {
          // Containers never sit in key position: their heads were refused as keys above.
          if (!parent.hasKey) this.fail('key-type', 'map keys must be integers or text strings', start);
          container.set(parent.key, value);
          parent.hasKey = false;
        } else {
          container.push(value);
        }
        if (parent.remaining === INDEFINITE || --parent.remaining > 0) break;
        stack.pop();
        value = container;
      }
    }
  }

  private acceptKey(frame: Frame, key: CborValue, start: number): void {
    if (typeof key !== 'number' && typeof key !== 'string') {
      this.fail('key-type', 'map keys must be integers or text strings', start);
    }
    // RFC 8949 5.6: a map with duplicate keys is not valid; 1 encoded as 0x01 and as 0x1801 is the same key.
    if ((frame.container as Map<CborMapKey, CborValue>).has(key)) this.fail('duplicate-key', `duplicate map key ${describeKey(key)}`, start);
    if (this.audit && this.nonDeterministic === undefined) {
      if (frame.previousKeyEnd >= 0 && compareEncoded(this.bytes, frame.previousKeyStart, frame.previousKeyEnd, start, this.pos) >= 0) {
        this.flag(`map key ${describeKey(key)} is not in RFC 8949 4.2.1 order`, start);
      }
      frame.previousKeyStart = start;
      frame.previousKeyEnd = this.pos;
    }
    frame.key = key;
    frame.hasKey = true;
  }

  /** The argument of a head with additional information 0..27 (RFC 8949 3). */
  private argument(ai: number, start: number): number {
    if (ai < 24) return ai;
    const pos = this.pos;
    let value: number;
    switch (ai) {
      case 24:
        this.need(1, start);
        value = this.bytes[pos] ?? 0;
        this.pos = pos + 1;
        if (this.audit && value < 24) this.flag('argument not in shortest form', start);
        return value;
      case 25:
        this.need(2, start);
        value = this.view.getUint16(pos);
        this.pos = pos + 2;
        if (this.audit && value < 0x100) this.flag('argument not in shortest form', start);
        return value;
      case 26:
        this.need(4, start);
        value = this.view.getUint32(pos);
        this.pos = pos + 4;
        if (this.audit && value < 0x10000) this.flag('argument not in shortest form', start);
        return value;
      default: {
        this.need(8, start);
        const high = this.view.getUint32(pos);
        this.pos = pos + 8;
        if (this.audit && high === 0) this.flag('argument not in shortest form', start);
        // Exact up to 2^53; above that only ever compared with smaller limits, so rounding is harmless.
        return high * TWO_POW_32 + this.view.getUint32(pos + 4);
      }
    }
  }

  private unsigned(ai: number, start: number): number {
    if (ai === 31) this.fail('reserved', 'an integer cannot have indefinite length', start);
    const value = this.argument(ai, start);
    if (value > Number.MAX_SAFE_INTEGER) this.fail('integer-range', 'integer outside the safe range ±(2^53-1)', start);
    return value;
  }

  private negative(ai: number, start: number): number {
    if (ai === 31) this.fail('reserved', 'an integer cannot have indefinite length', start);
    const n = this.argument(ai, start);
    // The value is -1 - n, which is a safe integer only for n <= 2^53 - 2.
    if (n >= Number.MAX_SAFE_INTEGER) this.fail('integer-range', 'integer outside the safe range ±(2^53-1)', start);
    return -1 - n;
  }

  private containerLength(major: number, ai: number, start: number): number {
    if (ai === 31) {
      if (this.audit) this.flag('indefinite-length ' + (major === 4 ? 'array' : 'map'), start);
      return INDEFINITE;
    }
    const length = this.argument(ai, start);
    // Every item takes at least one byte: refuse impossible counts before allocating anything.
    const minimum = major === 4 ? length : length * 2;
    if (minimum > this.end - this.pos) {
      this.fail('truncated', `declared ${length} ${major === 4 ? 'items' : 'entries'} but only ${this.end - this.pos} bytes remain`, start);
    }
    return length;
  }

  private byteString(ai: number, start: number): Uint8Array {
    if (ai !== 31) {
      const length = this.stringLength(ai, start);
      const out = this.bytes.slice(this.pos, this.pos + length);
      this.pos += length;
      return out;
    }
    if (this.audit) this.flag('indefinite-length byte string', start);
    // Offsets and lengths of the chunks, copied into one array once the total is known.
    const chunks: number[] = [];
    let total = 0;
    for (;;) {
      const chunkStart = this.chunkHead(2, start);
      if (chunkStart < 0) break;
      const length = this.stringLength((this.bytes[chunkStart] ?? 0) & 0x1f, chunkStart);
      chunks.push(this.pos, length);
      total += length;
      this.pos += length;
    }
    const out = new Uint8Array(total);
    let at = 0;
    for (let i = 0; i < chunks.length; i += 2) {
      const offset = chunks[i] ?? 0;
      const length = chunks[i + 1] ?? 0;
      out.set(this.bytes.subarray(offset, offset + length), at);
      at += length;
    }
    return out;
  }

  private textString(ai: number, start: number): string {
    if (ai !== 31) {
      const length = this.stringLength(ai, start);
      const text = this.utf8(this.pos, length, start);
      this.pos += length;
      return text;
    }
    if (this.audit) this.flag('indefinite-length text string', start);
    // RFC 8949 3.2.3: each chunk is a definite text string, so each must be valid UTF-8 on its own.
    let text = '';
    for (;;) {
      const chunkStart = this.chunkHead(3, start);
      if (chunkStart < 0) break;
      const length = this.stringLength((this.bytes[chunkStart] ?? 0) & 0x1f, chunkStart);
      text += this.utf8(this.pos, length, chunkStart);
      this.pos += length;
    }
    return text;
  }

  /**
   * Reads the head byte of the next chunk of an indefinite-length string of `major`: returns its
   * offset, or -1 at the break. RFC 8949 3.2.3: chunks are definite strings of the same major type.
   */
  private chunkHead(major: number, start: number): number {
    const chunkStart = this.pos;
    if (chunkStart >= this.end) this.fail('truncated', 'indefinite-length string has no break', start);
    const initial = this.bytes[chunkStart] ?? 0;
    this.pos = chunkStart + 1;
    if (initial === 0xff) return -1;
    const kind = major === 2 ? 'byte string' : 'text string';
    if (initial >> 5 !== major || (initial & 0x1f) === 31) {
      this.fail('indefinite-chunk', `a chunk of an indefinite-length ${kind} must be a definite-length ${kind}`, chunkStart);
    }
    if ((initial & 0x1f) >= 28) this.fail('reserved', `reserved additional information ${initial & 0x1f}`, chunkStart);
    return chunkStart;
  }

  /** The length of a definite string, checked against the remaining input before any copy. */
  private stringLength(ai: number, start: number): number {
    const length = this.argument(ai, start);
    if (length > this.end - this.pos) {
      this.fail('truncated', `declared length ${length} but only ${this.end - this.pos} bytes remain`, start);
    }
    return length;
  }

  private utf8(offset: number, length: number, start: number): string {
    const { bytes } = this;
    if (length <= ASCII_FAST_PATH) {
      let text = '';
      let i = offset;
      const stop = offset + length;
      for (; i < stop; i++) {
        const byte = bytes[i] ?? 0;
        if (byte >= 0x80) break;
        text += String.fromCharCode(byte);
      }
      if (i === stop) return text;
    }
    try {
      return UTF8.decode(bytes.subarray(offset, offset + length));
    } catch {
      return this.fail('utf8', 'text string is not valid UTF-8', start);
    }
  }

  /** wire-format.md sections 2 and 4: the only tag is 0, and only around a date-time text. */
  private tagged(ai: number, start: number): CborDateTag {
    if (ai === 31) this.fail('reserved', 'a tag cannot have indefinite length', start);
    const tag = this.argument(ai, start);
    if (this.audit) this.flag('tags are not part of the deterministic form', start);
    if (tag !== 0) this.fail('tag', `tag ${tag} is not allowed (only tag 0 around a date-time text string)`, start);
    const inner = this.pos;
    if (inner >= this.end) this.fail('truncated', 'input ends after tag 0', start);
    const initial = this.bytes[inner] ?? 0;
    if (initial >> 5 !== 3) this.fail('tag', 'tag 0 must wrap a text string', inner);
    const innerAi = initial & 0x1f;
    if (innerAi >= 28 && innerAi <= 30) this.fail('reserved', `reserved additional information ${innerAi}`, inner);
    this.pos = inner + 1;
    return new CborDateTag(this.textString(innerAi, inner));
  }

  private simpleOrFloat(ai: number, start: number): CborValue {
    const pos = this.pos;
    let value: number;
    switch (ai) {
      case 20:
        return false;
      case 21:
        return true;
      case 22:
        return null;
      case 23:
        return this.fail('simple', 'undefined is not allowed', start);
      case 24:
        this.need(1, start);
        return this.fail('simple', `simple value ${this.bytes[pos] ?? 0} is not allowed`, start);
      case 25:
        this.need(2, start);
        value = halfToNumber(this.view.getUint16(pos));
        this.pos = pos + 2;
        break;
      case 26:
        this.need(4, start);
        value = this.view.getFloat32(pos);
        this.pos = pos + 4;
        break;
      case 27:
        this.need(8, start);
        value = this.view.getFloat64(pos);
        this.pos = pos + 8;
        break;
      default:
        return this.fail('simple', `simple value ${ai} is not allowed`, start);
    }
    if (!Number.isFinite(value)) this.fail('float', 'NaN and Infinity are not allowed', start);
    if (this.audit) {
      if (ai !== 27) this.flag(`${ai === 25 ? 'half' : 'single'}-precision float`, start);
      else if (Number.isInteger(value)) this.flag('integral number encoded as a float', start);
    }
    return new CborFloat(value);
  }

  private need(count: number, start: number): void {
    if (count > this.end - this.pos) this.fail('truncated', 'input ends inside an item head', start);
  }

  private flag(reason: string, offset: number): void {
    if (this.nonDeterministic === undefined) this.nonDeterministic = `${reason} (byte ${offset})`;
  }

  private fail(rule: string, detail: string, offset: number): never {
    throw new CpnpDecodeError(`cbor.${rule}`, this.path(), `${detail} (byte ${offset})`);
  }

  /** Where the parser is, as array indexes and map keys, e.g. `[15][0].nodes[1]`. */
  private path(): string {
    let path = '';
    for (const frame of this.stack) {
      const { container } = frame;
      if (!(container instanceof Map)) path += `[${container.length}]`;
      else if (!frame.hasKey) break;
      else if (typeof frame.key === 'number') path += `[${frame.key}]`;
      else path += path ? `.${frame.key}` : frame.key;
    }
    return path;
  }
}

/** IEEE 754 binary16 (RFC 8949 appendix D). */
function halfToNumber(half: number): number {
  const exponent = (half >> 10) & 0x1f;
  const mantissa = half & 0x3ff;
  let magnitude: number;
  if (exponent === 0) magnitude = mantissa * 2 ** -24;
  else if (exponent !== 31) magnitude = (mantissa + 1024) * 2 ** (exponent - 25);
  else magnitude = mantissa === 0 ? Infinity : NaN;
  return half & 0x8000 ? -magnitude : magnitude;
}

/** RFC 8949 4.2.1 order of two encoded keys: shorter first, then bytewise. */
function compareEncoded(bytes: Uint8Array, aStart: number, aEnd: number, bStart: number, bEnd: number): number {
  const aLength = aEnd - aStart;
  const bLength = bEnd - bStart;
  if (aLength !== bLength) return aLength - bLength;
  for (let i = 0; i < aLength; i++) {
    const diff = (bytes[aStart + i] ?? 0) - (bytes[bStart + i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

function describeKey(key: CborMapKey): string {
  if (typeof key === 'number') return String(key);
  return JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}…` : key);
}
