import { createSocket, type Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import { dirname } from 'node:path';
import { systemClock, type Clock } from '../cpnp/clock';
import { decodeMessage } from '../cpnp/codec';
import { dateTimeToMillis } from '../cpnp/date-time';
import { appendOutput, emptyOutput, mergeOutputs, type EngineCore, type EngineEvent, type EngineOutput } from '../cpnp/engine/output';
import { GroupCommitRunner } from '../cpnp/engine/group-commit-runner';
import type { TimerApi } from '../cpnp/engine/runner';
import { ServerEngine, type ServerEngineSnapshot, type ServerOrderRecord } from '../cpnp/engine/server-engine';
import { toHex } from '../cpnp/hex';
import type { CpnpMessage } from '../cpnp/message';
import { methodName } from '../cpnp/method';
import { cryptoRandom, type RandomSource } from '../cpnp/random';
import { isStatusCode, StatusCode, type StatusCodeValue } from '../cpnp/status-code';
import { ClientEngine, type ClientOrderRecord, type LocalEndpointSource } from '../cpnp/engine/client-engine';
import { DtlsClientTransport, type PskCredentials } from '../cpnp/transport/dtls-client';
import { DtlsServer } from '../cpnp/transport/dtls-server';
import { isLoopbackAddress } from '../cpnp/transport/loopback';
import { pskFromText } from '../cpnp/transport/ping';
import { generatePsk, PskTable } from '../cpnp/transport/psk';
import { TlsClientTransport, TlsServerTransport } from '../cpnp/transport/tls';
import type { Endpoint, Inbound, MessageTransport } from '../cpnp/transport/transport';
import { UdpTransport } from '../cpnp/transport/udp';
import { normalizeAddress } from '../cpnp/validation/peer';
import type { AccessFilter } from '../cpnp/validation/server-table';
import { applyMigrations, openDatabase, type Database } from '../db';
import { removeAdminFile, startAdminServer, writeAdminFile, type AdminResult, type AdminServer } from './admin-http';
import { ActivationScheduler, type ProjectedActivation } from './activation-scheduler';
import { CapacityLedger } from './capacity-ledger';
import type { ProviderConfig, ProviderTransportKind } from './config';
import { createDecisionEngine, type DecisionEngine, type DecisionEngineSnapshot } from './decision-engine';
import type { Policy } from './policy';
import { createJsonLogger, formatEndpoint, logEngineEvent, type Logger } from './logger';
import { coordinatorSeam, PartnerCoordinator, providerIdentity, type PartnerCoordinatorSnapshot, type PartnerLink } from './partner-coordinator';
import { ProviderStore, type LoadedState, type ProviderOutput, type StoreView } from './store';
import { workerSqliteWriter, type StoreWriter } from './store-writes';

/**
 * The reference Provider process (docs/provider-server.md): the server engine (lib/cpnp) with
 * the policy-driven decision engine, bound to a DTLS, TLS or (loopback) UDP transport through
 * an EngineRunner, persisted by the store before anything is sent, with scheduled activations,
 * delayed decisions, address ACLs, per-customer authorisation, structured logs and an admin
 * endpoint. `startProvider(config)` assembles it and resolves once it listens.
 *
 * Start-up order: migrations, database, stored state, transport, decision and server engines
 * restored with every order and timer, the partner side when the policy names partners (child
 * orders, RFC 8921 8.8, through the partner coordinator), a reconciling commit, the runner (which
 * arms its timer at the earliest due time, so what fell due while the server was down fires at
 * once), the admin endpoint.
 */

// ---------------------------------------------------------------------------------------------
// The core the runner drives: the server engine plus the provider's own timers.

/**
 * The partner coordinator of cascaded negotiation (8.8, partner-coordinator.ts), as this core
 * drives it: it sees every output of the server engine (child effects), ticks its own client
 * engine toward the partners, and is persisted as a whole. `coordinatorSeam()` of
 * partner-coordinator.ts builds one; what it produces for the partners' transport comes back
 * through the `sendToPartners` callback given to it, i.e. ProviderCore.queuePartnerOutput.
 */
export interface CoordinatorSeam {
  /** Acts on the server engine's output (child effects); returns what that produced for customers. */
  afterServerOutput(output: EngineOutput): EngineOutput;
  tick(): EngineOutput;
  nextDue(): number | undefined;
  snapshot(): unknown;
}

/** The partner side of the core: datagrams from partners, and the client engine's state. */
export interface PartnerSide {
  seam: CoordinatorSeam;
  /** A partner's datagram: what it produced for customers (server) and for partners (client). */
  receive(inbound: Inbound): { server: EngineOutput; client: EngineOutput };
  /** The client engine's snapshot (the child orders' sessions and timers). */
  clientSnapshot(): unknown;
}

/**
 * The server engine and what the provider adds around it, as one EngineCore: delayed decisions
 * (policy decisionDelay: shortly before the promised time the decision engine decides and the
 * engine completes the order), scheduled activations (9.2.11), and the partner coordinator.
 * Each output carries the records of the orders it concerns, the message received, and what
 * goes to the partners, for the store; one queue (the runner's) serialises all of it.
 */
export class ProviderCore implements EngineCore {
  /**
   * A delayed decision is made this long before the EXPECTED_OFFER_TIME it promised (9.1.7): an
   * OFFER sent at that very instant would reach a client whose deadline has just passed.
   */
  static readonly DECISION_MARGIN_MS = 1000;
  private partnerSide: PartnerSide | undefined;
  private readonly partnerQueue: EngineOutput[] = [];

  constructor(
    readonly engine: ServerEngine,
    readonly decisions: DecisionEngine,
    readonly activations: ActivationScheduler,
    private readonly clock: Clock,
  ) {}

  get coordinator(): CoordinatorSeam | undefined {
    return this.partnerSide?.seam;
  }

  get partners(): PartnerSide | undefined {
    return this.partnerSide;
  }

  /** Plugs in cascaded negotiation (8.8). */
  attachPartners(side: PartnerSide): void {
    this.partnerSide = side;
  }

  /** The sendToPartners callback of coordinatorSeam(): collected into the current output. */
  queuePartnerOutput = (output: EngineOutput): void => {
    this.partnerQueue.push(output);
  };

  receive(inbound: Inbound): ProviderOutput {
    const out = this.finish(this.engine.receive(inbound), inbound);
    // Decoded once: the store's digest row takes the keys from here (issue 8).
    const last = this.engine.lastReceived;
    if (last !== undefined && last.bytes === inbound.bytes) out.received = { txid: last.message.txid, method: last.message.method, seq: last.message.seq };
    return out;
  }

  /** A datagram from a partner server (the answer to a child order). */
  receivePartner(inbound: Inbound): ProviderOutput {
    const side = this.partnerSide;
    if (side === undefined) return this.finish(emptyOutput());
    const out = side.receive(inbound);
    this.partnerQueue.push(out.client);
    return { ...this.finish(out.server), partnerInbound: inbound };
  }

  tick(): ProviderOutput {
    const out = this.engine.tick();
    const now = this.clock.now();
    for (const pending of this.decisions.pendingDecisions()) {
      if (dateTimeToMillis(pending.dueAt) - ProviderCore.DECISION_MARGIN_MS > now) continue;
      const decision = this.decisions.resolvePending(pending.orderId);
      if (decision !== undefined) appendOutput(out, this.engine.completeDecision(pending.orderId, decision));
    }
    appendOutput(out, this.activations.fireDue());
    if (this.coordinator !== undefined) appendOutput(out, this.coordinator.tick());
    return this.finish(out);
  }

  nextDue(): number | undefined {
    const candidates = [this.engine.nextDue(), this.activations.nextDue(), this.coordinator?.nextDue()];
    for (const pending of this.decisions.pendingDecisions()) candidates.push(dateTimeToMillis(pending.dueAt) - ProviderCore.DECISION_MARGIN_MS);
    let next: number | undefined;
    for (const due of candidates) if (due !== undefined && (next === undefined || due < next)) next = due;
    return next;
  }

  /** Runs an application command on the engine (admin approval...), as one output. */
  command(run: (engine: ServerEngine) => EngineOutput): ProviderOutput {
    return this.finish(run(this.engine));
  }

  /** Every order an output concerns: named by an event, or owning a transaction a send belongs to. */
  private finish(out: EngineOutput, inbound?: Inbound): ProviderOutput {
    // Every server engine output goes through the coordinator (child effects, 8.8).
    if (this.coordinator !== undefined) appendOutput(out, this.coordinator.afterServerOutput(out));
    const ids = new Set<string>();
    for (const event of out.events) if (event.orderId !== undefined) ids.add(event.orderId);
    for (const send of out.sends) {
      const id = this.engine.orderIdOfTransaction(send.message.txid);
      if (id !== undefined) ids.add(id);
    }
    const orders: ServerOrderRecord[] = [];
    for (const id of ids) {
      // The live record (no deep copy per output): the store serialises it when it commits.
      const order = this.engine.peekOrder(id) as ServerOrderRecord | undefined;
      if (order === undefined) continue;
      this.activations.sync(id, order.fsm.activation);
      orders.push(order);
    }
    const partner = this.partnerQueue.length === 0 ? undefined : mergeOutputs(...this.partnerQueue.splice(0));
    return { ...out, orders, ...(inbound === undefined ? {} : { inbound }), ...(partner === undefined ? {} : { partner }) };
  }
}

// ---------------------------------------------------------------------------------------------
// Security: address ACLs and per-customer authorisation (RFC 8921 12.1, 13).

/**
 * The address ACL in force: the policy's `acl` and the command line's `--allow` / `--deny`,
 * merged. Each list is the union of both sources (normalised blocks, policy first, no repeats),
 * and `aclFilter` applies the result: deny wins over allow, whichever source either came from.
 * The command line can therefore add blocks to either list but never lift a block the policy
 * denies (docs/provider-server.md section 7).
 */
export function effectiveAcl(
  policy: { allow: readonly string[]; deny: readonly string[] },
  commandLine: { allow: readonly string[]; deny: readonly string[] },
): { allow: string[]; deny: string[] } {
  const union = (a: readonly string[], b: readonly string[]): string[] => [...new Set([...a, ...b])];
  return { allow: union(policy.allow, commandLine.allow), deny: union(policy.deny, commandLine.deny) };
}

/**
 * Table 6's access filter from CIDR lists: a denied source, or one outside a non-empty allow
 * list, gets FAIL 4 (Administratively prohibited), rate-limited like every FAIL (9.2.5).
 */
export function aclFilter(acl: { allow: readonly string[]; deny: readonly string[] }): AccessFilter | undefined {
  if (acl.allow.length === 0 && acl.deny.length === 0) return undefined;
  const build = (cidrs: readonly string[]): BlockList => {
    const list = new BlockList();
    for (const cidr of cidrs) {
      const [address = '', prefix = '0'] = cidr.split('/');
      list.addSubnet(address, Number(prefix), isIP(address) === 6 ? 'ipv6' : 'ipv4');
    }
    return list;
  };
  const allow = build(acl.allow);
  const deny = build(acl.deny);
  const check = (list: BlockList, address: string): boolean => {
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    return list.check(address, family);
  };
  return (peer) => {
    const address = normalizeAddress(peer.clientAddress);
    if (check(deny, address)) return 'prohibit';
    if (acl.allow.length > 0 && !check(allow, address)) return 'prohibit';
    return 'allow';
  };
}

/**
 * Per-customer authorisation: an identity may act on the orders of every identity of the same
 * Customer (a Customer may have one PSK identity per CPE, docs/dtls.md), and on no other.
 */
export function customerAuthorizer(table: PskTable): (identity: string | undefined, order: ServerOrderRecord) => boolean {
  return (identity, order) => {
    if (identity === undefined || order.owner === undefined) return false;
    const customer = table.customerOf(identity);
    return customer !== undefined && customer === table.customerOf(order.owner);
  };
}

// ---------------------------------------------------------------------------------------------
// Fault injection for the restart tests.

/** Hooks on the commit path; the restart tests use them to kill the process at precise points. */
export interface ProviderFaults {
  beforeCommit?(output: ProviderOutput): void;
  afterCommit?(output: ProviderOutput): void;
  afterSend?(message: CpnpMessage): void;
}

/**
 * Faults from a spec such as "after-commit:in:ACCEPT" (the environment variable
 * CPNP_PROVIDER_FAULT of `cpnp provider`, for tests only): at the point (before-commit,
 * after-commit, after-send) of the first output that received (in) or sends (out) a message of
 * that method, `act` runs (the CLI kills its own process with SIGKILL). Undefined if the spec
 * is malformed.
 */
export function faultsFromSpec(spec: string, act: () => void): ProviderFaults | undefined {
  const match = /^(before-commit|after-commit|after-send):(in|out):([A-Z]+)$/.exec(spec.trim());
  if (!match) return undefined;
  const [, point, direction, method] = match as unknown as [string, string, string, string];
  if (point === 'after-send' && direction !== 'out') return undefined;
  const matches = (output: ProviderOutput): boolean => {
    if (direction === 'in') {
      const decoded = output.inbound === undefined ? undefined : decodeMessage(output.inbound.bytes);
      return decoded?.ok === true && methodName(decoded.message.method) === method;
    }
    return output.sends.some((s) => methodName(s.message.method) === method);
  };
  if (point === 'after-send') return { afterSend: (message) => (methodName(message.method) === method ? act() : undefined) };
  const hook = (output: ProviderOutput): void => (matches(output) ? act() : undefined);
  return point === 'before-commit' ? { beforeCommit: hook } : { afterCommit: hook };
}

// ---------------------------------------------------------------------------------------------
// The running provider.

export interface OrderSummary {
  id: string;
  customerOrderId: string;
  owner?: string;
  state: string;
  cancelReason?: string;
  activation: ProjectedActivation;
  /** What waits for an administrator: the order itself (QUOTATION / UPDATE) or a held request. */
  awaiting?: 'approval' | 'WITHDRAW' | 'ACTIVATE';
  agreed: boolean;
  createdAt: string;
  lastChangeAt: string;
}

export interface StartOptions {
  logger?: Logger;
  clock?: Clock;
  random?: RandomSource;
  timers?: TimerApi;
  faults?: ProviderFaults;
  /** Every engine event, after it was logged (tests). */
  onEvent?: (event: EngineEvent) => void;
  /** Engine settings the command line does not expose (tests). */
  engineConfig?: { offerValidityMs?: number; quotationAnswer?: 'processing-first' | 'direct' };
}

export interface RunningProvider {
  readonly config: ProviderConfig;
  /** Where the CPNP transport listens. */
  readonly endpoint: Endpoint;
  readonly transport: MessageTransport;
  readonly adminUrl: string | undefined;
  readonly adminToken: string | undefined;
  /** A PSK identity created by --init-psk at this start. */
  readonly createdIdentity: string | undefined;
  readonly engine: ServerEngine;
  readonly decisions: DecisionEngine;
  readonly core: ProviderCore;
  readonly store: ProviderStore;
  readonly db: Database;
  readonly runner: GroupCommitRunner<ProviderCore>;
  readonly logger: Logger;
  orders(): OrderSummary[];
  approve(orderId: string): Promise<AdminResult>;
  reject(orderId: string, statusCode?: number): Promise<AdminResult>;
  /** Stops serving, writes what is left, closes the transport, the admin endpoint and the database. */
  close(): Promise<void>;
}

/** A start-up failure that is not a configuration value (database, port in use...). */
export class StartError extends Error {
  override readonly name = 'StartError';
}

/** --init-psk: one identity with a fresh 32-byte key, in a file only its owner can read. */
function initPskFile(file: string, random: RandomSource): { table: PskTable; identity: string } {
  const identity = `client-${toHex(random.bytes(3))}`;
  const table = PskTable.from([{ identity, key: generatePsk(32, random), customer: identity }]);
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(table.toJson(), null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
  return { table, identity };
}

function summarize(order: ServerOrderRecord, activation: ProjectedActivation): OrderSummary {
  const held = order.transactions.find((t) => t.held !== undefined)?.held;
  const last = order.history[order.history.length - 1];
  const awaiting = order.fsm.adminApprovalPending ? 'approval' : held?.method;
  return {
    id: order.id,
    customerOrderId: order.customerOrderId,
    ...(order.owner === undefined ? {} : { owner: order.owner }),
    state: order.fsm.state,
    ...(order.fsm.cancelReason === undefined ? {} : { cancelReason: order.fsm.cancelReason }),
    activation,
    ...(awaiting === undefined ? {} : { awaiting }),
    agreed: order.agreement !== undefined && order.agreement.withdrawnAt === undefined,
    createdAt: new Date(order.createdAt).toISOString(),
    lastChangeAt: new Date(last?.at ?? order.createdAt).toISOString(),
  };
}

/** The decision engine's ledger from its snapshot, with the pools of the (possibly edited) policy. */
function restoredLedger(snapshot: DecisionEngineSnapshot, pools: ProviderConfig['policy']['pools'], logger: Logger): CapacityLedger {
  const old = CapacityLedger.fromJSON(snapshot.ledger);
  const merged: Record<string, { inMbps: number; outMbps: number }> = { ...pools };
  for (const pool of old.pools()) {
    if (merged[pool] !== undefined) continue;
    const usage = old.usage(pool);
    if (usage.committed.inMbps + usage.committed.outMbps + usage.held.inMbps + usage.held.outMbps > 0) {
      // Removed from the policy while orders still use it: kept until they release it.
      merged[pool] = old.capacity(pool);
      logger.warn('pool-removed-in-use', { pool, detail: 'the policy no longer lists this pool, but orders still hold capacity in it' });
    }
  }
  return old.withCapacities(merged);
}

// ---------------------------------------------------------------------------------------------
// The partner side (8.8): the transport and client engine toward partner Providers.

interface PartnerSetup {
  transport: MessageTransport;
  kind: ProviderTransportKind;
  links: Record<string, PartnerLink>;
  localEndpoint: LocalEndpointSource;
  /**
   * The local ports the partner transport binds: per partner id with DTLS (one socket per
   * server), under UDP_PORT_KEY for the one plain UDP socket; none with TLS. Stored in EngineState
   * and reused at every start (see PartnerPorts).
   */
  ports: Record<string, number>;
  /** DTLS: establishes the association with a partner server now, without a message. */
  connect?: (server: Endpoint) => Promise<Endpoint>;
}

const endpointKey = (e: Endpoint): string => `${normalizeAddress(e.address)}|${e.port}`;

/**
 * The local ports of the partner transport, as stored in EngineState ("partner-local-ports").
 * A child order (8.8) is a transaction of this server's client engine toward a partner, and the
 * partner knows it by its 4-tuple (8.3): the client half is the local port. A port chosen once
 * and bound again at every start keeps that 4-tuple across a restart, so a child order still
 * negotiating when the process died goes on: the partner's answers reach the restarted process
 * and its retransmissions are recognised (docs/provider-server.md section 8).
 */
export interface PartnerPorts {
  ports: Record<string, number>;
}

/** The key of the one plain UDP socket's port in PartnerPorts (UDP partners share it). */
const UDP_PORT_KEY = '*';

/** The stored ports, ignoring anything that is not a port. */
export function partnerPortsFrom(stored: unknown): Record<string, number> {
  const ports: Record<string, number> = {};
  const raw = typeof stored === 'object' && stored !== null ? (stored as { ports?: unknown }).ports : undefined;
  if (typeof raw !== 'object' || raw === null) return ports;
  for (const [id, port] of Object.entries(raw)) {
    if (typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65535) ports[id] = port;
  }
  return ports;
}

/**
 * Free UDP ports, one per family asked for, chosen by the kernel. The probe sockets stay bound
 * until every port is chosen, so no two partners get the same one.
 */
async function freeUdpPorts(families: readonly ('udp4' | 'udp6')[]): Promise<number[]> {
  const sockets: Socket[] = [];
  try {
    const ports: number[] = [];
    for (const family of families) {
      const socket = createSocket(family);
      sockets.push(socket);
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(0, () => resolve());
      });
      ports.push(socket.address().port);
    }
    return ports;
  } finally {
    await Promise.all(sockets.map((socket) => new Promise<void>((resolve) => socket.close(() => resolve()))));
  }
}

/** Whether a child order at the client engine still expects something from its partner. */
function childOrderOpen(order: ClientOrderRecord): boolean {
  return (order.fsm.state !== 'Completed' && order.fsm.state !== 'Cancelled') || order.fsm.outstanding !== undefined;
}

/**
 * Reads the policy's partners: their addresses (host names resolved once, at start-up), their
 * credentials (the PSK of `pskIdentity` from `pskFile`, or the TLS files), and opens the one
 * client transport they share. A partner that cannot be set up (unresolvable, unreadable key,
 * plain UDP off loopback) is left out with a warning: orders that need it get FAIL 5, the rest of
 * the provider runs. Undefined when the policy has no partners. The transport binds the local
 * ports of `storedPorts` (PartnerPorts); a partner without one gets a free port, kept from then on.
 */
async function setupPartners(policy: Policy, logger: Logger, storedPorts: Record<string, number>): Promise<PartnerSetup | undefined> {
  const entries = Object.entries(policy.partners);
  const first = entries[0];
  if (first === undefined) return undefined;
  const kinds = new Set(entries.map(([, p]) => p.transport));
  if (kinds.size > 1) throw new StartError(`the policy's partners use different transports (${[...kinds].join(', ')}); this server reaches all of them over one`);
  const kind = first[1].transport;
  const links: Record<string, PartnerLink> = {};
  const credentials = new Map<string, PskCredentials>();
  let tlsFiles: { caFile: string; certFile: string; keyFile: string } | undefined;
  for (const [id, partner] of entries) {
    const skip = (why: string): void => logger.warn('partner-unavailable', { partner: id, server: partner.server, detail: `${why}; orders needing this partner get FAIL 5` });
    const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(partner.server);
    const host = match?.[1] ?? match?.[2] ?? '';
    const port = Number(match?.[3]);
    let address = host;
    if (isIP(host) === 0) {
      try {
        address = (await lookup(host)).address;
      } catch (error) {
        skip(`host "${host}" does not resolve (${error instanceof Error ? error.message : String(error)})`);
        continue;
      }
    }
    const server = { address, port };
    if (kind === 'udp' && !isLoopbackAddress(address)) {
      skip('plain UDP only reaches loopback addresses (RFC 8921 section 13)');
      continue;
    }
    let serverIdentity: string | undefined;
    if (kind === 'dtls') {
      const identity = partner.pskIdentity ?? '';
      try {
        credentials.set(endpointKey(server), { identity, key: pskFromText(readFileSync(partner.pskFile ?? '', 'utf8'), identity) });
      } catch (error) {
        skip(`no usable PSK for identity "${identity}" in ${partner.pskFile ?? '(no pskFile)'} (${error instanceof Error ? error.message : String(error)})`);
        continue;
      }
      serverIdentity = identity;
    } else if (kind === 'tls') {
      const files = { caFile: partner.caFile ?? '', certFile: partner.certFile ?? '', keyFile: partner.keyFile ?? '' };
      if (files.caFile === '' || files.certFile === '' || files.keyFile === '') {
        skip('transport tls needs caFile, certFile and keyFile');
        continue;
      }
      if (tlsFiles !== undefined && JSON.stringify(tlsFiles) !== JSON.stringify(files)) {
        skip('every TLS partner must use the same certificate files');
        continue;
      }
      tlsFiles = files;
    }
    links[id] = { server, ...(serverIdentity === undefined ? {} : { serverIdentity }) };
  }
  const warn = { warn: (message: string) => logger.warn('partner-transport', { detail: message }) };
  if (kind === 'dtls') {
    // One socket per partner server, each on its own stored port (a new partner gets a free one).
    const ports: Record<string, number> = { ...storedPorts };
    const missing = Object.entries(links).filter(([id]) => ports[id] === undefined);
    const chosen = await freeUdpPorts(missing.map(([, link]) => (isIP(link.server.address) === 6 ? 'udp6' : 'udp4')));
    missing.forEach(([id], i) => {
      const port = chosen[i];
      if (port !== undefined) ports[id] = port;
    });
    const portOf = new Map(Object.entries(links).map(([id, link]) => [endpointKey(link.server), ports[id]]));
    const transport = new DtlsClientTransport({
      psk: (server) => {
        const found = credentials.get(endpointKey(server));
        if (found === undefined) throw new Error(`no PSK configured for ${formatEndpoint(server)}`);
        return found;
      },
      localPort: (server) => portOf.get(endpointKey(server)),
      logger: warn,
    });
    return { transport, kind, links, localEndpoint: (server) => transport.localFor(server), ports, connect: (server) => transport.connect(server) };
  }
  if (kind === 'tls') {
    const files = tlsFiles;
    if (files === undefined) {
      // No usable TLS partner: nothing will be sent (their orders get FAIL 5).
      const none: MessageTransport = {
        kind: 'tls',
        local: () => ({ address: '0.0.0.0', port: 0 }),
        send: () => Promise.reject(new Error('no usable TLS partner')),
        onMessage: () => () => undefined,
        close: () => Promise.resolve(),
      };
      return { transport: none, kind, links, localEndpoint: () => undefined, ports: {} };
    }
    // TCP: a connection that closes is reopened from a new port, and the partner's TLS server can
    // only answer on a connection the client opened. Ports are not kept (docs/provider-server.md 8).
    const transport = new TlsClientTransport({ ca: readFileSync(files.caFile), cert: readFileSync(files.certFile), key: readFileSync(files.keyFile), logger: warn });
    return { transport, kind, links, localEndpoint: (server) => transport.localFor(server), ports: {} };
  }
  // Plain UDP (loopback development): one socket for every partner, on its stored port.
  const stored = storedPorts[UDP_PORT_KEY];
  let transport: UdpTransport;
  try {
    transport = await UdpTransport.bind({ host: '127.0.0.1', port: stored ?? 0, logger: warn });
  } catch (error) {
    if (stored === undefined) throw error;
    warn.warn(`local port ${stored} cannot be bound (${error instanceof Error ? error.message : String(error)}); using a new port: child orders still negotiating are lost`);
    transport = await UdpTransport.bind({ host: '127.0.0.1', logger: warn });
  }
  return { transport, kind, links, localEndpoint: () => transport.local(), ports: { ...storedPorts, [UDP_PORT_KEY]: transport.local().port } };
}

/** Cascaded negotiation wired into a core: the client engine and the coordinator, restored if stored. */
function attachPartners(core: ProviderCore, setup: PartnerSetup, loaded: LoadedState, deps: { clock: Clock; random: RandomSource; policy: Policy; timers?: CoreDeps['timers'] }): ClientEngine {
  const clientDeps = {
    clock: deps.clock,
    random: deps.random,
    localEndpoint: setup.localEndpoint,
    transport: setup.kind,
    label: 'partners',
    config: { ...(deps.timers === undefined ? {} : { timers: deps.timers }) },
  };
  let clientEngine: ClientEngine;
  let coordinator: PartnerCoordinator;
  try {
    clientEngine = loaded.partnerClient === undefined ? new ClientEngine(clientDeps) : ClientEngine.restore(loaded.partnerClient, clientDeps);
    const coordinatorDeps = {
      serverEngine: core.engine,
      decisionEngine: core.decisions,
      clientEngine,
      partners: setup.links,
      clock: deps.clock,
      config: { identity: providerIdentity(deps.policy) },
    };
    coordinator =
      loaded.coordinator === undefined
        ? new PartnerCoordinator(coordinatorDeps)
        : PartnerCoordinator.restore(loaded.coordinator as PartnerCoordinatorSnapshot, coordinatorDeps);
  } catch (error) {
    throw new StartError(`the stored child orders cannot be restored: ${error instanceof Error ? error.message : String(error)}`);
  }
  core.attachPartners({
    seam: coordinatorSeam(coordinator, core.queuePartnerOutput),
    receive: (inbound) => coordinator.receiveClient(inbound),
    clientSnapshot: () => clientEngine.snapshot(),
  });
  return clientEngine;
}

export interface CoreDeps {
  clock: Clock;
  random: RandomSource;
  policy: Policy;
  transport: ProviderTransportKind;
  timers?: { retransTimerMs: number; maxRetries: number };
  acl?: { allow: readonly string[]; deny: readonly string[] };
  /** DTLS: the PSK table, whose customers scope authorisation. */
  psk?: PskTable;
  engineConfig?: StartOptions['engineConfig'];
  logger: Logger;
}

/**
 * The decision engine, the server engine and the activation scheduler restored from what the
 * store loaded (or fresh, from an empty LoadedState), as the core the runner drives.
 */
export function buildCore(loaded: LoadedState, deps: CoreDeps): ProviderCore {
  const { clock, logger } = deps;
  const decisions = createDecisionEngine(deps.policy, {
    clock,
    ...(loaded.decision === undefined ? {} : { snapshot: loaded.decision, ledger: restoredLedger(loaded.decision, deps.policy.pools, logger) }),
    log: (entry) => logger.debug('decision', { order: entry.orderId, cause: entry.event, detail: entry.detail }),
  });
  const snapshot: ServerEngineSnapshot = {
    format: 'cpnp-server-engine',
    version: 1,
    orders: loaded.orders,
    responseCache: loaded.responseCache,
    failLimiter: loaded.failLimiter ?? { buckets: [] },
  };
  const accessFilter = deps.acl === undefined ? undefined : aclFilter(deps.acl);
  const engine = ServerEngine.restore(snapshot, {
    clock,
    random: deps.random,
    decider: decisions,
    config: { transport: deps.transport, ...(deps.timers === undefined ? {} : { timers: deps.timers }), ...deps.engineConfig },
    ...(accessFilter === undefined ? {} : { accessFilter }),
    ...(deps.psk === undefined ? {} : { authorize: customerAuthorizer(deps.psk) }),
  });
  const activations = new ActivationScheduler(clock, loaded.activations);
  for (const order of loaded.orders) activations.sync(order.id, order.fsm.activation);
  return new ProviderCore(engine, decisions, activations, clock);
}

/** What the store reads from a core while it plans a commit. */
export function storeViewOf(
  core: ProviderCore,
  transport: ProviderTransportKind,
  local: () => Endpoint,
  partner?: { kind: ProviderTransportKind; local: () => Endpoint; ports?: Record<string, number> },
): StoreView {
  const { engine, decisions, activations } = core;
  const ports = partner?.ports;
  return {
    ...(partner === undefined ? {} : { partnerTransport: partner.kind, partnerLocal: partner.local, partnerClientSnapshot: () => core.partners?.clientSnapshot() }),
    ...(ports === undefined || Object.keys(ports).length === 0 ? {} : { partnerPortsSnapshot: (): PartnerPorts => ({ ports }) }),
    transport,
    local,
    orderIdOfTransaction: (txid) => engine.orderIdOfTransaction(txid),
    getOrder: (orderId) => engine.getOrder(orderId),
    activationStatus: (order) => activations.status(order.id, order.fsm.activation),
    activations: () => activations.list(),
    decisionSnapshot: () => decisions.snapshot(),
    decisionChanges: () => decisions.changedOrders(),
    decisionPart: (orderId) => decisions.orderPart(orderId),
    decisionWritten: (written) => decisions.markWritten(written),
    ledger: decisions.ledger,
    coordinatorSnapshot: () => core.coordinator?.snapshot(),
    // Asked for at most every few seconds, and only the limiter (not a copy of every order).
    failLimiterSnapshot: () => engine.failLimiterSnapshot(),
  };
}

/**
 * Group commits in flight at once with a pipelined writer (issue 8): with one, the event loop
 * waits for every fsync and the writer thread for every plan (each idle about 40 % at load).
 * Default 1 (not pipelined): with 2, the portal's host-load test (200 negotiations over DTLS
 * against two providers) failed three times out of three on a loaded machine, where it passes
 * in 35 s with 1; the cause is not found yet (docs/benchmarks.md, round 3). Opt in with
 * CPNP_COMMITS_IN_FLIGHT=2 to measure or debug it.
 */
const COMMITS_IN_FLIGHT = Number(process.env.CPNP_COMMITS_IN_FLIGHT ?? 1);

export async function startProvider(config: ProviderConfig, options: StartOptions = {}): Promise<RunningProvider> {
  const clock = options.clock ?? systemClock;
  const random = options.random ?? cryptoRandom;
  const logger = options.logger ?? createJsonLogger({ level: config.logLevel, clock });
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async (): Promise<void> => {
    for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
  };

  try {
    // 1. The database: migrations first (SQLite; PostgreSQL is initialised by init-postgresql).
    if (config.databaseFile !== undefined) {
      try {
        const result = await applyMigrations(config.databaseFile);
        if (result.applied.length > 0) logger.info('migrations-applied', { database: config.databaseFile, migrations: result.applied });
      } catch (error) {
        throw new StartError(`database ${config.databaseFile}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    let db: Database;
    try {
      db = await openDatabase(config.database);
    } catch (error) {
      throw new StartError(`database ${config.databaseFile ?? '(postgresql)'}: cannot be opened: ${error instanceof Error ? error.message : String(error)}`);
    }
    cleanups.push(() => db.close());
    // On a SQLite file, the store writes through its own direct connection, owned by a worker
    // thread (prepared statements, one transaction per group commit, the fsync off the event
    // loop); Prisma still reads at start-up and serves PostgreSQL.
    let writer: StoreWriter | undefined;
    if (db.provider === 'sqlite' && db.file !== undefined && db.file !== ':memory:') {
      const direct = workerSqliteWriter(db.file);
      writer = direct;
      cleanups.push(async () => {
        await direct.close?.();
      });
    }
    const store = new ProviderStore(db, { clock, ...(writer === undefined ? {} : { writer }) });
    const loaded = await store.load();

    // 2. PSK identities and the transport.
    let psk = config.psk;
    let createdIdentity: string | undefined;
    if (config.transport === 'dtls' && psk === undefined) {
      if (!config.initPsk || config.pskFile === undefined) throw new StartError('no PSK identities: give --psk-file, or --init-psk');
      if (existsSync(config.pskFile)) psk = PskTable.parse(readFileSync(config.pskFile, 'utf8'));
      else {
        const made = initPskFile(config.pskFile, random);
        psk = made.table;
        createdIdentity = made.identity;
        logger.info('psk-created', { file: config.pskFile, identity: made.identity, detail: 'one identity with a random 32-byte key, file mode 0600' });
      }
    }
    const warn = { warn: (message: string) => logger.warn('transport', { detail: message }) };
    let transport: MessageTransport;
    try {
      if (config.transport === 'dtls') {
        const dtls = await DtlsServer.listen({ host: config.listen.host, port: config.listen.port, psk: psk ?? PskTable.from([]) });
        dtls.on('handshake', (e) => logger.info('handshake', { client: e.peer, identity: e.identity, customer: e.customer, cipher: e.cipher }));
        dtls.on('handshake-failed', (e) => logger.warn('handshake-failed', { client: e.peer, cause: e.reason, ...(e.detail === undefined ? {} : { detail: e.detail }) }));
        dtls.on('association-closed', (e) => logger.debug('association-closed', { client: e.peer, identity: e.identity, cause: e.reason }));
        dtls.on('message-dropped', (e) => logger.info('dropped', { client: e.peer, cause: e.reason, size: e.size }));
        dtls.on('socket-error', (e) => logger.error('socket-error', { detail: e.error.message, ...(e.peer === undefined ? {} : { client: e.peer }) }));
        transport = dtls;
      } else if (config.transport === 'udp') {
        transport = await UdpTransport.listen({ host: config.listen.host, port: config.listen.port, logger: warn });
      } else {
        const tls = config.tls;
        if (tls === undefined) throw new StartError('--transport tls needs --tls-cert, --tls-key and --tls-ca');
        transport = await TlsServerTransport.listen({
          host: config.listen.host,
          port: config.listen.port,
          cert: readFileSync(tls.certFile),
          key: readFileSync(tls.keyFile),
          ca: readFileSync(tls.caFile),
          logger: warn,
        });
      }
    } catch (error) {
      if (error instanceof StartError) throw error;
      throw new StartError(`cannot listen on ${config.transport} ${formatEndpoint({ address: config.listen.host, port: config.listen.port })}: ${error instanceof Error ? error.message : String(error)}`);
    }
    const bound = transport;
    cleanups.push(() => bound.close());

    // 3. The decision engine and the server engine, restored with every order and timer.
    const acl = effectiveAcl(config.policy.acl, config.acl);
    const core = buildCore(loaded, {
      clock,
      random,
      policy: config.policy,
      transport: config.transport,
      timers: config.timers,
      acl,
      ...(config.transport === 'dtls' && psk !== undefined ? { psk } : {}),
      ...(options.engineConfig === undefined ? {} : { engineConfig: options.engineConfig }),
      logger,
    });
    const { engine, decisions, activations } = core;
    let partners: PartnerSetup | undefined;
    try {
      partners = await setupPartners(config.policy, logger, partnerPortsFrom(loaded.partnerPorts));
    } catch (error) {
      if (error instanceof StartError) throw error;
      throw new StartError(`cannot open the transport toward the partners: ${error instanceof Error ? error.message : String(error)}`);
    }
    let partnerClient: ClientEngine | undefined;
    if (partners !== undefined) {
      const setup = partners;
      cleanups.push(() => setup.transport.close());
      partnerClient = attachPartners(core, setup, loaded, { clock, random, policy: config.policy, timers: config.timers });
      logger.info('partners', {
        transport: setup.kind,
        partners: Object.fromEntries(Object.entries(setup.links).map(([id, link]) => [id, formatEndpoint(link.server)])),
        ...(Object.keys(setup.ports).length === 0 ? {} : { localPorts: setup.ports }),
      });
    }
    const view = storeViewOf(
      core,
      config.transport,
      () => bound.local(),
      partners === undefined ? undefined : { kind: partners.kind, local: () => partners.transport.local(), ports: partners.ports },
    );

    // 4. Reconcile the projections (pools, reservations, activations) with the restored state.
    await store.commit({ ...emptyOutput(), orders: [] }, view, { full: true });

    // 5. The runner: commit, then send.
    const faults = options.faults;
    const wire: MessageTransport =
      faults?.afterSend === undefined
        ? bound
        : {
            kind: bound.kind,
            local: () => bound.local(),
            onMessage: (handler) => bound.onMessage(handler),
            close: () => bound.close(),
            send: async (to, bytes) => {
              await bound.send(to, bytes);
              const decoded = decodeMessage(bytes);
              if (decoded.ok) faults.afterSend?.(decoded.message);
            },
          };
    const runner = new GroupCommitRunner<ProviderCore>({
      core,
      transport: wire,
      clock,
      side: 'server',
      ...(options.timers === undefined ? {} : { timers: options.timers }),
      // What goes to partners counts too: a tick may produce nothing else (a child order's
      // retransmission), and must still be committed and sent.
      carries: (output) => output.sends.length > 0 || output.events.length > 0 || (output as ProviderOutput).partner !== undefined,
      // Pipelined on the SQLite writer thread: the next group is planned while one commits.
      maxCommitsInFlight: store.pipelined ? COMMITS_IN_FLIGHT : 1,
      // Group commit: every output produced within one event-loop turn, one transaction.
      commit: async (outputs) => {
        const provided = outputs as ProviderOutput[];
        for (const output of provided) faults?.beforeCommit?.(output);
        const summary = await store.commitBatch(provided, view);
        if (summary.statements > 0) logger.debug('committed', { ...summary, outputs: provided.length });
        for (const output of provided) faults?.afterCommit?.(output);
        // Child orders (8.8): what goes to partners leaves once committed too. Not awaited: a
        // handshake with a slow partner must not hold up the customers' messages.
        for (const output of provided) {
          for (const event of output.partner?.events ?? []) {
            logEngineEvent(logger, event);
            options.onEvent?.(event);
          }
          for (const send of output.partner?.sends ?? []) {
            partners?.transport.send(send.to, send.bytes).catch((error: unknown) => {
              logger.error('send-error', { client: formatEndpoint(send.to), cause: 'partner-send', detail: error instanceof Error ? error.message : String(error) });
            });
          }
        }
      },
      onEvent: (event) => {
        logEngineEvent(logger, event);
        options.onEvent?.(event);
      },
    });
    runner.start();
    const unsubscribePartners = partners?.transport.onMessage((inbound) => {
      runner.run((c) => c.receivePartner(inbound)).catch(() => undefined);
    });
    // After a restart, a partner answers a child order still negotiating (an OFFER after its own
    // PROCESSING...) over the association it knows, which died with the old process. The stored
    // port gives the new association the same 4-tuple, and opening it now (not at the next send,
    // which may never come) lets the partner's DTLS server replace the old one (RFC 6347 4.2.8).
    if (partners?.connect !== undefined && partnerClient !== undefined) {
      const connect = partners.connect;
      const owing = new Map<string, Endpoint>();
      for (const order of partnerClient.orders()) if (childOrderOpen(order)) owing.set(endpointKey(order.server), order.server);
      const partnerOf = new Map(Object.entries(partners.links).map(([id, link]) => [endpointKey(link.server), id]));
      for (const [key, server] of owing) {
        const about = { partner: partnerOf.get(key) ?? formatEndpoint(server), server: formatEndpoint(server) };
        connect(server).then(
          (local) => logger.info('partner-reconnected', { ...about, port: local.port, detail: 'child orders still negotiating: association re-established from the stored local port' }),
          (error: unknown) => logger.warn('partner-reconnect-failed', { ...about, detail: error instanceof Error ? error.message : String(error) }),
        );
      }
    }
    cleanups.push(async () => {
      unsubscribePartners?.();
      await runner.stop();
      // Whatever is still unwritten (the FAIL rate limiter is written at most every 5 s) goes now.
      await store.commit({ ...emptyOutput(), orders: [] }, view, { flushFailLimiter: true }).catch(() => undefined);
    });

    // 6. The admin endpoint.
    const activationOf = (order: ServerOrderRecord): ProjectedActivation => activations.status(order.id, order.fsm.activation);
    const decide = async (orderId: string, approve: boolean, statusCode?: number): Promise<AdminResult> => {
      if (statusCode !== undefined && (!isStatusCode(statusCode) || statusCode === StatusCode.MORE_TIME_REJECTED)) {
        return { ok: false, status: 400, orderId, error: `statusCode ${statusCode}: expected a FAIL status code of Table 4 other than 7 (1-6, 8)` };
      }
      let result: AdminResult = { ok: false, status: 404, orderId, error: `no order ${orderId}` };
      await runner.run((c) =>
        c.command((e) => {
          const order = e.getOrder(orderId);
          if (order === undefined) return emptyOutput();
          const held = order.transactions.find((t) => t.held !== undefined);
          let out: EngineOutput;
          let action: string;
          if (held !== undefined) {
            // 8.2: WITHDRAW / ACTIVATE subject to administrative validation (policy decisionModes).
            const code = (statusCode ?? StatusCode.ADMINISTRATIVELY_PROHIBITED) as StatusCodeValue;
            out = e.completeRequest(orderId, approve ? { kind: 'proceed' } : { kind: 'fail', statusCode: code }, held.session.txid);
            action = approve ? 'request-approved' : 'request-rejected';
          } else if (order.fsm.adminApprovalPending) {
            out = approve ? e.adminApprove(orderId) : e.adminReject(orderId, statusCode as StatusCodeValue | undefined);
            action = approve ? 'approved' : 'rejected';
          } else {
            result = { ok: false, status: 409, orderId, state: order.fsm.state, error: `order ${orderId} does not await an administrative decision (state ${order.fsm.state})` };
            return emptyOutput();
          }
          const refused = out.events.find((ev) => ev.kind === 'command-rejected');
          const state = e.getOrder(orderId)?.fsm.state ?? order.fsm.state;
          result = refused
            ? { ok: false, status: 409, orderId, state, error: refused.detail ?? refused.cause }
            : { ok: true, status: 200, orderId, state, action };
          return out;
        }),
      );
      if (result.ok && store.failing) {
        // The decision is made, but the database refused it: nothing was sent; the next commit retries.
        return { ...result, ok: false, status: 503, error: 'decided, but not stored yet (database error): nothing was sent; it is retried with the next commit' };
      }
      return result;
    };
    const orders = (): OrderSummary[] => engine.listOrders().map((o) => summarize(o, activationOf(o)));
    let admin: AdminServer | undefined;
    if (config.admin !== undefined) {
      try {
        admin = await startAdminServer({
          host: config.admin.host,
          port: config.admin.port,
          logger,
          handlers: {
            orders,
            order: (id) => {
              const order = engine.getOrder(id);
              if (order === undefined) return undefined;
              return { ...summarize(order, activationOf(order)), record: order, decisions: decisions.explain(id) ?? null };
            },
            approve: (id) => decide(id, true),
            reject: (id, statusCode) => decide(id, false, statusCode),
          },
        });
      } catch (error) {
        throw new StartError(`cannot start the admin endpoint on ${formatEndpoint({ address: config.admin.host, port: config.admin.port })}: ${error instanceof Error ? error.message : String(error)}`);
      }
      const server = admin;
      writeAdminFile(config.adminFile, { url: server.url, token: server.token, pid: process.pid, startedAt: new Date(clock.now()).toISOString() });
      cleanups.push(async () => {
        removeAdminFile(config.adminFile, server.token);
        await server.close();
      });
    }

    const endpoint = bound.local();
    logger.info('listening', {
      transport: config.transport,
      address: endpoint.address,
      port: endpoint.port,
      provider: config.policy.provider.name,
      database: config.databaseFile ?? '(postgresql)',
      orders: loaded.orders.length,
      ...(acl.allow.length + acl.deny.length === 0 ? {} : { acl }),
      ...(admin === undefined ? {} : { admin: admin.url, adminFile: config.adminFile }),
    });

    let closed: Promise<void> | undefined;
    return {
      config,
      endpoint,
      transport: bound,
      adminUrl: admin?.url,
      adminToken: admin?.token,
      createdIdentity,
      engine,
      decisions,
      core,
      store,
      db,
      runner,
      logger,
      orders,
      approve: (id) => decide(id, true),
      reject: (id, statusCode) => decide(id, false, statusCode),
      close: () => {
        closed ??= (async () => {
          await cleanup();
          logger.info('stopped', { provider: config.policy.provider.name });
        })();
        return closed;
      },
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
