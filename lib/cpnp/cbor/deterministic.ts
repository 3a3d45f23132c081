import { isCpnpDecodeError } from '../errors';
import { decodeCborAudited, type CborDecodeOptions } from './decoder';
import { type Encodable, type EncodableKey } from './encoder';
import { CborDateTag, CborFloat, type CborValue } from './values';

/**
 * The deterministic form of wire-format.md section 2, seen from the receiving side: whether
 * some bytes are exactly what encodeCbor would produce for the data they carry.
 */

export type DeterminismCheck = { ok: true } | { ok: false; reason: string };

/**
 * ok iff `bytes` decode (decodeCbor rules and limits) and are the deterministic encoding:
 * definite lengths, shortest-form heads, no tags, floats only as float64 with a non-integral
 * value, and map keys in RFC 8949 4.2.1 order. Equivalently, encodeCbor(toEncodable(decoded))
 * gives back `bytes`. The reason names the first departure and its byte offset.
 */
export function checkDeterministic(bytes: Uint8Array, options?: CborDecodeOptions): DeterminismCheck {
  let nonDeterministic: string | undefined;
  try {
    nonDeterministic = decodeCborAudited(bytes, options).nonDeterministic;
  } catch (error) {
    if (isCpnpDecodeError(error)) return { ok: false, reason: `not decodable (${error.rule}): ${error.message}` };
    throw error;
  }
  return nonDeterministic === undefined ? { ok: true } : { ok: false, reason: nonDeterministic };
}

/**
 * The data of a decoded tree as encodeCbor input: floats become plain numbers (an integral one
 * thus becomes an integer) and tag 0 date-times become untagged text (wire-format.md section 4).
 */
export function toEncodable(value: CborValue): Encodable {
  if (value instanceof CborFloat) return value.value;
  if (value instanceof CborDateTag) return value.text;
  if (Array.isArray(value)) return value.map(toEncodable);
  if (value instanceof Map) {
    const map = new Map<EncodableKey, Encodable>();
    for (const [key, item] of value) map.set(key, toEncodable(item));
    return map;
  }
  return value;
}
