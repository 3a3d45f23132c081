import { randomBytes } from 'node:crypto';
import { toHex } from './hex';
import type { Hex16 } from './message';
import { SEQ_MAX, SEQUENCE_HEADROOM } from './sequence';

/**
 * Random values of CPNP: Transaction-IDs (RFC 8921 8.4), nonces (9.1.5) and initial sequence
 * numbers (8.4). The source is injected so tests are deterministic; production code uses
 * cryptoRandom, as RFC 8.4 asks for values generated per RFC 4086 "that cannot be guessed".
 */
export interface RandomSource {
  /** n fresh random bytes. */
  bytes(n: number): Uint8Array;
}

/** The production source: the operating system CSPRNG through node:crypto. */
export const cryptoRandom: RandomSource = {
  bytes: (n) => new Uint8Array(randomBytes(n)),
};

/**
 * A deterministic source for tests and simulations ONLY: its output is predictable from the
 * seed, so it must never produce real Transaction-IDs or nonces (RFC 8921 section 13).
 * Algorithm: mulberry32 over a 32-bit seed.
 */
export function seededRandom(seed: number): RandomSource {
  let state = seed >>> 0;
  const next32 = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  return {
    bytes(n) {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i += 4) {
        const word = next32();
        for (let j = 0; j < 4 && i + j < n; j++) out[i + j] = (word >>> (8 * j)) & 0xff;
      }
      return out;
    },
  };
}

/** TRANSACTION_ID and NONCE are 16 bytes (wire-format.md section 2, keys 4 and 7). */
export const RANDOM_ID_BYTES = 16;

function randomHex16(r: RandomSource): Hex16 {
  const bytes = r.bytes(RANDOM_ID_BYTES);
  if (bytes.length !== RANDOM_ID_BYTES) throw new RangeError(`random source returned ${bytes.length} bytes, wanted 16`);
  return toHex(bytes);
}

/** A fresh Transaction-ID (RFC 8921 8.4), 32 lowercase hex digits. */
export function newTransactionId(r: RandomSource): Hex16 {
  return randomHex16(r);
}

/** A fresh NONCE (RFC 8921 9.1.5; 11.2.3: a new one for each offer after UPDATE). */
export function newNonce(r: RandomSource): Hex16 {
  return randomHex16(r);
}

/**
 * A random first sequence number for a transaction (RFC 8921 8.4: "select a sequence number
 * randomly"), uniform over 0 .. 2^32-1-headroom, so that at least `headroom` more messages
 * fit before 2^32-1 and the transaction never has to wrap (see sequence.ts).
 * Uniform by rejection sampling of 32-bit draws.
 */
export function randomInitialSequence(r: RandomSource, headroom: number = SEQUENCE_HEADROOM): number {
  if (!Number.isInteger(headroom) || headroom < 0 || headroom > SEQ_MAX) {
    throw new RangeError(`headroom must be an integer in 0..${SEQ_MAX}`);
  }
  const range = SEQ_MAX + 1 - headroom; // count of allowed values, 1 .. 2^32
  for (;;) {
    const b = r.bytes(4);
    const value = (((b[0] ?? 0) << 24) | ((b[1] ?? 0) << 16) | ((b[2] ?? 0) << 8) | (b[3] ?? 0)) >>> 0;
    if (value < range) return value;
  }
}
