/**
 * The digest stored for every message received or sent (RFC 8921 8.11: "message digest
 * persisted"): SHA-256 of the exact bytes on the wire, lowercase hex. Storing the digest rather
 * than the bytes keeps the log small and still proves which message was exchanged.
 */
import { createHash } from 'node:crypto';

export function messageDigest(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
