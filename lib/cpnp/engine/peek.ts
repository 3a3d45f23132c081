import { decodeCbor } from '../cbor/decoder';
import { FIELD_KEYS, type Hex16 } from '../message';
import { SchemaReader } from '../schema-reader';
import { SEQ_MAX } from '../sequence';

/**
 * Tolerant extraction of the transaction keys from a message that failed to decode.
 *
 * wire-format.md section 7: a server that cannot decode or validate a message "answers with
 * FAIL statusCode 1 when it can name the transaction (keys 3, 4 and 5 decoded), rate-limited
 * per peer; otherwise it drops the datagram". A FAIL must repeat SEQUENCE_NUMBER,
 * TRANSACTION_ID and CUSTOMER_ORDER_IDENTIFIER (RFC 8921 9.2.10), so the server needs exactly
 * those three, each valid by itself, even when the rest of the message is wrong (an unknown
 * key, a bad CPD, a missing field...).
 *
 * The bytes must still be one well-formed CBOR map (the strict decoder of cbor/decoder.ts);
 * anything that is not, or whose keys 3, 4 and 5 are missing or malformed, cannot be named
 * and yields undefined.
 */
export interface PeekedKeys {
  seq: number;
  txid: Hex16;
  customerOrderId: string;
  /** METHOD_CODE when key 2 is an unsigned integer (whatever its value), for logs. */
  method?: number;
}

const reader = new SchemaReader('cbor');

function attempt<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

export function peekKeys(bytes: Uint8Array): PeekedKeys | undefined {
  const tree = attempt(() => decodeCbor(bytes));
  if (!(tree instanceof Map)) return undefined;
  const seq = attempt(() => reader.uint(tree.get(FIELD_KEYS.seq), 'seq', 0, SEQ_MAX));
  const txid = attempt(() => reader.bytes16(tree.get(FIELD_KEYS.txid), 'txid'));
  const customerOrderId = attempt(() => reader.identifier(tree.get(FIELD_KEYS.customerOrderId), 'customerOrderId'));
  if (seq === undefined || txid === undefined || customerOrderId === undefined) return undefined;
  const method = attempt(() => reader.uint(tree.get(FIELD_KEYS.method), 'method'));
  return { seq, txid, customerOrderId, ...(method === undefined ? {} : { method }) };
}
