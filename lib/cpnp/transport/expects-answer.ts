import { peekKeys } from '../engine/peek';
import { Method } from '../method';

/**
 * Whether the server answers a message a CPNP client sends, for the DTLS client's liveness
 * check (dtls-client.ts `expectsAnswer`). A client's PROCESSING (it is handling an OFFER,
 * Figure 6), ACK (more time granted, 9.2.6) and FAIL (more time refused, 9.2.10) end an exchange:
 * the server sends nothing back. Every other message, and anything unreadable, is presumed to
 * expect an answer (the safe side: silence after it may mean a dead association).
 */
const NO_ANSWER = new Set<number>([Method.PROCESSING, Method.ACK, Method.FAIL]);

export function clientMessageExpectsAnswer(bytes: Uint8Array): boolean {
  const method = peekKeys(bytes)?.method;
  return method === undefined || !NO_ANSWER.has(method);
}
