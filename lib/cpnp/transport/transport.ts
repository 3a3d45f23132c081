/**
 * The transport seam of lib/cpnp (RFC 8921 8.1, 13; wire-format.md section 1). Client and
 * server engines only see this interface; production plugs in DTLS, TLS or (loopback only)
 * plain UDP, tests plug in an in-memory lossy bridge.
 *
 * A transport carries whole CPNP messages: one datagram / DTLS record / length-prefixed TLS
 * frame each. It reports who sent a message — the network address and the identity the
 * security layer authenticated (PSK identity, certificate subject) — and never interprets
 * the bytes.
 */
import type { Transport as TransportKind } from '../validation/peer';

export interface Endpoint {
  address: string;
  port: number;
}

export interface Inbound {
  /** The remote endpoint the message came from (source address and port). */
  from: Endpoint;
  /** The local endpoint it arrived on (destination address and port). */
  to: Endpoint;
  /** The authenticated identity of the peer, when the transport authenticates (DTLS, TLS). */
  identity?: string;
  bytes: Uint8Array;
}

export type InboundHandler = (message: Inbound) => void;

export interface MessageTransport {
  readonly kind: TransportKind | 'memory';
  /** The bound local endpoint (after listen/connect resolved the port). */
  local(): Endpoint;
  /** Sends one CPNP message to a peer. Rejects on a hard error (e.g. handshake impossible). */
  send(to: Endpoint, bytes: Uint8Array): Promise<void>;
  /** Registers the receiver of incoming messages; returns an unsubscribe function. */
  onMessage(handler: InboundHandler): () => void;
  close(): Promise<void>;
}
