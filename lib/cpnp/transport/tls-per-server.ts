/**
 * TLS client with credentials chosen per server: one TlsClientTransport (one connection) per
 * server endpoint, each made with the credentials `credentials(server)` returns when the first
 * message goes to that server. A client talking to several Providers that each run their own CA
 * (RFC 8921 13: mutual authentication per deployment) needs this; tls.ts's client has one set.
 * Inbound messages of every connection reach the handlers registered here.
 */
import type { Endpoint, InboundHandler, MessageTransport } from './transport';
import { TlsClientTransport, type TlsClientOptions } from './tls';
import { unbracket } from './loopback';
import type { WarnLogger } from './udp';
import { normalizeAddress } from '../validation/peer';

export interface TlsPerServerOptions {
  /** The options (credentials, serverName, timeouts) for a server; throw when none are known. */
  credentials: (server: Endpoint) => TlsClientOptions;
  logger?: WarnLogger;
}

function keyOf(e: Endpoint): string {
  return `${normalizeAddress(unbracket(e.address))}|${e.port}`;
}

export class TlsPerServerTransport implements MessageTransport {
  readonly kind = 'tls' as const;
  private readonly clients = new Map<string, { client: TlsClientTransport; off: () => void }>();
  private readonly handlers = new Set<InboundHandler>();
  private lastLocal: Endpoint = { address: '0.0.0.0', port: 0 };
  private closed = false;

  constructor(private readonly options: TlsPerServerOptions) {}

  local(): Endpoint {
    return { ...this.lastLocal };
  }

  /** The local endpoint of the open connection to `server` (see TlsClientTransport.localFor). */
  localFor(server: Endpoint): Endpoint | undefined {
    return this.clients.get(keyOf(server))?.client.localFor(server);
  }

  async send(to: Endpoint, bytes: Uint8Array): Promise<void> {
    if (this.closed) throw new Error('TLS client transport is closed');
    const client = this.clientFor(to);
    await client.send(to, bytes);
    this.lastLocal = client.local();
  }

  onMessage(handler: InboundHandler): () => void {
    this.handlers.add(handler);
    return () => {
      this.handlers.delete(handler);
    };
  }

  /**
   * Drops the client of `server` (its connection closes): the next send makes a new one with
   * the credentials current then. For a provider whose credentials changed.
   */
  async forget(server: Endpoint): Promise<void> {
    const entry = this.clients.get(keyOf(server));
    if (!entry) return;
    this.clients.delete(keyOf(server));
    entry.off();
    await entry.client.close();
  }

  async close(): Promise<void> {
    this.closed = true;
    const entries = [...this.clients.values()];
    this.clients.clear();
    this.handlers.clear();
    await Promise.allSettled(entries.map((e) => e.client.close()));
  }

  private clientFor(server: Endpoint): TlsClientTransport {
    const key = keyOf(server);
    const existing = this.clients.get(key);
    if (existing) return existing.client;
    const client = new TlsClientTransport({ ...(this.options.logger ? { logger: this.options.logger } : {}), ...this.options.credentials(server) });
    const off = client.onMessage((m) => {
      for (const h of this.handlers) {
        try {
          h(m);
        } catch (error) {
          (this.options.logger ?? console).warn(`cpnp tls: message handler threw: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    });
    this.clients.set(key, { client, off });
    return client;
  }
}
