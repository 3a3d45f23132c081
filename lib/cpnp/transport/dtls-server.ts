import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { isIPv6 } from 'node:net';
import type * as Native from '../../dtls-server/index';
import { systemClock, type Clock } from '../clock';
import { MAX_MESSAGE_SIZE } from '../message';
import { cryptoRandom, type RandomSource } from '../random';
import { identityFromBytes, PSK_MIN_KEY_BYTES, PskTable } from './psk';
import type { Endpoint, Inbound, InboundHandler, MessageTransport } from './transport';

/**
 * The CPNP server's DTLS 1.2 transport (RFC 8921 8.1: "The default transport mode is UDP
 * secured with DTLS"; section 13: mutual authentication and authenticated encryption).
 *
 * OpenSSL (Node's own, through the @cpnp/dtls-server addon) runs the protocol: cookie exchange,
 * handshake, retransmission, replay window, record protection. This file owns everything else:
 * the UDP socket, the per-peer association table and its limits, the timers, the PSK identity
 * policy, cookie secret rotation, and the MessageTransport contract (one CPNP message per DTLS
 * record, wire-format.md section 1).
 */

/** AEAD PSK suites only, in server preference order (RFC 8921 13 → RFC 7525: no CBC). */
export const DTLS_CIPHER_SUITES = [
  'TLS_PSK_WITH_AES_128_GCM_SHA256',
  'TLS_PSK_WITH_AES_128_CCM_8',
  'TLS_PSK_WITH_AES_256_GCM_SHA384',
  'TLS_PSK_WITH_AES_128_CCM',
  'TLS_PSK_WITH_AES_256_CCM',
  'TLS_PSK_WITH_AES_256_CCM_8',
] as const;
export type DtlsCipherSuite = (typeof DTLS_CIPHER_SUITES)[number];

const OPENSSL_CIPHER_NAMES: Readonly<Record<DtlsCipherSuite, string>> = {
  TLS_PSK_WITH_AES_128_GCM_SHA256: 'PSK-AES128-GCM-SHA256',
  TLS_PSK_WITH_AES_128_CCM_8: 'PSK-AES128-CCM8',
  TLS_PSK_WITH_AES_256_GCM_SHA384: 'PSK-AES256-GCM-SHA384',
  TLS_PSK_WITH_AES_128_CCM: 'PSK-AES128-CCM',
  TLS_PSK_WITH_AES_256_CCM: 'PSK-AES256-CCM',
  TLS_PSK_WITH_AES_256_CCM_8: 'PSK-AES256-CCM8',
};

/** Looks up the key of a PSK identity; undefined when the identity is unknown. Synchronous. */
export type PskLookup = (identity: string) => Uint8Array | undefined;

export interface DtlsServerOptions {
  /** Local address to bind (default 127.0.0.1; an IPv6 address gives an IPv6 socket). */
  host?: string;
  /** Local port (default 0: any free port; read it back with local()). */
  port?: number;
  /** The accepted identities: a table (which also maps identities to Customers) or a lookup. */
  psk: PskTable | PskLookup;
  /** Suites to offer, a subset of DTLS_CIPHER_SUITES in preference order (default: all). */
  ciphers?: readonly DtlsCipherSuite[];
  /** How often the cookie secret changes (default 5 min); the previous one still verifies. */
  cookieRotationMs?: number;
  /** An established association with no traffic this long is closed (default 5 min). */
  idleTimeoutMs?: number;
  /** A handshake not complete this long after the cookie exchange is dropped (default 10 s). */
  handshakeTimeoutMs?: number;
  /** Most associations (handshaking or established) at once (default 1000). */
  maxAssociations?: number;
  /**
   * At the cap, the least recently used established association idle at least this long is
   * closed to make room for a new handshake (default 30 s). Otherwise the handshake is refused.
   */
  evictIdleAfterMs?: number;
  /** Path MTU for handshake datagrams, IP and UDP headers included (default 1200). */
  mtu?: number;
  /** Period of the housekeeping timer: expiry, half-open timeouts, rotation (default 1 s). */
  sweepIntervalMs?: number;
  /** Time source of the policy timers (default: the system clock). */
  clock?: Clock;
  /** Source of cookie secrets (default: the OS CSPRNG). */
  random?: RandomSource;
}

export type HandshakeFailureReason =
  | 'unknown-psk-identity'
  | 'psk-lookup-error'
  | 'timeout'
  | 'unsupported-version'
  | 'no-shared-cipher'
  | 'capacity'
  | 'protocol-error'
  | 'listen-error';

export type AssociationCloseReason = 'peer-closed' | 'idle' | 'evicted' | 'client-restarted' | 'server-closing' | 'error';

export interface HandshakeEvent {
  peer: string;
  identity: string;
  /** The Customer of the identity when `psk` is a PskTable. */
  customer?: string;
  /** IANA suite name, e.g. TLS_PSK_WITH_AES_128_GCM_SHA256. */
  cipher: string;
  version: string;
}

export interface DtlsServerEvents {
  /** A HelloVerifyRequest was sent; the server kept no state (RFC 6347 4.2.1). */
  'cookie-sent': [{ peer: string }];
  handshake: [HandshakeEvent];
  'handshake-failed': [{ peer: string; reason: HandshakeFailureReason; detail?: string }];
  'association-closed': [{ peer: string; identity?: string; reason: AssociationCloseReason; detail?: string }];
  /** A decrypted record was not passed up (larger than MAX_MESSAGE_SIZE, or empty). */
  'message-dropped': [{ peer: string; reason: 'too-large' | 'empty'; size: number }];
  /** The UDP socket failed to send or reported an error. */
  'socket-error': [{ error: Error; peer?: string }];
}

export interface AssociationInfo {
  peer: string;
  endpoint: Endpoint;
  state: 'handshaking' | 'established';
  identity?: string;
  customer?: string;
  cipher?: string;
  createdAt: number;
  lastActivity: number;
}

interface Association {
  readonly key: string;
  readonly endpoint: Endpoint;
  readonly connection: Native.Connection;
  readonly createdAt: number;
  established: boolean;
  identity?: string;
  cipher?: string;
  /** The random of the ClientHello that opened this association. */
  clientRandom?: Buffer;
  lastActivity: number;
  timer?: NodeJS.Timeout;
}

interface Config {
  cookieRotationMs: number;
  idleTimeoutMs: number;
  handshakeTimeoutMs: number;
  maxAssociations: number;
  evictIdleAfterMs: number;
  mtu: number;
  sweepIntervalMs: number;
}

const DEFAULTS: Readonly<Config> = {
  cookieRotationMs: 300_000,
  idleTimeoutMs: 300_000,
  handshakeTimeoutMs: 10_000,
  maxAssociations: 1000,
  evictIdleAfterMs: 30_000,
  mtu: 1200,
  sweepIntervalMs: 1000,
};

const COOKIE_SECRET_BYTES = 32;
/** IPv4 / IPv6 header plus UDP header: what the path MTU loses before DTLS. */
const IPV4_UDP_OVERHEAD = 28;
const IPV6_UDP_OVERHEAD = 48;

type NativeModule = typeof Native;
let nativeModule: NativeModule | undefined;

/** The addon, loaded on first use so that importing this file never needs the binary. */
function loadNative(): NativeModule {
  nativeModule ??= createRequire(import.meta.url)('../../dtls-server/index.js') as NativeModule;
  return nativeModule;
}

/** The association key of a peer: "ip:port" ("[ip]:port" for IPv6). The cookie HMAC covers it. */
export function peerKey(endpoint: Endpoint): string {
  return isIPv6(endpoint.address) ? `[${endpoint.address}]:${endpoint.port}` : `${endpoint.address}:${endpoint.port}`;
}

// DTLS record header (RFC 6347 4.1): type(1) version(2) epoch(2) sequence(6) length(2).
// Handshake header (4.2.2): msg_type(1) length(3) message_seq(2) fragment_offset(3)
// fragment_length(3). ClientHello body: client_version(2) random(32).
const RECORD_HEADER = 13;
const HANDSHAKE_HEADER = 12;
const CONTENT_HANDSHAKE = 22;
const CLIENT_HELLO = 1;

/**
 * The ClientHello random when the first record of `datagram` is an unencrypted (epoch 0)
 * ClientHello — a client (re)starting a handshake (RFC 6347 4.2.8) — else undefined.
 */
export function epochZeroClientHelloRandom(datagram: Uint8Array): Uint8Array | undefined {
  const start = RECORD_HEADER + HANDSHAKE_HEADER + 2;
  if (datagram.length < start + 32) return undefined;
  if (datagram[0] !== CONTENT_HANDSHAKE || datagram[3] !== 0 || datagram[4] !== 0) return undefined;
  if (datagram[RECORD_HEADER] !== CLIENT_HELLO) return undefined;
  const offset = RECORD_HEADER + 6;
  if (datagram[offset] !== 0 || datagram[offset + 1] !== 0 || datagram[offset + 2] !== 0) return undefined;
  return datagram.subarray(start, start + 32);
}

/** Names a handshake failure from what OpenSSL reported (its reason strings are stable). */
function failureReason(result: Native.StepResult, cause: 'datagram' | 'timer'): HandshakeFailureReason {
  if (result.unknownIdentity) return 'unknown-psk-identity';
  const error = result.error ?? '';
  if (error.startsWith('PSK lookup')) return 'psk-lookup-error';
  if (cause === 'timer') return 'timeout';
  if (/unsupported protocol|wrong version number|version too low/.test(error)) return 'unsupported-version';
  if (/no shared cipher/.test(error)) return 'no-shared-cipher';
  return 'protocol-error';
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

function positive(name: string, value: number, integer = false): number {
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new RangeError(`DtlsServer: ${name} must be a positive ${integer ? 'integer' : 'number'}`);
  }
  return value;
}

function configFrom(options: DtlsServerOptions): Config {
  const config = { ...DEFAULTS };
  for (const name of Object.keys(DEFAULTS) as (keyof Config)[]) {
    const value = options[name];
    if (value !== undefined) config[name] = positive(name, value, name === 'maxAssociations' || name === 'mtu');
  }
  if (config.mtu < 400 || config.mtu > 65535) throw new RangeError('DtlsServer: mtu must be in 400..65535');
  return config;
}

function cipherList(ciphers: readonly DtlsCipherSuite[] | undefined): string {
  const chosen = ciphers ?? DTLS_CIPHER_SUITES;
  if (chosen.length === 0) throw new RangeError('DtlsServer: ciphers must not be empty');
  return chosen
    .map((suite) => {
      const name = OPENSSL_CIPHER_NAMES[suite];
      if (name === undefined) throw new RangeError(`DtlsServer: ${String(suite)} is not an allowed (AEAD PSK) suite`);
      return name;
    })
    .join(':');
}

/**
 * A DTLS 1.2 PSK server speaking CPNP. Only peers that completed a handshake exchange
 * messages; every inbound message carries the PSK identity that authenticated its peer.
 */
export class DtlsServer extends EventEmitter<DtlsServerEvents> implements MessageTransport {
  readonly kind = 'dtls' as const;

  private readonly table = new Map<string, Association>();
  private readonly handlers = new Set<InboundHandler>();
  private readonly context: Native.Context;
  private readonly sweepTimer: NodeJS.Timeout;
  private lastRotation: number;
  private closed = false;
  private closing: Promise<void> | undefined;

  private constructor(
    native: NativeModule,
    private readonly socket: Socket,
    private readonly localEndpoint: Endpoint,
    private readonly psk: PskTable | PskLookup,
    ciphers: string,
    private readonly config: Config,
    private readonly clock: Clock,
    private readonly random: RandomSource,
  ) {
    super();
    this.context = new native.Context({
      ciphers,
      psk: (identity) => this.lookupPsk(identity),
      cookieSecret: random.bytes(COOKIE_SECRET_BYTES),
    });
    this.lastRotation = clock.now();
    socket.on('message', (datagram, rinfo) => this.onDatagram(datagram, rinfo));
    socket.on('error', (error) => this.emit('socket-error', { error }));
    this.sweepTimer = setInterval(() => this.sweep(), config.sweepIntervalMs);
    this.sweepTimer.unref();
  }

  /** Binds the UDP socket and starts serving. */
  static async listen(options: DtlsServerOptions): Promise<DtlsServer> {
    const config = configFrom(options);
    const ciphers = cipherList(options.ciphers);
    const native = loadNative();
    const host = options.host ?? '127.0.0.1';
    const socket = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4' });
    await new Promise<void>((resolve, reject) => {
      const fail = (error: Error): void => {
        socket.close();
        reject(error);
      };
      socket.once('error', fail);
      socket.bind(options.port ?? 0, host, () => {
        socket.off('error', fail);
        resolve();
      });
    });
    const { address, port } = socket.address();
    try {
      return new DtlsServer(native, socket, { address, port }, options.psk, ciphers, config, options.clock ?? systemClock, options.random ?? cryptoRandom);
    } catch (error) {
      socket.close();
      throw error;
    }
  }

  local(): Endpoint {
    return { ...this.localEndpoint };
  }

  onMessage(handler: InboundHandler): () => void {
    this.handlers.add(handler);
    return () => {
      this.handlers.delete(handler);
    };
  }

  /**
   * Sends one CPNP message as one DTLS record. A server only answers peers with an established
   * association: anything else rejects (the peer must handshake first).
   */
  async send(to: Endpoint, bytes: Uint8Array): Promise<void> {
    if (this.closed) throw new Error('DtlsServer: closed');
    const key = peerKey(to);
    if (bytes.length === 0) throw new RangeError('DtlsServer: refusing to send an empty message');
    if (bytes.length > MAX_MESSAGE_SIZE) {
      throw new RangeError(`DtlsServer: message of ${bytes.length} bytes exceeds MAX_MESSAGE_SIZE (${MAX_MESSAGE_SIZE})`);
    }
    const association = this.table.get(key);
    if (!association?.established) {
      throw new Error(`DtlsServer: no established DTLS association with ${key}; a server only answers peers that completed a handshake`);
    }
    const result = association.connection.send(bytes);
    if (result.error !== undefined) {
      if (result.closed) this.remove(association, 'error', result.error);
      throw new Error(`DtlsServer: sending to ${key} failed: ${result.error}`);
    }
    this.touch(association);
    await this.transmit(association.endpoint, result.out);
  }

  /** Sends close_notify to every association, frees everything, closes the socket. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /** The association table, least recently used first (tests, diagnostics). */
  associations(): AssociationInfo[] {
    return [...this.table.values()].map((a) => ({
      peer: a.key,
      endpoint: { ...a.endpoint },
      state: a.established ? 'established' : 'handshaking',
      ...(a.identity !== undefined ? { identity: a.identity } : {}),
      ...(a.identity !== undefined && this.customerOf(a.identity) !== undefined ? { customer: this.customerOf(a.identity) } : {}),
      ...(a.cipher !== undefined ? { cipher: a.cipher } : {}),
      createdAt: a.createdAt,
      lastActivity: a.lastActivity,
    }));
  }

  /**
   * Housekeeping, run every sweepIntervalMs: rotates the cookie secret when due, drops
   * half-open handshakes, closes idle associations. Public so tests can drive it with a
   * simulated clock.
   */
  sweep(): void {
    if (this.closed) return;
    const now = this.clock.now();
    if (now - this.lastRotation >= this.config.cookieRotationMs) this.rotateCookieSecret();
    for (const association of [...this.table.values()]) {
      if (!association.established && now - association.createdAt >= this.config.handshakeTimeoutMs) {
        this.fail(association, 'timeout', `handshake not complete after ${this.config.handshakeTimeoutMs} ms`);
      } else if (association.established && now - association.lastActivity >= this.config.idleTimeoutMs) {
        this.closeAssociation(association, 'idle');
      }
    }
  }

  /** Replaces the cookie secret now; cookies of the previous secret keep verifying until the next rotation. */
  rotateCookieSecret(): void {
    if (this.closed) return;
    this.context.rotateCookieSecret(this.random.bytes(COOKIE_SECRET_BYTES));
    this.lastRotation = this.clock.now();
  }

  /** The cookie a HelloVerifyRequest to `peer` would carry now (diagnostics, tests). */
  cookieFor(peer: Endpoint): Uint8Array | undefined {
    if (this.closed) return undefined;
    return this.context.cookieFor(peerKey(peer)) ?? undefined;
  }

  /** Whether `cookie` from `peer` passes the cookie check (current or previous secret). */
  verifyCookie(peer: Endpoint, cookie: Uint8Array): boolean {
    return !this.closed && this.context.verifyCookie(peerKey(peer), cookie);
  }

  // --- inbound --------------------------------------------------------------------------------

  private onDatagram(datagram: Buffer, rinfo: RemoteInfo): void {
    if (this.closed || datagram.length === 0) return;
    const endpoint = { address: rinfo.address, port: rinfo.port };
    const key = peerKey(endpoint);
    const association = this.table.get(key);
    if (association === undefined) {
      this.listenFor(key, endpoint, datagram, undefined);
      return;
    }
    // A new ClientHello from a known peer (client restart on the same port, RFC 6347 4.2.8)
    // goes through the cookie exchange; a copy of the ClientHello that opened this association
    // (retransmitted or duplicated by the network) goes to the association, which ignores it.
    const random = epochZeroClientHelloRandom(datagram);
    if (random && (!association.clientRandom || !sameBytes(random, association.clientRandom))) {
      this.listenFor(key, endpoint, datagram, association);
      return;
    }
    this.step(association, association.connection.feed(datagram), 'datagram');
  }

  private listenFor(key: string, endpoint: Endpoint, datagram: Buffer, existing: Association | undefined): void {
    const overhead = isIPv6(endpoint.address) ? IPV6_UDP_OVERHEAD : IPV4_UDP_OVERHEAD;
    const result = this.context.listen(key, datagram, this.config.mtu - overhead);
    this.transmitQuietly(endpoint, result.out);
    if (result.status === 'cookie-sent') {
      this.emit('cookie-sent', { peer: key });
      return;
    }
    if (result.status === 'error') {
      this.emit('handshake-failed', { peer: key, reason: 'listen-error', ...(result.error ? { detail: result.error } : {}) });
      return;
    }
    const connection = result.connection;
    if (result.status !== 'accepted' || connection === undefined) return;
    // The peer proved it owns its address: only now may it replace its old association
    // (RFC 6347 4.2.8) or take a slot in the table.
    if (existing) {
      this.remove(existing, 'client-restarted');
    } else if (this.table.size >= this.config.maxAssociations && !this.evictOne()) {
      connection.free();
      this.emit('handshake-failed', { peer: key, reason: 'capacity', detail: `${this.config.maxAssociations} associations` });
      return;
    }
    const now = this.clock.now();
    const association: Association = { key, endpoint, connection, createdAt: now, lastActivity: now, established: false };
    this.table.set(key, association);
    this.step(association, connection.feed(), 'datagram');
  }

  /** Applies one result of the native connection: send, report, deliver, re-arm the timer. */
  private step(association: Association, result: Native.StepResult, cause: 'datagram' | 'timer'): void {
    if (this.table.get(association.key) !== association) return;
    this.transmitQuietly(association.endpoint, result.out);
    if (!association.established) {
      association.clientRandom ??= association.connection.info().clientRandom ?? undefined;
    }
    if (!association.established && result.established && !this.establish(association)) return;
    for (const record of result.data) this.deliver(association, record);
    if (result.closed) {
      if (association.established) {
        this.remove(association, result.peerClosed ? 'peer-closed' : 'error', result.error);
      } else {
        this.fail(association, failureReason(result, cause), result.error);
      }
      return;
    }
    this.schedule(association);
  }

  private establish(association: Association): boolean {
    const info = association.connection.info();
    const identity = info.identity ? identityFromBytes(info.identity) : undefined;
    if (identity === undefined || info.cipher === null) {
      // Cannot happen (the PSK callback only answers valid identities); never deliver unattributed data.
      this.fail(association, 'protocol-error', 'handshake completed without a valid PSK identity');
      return false;
    }
    association.established = true;
    association.identity = identity;
    association.cipher = info.cipher;
    this.touch(association);
    const customer = this.customerOf(identity);
    this.emit('handshake', {
      peer: association.key,
      identity,
      ...(customer !== undefined ? { customer } : {}),
      cipher: info.cipher,
      version: info.version ?? 'DTLSv1.2',
    });
    return true;
  }

  private deliver(association: Association, record: Buffer): void {
    if (this.closed) return; // a handler closed the server while records were pending
    // wire-format.md section 1: one message per record; larger than MAX_MESSAGE_SIZE is discarded.
    if (record.length > MAX_MESSAGE_SIZE || record.length === 0) {
      this.emit('message-dropped', { peer: association.key, reason: record.length === 0 ? 'empty' : 'too-large', size: record.length });
      return;
    }
    this.touch(association);
    const message: Inbound = {
      from: { ...association.endpoint },
      to: this.local(),
      ...(association.identity !== undefined ? { identity: association.identity } : {}),
      bytes: record,
    };
    for (const handler of [...this.handlers]) {
      try {
        handler(message);
      } catch (error) {
        // A failing handler is a bug of its own: surface it without corrupting our state.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  private lookupPsk(raw: Buffer): Uint8Array | undefined {
    const identity = identityFromBytes(raw);
    if (identity === undefined) return undefined;
    const key = this.psk instanceof PskTable ? this.psk.keyFor(identity) : this.psk(identity);
    if (key === undefined) return undefined;
    if (key.length < PSK_MIN_KEY_BYTES) throw new Error(`key of identity "${identity}" is shorter than ${PSK_MIN_KEY_BYTES} bytes`);
    return key;
  }

  private customerOf(identity: string): string | undefined {
    return this.psk instanceof PskTable ? this.psk.customerOf(identity) : undefined;
  }

  // --- table maintenance ------------------------------------------------------------------------

  /** Marks activity and moves the association to the most-recently-used end of the table. */
  private touch(association: Association): void {
    association.lastActivity = this.clock.now();
    this.table.delete(association.key);
    this.table.set(association.key, association);
  }

  /** Closes the least recently used established association idle for evictIdleAfterMs, if any. */
  private evictOne(): boolean {
    const now = this.clock.now();
    for (const association of this.table.values()) {
      if (association.established && now - association.lastActivity >= this.config.evictIdleAfterMs) {
        this.closeAssociation(association, 'evicted');
        return true;
      }
    }
    return false;
  }

  /** Re-arms the handshake retransmission timer from DTLSv1_get_timeout (RFC 6347 4.2.4). */
  private schedule(association: Association): void {
    if (association.timer) clearTimeout(association.timer);
    association.timer = undefined;
    const ms = association.connection.timeoutMs();
    if (ms < 0) return;
    association.timer = setTimeout(() => {
      association.timer = undefined;
      if (this.table.get(association.key) === association) this.step(association, association.connection.handleTimeout(), 'timer');
    }, ms + 1);
    association.timer.unref();
  }

  /** Sends close_notify (when established), then forgets the association. */
  private closeAssociation(association: Association, reason: AssociationCloseReason): void {
    this.transmitQuietly(association.endpoint, association.connection.shutdown());
    this.remove(association, reason);
  }

  /** Forgets an association and reports why it ended ('association-closed'). */
  private remove(association: Association, reason: AssociationCloseReason, detail?: string): void {
    if (!this.discard(association)) return;
    this.emit('association-closed', {
      peer: association.key,
      ...(association.identity !== undefined ? { identity: association.identity } : {}),
      reason,
      ...(detail !== undefined ? { detail } : {}),
    });
  }

  /** Forgets an association whose handshake failed and reports why ('handshake-failed'). */
  private fail(association: Association, reason: HandshakeFailureReason, detail?: string): void {
    if (!this.discard(association)) return;
    this.emit('handshake-failed', { peer: association.key, reason, ...(detail !== undefined ? { detail } : {}) });
  }

  /** Frees the association's OpenSSL objects and timer; false when it was already gone. */
  private discard(association: Association): boolean {
    if (this.table.get(association.key) !== association) return false;
    this.table.delete(association.key);
    if (association.timer) clearTimeout(association.timer);
    association.timer = undefined;
    association.connection.free();
    return true;
  }

  // --- socket ------------------------------------------------------------------------------------

  private transmit(endpoint: Endpoint, datagrams: readonly Buffer[]): Promise<void> {
    return Promise.all(
      datagrams.map(
        (datagram) =>
          new Promise<void>((resolve, reject) => {
            this.socket.send(datagram, endpoint.port, endpoint.address, (error) => (error ? reject(error) : resolve()));
          }),
      ),
    ).then(() => undefined);
  }

  private transmitQuietly(endpoint: Endpoint, datagrams: readonly Buffer[]): void {
    if (datagrams.length === 0 || this.closing) return;
    this.transmit(endpoint, datagrams).catch((error: unknown) => {
      this.emit('socket-error', { error: error instanceof Error ? error : new Error(String(error)), peer: peerKey(endpoint) });
    });
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweepTimer);
    const goodbyes: Promise<void>[] = [];
    for (const association of [...this.table.values()]) {
      const out = association.connection.shutdown();
      goodbyes.push(this.transmit(association.endpoint, out).catch(() => undefined));
      this.remove(association, 'server-closing');
    }
    await Promise.all(goodbyes);
    this.context.free();
    this.handlers.clear();
    await new Promise<void>((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve(); // already closed
      }
    });
  }
}
