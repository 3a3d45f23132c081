import { encodeCbor, type Encodable } from '../cbor/encoder';
import type { Cpd } from './types';

/**
 * CPD equality as RFC 8921 10.1/10.2 need it ("the Accepted CPD must match the Offered CPD"):
 * two CPDs are equal when their deterministic CBOR encodings (wire-format.md section 2) are the
 * same bytes. Key order, -0 versus 0 and absent versus undefined properties therefore do not
 * matter, while every value, list order included, does.
 */

/** The CPD tree as the encoder's input type; a CPD holds only JSON-like values. */
function toEncodable(value: unknown): Encodable {
  if (value === null || typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') return value;
  if (Array.isArray(value)) return value.map(toEncodable);
  if (typeof value === 'object') {
    const out: Record<string, Encodable> = {};
    for (const [key, item] of Object.entries(value)) {
      if (item !== undefined) out[key] = toEncodable(item);
    }
    return out;
  }
  throw new TypeError(`a CPD cannot hold a ${typeof value}`);
}

/** The deterministic CBOR bytes of a CPD (the value of key 15 on the wire). */
export function cpdBytes(cpd: Cpd): Uint8Array {
  return encodeCbor(toEncodable(cpd));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** True when both CPDs encode to the same deterministic bytes. */
export function cpdEquals(a: Cpd, b: Cpd): boolean {
  return sameBytes(cpdBytes(a), cpdBytes(b));
}
