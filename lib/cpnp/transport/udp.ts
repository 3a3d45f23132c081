import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { MAX_MESSAGE_SIZE } from '../message';
import { isLoopbackAddress, udpFamilyOf, unbracket } from './loopback';
import type { Endpoint, InboundHandler, MessageTransport } from './transport';

/**
 * Plain UDP transport: one CPNP message per datagram (wire-format.md section 1).
 *
 * FOR LOOPBACK DEVELOPMENT AND TESTS ONLY. RFC 8921 section 13 requires mutual authentication
 * and authenticated encryption, which plain UDP has neither of; production uses DTLS
 * (dtls-client.ts / dtls-server.ts) or TLS (tls.ts). The transport therefore refuses to bind
 * to, or send to, anything but a loopback address unless `insecureAllowNonLoopback` is set,
 * and always logs a warning.
 *
 * The same socket serves both roles: a client binds an ephemeral port and uses it both as the
 * source port of its requests and to receive the responses (RFC 8921 8.1, 11.1.1: "the CPNP
 * client must listen on the same port number that it used to send"); a server binds its port.
 */

export type WarnLogger = Pick<Console, 'warn'>;

export interface UdpTransportOptions {
  /** Local address to bind; default 127.0.0.1. Must be loopback unless insecureAllowNonLoopback. */
  host?: string;
  /** Local port; 0 (the default) picks an ephemeral port, as a client does. */
  port?: number;
  /** Allows non-loopback addresses. Insecure: RFC 8921 section 13 forbids unprotected CPNP. */
  insecureAllowNonLoopback?: boolean;
  logger?: WarnLogger;
}

/** Thrown (before any packet leaves) when a non-loopback address is used without the override. */
export class InsecureTransportError extends Error {
  override readonly name = 'InsecureTransportError';
}

export class UdpTransport implements MessageTransport {
  readonly kind = 'udp' as const;
  private readonly handlers = new Set<InboundHandler>();
  private closed: Promise<void> | undefined;
  private readonly bound: Endpoint;

  private constructor(
    private readonly socket: Socket,
    private readonly allowNonLoopback: boolean,
    private readonly logger: WarnLogger,
  ) {
    const address = socket.address();
    this.bound = { address: address.address, port: address.port };
    socket.on('message', (msg, rinfo) => this.receive(msg, rinfo));
    socket.on('error', (error) => this.logger.warn(`cpnp udp ${this.describe()}: socket error: ${error.message}`));
  }

  /** Binds a UDP socket (server: a fixed port; client: port 0, ephemeral). */
  static async bind(options: UdpTransportOptions = {}): Promise<UdpTransport> {
    const host = unbracket(options.host ?? '127.0.0.1');
    const port = options.port ?? 0;
    const allow = options.insecureAllowNonLoopback === true;
    const logger = options.logger ?? console;
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`invalid UDP port ${port}`);
    if (!allow && !isLoopbackAddress(host)) {
      throw new InsecureTransportError(
        `plain UDP refuses to bind ${host}: only loopback addresses (127.0.0.0/8, ::1) are allowed without ` +
          'insecureAllowNonLoopback; use DTLS or TLS on a network (RFC 8921 section 13)',
      );
    }
    const socket = createSocket({ type: udpFamilyOf(host) });
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      socket.once('error', onError);
      socket.bind(port, host, () => {
        socket.off('error', onError);
        resolve();
      });
    }).catch((error: unknown) => {
      socket.close();
      throw error;
    });
    const transport = new UdpTransport(socket, allow, logger);
    logger.warn(
      allow && !isLoopbackAddress(host)
        ? `!!! INSECURE: CPNP over plain UDP on a non-loopback address (${transport.describe()}). Messages are ` +
            'neither authenticated nor encrypted; RFC 8921 section 13 requires DTLS or TLS. Never do this in production. !!!'
        : `WARNING: CPNP over plain UDP (${transport.describe()}) is unauthenticated and unencrypted; ` +
            'for loopback development and tests only (RFC 8921 section 13 requires DTLS or TLS).',
    );
    return transport;
  }

  /** Alias of bind() for the server role. */
  static listen(options: UdpTransportOptions & { port: number }): Promise<UdpTransport> {
    return UdpTransport.bind(options);
  }

  local(): Endpoint {
    return { ...this.bound };
  }

  async send(to: Endpoint, bytes: Uint8Array): Promise<void> {
    if (this.closed) throw new Error('UDP transport is closed');
    const address = unbracket(to.address);
    // The refusal happens here, before the socket is touched: not one packet leaves.
    if (!this.allowNonLoopback && !isLoopbackAddress(address)) {
      throw new InsecureTransportError(
        `plain UDP refuses to send to ${address}: not a loopback address (insecureAllowNonLoopback not set)`,
      );
    }
    if (!Number.isInteger(to.port) || to.port < 1 || to.port > 65535) throw new RangeError(`invalid UDP port ${to.port}`);
    if (bytes.length > MAX_MESSAGE_SIZE) {
      throw new RangeError(`message is ${bytes.length} bytes, MAX_MESSAGE_SIZE is ${MAX_MESSAGE_SIZE}`);
    }
    await new Promise<void>((resolve, reject) => {
      this.socket.send(bytes, to.port, address, (error) => (error ? reject(error) : resolve()));
    });
  }

  onMessage(handler: InboundHandler): () => void {
    this.handlers.add(handler);
    return () => {
      this.handlers.delete(handler);
    };
  }

  close(): Promise<void> {
    this.closed ??= new Promise<void>((resolve) => {
      this.handlers.clear();
      this.socket.close(() => resolve());
    });
    return this.closed;
  }

  private receive(msg: Buffer, rinfo: RemoteInfo): void {
    // wire-format.md section 1: larger input is discarded. An empty datagram is no message.
    if (msg.length === 0 || msg.length > MAX_MESSAGE_SIZE) return;
    const inbound = {
      from: { address: rinfo.address, port: rinfo.port },
      to: this.local(),
      bytes: new Uint8Array(msg.buffer, msg.byteOffset, msg.length),
    };
    for (const handler of this.handlers) {
      try {
        handler(inbound);
      } catch (error) {
        this.logger.warn(`cpnp udp ${this.describe()}: message handler threw: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }

  private describe(): string {
    const { address, port } = this.bound;
    return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
  }
}
