import { isIP } from 'node:net';
import { normalizeAddress } from '../validation/peer';

/**
 * Loopback addresses. Plain UDP carries CPNP without authentication or encryption, which RFC
 * 8921 section 13 forbids on a network ("authenticated encryption must be used"); udp.ts
 * therefore accepts only addresses that never leave the host unless explicitly overridden.
 *
 * Only IP literals count: a host name is not loopback here (its resolution could change), so
 * callers must pass 127.0.0.1 or ::1 rather than "localhost".
 */

/** True for 127.0.0.0/8, ::1 and the IPv4-mapped form ::ffff:127.x.y.z (any bracketing/case). */
export function isLoopbackAddress(address: string): boolean {
  const bare = unbracket(address);
  const family = isIP(bare);
  if (family === 0) return false;
  // normalizeAddress turns IPv4-mapped IPv6 into dotted IPv4 and IPv6 into its RFC 5952 form.
  const canonical = normalizeAddress(bare);
  if (isIP(canonical) === 4) return canonical.split('.')[0] === '127';
  return canonical === '::1';
}

/** True for the unspecified ("any") addresses 0.0.0.0 and ::, which bind every interface. */
export function isUnspecifiedAddress(address: string): boolean {
  const bare = unbracket(address);
  if (isIP(bare) === 0) return false;
  const canonical = normalizeAddress(bare);
  return canonical === '0.0.0.0' || canonical === '::';
}

/** The socket family of an IP literal: 'udp6' for IPv6, 'udp4' for IPv4 (and host names). */
export function udpFamilyOf(address: string): 'udp4' | 'udp6' {
  const bare = unbracket(address);
  return isIP(bare) === 6 ? 'udp6' : 'udp4';
}

/** An address without the brackets some configurations put around IPv6 literals. */
export function unbracket(address: string): string {
  return address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
}
