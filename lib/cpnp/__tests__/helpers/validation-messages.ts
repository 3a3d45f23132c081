/**
 * Messages for the validation-table tests (validation-client.test.ts, validation-server.test.ts):
 * a well-formed message of any method carrying chosen identifiers, so that each test changes
 * exactly the member a Table 5 / Table 6 check looks at (RFC 8921 section 10).
 */
import type { Cpd } from '../../cpd/types';
import { asDateTime } from '../../date-time';
import type { CpnpMessage } from '../../message';
import { Method, type MethodCode } from '../../method';
import { StatusCode } from '../../status-code';

export const TXID = '00112233445566778899aabbccddeeff';
export const OTHER_HEX = '0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f';
export const NONCE = 'ffeeddccbbaa99887766554433221100';
export const REQUESTED: Cpd = [{ nodes: [{ id: 'ce-a', link: 'pe1:ge-0/0/1' }], capacity: { inMbps: { min: 10 } }, conformance: { policing: 'police', outOfProfile: 'drop' } }];
export const OFFERED: Cpd = [{ nodes: [{ id: 'ce-a', link: 'pe1:ge-0/0/1' }], capacity: { inMbps: 10 }, conformance: { policing: 'police', outOfProfile: 'drop' } }];

export interface Ids {
  seq: number;
  txid: string;
  customerOrderId: string;
  providerOrderId?: string;
  nonce: string;
  cpd?: Cpd;
}

/**
 * A well-formed message of `method` carrying `ids`. Both peers send ACK and FAIL, in different
 * forms; `sender` picks one. The server's ACK carries `ids.cpd` when given (9.2.6) and its FAIL
 * status 1, with the Provider Order Identifier only when given; the client's ACK grants more
 * time (EXPECTED_RESPONSE_TIME, 9.2.2) and its FAIL refuses it (status 7).
 */
export function messageFrom(sender: 'server' | 'client', method: MethodCode, ids: Ids): CpnpMessage {
  const base = { version: 1 as const, seq: ids.seq, txid: ids.txid, customerOrderId: ids.customerOrderId };
  const poid = ids.providerOrderId ?? 'P-1';
  const cpd = ids.cpd ?? OFFERED;
  const at = asDateTime('2030-01-01T00:00:00Z');
  switch (method) {
    case Method.QUOTATION:
      return { ...base, method, cpd };
    case Method.PROCESSING:
      return { ...base, method, providerOrderId: poid };
    case Method.OFFER:
      return { ...base, method, providerOrderId: poid, nonce: ids.nonce, validityOfferTime: at, cpd };
    case Method.ACCEPT:
      return { ...base, method, providerOrderId: poid, nonce: ids.nonce, cpd };
    case Method.DECLINE:
      return { ...base, method, providerOrderId: poid, nonce: ids.nonce };
    case Method.ACK:
      return sender === 'server'
        ? { ...base, method, providerOrderId: poid, ...(ids.cpd === undefined ? {} : { cpd: ids.cpd }) }
        : { ...base, method, providerOrderId: poid, expectedResponseTime: at };
    case Method.CANCEL:
      return { ...base, method, ...(ids.providerOrderId === undefined ? {} : { providerOrderId: ids.providerOrderId }) };
    case Method.WITHDRAW:
      return { ...base, method, providerOrderId: poid, nonce: ids.nonce };
    case Method.UPDATE:
      return { ...base, method, providerOrderId: poid, nonce: ids.nonce, expectedResponseTime: at, cpd };
    case Method.FAIL:
      return sender === 'server'
        ? { ...base, method, statusCode: 1, ...(ids.providerOrderId === undefined ? {} : { providerOrderId: ids.providerOrderId }) }
        : { ...base, method, statusCode: StatusCode.MORE_TIME_REJECTED, providerOrderId: poid };
    case Method.ACTIVATE:
      return { ...base, method, providerOrderId: poid, nonce: ids.nonce, activationSchedule: null };
  }
}

/** `msg` with some members replaced: a message that differs from a valid one in exactly those. */
export function mutate(msg: CpnpMessage, patch: Record<string, unknown>): CpnpMessage {
  return { ...msg, ...patch } as CpnpMessage;
}
