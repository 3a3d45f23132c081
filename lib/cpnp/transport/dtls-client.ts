import { createSocket, type Socket } from 'node:dgram';
import { dtls } from 'node-dtls-client';
import { systemClock, type Clock } from '../clock';
import { MAX_MESSAGE_SIZE } from '../message';
import { normalizeAddress } from '../validation/peer';
import { isUnspecifiedAddress, udpFamilyOf, unbracket } from './loopback';
import type { Endpoint, Inbound, InboundHandler, MessageTransport } from './transport';
import type { WarnLogger } from './udp';

/**
 * The CPNP client's DTLS 1.2 transport (RFC 8921 8.1: "The default transport mode is UDP
 * secured with DTLS"; section 13: mutual authentication — here a pre-shared key — and
 * authenticated encryption), over node-dtls-client.
 *
 * One association per server, created on the first send and reused by every later transaction
 * ("no permanent CPNP transport session needs to be maintained", 8.1, but a handshake per
 * message would be wasteful). It is re-established transparently when it is lost: an error or
 * close from the DTLS layer (a server that closes sends close_notify), no traffic for
 * idleTimeoutMs (the server forgets idle associations), or silence — messages sent and nothing
 * received for deadAfterMs, the mark of a server that restarted without telling us. A new
 * handshake reuses the previous local port, so the transport session of RFC 8921 8.3 keeps its
 * client port and responses still reach the port requests came from (8.1, 11.1.1). The first
 * handshake with a server can bind a given port too (`localPort`): a client that restarts from
 * the port it used before (a Provider's child orders, docs/provider-server.md section 8) keeps
 * its 4-tuple even across a restart, and `connect()` re-establishes the association at once so
 * that the server's answers, which it sends without being asked, reach the new process.
 *
 * node-dtls-client never retransmits a handshake flight, so a single lost datagram fails its
 * handshake; this transport therefore retries the whole handshake with backoff. Application
 * messages are never retransmitted here: CPNP does that itself (RFC 8921 11.4).
 */

/** AEAD PSK suites only (RFC 8921 13 → RFC 7525: no CBC), in preference order. */
export const DTLS_CLIENT_CIPHERS = ['TLS_PSK_WITH_AES_128_GCM_SHA256', 'TLS_PSK_WITH_AES_128_CCM_8'] as const;
export type DtlsClientCipher = (typeof DTLS_CLIENT_CIPHERS)[number];

export interface PskCredentials {
  /** The PSK identity this client presents (printable ASCII). */
  identity: string;
  key: Uint8Array;
}

/** Handshake retry policy. */
export interface DtlsRetryPolicy {
  /** Whole handshakes tried before send() gives up. */
  attempts: number;
  /** One handshake must finish within this time: above OpenSSL's 1 s flight retransmission,
   * so a server-side retransmission can still rescue an attempt. */
  attemptTimeoutMs: number;
  /** Pause before attempt 2, 3, ...; the last value repeats. */
  backoffMs: readonly number[];
}

export const DEFAULT_DTLS_RETRY: Readonly<DtlsRetryPolicy> = {
  attempts: 4,
  attemptTimeoutMs: 3000,
  backoffMs: [500, 1000, 2000],
};

/** A live association as the transport sees it. */
export interface DtlsAssociation {
  /** The local endpoint of the association's socket. */
  readonly local: Endpoint;
  send(bytes: Uint8Array): Promise<void>;
  /** Sends close_notify when possible and resolves once the socket (and its port) is released. */
  close(): Promise<void>;
}

/** What an association reports after it was established. */
export interface AssociationEvents {
  message(bytes: Uint8Array, from: Endpoint, to: Endpoint): void;
  /** The association ended (peer close_notify, fatal alert, socket error). */
  lost(error: Error | undefined): void;
}

export interface HandshakeRequest {
  remote: Endpoint;
  /** Bind this local port (re-handshake from the same port), else an ephemeral one. */
  localPort?: number;
  psk: PskCredentials;
  ciphers: readonly DtlsClientCipher[];
  /** The transport aborts the attempt after this; the connector may use it as a backstop. */
  timeoutMs: number;
}

/** One handshake attempt in progress. `abort` releases its socket at once. */
export interface HandshakeAttempt {
  established: Promise<DtlsAssociation>;
  abort(): void;
}

/** Starts one DTLS handshake (the seam tests replace; default: node-dtls-client). */
export type DtlsConnector = (request: HandshakeRequest, events: AssociationEvents) => HandshakeAttempt;

/** Timers, injected so that tests drive retries and backoff without real waiting. */
export interface Scheduler {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realScheduler: Scheduler = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** The server refused the handshake with a fatal alert: retrying cannot help. */
export class DtlsAlertError extends Error {
  override readonly name = 'DtlsAlertError';
  constructor(readonly alert: string) {
    super(`server sent a fatal alert: ${alert}`);
  }
}

/** Every handshake attempt failed; send() rejects with this. */
export class DtlsHandshakeError extends Error {
  override readonly name = 'DtlsHandshakeError';
  constructor(
    readonly server: Endpoint,
    readonly attempts: number,
    readonly causes: readonly Error[],
  ) {
    const last = causes[causes.length - 1];
    super(
      `DTLS handshake with ${formatEndpoint(server)} failed after ${attempts} attempt${attempts === 1 ? '' : 's'}` +
        `${last ? `: ${last.message}` : ''} (wrong PSK, unknown identity, server down or unreachable?)`,
    );
  }
}

export interface DtlsClientOptions {
  /** The credentials to present, or a function choosing them per server. */
  psk: PskCredentials | ((server: Endpoint) => PskCredentials);
  /**
   * The identity reported on inbound messages: with PSK the server proves it holds the key of
   * the configured identity, so the default is that PSK identity.
   */
  serverIdentity?: string | ((server: Endpoint) => string);
  ciphers?: readonly DtlsClientCipher[];
  retry?: Partial<DtlsRetryPolicy>;
  /** No traffic either way for this long → new handshake before the next send. Keep it below
   * the server's idle timeout (DtlsServer default 5 min). Default 4 min. */
  idleTimeoutMs?: number;
  /** Sent messages unanswered for this long → the association is presumed dead and the next send
   * re-handshakes. Below CPNP's RETRANS_TIMER (2 s) so the first retransmission goes through a
   * fresh association. Default 1.5 s. */
  deadAfterMs?: number;
  /** Re-handshake from the previous local port (default true); see the file comment. */
  keepLocalPort?: boolean;
  /**
   * Whether the server answers this message (default: every message). A message that expects
   * no answer (a client's PROCESSING, ACK or FAIL) must not start the silence that presumes
   * the association dead, or the next request after a quiet spell re-handshakes for nothing.
   */
  expectsAnswer?: (bytes: Uint8Array) => boolean;
  /**
   * The local port of the first handshake with a server (default: an ephemeral one), or a
   * function choosing it per server (undefined: ephemeral). Each server has its own socket, so
   * two servers need two ports. If the port is taken, the handshake warns and binds a new one.
   */
  localPort?: number | ((server: Endpoint) => number | undefined);
  connector?: DtlsConnector;
  scheduler?: Scheduler;
  clock?: Clock;
  logger?: WarnLogger;
}

interface Live {
  readonly association: DtlsAssociation;
  lost: boolean;
  lastActivity: number;
  /** When the last record was received from the server (or the handshake finished). */
  lastReceived: number;
  /** When the oldest message expecting an answer, sent since the last message received, went out. */
  unansweredSince: number | undefined;
}

interface Peer {
  readonly remote: Endpoint;
  current: Live | undefined;
  connecting: Promise<Live> | undefined;
  localPort: number | undefined;
  /** Handshakes completed (diagnostics, tests). */
  handshakes: number;
}

function formatEndpoint(e: Endpoint): string {
  return e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function isAddressInUse(error: Error): boolean {
  return (error as NodeJS.ErrnoException).code === 'EADDRINUSE' || /EADDRINUSE/.test(error.message);
}

export class DtlsClientTransport implements MessageTransport {
  readonly kind = 'dtls' as const;
  private readonly peers = new Map<string, Peer>();
  private readonly handlers = new Set<InboundHandler>();
  private readonly retry: DtlsRetryPolicy;
  private readonly ciphers: readonly DtlsClientCipher[];
  private readonly idleTimeoutMs: number;
  private readonly deadAfterMs: number;
  private readonly connector: DtlsConnector;
  private readonly scheduler: Scheduler;
  private readonly clock: Clock;
  private readonly logger: WarnLogger;
  private lastLocal: Endpoint = { address: '0.0.0.0', port: 0 };
  private closed = false;
  /** Attempts and pauses in progress, so that close() can cut them short. */
  private readonly inFlight = new Set<() => void>();

  constructor(private readonly options: DtlsClientOptions) {
    this.retry = { ...DEFAULT_DTLS_RETRY, ...options.retry };
    if (!Number.isInteger(this.retry.attempts) || this.retry.attempts < 1) throw new RangeError('retry.attempts must be a positive integer');
    if (!(this.retry.attemptTimeoutMs > 0)) throw new RangeError('retry.attemptTimeoutMs must be positive');
    this.ciphers = options.ciphers ?? DTLS_CLIENT_CIPHERS;
    if (this.ciphers.length === 0 || this.ciphers.some((c) => !DTLS_CLIENT_CIPHERS.includes(c))) {
      throw new RangeError(`ciphers must be a non-empty subset of ${DTLS_CLIENT_CIPHERS.join(', ')}`);
    }
    const port = options.localPort;
    if (typeof port === 'number' && (!Number.isInteger(port) || port < 1 || port > 65535)) throw new RangeError(`localPort must be an integer between 1 and 65535, got ${port}`);
    this.idleTimeoutMs = options.idleTimeoutMs ?? 240_000;
    this.deadAfterMs = options.deadAfterMs ?? 1500;
    this.connector = options.connector ?? nodeDtlsConnector;
    this.scheduler = options.scheduler ?? realScheduler;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? console;
  }

  /** The local endpoint of the association used last (each server has its own socket). */
  local(): Endpoint {
    return { ...this.lastLocal };
  }

  /**
   * The local endpoint the next message to `server` leaves from, as far as the transport knows:
   * the current association's (the client half of the RFC 8921 8.3 4-tuple). Undefined before
   * the first association with `server` (node-dtls-client binds its socket on the first
   * handshake), after it was lost, and when a stale association will be replaced from a new
   * port (keepLocalPort: false). A client engine then learns it from the first valid response
   * (docs/client-engine.md section 5a).
   */
  localFor(server: Endpoint): Endpoint | undefined {
    const live = this.peers.get(this.keyOf(server))?.current;
    if (live === undefined || live.lost) return undefined;
    if (this.options.keepLocalPort === false && this.staleness(live) !== undefined) return undefined;
    return { ...live.association.local };
  }

  /**
   * Establishes the association with `server` now, without sending a message, and resolves with
   * its local endpoint; an association already usable is kept. A client restarted on its former
   * port calls it for servers that still owe it answers: a server only sends over an association
   * (RFC 6347 4.2.8 lets the new handshake from the same port replace the old one). Rejects like
   * send() when every handshake attempt failed.
   */
  async connect(server: Endpoint): Promise<Endpoint> {
    if (this.closed) throw new Error('DTLS client transport is closed');
    if (!Number.isInteger(server.port) || server.port < 1 || server.port > 65535) throw new RangeError(`invalid port ${server.port}`);
    const live = await this.usable(this.peerFor(server));
    return { ...live.association.local };
  }

  /** Handshakes completed with `server` so far (diagnostics and tests). */
  handshakeCount(server: Endpoint): number {
    return this.peers.get(this.keyOf(server))?.handshakes ?? 0;
  }

  onMessage(handler: InboundHandler): () => void {
    this.handlers.add(handler);
    return () => {
      this.handlers.delete(handler);
    };
  }

  /**
   * Sends one message as one DTLS record, handshaking first when there is no usable association.
   * Rejects with DtlsHandshakeError when every handshake attempt failed.
   */
  async send(to: Endpoint, bytes: Uint8Array): Promise<void> {
    if (this.closed) throw new Error('DTLS client transport is closed');
    if (bytes.length === 0) throw new RangeError('refusing to send an empty message');
    if (bytes.length > MAX_MESSAGE_SIZE) throw new RangeError(`message is ${bytes.length} bytes, MAX_MESSAGE_SIZE is ${MAX_MESSAGE_SIZE}`);
    if (!Number.isInteger(to.port) || to.port < 1 || to.port > 65535) throw new RangeError(`invalid port ${to.port}`);
    const peer = this.peerFor(to);
    // An association lost between the handshake and the write gets one more chance.
    for (let round = 0; ; round++) {
      const live = await this.usable(peer);
      try {
        await live.association.send(bytes);
      } catch (error) {
        this.markLost(peer, live, asError(error));
        if (round === 0 && !this.closed) continue;
        throw error;
      }
      const now = this.clock.now();
      live.lastActivity = now;
      if (this.options.expectsAnswer?.(bytes) ?? true) live.unansweredSince ??= now;
      this.lastLocal = { ...live.association.local };
      return;
    }
  }

  /** Closes every association (close_notify) and cancels handshakes in progress. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.handlers.clear();
    for (const cancel of [...this.inFlight]) cancel();
    const closing: Promise<void>[] = [];
    for (const peer of this.peers.values()) {
      const live = peer.current;
      peer.current = undefined;
      if (live && !live.lost) {
        live.lost = true;
        closing.push(live.association.close().catch(() => undefined));
      }
      if (peer.connecting) closing.push(peer.connecting.then((l) => l.association.close(), () => undefined).catch(() => undefined));
    }
    await Promise.all(closing);
  }

  // --- associations --------------------------------------------------------------------------

  private keyOf(e: Endpoint): string {
    return `${normalizeAddress(unbracket(e.address))}|${e.port}`;
  }

  private peerFor(to: Endpoint): Peer {
    const key = this.keyOf(to);
    let peer = this.peers.get(key);
    if (!peer) {
      const remote = { address: unbracket(to.address), port: to.port };
      peer = { remote, current: undefined, connecting: undefined, localPort: this.configuredPort(remote), handshakes: 0 };
      this.peers.set(key, peer);
    }
    return peer;
  }

  /** options.localPort for `server`, checked. */
  private configuredPort(server: Endpoint): number | undefined {
    const configured = this.options.localPort;
    const port = typeof configured === 'function' ? configured(server) : configured;
    if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
      throw new RangeError(`localPort for ${formatEndpoint(server)} must be an integer between 1 and 65535, got ${port}`);
    }
    return port;
  }

  /** Why an established association must not be used any more, if it must not. */
  private staleness(live: Live): string | undefined {
    if (live.lost) return 'lost';
    const now = this.clock.now();
    // Dead only when a request went unanswered AND the server has sent nothing at all for
    // deadAfterMs: any record counts as a sign of life, not only the answer to that request.
    if (live.unansweredSince !== undefined && now - live.unansweredSince >= this.deadAfterMs && now - live.lastReceived >= this.deadAfterMs) {
      return `no answer for ${now - live.unansweredSince} ms`;
    }
    if (now - live.lastActivity >= this.idleTimeoutMs) return `idle for ${now - live.lastActivity} ms`;
    return undefined;
  }

  private async usable(peer: Peer): Promise<Live> {
    if (peer.connecting) return peer.connecting;
    let live = peer.current;
    if (live && live.unansweredSince !== undefined && this.staleness(live)?.startsWith('no answer')) {
      // Silence may be ours: a process whose event loop was busy has not read its socket yet.
      // Let pending I/O callbacks run (the server's records already queued are delivered and
      // count as life) before giving up on the association.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (peer.connecting) return peer.connecting;
      live = peer.current;
    }
    if (live) {
      const stale = this.staleness(live);
      if (stale === undefined) return live;
      if (stale !== 'lost') this.logger.warn(`cpnp dtls: association with ${formatEndpoint(peer.remote)}: ${stale}; new handshake`);
      peer.current = undefined;
    }
    const connecting = this.handshake(peer, live).finally(() => {
      if (peer.connecting === connecting) peer.connecting = undefined;
    });
    peer.connecting = connecting;
    return await connecting;
  }

  private markLost(peer: Peer, live: Live, error: Error | undefined): void {
    if (live.lost) return;
    live.lost = true;
    if (peer.current === live) peer.current = undefined;
    if (error) this.logger.warn(`cpnp dtls: association with ${formatEndpoint(peer.remote)} lost: ${error.message}`);
  }

  private async handshake(peer: Peer, previous: Live | undefined): Promise<Live> {
    if (previous && !previous.lost) {
      previous.lost = true;
      // The old socket must release the port before the new one binds it.
      await previous.association.close().catch(() => undefined);
    }
    const psk = typeof this.options.psk === 'function' ? this.options.psk(peer.remote) : this.options.psk;
    const causes: Error[] = [];
    for (let attempt = 1; attempt <= this.retry.attempts; attempt++) {
      if (attempt > 1) {
        const pauses = this.retry.backoffMs;
        await this.pause(pauses[Math.min(attempt - 2, pauses.length - 1)] ?? 0);
      }
      if (this.closed) throw new Error('DTLS client transport is closed');
      try {
        const live = await this.attempt(peer, psk);
        peer.current = live;
        peer.handshakes++;
        peer.localPort = this.options.keepLocalPort === false ? undefined : live.association.local.port;
        return live;
      } catch (error) {
        const cause = asError(error);
        causes.push(cause);
        if (this.closed) throw new Error('DTLS client transport is closed');
        if (cause instanceof DtlsAlertError) break;
        if (peer.localPort !== undefined && isAddressInUse(cause)) {
          this.logger.warn(`cpnp dtls: local port ${peer.localPort} is taken; handshaking from a new port`);
          peer.localPort = undefined;
        }
      }
    }
    throw new DtlsHandshakeError(peer.remote, causes.length, causes);
  }

  /** One handshake, bounded by attemptTimeoutMs. */
  private attempt(peer: Peer, psk: PskCredentials): Promise<Live> {
    return new Promise<Live>((resolve, reject) => {
      let live: Live | undefined;
      let settled = false;
      const events: AssociationEvents = {
        message: (bytes, from, to) => this.deliver(peer, live, bytes, from, to),
        lost: (error) => {
          if (live) this.markLost(peer, live, error);
        },
      };
      const request: HandshakeRequest = {
        remote: peer.remote,
        ...(peer.localPort !== undefined ? { localPort: peer.localPort } : {}),
        psk,
        ciphers: this.ciphers,
        timeoutMs: this.retry.attemptTimeoutMs,
      };
      const handshake = this.connector(request, events);
      const finish = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        this.scheduler.clearTimeout(timer);
        this.inFlight.delete(cancel);
        outcome();
      };
      const cancel = () =>
        finish(() => {
          handshake.abort();
          reject(new Error('DTLS client transport is closed'));
        });
      const timer = this.scheduler.setTimeout(
        () =>
          finish(() => {
            handshake.abort();
            reject(new Error(`handshake timed out after ${this.retry.attemptTimeoutMs} ms`));
          }),
        this.retry.attemptTimeoutMs,
      );
      this.inFlight.add(cancel);
      handshake.established.then(
        (association) => {
          if (settled) {
            // Too late: the attempt was abandoned; do not leak the socket.
            void association.close().catch(() => undefined);
            return;
          }
          const now = this.clock.now();
          live = { association, lost: false, lastActivity: now, lastReceived: now, unansweredSince: undefined };
          const established = live;
          finish(() => resolve(established));
        },
        (error: unknown) => finish(() => reject(asError(error))),
      );
    });
  }

  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        this.scheduler.clearTimeout(timer);
        this.inFlight.delete(done);
        resolve();
      };
      const timer = this.scheduler.setTimeout(done, ms);
      this.inFlight.add(done);
    });
  }

  private deliver(peer: Peer, live: Live | undefined, bytes: Uint8Array, from: Endpoint, to: Endpoint): void {
    if (this.closed) return;
    if (live) {
      live.lastActivity = this.clock.now();
      live.lastReceived = live.lastActivity;
      live.unansweredSince = undefined;
    }
    // wire-format.md section 1: larger input is discarded; an empty record is no message.
    if (bytes.length === 0 || bytes.length > MAX_MESSAGE_SIZE) return;
    const configured = this.options.serverIdentity;
    const identity =
      typeof configured === 'function'
        ? configured(peer.remote)
        : (configured ?? (typeof this.options.psk === 'function' ? this.options.psk(peer.remote) : this.options.psk).identity);
    const inbound: Inbound = { from, to, identity, bytes };
    for (const handler of this.handlers) {
      try {
        handler(inbound);
      } catch (error) {
        this.logger.warn(`cpnp dtls: message handler threw: ${asError(error).message}`);
      }
    }
  }
}

// --- node-dtls-client -------------------------------------------------------------------------

/** Private members of node-dtls-client 2.0.x's Socket that the public API does not expose:
 * the UDP socket (for the bound port) and the way to drop a handshake at once. */
interface NodeDtlsInternals {
  udp?: Socket;
  killConnection?: (error?: Error) => void;
}

const FATAL_ALERT = /^received fatal alert: (.+)$/;

/** The address the kernel would use to reach `remote` (a connected UDP socket sends nothing). */
function sourceAddressFor(remote: Endpoint): Promise<string | undefined> {
  return new Promise((resolve) => {
    const probe = createSocket(udpFamilyOf(remote.address));
    const done = (address: string | undefined) => {
      probe.close();
      resolve(address);
    };
    probe.once('error', () => done(undefined));
    probe.connect(remote.port, remote.address, () => {
      try {
        done(probe.address().address);
      } catch {
        done(undefined);
      }
    });
  });
}

/** The default connector: one node-dtls-client socket per attempt, PSK, the AEAD suites only. */
export const nodeDtlsConnector: DtlsConnector = (request, events) => {
  let socket: dtls.Socket | undefined;
  let aborted = false;
  let established = false;
  let closed = false;
  let local: Endpoint = { address: '0.0.0.0', port: 0 };

  const kill = () => {
    closed = true;
    const internals = socket as unknown as NodeDtlsInternals | undefined;
    if (typeof internals?.killConnection === 'function') internals.killConnection.call(socket);
  };

  const promise = (async (): Promise<DtlsAssociation> => {
    const source = await sourceAddressFor(request.remote);
    if (aborted) throw new Error('aborted');
    return await new Promise<DtlsAssociation>((resolve, reject) => {
      const s = dtls.createSocket({
        type: udpFamilyOf(request.remote.address),
        address: request.remote.address,
        port: request.remote.port,
        ...(request.localPort !== undefined ? { listenPort: request.localPort } : {}),
        psk: { [request.psk.identity]: Buffer.from(request.psk.key) },
        ciphers: [...request.ciphers],
        // Our own timer aborts the attempt; this is only a backstop.
        timeout: request.timeoutMs + 1000,
      });
      socket = s;
      const fail = (error: Error) => {
        const alert = FATAL_ALERT.exec(error.message);
        return alert?.[1] ? new DtlsAlertError(alert[1]) : error;
      };
      // Must stay attached for the socket's whole life: an unhandled 'error' would throw.
      s.on('error', (error: Error) => {
        closed = true;
        if (established) events.lost(fail(error));
        else reject(fail(error));
      });
      s.on('close', () => {
        closed = true;
        if (established) events.lost(undefined);
        else reject(new Error('socket closed during the handshake'));
      });
      s.on('message', (data: Buffer, rinfo: { address: string; port: number }) => {
        events.message(new Uint8Array(data.buffer, data.byteOffset, data.length), { address: rinfo.address, port: rinfo.port }, { ...local });
      });
      s.once('connected', () => {
        const bound = (s as unknown as NodeDtlsInternals).udp?.address();
        const address = bound && !isUnspecifiedAddress(bound.address) ? bound.address : (source ?? bound?.address ?? '0.0.0.0');
        local = { address, port: bound?.port ?? 0 };
        established = true;
        resolve({
          local,
          send: (bytes) =>
            new Promise<void>((ok, ko) => {
              if (closed) {
                ko(new Error('DTLS association is closed'));
                return;
              }
              try {
                s.send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), (error) => (error ? ko(error) : ok()));
              } catch (error) {
                ko(asError(error));
              }
            }),
          close: () =>
            new Promise<void>((ok) => {
              if (closed) {
                ok();
                return;
              }
              closed = true;
              try {
                s.close(() => ok());
              } catch {
                kill();
                ok();
              }
            }),
        });
      });
      if (aborted) kill();
    });
  })();

  return {
    established: promise,
    abort: () => {
      aborted = true;
      if (socket && !closed) kill();
    },
  };
};
