import { readFile } from 'node:fs/promises';
import { fromHex, toHex } from '../hex';
import { cryptoRandom, type RandomSource } from '../random';

/**
 * The PSK identities a DTLS server accepts. RFC 8921 section 13: client and server must be
 * mutually authenticated — with DTLS PSK both prove they hold the same key. Each identity
 * belongs to one Customer, so the engine can restrict an identity to that Customer's orders.
 *
 * File form (JSON):
 *   { "identities": [ { "identity": "acme", "keyHex": "<32+ hex digits>", "customer": "acme" } ] }
 */

/** Shortest key accepted: 128 bits, the strength of the AES-128 suites it keys. */
export const PSK_MIN_KEY_BYTES = 16;
/** Longest key OpenSSL accepts from a PSK callback (PSK_MAX_PSK_LEN). */
export const PSK_MAX_KEY_BYTES = 512;
/** Identities are 1..128 printable ASCII bytes: they appear in logs and events verbatim. */
export const PSK_MAX_IDENTITY_BYTES = 128;
/** Length of keys made by generatePsk(). */
export const PSK_DEFAULT_KEY_BYTES = 32;

export interface PskEntry {
  readonly identity: string;
  readonly key: Uint8Array;
  readonly customer: string;
}

/** The JSON form of one entry (also what generated configuration files contain). */
export interface PskEntryJson {
  identity: string;
  keyHex: string;
  customer: string;
}

export interface PskTableJson {
  identities: PskEntryJson[];
}

/** A PSK table that cannot be used; `path` locates the problem in the JSON form. */
export class PskTableError extends Error {
  override readonly name = 'PskTableError';

  constructor(
    readonly path: string,
    readonly detail: string,
    /** The file the table came from, when it came from one. */
    readonly file?: string,
  ) {
    super([file, path, detail].filter(Boolean).join(': '));
  }
}

const PRINTABLE = /^[\x20-\x7e]+$/;
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Why `identity` is not a valid PSK identity, or undefined when it is. */
export function identityProblem(identity: string): string | undefined {
  if (identity.length === 0) return 'must not be empty';
  if (identity.length > PSK_MAX_IDENTITY_BYTES) return `must be at most ${PSK_MAX_IDENTITY_BYTES} bytes`;
  if (!PRINTABLE.test(identity)) return 'must be printable ASCII (0x20..0x7e)';
  return undefined;
}

/**
 * The identity a client sent on the wire, as text — only when it is a valid identity (so an
 * identity with odd bytes can never be confused with a configured one after decoding).
 */
export function identityFromBytes(bytes: Uint8Array): string | undefined {
  if (bytes.length === 0 || bytes.length > PSK_MAX_IDENTITY_BYTES) return undefined;
  for (const byte of bytes) if (byte < 0x20 || byte > 0x7e) return undefined;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

function checkKey(key: Uint8Array, path: string): void {
  if (key.length < PSK_MIN_KEY_BYTES) throw new PskTableError(path, `key must be at least ${PSK_MIN_KEY_BYTES} bytes, got ${key.length}`);
  if (key.length > PSK_MAX_KEY_BYTES) throw new PskTableError(path, `key must be at most ${PSK_MAX_KEY_BYTES} bytes, got ${key.length}`);
}

function checkCustomer(customer: string, path: string): void {
  if (customer.length === 0 || customer.length > 128 || CONTROL.test(customer)) {
    throw new PskTableError(path, 'customer must be 1..128 characters without control characters');
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export class PskTable {
  private readonly entries: ReadonlyMap<string, PskEntry>;

  private constructor(entries: Map<string, PskEntry>) {
    this.entries = entries;
  }

  /** A table from entries; throws PskTableError on an invalid or duplicate identity or key. */
  static from(entries: Iterable<PskEntry>): PskTable {
    const map = new Map<string, PskEntry>();
    let i = 0;
    for (const entry of entries) {
      const path = `identities[${i++}]`;
      const problem = identityProblem(entry.identity);
      if (problem) throw new PskTableError(`${path}.identity`, `identity ${problem}`);
      if (map.has(entry.identity)) throw new PskTableError(`${path}.identity`, `duplicate identity "${entry.identity}"`);
      checkKey(entry.key, `${path}.keyHex`);
      checkCustomer(entry.customer, `${path}.customer`);
      map.set(entry.identity, { identity: entry.identity, key: new Uint8Array(entry.key), customer: entry.customer });
    }
    return new PskTable(map);
  }

  /** A table from its JSON form (see the file comment); unknown fields are refused. */
  static fromJson(value: unknown): PskTable {
    if (!isRecord(value)) throw new PskTableError('', 'expected an object { "identities": [...] }');
    for (const field of Object.keys(value)) {
      if (field !== 'identities') throw new PskTableError(field, 'unknown field');
    }
    const list = value.identities;
    if (!Array.isArray(list)) throw new PskTableError('identities', 'expected an array');
    const entries = list.map((item: unknown, i): PskEntry => {
      const path = `identities[${i}]`;
      if (!isRecord(item)) throw new PskTableError(path, 'expected an object');
      for (const field of Object.keys(item)) {
        if (field !== 'identity' && field !== 'keyHex' && field !== 'customer') throw new PskTableError(`${path}.${field}`, 'unknown field');
      }
      const { identity, keyHex, customer } = item;
      if (typeof identity !== 'string') throw new PskTableError(`${path}.identity`, 'expected a string');
      if (typeof keyHex !== 'string') throw new PskTableError(`${path}.keyHex`, 'expected a string');
      if (typeof customer !== 'string') throw new PskTableError(`${path}.customer`, 'expected a string');
      const key = fromHex(keyHex);
      if (key === undefined) throw new PskTableError(`${path}.keyHex`, 'expected an even number of hex digits');
      return { identity, key, customer };
    });
    return PskTable.from(entries);
  }

  /** A table from JSON text. */
  static parse(text: string): PskTable {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new PskTableError('', `not JSON: ${error instanceof Error ? error.message : String(error)}`);
    }
    return PskTable.fromJson(value);
  }

  get size(): number {
    return this.entries.size;
  }

  identities(): string[] {
    return [...this.entries.keys()];
  }

  get(identity: string): PskEntry | undefined {
    return this.entries.get(identity);
  }

  /** A copy of the key of `identity` (the PSK callback's answer), or undefined. */
  keyFor(identity: string): Uint8Array | undefined {
    const entry = this.entries.get(identity);
    return entry ? new Uint8Array(entry.key) : undefined;
  }

  /** The Customer an authenticated identity acts for. */
  customerOf(identity: string): string | undefined {
    return this.entries.get(identity)?.customer;
  }

  toJson(): PskTableJson {
    return {
      identities: [...this.entries.values()].map((e) => ({ identity: e.identity, keyHex: toHex(e.key), customer: e.customer })),
    };
  }
}

/** Reads and validates a PSK table file (JSON, see the file comment). */
export async function loadPskTable(path: string): Promise<PskTable> {
  const text = await readFile(path, 'utf8');
  try {
    return PskTable.parse(text);
  } catch (error) {
    if (error instanceof PskTableError) throw new PskTableError(error.path, error.detail, path);
    throw error;
  }
}

/** A fresh random PSK (default 32 bytes) from a CSPRNG; give both sides the same bytes. */
export function generatePsk(length = PSK_DEFAULT_KEY_BYTES, random: RandomSource = cryptoRandom): Uint8Array {
  if (!Number.isInteger(length) || length < PSK_MIN_KEY_BYTES || length > PSK_MAX_KEY_BYTES) {
    throw new RangeError(`PSK length must be an integer in ${PSK_MIN_KEY_BYTES}..${PSK_MAX_KEY_BYTES}`);
  }
  return random.bytes(length);
}
