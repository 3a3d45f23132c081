/**
 * The transport session a CPNP message travels on (RFC 8921 section 8.3): client address and
 * port, server address and port, and the transport. Tables 5 and 6 of RFC 8921 section 10 call
 * the four addresses/ports "source/destination"; we store them by role (client / server) so
 * that both sides compare the same tuple whatever the direction of the message.
 */

/** UDP, DTLS over UDP, TLS over TCP (wire-format.md section 1). */
export const TRANSPORTS = ['udp', 'dtls', 'tls'] as const;
export type Transport = (typeof TRANSPORTS)[number];

export interface PeerTuple {
  transport: Transport;
  clientAddress: string;
  clientPort: number;
  serverAddress: string;
  serverPort: number;
  /**
   * The authenticated identity of the remote party (e.g. the DTLS PSK identity or the TLS
   * certificate subject), when the transport authenticated it (RFC 8921 section 13: client and
   * server must be mutually authenticated). Not part of the 4-tuple: it decides who owns an
   * order (FAIL 2 / 3 on the server side), not which transport session a message is on.
   */
  identity?: string;
}

/** The parts of a tuple that must match for a message to belong to a transport session. */
export const FOUR_TUPLE_PARTS = ['transport', 'clientAddress', 'clientPort', 'serverAddress', 'serverPort'] as const;
export type FourTuplePart = (typeof FOUR_TUPLE_PARTS)[number];

export function isPort(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= 65535;
}

const MAPPED_V4 = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/;

/**
 * A canonical text form of an IP address, so that "2001:DB8::1", "2001:db8:0:0::1" and
 * "::ffff:192.0.2.1" (an IPv4 client seen on a dual-stack socket) compare equal to the forms a
 * socket reports elsewhere. Text that is not an IP address is only lowercased.
 */
export function normalizeAddress(address: string): string {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  let host: string;
  try {
    // The WHATWG URL parser canonicalizes IPv4 and IPv6 literals (RFC 5952 form for IPv6).
    host = new URL(bare.includes(':') ? `http://[${bare}]/` : `http://${bare}/`).hostname;
  } catch {
    return bare.toLowerCase();
  }
  if (host.startsWith('[')) host = host.slice(1, -1);
  const mapped = MAPPED_V4.exec(host);
  if (mapped) {
    const hi = parseInt(mapped[1] ?? '0', 16);
    const lo = parseInt(mapped[2] ?? '0', 16);
    return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  return host;
}

/** The first part of the 4-tuple (plus transport) that differs, or undefined when they match. */
export function fourTupleMismatch(a: PeerTuple, b: PeerTuple): FourTuplePart | undefined {
  if (a.transport !== b.transport) return 'transport';
  if (normalizeAddress(a.clientAddress) !== normalizeAddress(b.clientAddress)) return 'clientAddress';
  if (a.clientPort !== b.clientPort) return 'clientPort';
  if (normalizeAddress(a.serverAddress) !== normalizeAddress(b.serverAddress)) return 'serverAddress';
  if (a.serverPort !== b.serverPort) return 'serverPort';
  return undefined;
}

/** Same transport session (RFC 8921 8.3); the authenticated identity is not compared. */
export function sameFourTuple(a: PeerTuple, b: PeerTuple): boolean {
  return fourTupleMismatch(a, b) === undefined;
}

function hostPort(address: string, port: number): string {
  const host = normalizeAddress(address);
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A stable map key for the transport session, e.g. "dtls 192.0.2.1:40000>198.51.100.7:7777". */
export function fourTupleKey(p: PeerTuple): string {
  return `${p.transport} ${hostPort(p.clientAddress, p.clientPort)}>${hostPort(p.serverAddress, p.serverPort)}`;
}

/** Human-readable form for logs (RFC 8921 12.1 asks servers to log the client's address). */
export function describePeer(p: PeerTuple): string {
  const who = p.identity === undefined ? '' : ` (${p.identity})`;
  return `${p.transport} client ${hostPort(p.clientAddress, p.clientPort)}${who} - server ${hostPort(p.serverAddress, p.serverPort)}`;
}
