/**
 * @cpnp/dtls-server — OpenSSL's DTLS 1.2 PSK server behind a thin native API. The caller owns
 * the UDP socket, the timers and every policy decision (which identities exist, how many
 * associations, when to rotate the cookie secret); this module only runs the protocol.
 */

/** Result of Context.listen(): what to do with a datagram from a peer without an association. */
export interface ListenResult {
  /**
   * 'cookie-sent': `out` holds a HelloVerifyRequest; no state was kept (RFC 6347 4.2.1).
   * 'accepted': the ClientHello carried a valid cookie; `connection` continues the handshake
   *   (call `connection.feed()` with no argument to process the buffered ClientHello).
   * 'dropped': not a ClientHello this server answers.
   * 'error': OpenSSL failed (`error` says why); nothing was kept.
   */
  status: 'cookie-sent' | 'accepted' | 'dropped' | 'error';
  /** Datagrams to send back to the peer. */
  out: Buffer[];
  connection?: Connection;
  error?: string;
}

/** Result of every Connection call that may move the state machine. */
export interface StepResult {
  /** Datagrams to send to the peer, in order. */
  out: Buffer[];
  /** Decrypted application records (one CPNP message each), in order. */
  data: Buffer[];
  /** The handshake has completed (now or earlier). */
  established: boolean;
  /** The association is over (peer close_notify, fatal alert, error): send `out`, then free(). */
  closed: boolean;
  /** The peer sent close_notify (a clean close). */
  peerClosed: boolean;
  /** The PSK lookup found no key for the identity the client offered. */
  unknownIdentity: boolean;
  /** Why the association failed, or why send() did not send. */
  error?: string;
}

export interface ConnectionInfo {
  /** The PSK identity the handshake authenticated (raw bytes), once established. */
  identity: Buffer | null;
  /** IANA name of the negotiated suite, e.g. 'TLS_PSK_WITH_AES_128_GCM_SHA256'. */
  cipher: string | null;
  /** OpenSSL's name of the same suite, e.g. 'PSK-AES128-GCM-SHA256'. */
  cipherOpenssl: string | null;
  /** 'DTLSv1.2' once established. */
  version: string | null;
  /** The ClientHello random (32 bytes) once the ClientHello was processed. */
  clientRandom: Buffer | null;
}

/** One peer's DTLS association. Created by Context.listen() only. */
export declare class Connection {
  private constructor();
  /** Processes one datagram from the peer (or, without one, continues the handshake). */
  feed(datagram?: Uint8Array): StepResult;
  /** Encrypts one application record; `error` is set when it could not be sent. */
  send(data: Uint8Array): StepResult;
  /** Sends close_notify when established; returns the datagrams to send. */
  shutdown(): Buffer[];
  /** Milliseconds until handleTimeout() is due, or -1 when no retransmission timer runs. */
  timeoutMs(): number;
  /** Retransmits the last handshake flight if its timer expired; `closed` after too many. */
  handleTimeout(): StepResult;
  info(): ConnectionInfo;
  /** Frees the OpenSSL objects now. Further calls return closed results. */
  free(): void;
}

export interface ContextOptions {
  /** OpenSSL cipher list, in server preference order. */
  ciphers: string;
  /**
   * Synchronous PSK lookup, called during the handshake with the identity the client offered
   * (raw bytes) and the peer key passed to listen(). Return the key, or undefined/null when
   * the identity is unknown (the handshake then fails with an unknown_psk_identity alert).
   */
  psk: (identity: Buffer, peer: string) => Uint8Array | null | undefined;
  /** Initial cookie secret, at least 16 bytes. */
  cookieSecret: Uint8Array;
}

/** One DTLS 1.2 server configuration and its stateless ClientHello listener. */
export declare class Context {
  constructor(options: ContextOptions);
  /**
   * Runs DTLSv1_listen on one datagram from `peer` (its "ip:port", the text the cookie HMAC
   * covers). `mtu` is the largest UDP payload a handshake datagram may use.
   */
  listen(peer: string, datagram: Uint8Array, mtu: number): ListenResult;
  /** Makes `secret` current; the current secret becomes the previous one (still accepted). */
  rotateCookieSecret(secret: Uint8Array): void;
  /** The cookie issued to `peer` now: HMAC-SHA256(current secret, peer). */
  cookieFor(peer: string): Buffer | null;
  /** Whether a cookie from `peer` verifies against the current or the previous secret. */
  verifyCookie(peer: string, cookie: Uint8Array): boolean;
  /** Frees the SSL_CTX and wipes the secrets; live connections keep working until freed. */
  free(): void;
}

/** OpenSSL version string of the library the addon runs on (Node's own). */
export declare const opensslVersion: string;
