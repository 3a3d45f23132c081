import {
  connect as tlsConnect,
  createServer,
  type PeerCertificate,
  type SecureVersion,
  type Server,
  type TLSSocket,
} from 'node:tls';
import { MAX_MESSAGE_SIZE } from '../message';
import { normalizeAddress } from '../validation/peer';
import { encodeFrame, FrameDecoder, FramingError } from './framing';
import { unbracket } from './loopback';
import type { Endpoint, Inbound, InboundHandler, MessageTransport } from './transport';
import type { WarnLogger } from './udp';

/**
 * TLS over TCP (RFC 8921 8.1 and 13; wire-format.md section 1): the stream alternative to DTLS,
 * preferred when CPDs are large. Both sides authenticate with X.509 certificates issued by a
 * configured CA (mutual authentication, RFC 8921 section 13); messages are length-prefixed
 * (framing.ts). A client keeps one connection per server and reuses it; the server answers on
 * the connection a request came in on, which keeps RFC 8.1's "reply to the source port" rule.
 */

/** PEM (or DER) material, as node:tls takes it. */
type Pem = string | Buffer | (string | Buffer)[];

export interface TlsCredentials {
  /** This side's private key. */
  key: Pem;
  /** This side's certificate chain. */
  cert: Pem;
  /** The CA(s) the peer's certificate must chain to; the system store is NOT used. */
  ca: Pem;
}

/** RFC 7525 section 4.2: TLS 1.2 only with AEAD ECDHE suites; TLS 1.3 suites are all AEAD. */
export const TLS_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** TLS 1.2 at least (RFC 7525); node negotiates 1.3 whenever both sides have it. */
const MIN_VERSION: SecureVersion = 'TLSv1.2';

/**
 * The identity a certificate proves: its subject CN, or else its first subjectAltName value
 * (DNS name, IP address, URI or e-mail), or undefined for a certificate with neither.
 */
export function certificateIdentity(cert: PeerCertificate | undefined): string | undefined {
  if (!cert || Object.keys(cert).length === 0) return undefined;
  const cn: unknown = (cert.subject as Record<string, unknown> | undefined)?.CN;
  if (typeof cn === 'string' && cn !== '') return cn;
  if (Array.isArray(cn) && typeof cn[0] === 'string') return cn[0];
  const san = cert.subjectaltname?.split(',')[0]?.trim();
  if (!san) return undefined;
  const colon = san.indexOf(':');
  return colon < 0 ? san : san.slice(colon + 1);
}

function endpointKey(e: Endpoint): string {
  return `${normalizeAddress(unbracket(e.address))}|${e.port}`;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * One authenticated TLS connection carrying frames. A framing error (oversized or empty frame)
 * destroys the connection: the byte stream cannot be trusted any further (wire-format.md 1).
 */
class FramedConnection {
  private readonly decoder = new FrameDecoder(MAX_MESSAGE_SIZE);
  readonly remote: Endpoint;
  readonly local: Endpoint;
  readonly identity: string | undefined;

  constructor(
    readonly socket: TLSSocket,
    deliver: (message: Inbound) => void,
    onBadStream: (error: FramingError) => void,
  ) {
    this.remote = { address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 };
    this.local = { address: socket.localAddress ?? '', port: socket.localPort ?? 0 };
    this.identity = certificateIdentity(socket.getPeerCertificate());
    socket.on('data', (chunk: Buffer) => {
      let frames: readonly Uint8Array[];
      try {
        frames = this.decoder.push(chunk);
      } catch (error) {
        if (!(error instanceof FramingError)) throw error;
        frames = error.framesBefore;
        for (const bytes of frames) deliver(this.inbound(bytes));
        onBadStream(error);
        socket.destroy();
        return;
      }
      for (const bytes of frames) deliver(this.inbound(bytes));
    });
  }

  private inbound(bytes: Uint8Array): Inbound {
    return { from: { ...this.remote }, to: { ...this.local }, identity: this.identity, bytes };
  }

  write(bytes: Uint8Array): Promise<void> {
    const frame = encodeFrame(bytes);
    return new Promise<void>((resolve, reject) => {
      if (this.socket.destroyed) {
        reject(new Error('TLS connection is closed'));
        return;
      }
      this.socket.write(frame, (error) => (error ? reject(error) : resolve()));
    });
  }
}

/** Fan-out of inbound messages to the registered handlers, isolating their exceptions. */
class Handlers {
  private readonly set = new Set<InboundHandler>();
  constructor(private readonly logger: WarnLogger) {}

  add(handler: InboundHandler): () => void {
    this.set.add(handler);
    return () => {
      this.set.delete(handler);
    };
  }

  emit(message: Inbound): void {
    for (const handler of this.set) {
      try {
        handler(message);
      } catch (error) {
        this.logger.warn(`cpnp tls: message handler threw: ${errorText(error)}`);
      }
    }
  }

  clear(): void {
    this.set.clear();
  }
}

// --- server ----------------------------------------------------------------------------------

export interface TlsServerOptions extends TlsCredentials {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** Closes a connection idle that long; 0 (default) never, so that an OFFER that comes much
   * later than the PROCESSING still finds the client's connection (RFC 8921 11.2.1). */
  idleTimeoutMs?: number;
  /** A client must finish its handshake in this time (default 10 s): DoS defence, RFC 13. */
  handshakeTimeoutMs?: number;
  /** Concurrent connections accepted (default 1024): DoS defence, RFC 13. */
  maxConnections?: number;
  logger?: WarnLogger;
}

export class TlsServerTransport implements MessageTransport {
  readonly kind = 'tls' as const;
  private readonly connections = new Map<string, FramedConnection>();
  private readonly handlers: Handlers;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly server: Server,
    private readonly logger: WarnLogger,
  ) {
    this.handlers = new Handlers(logger);
  }

  /** Starts listening; resolves once the port is bound. */
  static async listen(options: TlsServerOptions): Promise<TlsServerTransport> {
    const logger = options.logger ?? console;
    const server = createServer({
      key: options.key,
      cert: options.cert,
      ca: options.ca,
      // RFC 8921 section 13: "the client and the server must be mutually authenticated".
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: MIN_VERSION,
      ciphers: TLS_CIPHERS,
      honorCipherOrder: true,
      handshakeTimeout: options.handshakeTimeoutMs ?? 10_000,
    });
    server.maxConnections = options.maxConnections ?? 1024;
    const transport = new TlsServerTransport(server, logger);
    server.on('secureConnection', (socket) => transport.accept(socket, options.idleTimeoutMs ?? 0));
    server.on('tlsClientError', (error, socket) => {
      logger.warn(`cpnp tls server: handshake with ${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'} failed: ${error.message}`);
    });
    server.on('error', (error) => logger.warn(`cpnp tls server: ${error.message}`));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, unbracket(options.host), () => {
        server.off('error', reject);
        resolve();
      });
    });
    return transport;
  }

  local(): Endpoint {
    const address = this.server.address();
    if (address === null || typeof address === 'string') return { address: '', port: 0 };
    return { address: address.address, port: address.port };
  }

  /** Sends on the connection the peer opened; a server cannot open one to a client. */
  async send(to: Endpoint, bytes: Uint8Array): Promise<void> {
    if (this.closing) throw new Error('TLS server transport is closed');
    const connection = this.connections.get(endpointKey(to));
    if (!connection) throw new Error(`no TLS connection from ${to.address}:${to.port} (it closed, or never existed)`);
    await connection.write(bytes);
  }

  onMessage(handler: InboundHandler): () => void {
    return this.handlers.add(handler);
  }

  /** Authenticated identities of the connected clients, by "address|port" (diagnostics). */
  connectedPeers(): { endpoint: Endpoint; identity: string | undefined }[] {
    return [...this.connections.values()].map((c) => ({ endpoint: { ...c.remote }, identity: c.identity }));
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.handlers.clear();
      this.server.close(() => resolve());
      for (const c of this.connections.values()) c.socket.destroy();
      this.connections.clear();
    });
    return this.closing;
  }

  private accept(socket: TLSSocket, idleTimeoutMs: number): void {
    // rejectUnauthorized already refused unverified chains; this guards against a change there.
    if (!socket.authorized) {
      this.logger.warn(`cpnp tls server: unauthorized client ${socket.remoteAddress ?? '?'}: ${String(socket.authorizationError)}`);
      socket.destroy();
      return;
    }
    socket.setKeepAlive(true, 60_000);
    if (idleTimeoutMs > 0) socket.setTimeout(idleTimeoutMs, () => socket.destroy());
    const connection = new FramedConnection(
      socket,
      (m) => this.handlers.emit(m),
      (error) => this.logger.warn(`cpnp tls server: closing ${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}: ${error.message}`),
    );
    const key = endpointKey(connection.remote);
    this.connections.set(key, connection);
    socket.on('error', (error) => this.logger.warn(`cpnp tls server: connection ${key}: ${error.message}`));
    socket.on('close', () => {
      if (this.connections.get(key) === connection) this.connections.delete(key);
    });
  }
}

// --- client ----------------------------------------------------------------------------------

export interface TlsClientOptions extends TlsCredentials {
  /**
   * The name the server certificate must carry (DNS-ID, RFC 8921 8.1 / RFC 6125), also sent as
   * SNI. Default: the destination address, which then must appear as an IP SAN.
   */
  serverName?: string;
  /** Connection plus handshake must finish within this time (default 10 s). */
  connectTimeoutMs?: number;
  /** Closes a connection idle that long; 0 (default) keeps it until the server closes it. */
  idleTimeoutMs?: number;
  logger?: WarnLogger;
}

export class TlsClientTransport implements MessageTransport {
  readonly kind = 'tls' as const;
  private readonly connections = new Map<string, { promise: Promise<FramedConnection>; open?: FramedConnection }>();
  private readonly handlers: Handlers;
  private readonly logger: WarnLogger;
  private lastLocal: Endpoint = { address: '0.0.0.0', port: 0 };
  private closed = false;

  constructor(private readonly options: TlsClientOptions) {
    this.logger = options.logger ?? console;
    this.handlers = new Handlers(this.logger);
  }

  /** The local endpoint of the connection used last (each server has its own connection). */
  local(): Endpoint {
    return { ...this.lastLocal };
  }

  /**
   * The local endpoint of the open connection to `server` (the client half of the RFC 8921 8.3
   * 4-tuple), or undefined while there is none: before the first send, while connecting, and
   * after the connection closed (the next one gets a new TCP port). A client engine then learns
   * it from the first valid response (docs/client-engine.md section 5a).
   */
  localFor(server: Endpoint): Endpoint | undefined {
    const open = this.connections.get(endpointKey(server))?.open;
    return open === undefined || open.socket.destroyed ? undefined : { ...open.local };
  }

  /** Sends one message, opening (or reopening) the connection to `to` when needed. */
  async send(to: Endpoint, bytes: Uint8Array): Promise<void> {
    if (this.closed) throw new Error('TLS client transport is closed');
    if (bytes.length > MAX_MESSAGE_SIZE) throw new RangeError(`message is ${bytes.length} bytes, MAX_MESSAGE_SIZE is ${MAX_MESSAGE_SIZE}`);
    const connection = await this.connection(to);
    this.lastLocal = { ...connection.local };
    await connection.write(bytes);
  }

  onMessage(handler: InboundHandler): () => void {
    return this.handlers.add(handler);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.handlers.clear();
    const pending = [...this.connections.values()].map((entry) => entry.promise);
    this.connections.clear();
    const settled = await Promise.allSettled(pending);
    for (const s of settled) if (s.status === 'fulfilled') s.value.socket.destroy();
  }

  private connection(to: Endpoint): Promise<FramedConnection> {
    const key = endpointKey(to);
    const existing = this.connections.get(key);
    if (existing) return existing.promise;
    // A connection that fails or closes is forgotten, so that the next send opens a new one.
    const forget = () => {
      if (this.connections.get(key) === entry) this.connections.delete(key);
    };
    const entry: { promise: Promise<FramedConnection>; open?: FramedConnection } = { promise: this.open(to, key, forget) };
    this.connections.set(key, entry);
    entry.promise.then(
      (connection) => {
        entry.open = connection;
      },
      forget,
    );
    return entry.promise;
  }

  private open(to: Endpoint, key: string, onClose: () => void): Promise<FramedConnection> {
    const host = unbracket(to.address);
    return new Promise<FramedConnection>((resolve, reject) => {
      const socket = tlsConnect({
        host,
        port: to.port,
        key: this.options.key,
        cert: this.options.cert,
        ca: this.options.ca,
        servername: this.options.serverName,
        rejectUnauthorized: true,
        minVersion: MIN_VERSION,
        ciphers: TLS_CIPHERS,
        timeout: this.options.connectTimeoutMs ?? 10_000,
      });
      const fail = (error: Error) => {
        socket.destroy();
        reject(new Error(`TLS connection to ${host}:${to.port} failed: ${error.message}`));
      };
      socket.once('error', fail);
      socket.once('timeout', () => fail(new Error('timed out')));
      socket.once('secureConnect', () => {
        socket.off('error', fail);
        socket.removeAllListeners('timeout');
        socket.setTimeout(this.options.idleTimeoutMs ?? 0);
        if (this.options.idleTimeoutMs) socket.once('timeout', () => socket.destroy());
        socket.setKeepAlive(true, 60_000);
        const connection = new FramedConnection(
          socket,
          (m) => this.handlers.emit(m),
          (error) => this.logger.warn(`cpnp tls client: closing connection to ${key}: ${error.message}`),
        );
        socket.on('error', (error) => this.logger.warn(`cpnp tls client: connection to ${key}: ${error.message}`));
        socket.on('close', onClose);
        resolve(connection);
      });
    });
  }
}
