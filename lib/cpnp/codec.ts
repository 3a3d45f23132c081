import { decodeCbor } from './cbor/decoder';
import { withCborWriter, type CborWriter } from './cbor/encoder';
import { CpnpDecodeError } from './errors';
import { FIELD_KEYS, FIELD_NAMES, MAX_MESSAGE_SIZE, type CpnpMessage } from './message';
import { readMessage } from './message-schema';
import { writeMessage } from './message-writer';
import { SchemaReader } from './schema-reader';

/**
 * The CPNP message codec of wire-format.md: bytes → typed message (strict) and typed message →
 * deterministic bytes. Decoding never throws; it returns a typed error that maps to FAIL status
 * code 1 (Message Validation Error, RFC 8921 Table 4).
 */
export type DecodeResult = { ok: true; message: CpnpMessage } | { ok: false; error: CpnpDecodeError };

const cborReader = new SchemaReader('cbor');
const jsonReader = new SchemaReader('json');

function capture(run: () => CpnpMessage): DecodeResult {
  try {
    return { ok: true, message: run() };
  } catch (error) {
    if (error instanceof CpnpDecodeError) return { ok: false, error };
    // Anything else is a bug in this library, not bad input: surface it as such, still typed.
    return {
      ok: false,
      error: new CpnpDecodeError('internal', '', `internal decoder error: ${error instanceof Error ? error.message : String(error)}`),
    };
  }
}

/** Decodes one CPNP message (one datagram, or one frame of a stream transport). */
export function decodeMessage(bytes: Uint8Array): DecodeResult {
  return capture(() => {
    if (bytes.length > MAX_MESSAGE_SIZE) {
      throw new CpnpDecodeError('size', '', `message is ${bytes.length} bytes, MAX_MESSAGE_SIZE is ${MAX_MESSAGE_SIZE}`);
    }
    return readMessage(decodeCbor(bytes), cborReader);
  });
}

/** Like decodeMessage, but throws the CpnpDecodeError. */
export function decodeMessageOrThrow(bytes: Uint8Array): CpnpMessage {
  const result = decodeMessage(bytes);
  if (!result.ok) throw result.error;
  return result.message;
}

/** Validates the JSON form (wire-format.md section 6) of a message, e.g. from a tool or a log. */
export function messageFromJson(value: unknown): DecodeResult {
  return capture(() => readMessage(value, jsonReader));
}

/** The JSON form of a message: the typed model already is that form; this returns a clean copy. */
export function messageToJson(message: CpnpMessage): CpnpMessage {
  return structuredClone(message);
}

/** The top-level fields in the order of their keys (1..16: one-byte keys, so also RFC 8949 4.2.1 order). */
const FIELDS_BY_KEY = [...FIELD_NAMES].sort((a, b) => FIELD_KEYS[a] - FIELD_KEYS[b]);

/**
 * Encodes a message to its deterministic bytes (wire-format.md section 2). The message is
 * validated as it is written (message-writer.ts, one pass), so this never emits something a
 * conforming peer would reject; an invalid message throws CpnpDecodeError naming the rule.
 */
export function encodeMessage(message: CpnpMessage): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = withCborWriter(writeMessage, message);
  } catch {
    // Off the fast path (an invalid message, or a valid one in a form it does not take, such as
    // a CborFloat number): the reader names the rule broken, or the checked copy is written.
    bytes = withCborWriter(writeCheckedCopy, readMessage(message, jsonReader));
  }
  if (bytes.length > MAX_MESSAGE_SIZE) {
    throw new CpnpDecodeError('size', '', `encoded message is ${bytes.length} bytes, MAX_MESSAGE_SIZE is ${MAX_MESSAGE_SIZE}`);
  }
  return bytes;
}

/** The typed copy readMessage returns, as the wire map: integer keys, txid and nonce as byte strings. */
function writeCheckedCopy(w: CborWriter, message: CpnpMessage): void {
  const checked = message as unknown as Record<string, unknown>;
  let count = 0;
  for (const name of FIELDS_BY_KEY) if (checked[name] !== undefined) count++;
  w.head(5, count);
  for (const name of FIELDS_BY_KEY) {
    const value = checked[name];
    if (value === undefined) continue;
    w.head(0, FIELD_KEYS[name]);
    // Checked by readMessage: 32 lowercase hex digits.
    if (name === 'txid' || name === 'nonce') w.hexBytes(value as string);
    else w.value(value);
  }
}
