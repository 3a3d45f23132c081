/**
 * The engine host: the portal's embedded CPNP client (RFC 8921 section 6, second deployment
 * model). One per process (start.ts keeps it on globalThis). It owns the ClientEngine, its
 * EngineRunner, the transports (DTLS associations, one socket per provider), timers and
 * retransmissions. Server actions never talk to the network: they insert Intent rows; the host
 * claims them in order, applies each to the engine as one runner step, and the runner's commit
 * hook writes everything that step changed (negotiation columns and engine record, history,
 * offers, message log, the order's aggregate state, the intent's outcome) in ONE transaction
 * before a single byte of it goes on the wire. On start it loads every open negotiation back
 * from its stored record: timers fire at their stored due times (expired offers expire,
 * unanswered requests are retransmitted). See docs/portal.md.
 *
 * Framework-free (no Next.js import): the same class runs in the Next.js server (instrumentation)
 * and in a plain Node child process (tests).
 */
import { decodeMessage } from '../../cpnp/codec';
import { systemClock, type Clock } from '../../cpnp/clock';
import type { Cpd } from '../../cpnp/cpd/types';
import { diffCpd } from '../../cpnp/cpd/diff';
import { millisToDateTime, type DateTime } from '../../cpnp/date-time';
import type { DeclineReasonValue } from '../../cpnp/decline-reason';
import { ClientEngine, type ClientChanges, type ClientOrderRecord, type CommandResult } from '../../cpnp/engine/client-engine';
import { emptyOutput, mergeOutputs, type EngineEvent, type EngineOutput, type JournaledCore } from '../../cpnp/engine/output';
import { EngineRunner, type CommitStep } from '../../cpnp/engine/runner';
import { toHex } from '../../cpnp/hex';
import type { InformationElements, NegotiationOptions } from '../../cpnp/information-elements';
import { methodName } from '../../cpnp/method';
import { cryptoRandom } from '../../cpnp/random';
import type { TimerConfig } from '../../cpnp/timers';
import { DtlsClientTransport, type DtlsRetryPolicy } from '../../cpnp/transport/dtls-client';
import { clientMessageExpectsAnswer } from '../../cpnp/transport/expects-answer';
import type { Endpoint, Inbound, MessageTransport } from '../../cpnp/transport/transport';
import { TlsPerServerTransport } from '../../cpnp/transport/tls-per-server';
import { UdpTransport } from '../../cpnp/transport/udp';
import type { Prisma, PortalDbClient } from '../db/client';
import { fromJson } from '../db/json';
import { ENGINE_ACTOR, isOneOf, ORDER_STATES, userActor, type IntentKind, type OrderState } from '../db/types';
import { parseIntentPayload } from '../intents/payload';
import { finishIntent, type QueuedIntent } from '../intents/queue';
import { notifyFromStep } from '../notifications/from-step';
import { aggregateOrderState } from '../orders/aggregate';
import { pickOffer, type GroupOffer } from './group';
import { admissible, pendingIntentsAfter, type IntentCursor } from './intent-admission';
import { needsRestore, projectRecord } from './projection';
import { secretKeyFromEnv, type SecretKey } from '../secrets/secret-box';
import { endpointKey, loadRoutes, revisionKey, type ProviderRoute, type RouteResult, type RouteTransport } from './providers';
import { SendWindow, awaitsAnswer } from './send-window';
import { notifyOrderChanged, onIntentQueued, onProvidersChanged } from './signal';

type Tx = Prisma.TransactionClient;

export interface HostLogger {
  info(message: string): void;
  warn(message: string): void;
}

export interface NegotiationHostOptions {
  db: PortalDbClient;
  clock?: Clock;
  /** Backstop poll of the intent queue (the in-process signal is the fast path). Default 3 s. */
  pollMs?: number;
  /** CPNP timers (RETRANS_TIMER, MAX_RETRIES...); the defaults of RFC 8921 8.5 otherwise. */
  timers?: Partial<TimerConfig>;
  /** DTLS handshake retry policy. */
  dtlsRetry?: Partial<DtlsRetryPolicy>;
  logger?: HostLogger;
  label?: string;
  /** The portal secret key that opens sealed provider keys (default: PORTAL_SECRET_KEY[_FILE]). */
  secretKey?: () => SecretKey;
  /** Requests in flight per provider before further intents wait (send-window.ts). Default 32. */
  sendWindow?: number;
}

/** Commands a user's intent runs: their transitions are recorded with the user as actor. */
const USER_CAUSES = new Set(['createOrder', 'approve', 'sendQuotation', 'accept', 'decline', 'cancel', 'withdraw', 'update', 'activate', 'grantMoreTime', 'refuseMoreTime']);

/** SQLite has one writer: a step may wait for another process's write (the web layer's inserts)
 * longer than Prisma's default 5 s; a commit that still fails is rolled back and retried. */
const TX_OPTIONS = { maxWait: 30_000, timeout: 30_000 } as const;

const OFFERED = new Set(['OfferReceived', 'OfferProcessing']);
const NEGOTIATING = new Set(['PQOSent', 'ServerProcessing']);

/** What one runner step is about, for the commit hook (set between begin() and the commit). */
interface StepContext {
  inbound?: Inbound;
  /** Approve: the provider settings revision each new negotiation is pinned to (customerOrderId → revision). */
  pins?: Map<string, number>;
  intent?: { id: string; actor: string; outcome?: { status: 'done' | 'refused'; code: string; message: string | null } };
}

/**
 * The runner's core: the ClientEngine, plus the step context (which received datagram or which
 * intent the step is about) so the commit hook can log the raw message and the intent outcome.
 */
class HostCore implements JournaledCore<ClientChanges> {
  step: StepContext = {};
  constructor(readonly engine: ClientEngine) {}
  receive(inbound: Inbound): EngineOutput {
    this.step.inbound = inbound;
    return this.engine.receive(inbound);
  }
  tick(): EngineOutput {
    return this.engine.tick();
  }
  nextDue(): number | undefined {
    return this.engine.nextDue();
  }
  begin(): void {
    this.step = {};
    this.engine.begin();
  }
  changes(): ClientChanges {
    return this.engine.changes();
  }
  settle(): void {
    this.engine.settle();
  }
  rollback(): void {
    this.engine.rollback();
  }
}

/** One transport kind: its socket(s), its engine (one engine serves one transport kind) and runner. */
interface Lane {
  kind: RouteTransport;
  transport: MessageTransport;
  core: HostCore;
  runner: EngineRunner<HostCore>;
}

interface NegotiationRow {
  id: string;
  orderId: string;
  providerId: string;
  customerOrderId: string;
  clientState: string;
  engineRecord: string | null;
  providerRevision: number | null;
}

type IntentRow = QueuedIntent;

type Outcome = { status: 'done' | 'refused'; code: string; message: string | null };

const DONE: Outcome = { status: 'done', code: 'ok', message: null };

function refusedBy(result: CommandResult): Outcome | undefined {
  return result.ok ? undefined : { status: 'refused', code: result.code, message: result.reason };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** EXPECTED_RESPONSE_TIME `seconds` from now, whole seconds (9.1.6). */
function responseTime(clock: Clock, seconds: number): DateTime {
  return millisToDateTime(Math.ceil((clock.now() + seconds * 1000) / 1000) * 1000);
}

function iesOf(options: NegotiationOptions): InformationElements | undefined {
  return Object.keys(options).length === 0 ? undefined : { options };
}

export class NegotiationHost {
  private readonly db: PortalDbClient;
  private readonly clock: Clock;
  private readonly logger: HostLogger;
  private readonly options: NegotiationHostOptions;
  private readonly lanes = new Map<RouteTransport, Lane>();
  /** Routes per provider settings revision, and each provider's current revision key. */
  private routes = new Map<string, RouteResult>();
  private currentRevision = new Map<string, string>();
  /** Provider endpoint → provider id (send errors name the peer only). */
  private readonly providerByEndpoint = new Map<string, string>();
  /** Provider endpoint → the route whose credentials it uses (current settings win). */
  private readonly routeAtEndpoint = new Map<string, ProviderRoute>();
  /** DTLS: the local port each provider's association used before a restart (8.3 4-tuple). */
  private readonly preferredPort = new Map<string, number>();
  private pollTimer: ReturnType<typeof setInterval> | undefined;
  private unsubscribe: (() => void) | undefined;
  private draining: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private started = false;
  /** Restore is done: runners run (lanes made during restore start together afterwards). */
  private live = false;
  /** Commit failures per intent: after three the intent is refused instead of retried forever. */
  private readonly attempts = new Map<string, number>();
  private readonly window: SendWindow;
  /** Orders known to have a single negotiation: no group to select for (saves a query per step). */
  private readonly solo = new Set<string>();

  constructor(options: NegotiationHostOptions) {
    this.options = options;
    this.window = new SendWindow(options.sendWindow);
    this.db = options.db;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? { info: (m) => console.log(`cpnp host: ${m}`), warn: (m) => console.warn(`cpnp host: ${m}`) };
  }

  get running(): boolean {
    return this.started && !this.stopped;
  }

  /** Restores every open negotiation, starts the runners, and begins draining the intent queue. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.refreshRoutes();
    const restored = await this.restore();
    // Lanes created from now on (a first order over a new transport) start at once.
    this.live = true;
    for (const lane of this.lanes.values()) lane.runner.start();
    const offIntent = onIntentQueued(() => this.wake());
    const offProviders = onProvidersChanged(() => void this.reloadProviders().catch((error) => this.logger.warn(`provider registry: ${errorText(error)}`)));
    this.unsubscribe = () => {
      offIntent();
      offProviders();
    };
    this.pollTimer = setInterval(() => this.wake(), this.options.pollMs ?? 3000);
    this.pollTimer.unref?.();
    this.logger.info(`started: ${restored} open negotiation(s) restored`);
    this.wake();
  }

  /** Stops taking intents, lets the step in progress commit, closes the sockets. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribe?.();
    if (this.pollTimer) clearInterval(this.pollTimer);
    await this.draining?.catch(() => undefined);
    for (const lane of this.lanes.values()) await lane.runner.stop();
    for (const lane of this.lanes.values()) await lane.transport.close().catch(() => undefined);
    this.lanes.clear();
    this.logger.info('stopped');
  }

  /** Claims and applies pending intents now (coalesced: one drain at a time). */
  wake(): void {
    if (this.stopped || !this.started) return;
    if (this.draining) {
      this.again = true;
      return;
    }
    this.draining = this.drain()
      .catch((error) => this.logger.warn(`intent queue: ${errorText(error)}`))
      .finally(() => {
        this.draining = undefined;
        if (this.again && !this.stopped) {
          this.again = false;
          this.wake();
        }
      });
  }

  /** Resolves once the queue was drained at least once after this call (tests). */
  async settled(): Promise<void> {
    this.wake();
    while (this.draining) await this.draining;
    for (const lane of this.lanes.values()) await lane.runner.idle();
  }

  /** The engine's view of one negotiation (tests, diagnostics). */
  engineOrder(customerOrderId: string): ClientOrderRecord | undefined {
    for (const lane of this.lanes.values()) {
      const rec = lane.core.engine.order(customerOrderId);
      if (rec) return rec;
    }
    return undefined;
  }

  // --- transports and lanes -------------------------------------------------------------------

  /**
   * Re-reads the provider registry (a provider added, edited, disabled): new orders use the new
   * settings at once; open negotiations keep the revision they were approved with. Called on
   * the in-process "providers changed" signal and before every approval (another process may
   * have changed the registry). A TLS provider whose current credentials changed gets a new
   * connection on its next send.
   */
  async reloadProviders(): Promise<void> {
    if (this.stopped) return;
    const before = new Map(this.routeAtEndpoint);
    await this.refreshRoutes();
    const tls = this.lanes.get('tls')?.transport;
    if (tls instanceof TlsPerServerTransport) {
      for (const [key, old] of before) {
        const now = this.routeAtEndpoint.get(key);
        if (old.transport === 'tls' && now !== undefined && now !== old && (now.id !== old.id || now.revision !== old.revision)) await tls.forget(old.endpoint);
      }
    }
  }

  private async refreshRoutes(): Promise<void> {
    const loaded = await loadRoutes(this.db, { secretKey: this.options.secretKey ?? (() => secretKeyFromEnv()) });
    this.routes = loaded.byRevision;
    this.currentRevision = loaded.current;
    const current = new Set(loaded.current.values());
    // Older revisions first, so that the current settings win where they share an endpoint.
    const ordered = [...loaded.byRevision.entries()].sort(([a], [b]) => Number(current.has(a)) - Number(current.has(b)));
    for (const [, r] of ordered) {
      if (!r.ok) continue;
      this.providerByEndpoint.set(endpointKey(r.route.endpoint), r.route.id);
      this.routeAtEndpoint.set(endpointKey(r.route.endpoint), r.route);
    }
  }

  /** The route of a negotiation: the revision it was approved with, else the provider's current one. */
  private routeFor(providerId: string, revision?: number | null): RouteResult {
    const key = revision === undefined || revision === null ? this.currentRevision.get(providerId) : revisionKey(providerId, revision);
    return (key === undefined ? undefined : this.routes.get(key)) ?? { ok: false, code: 'provider-config', message: 'unknown provider' };
  }

  private routeByEndpoint(server: Endpoint): ProviderRoute | undefined {
    return this.routeAtEndpoint.get(endpointKey(server));
  }

  private async lane(kind: RouteTransport): Promise<Lane> {
    const existing = this.lanes.get(kind);
    if (existing) return existing;
    let transport: MessageTransport;
    let localEndpoint: (server: Endpoint) => Endpoint | undefined;
    if (kind === 'dtls') {
      const dtls = new DtlsClientTransport({
        psk: (server) => {
          const psk = this.routeByEndpoint(server)?.psk;
          if (!psk) throw new Error(`no PSK configured for ${server.address}:${server.port}`);
          return psk;
        },
        localPort: (server) => this.preferredPort.get(endpointKey(server)),
        // A provider busy with many orders may take more than the default 1.5 s to answer; taking
        // that silence for a dead association re-handshakes in a loop and loses its answers. 5 s
        // still lets the third retransmission (RETRANS_TIMER 2, 4, 8 s) go through a fresh one.
        deadAfterMs: 5000,
        expectsAnswer: clientMessageExpectsAnswer,
        ...(this.options.dtlsRetry ? { retry: this.options.dtlsRetry } : {}),
        logger: { warn: (m: string) => this.logger.warn(m) },
      });
      transport = dtls;
      localEndpoint = (server) => dtls.localFor(server);
    } else if (kind === 'tls') {
      const tls = new TlsPerServerTransport({
        credentials: (server) => {
          const creds = this.routeByEndpoint(server)?.tls;
          if (!creds) throw new Error(`no TLS credentials configured for ${server.address}:${server.port}`);
          return { ...creds, connectTimeoutMs: 10_000 };
        },
        logger: { warn: (m: string) => this.logger.warn(m) },
      });
      transport = tls;
      localEndpoint = (server) => tls.localFor(server);
    } else {
      const udp = await UdpTransport.bind({ host: '127.0.0.1', port: 0, logger: { warn: (m: string) => this.logger.warn(m) } });
      transport = udp;
      localEndpoint = () => udp.local();
    }
    const engine = new ClientEngine({
      clock: this.clock,
      random: cryptoRandom,
      localEndpoint,
      transport: kind,
      ...(this.options.label ? { label: this.options.label } : {}),
      // Every OFFER is answered with PROCESSING at once (Figure 6): the provider stops
      // retransmitting while a person decides; accept/decline stay the customer's.
      config: { autoProcessOffer: true, ...(this.options.timers ? { timers: this.options.timers } : {}) },
    });
    const core = new HostCore(engine);
    const lane: Lane = {
      kind,
      transport,
      core,
      runner: new EngineRunner<HostCore>({
        core,
        transport,
        clock: this.clock,
        side: 'client',
        commit: (step) => this.commit(lane, step),
        onEvent: (event) => this.onRunnerEvent(event),
      }),
    };
    this.lanes.set(kind, lane);
    if (this.live && !this.stopped) lane.runner.start();
    return lane;
  }

  /** Reachability: a transport that cannot reach a provider is shown on its open negotiations. */
  private onRunnerEvent(event: EngineEvent): void {
    if (event.kind === 'send-error' && event.peer) {
      const providerId = this.providerByEndpoint.get(endpointKey(event.peer));
      if (providerId === undefined) return;
      void this.db.negotiation
        .updateMany({
          // Open negotiations, and those that ended while the provider did not answer.
          where: { providerId, engineRecord: { not: null }, OR: [{ clientState: { not: 'Cancelled' } }, { reachability: 'retrying' }] },
          data: { reachability: 'unreachable', lastError: (event.detail ?? event.cause).slice(0, 500) },
        })
        .then(async () => {
          const orders = await this.db.negotiation.findMany({ where: { providerId, reachability: 'unreachable' }, select: { orderId: true }, distinct: ['orderId'] });
          for (const o of orders) notifyOrderChanged(o.orderId);
        })
        .catch((error) => this.logger.warn(`reachability: ${errorText(error)}`));
    } else if (event.kind === 'error' || event.kind === 'dropped') {
      this.logger.warn(`${event.kind} ${event.cause}: ${event.detail ?? ''}`);
    }
  }

  // --- restore ---------------------------------------------------------------------------------

  /** Loads every open negotiation's record into its lane's engine (one committed step per lane). */
  private async restore(): Promise<number> {
    const rows = await this.db.negotiation.findMany({
      where: { engineRecord: { not: null }, OR: [{ clientState: { not: 'Cancelled' } }, { alarm: { not: null } }, { nextRetransmitAt: { not: null } }] },
      select: { id: true, providerId: true, providerRevision: true, engineRecord: true },
    });
    const byLane = new Map<RouteTransport, ClientOrderRecord[]>();
    for (const row of rows) {
      const rec = fromJson<ClientOrderRecord | null>(row.engineRecord, null);
      const route = this.routeFor(row.providerId, row.providerRevision);
      if (rec === null || !needsRestore(rec)) continue;
      if (!route.ok) {
        this.logger.warn(`negotiation ${row.id} not restored: ${route.message}`);
        continue;
      }
      if (route.route.transport === 'dtls' && rec.local !== undefined) this.preferredPort.set(endpointKey(route.route.endpoint), rec.local.port);
      const list = byLane.get(route.route.transport) ?? [];
      list.push(rec);
      byLane.set(route.route.transport, list);
    }
    let count = 0;
    for (const [kind, records] of byLane) {
      const lane = await this.lane(kind);
      if (lane.transport instanceof DtlsClientTransport) {
        // Re-establish the associations first, from the former local ports: the providers'
        // answers and retransmissions go to the 4-tuple of the transaction (8.3, 11.4).
        const servers = new Map(records.map((r) => [endpointKey(r.server), r.server]));
        const dtls = lane.transport;
        await Promise.all(
          [...servers.values()].map((server) =>
            dtls.connect(server).catch((error) => this.logger.warn(`restore: ${server.address}:${server.port} unreachable: ${errorText(error)}`)),
          ),
        );
      }
      await lane.runner.run((core) => {
        const out = emptyOutput();
        for (const rec of records) {
          try {
            const loaded = core.engine.load(rec);
            out.sends.push(...loaded.sends);
            out.events.push(...loaded.events);
            count++;
          } catch (error) {
            this.logger.warn(`restore: ${rec.customerOrderId}: ${errorText(error)}`);
          }
        }
        return out;
      });
    }
    return count;
  }

  // --- the intent queue ------------------------------------------------------------------------

  /** Applies pending intents oldest first, holding those whose providers' send windows are full
   * (intent-admission.ts); an answer that frees a slot wakes the drain again. */
  private async drain(): Promise<void> {
    const held = new Set<string>();
    let cursor: IntentCursor | undefined;
    let heldPages = 0;
    for (;;) {
      if (this.stopped) return;
      const batch = await pendingIntentsAfter(this.db, cursor, 50);
      if (batch.length === 0) return;
      for (const intent of batch) {
        if (this.stopped) return;
        cursor = intent;
        if (admissible(intent, this.window, (id) => this.windowKey(id), held)) await this.applyIntent(intent);
      }
      // Held intents: stop when nothing can start, or after a few pages (the intents of an idle
      // provider deeper in the queue wait for a later drain rather than every drain reading
      // the whole queue).
      if (held.size > 0 && (this.window.allFull(this.windowKeys()) || ++heldPages >= 4)) return;
    }
  }

  /** The provider's current settings decide the window (routes are keyed per revision). */
  private windowKey(providerId: string): string | undefined {
    const r = this.routeFor(providerId);
    return r.ok ? endpointKey(r.route.endpoint) : undefined;
  }

  private windowKeys(): string[] {
    return [...this.routes.values()].flatMap((r) => (r.ok ? [endpointKey(r.route.endpoint)] : []));
  }

  /** Records an outcome without an engine step (bad payload, provider misconfigured...). */
  private async finishIntent(intent: IntentRow, outcome: Outcome): Promise<void> {
    await finishIntent(this.db, intent.id, { status: outcome.status, code: outcome.code, ...(outcome.message ? { message: outcome.message } : {}) }, new Date(this.clock.now()));
    notifyOrderChanged(intent.orderId);
  }

  private async applyIntent(intent: IntentRow): Promise<void> {
    try {
      await this.applyIntentOnce(intent);
      this.attempts.delete(intent.id);
    } catch (error) {
      const n = (this.attempts.get(intent.id) ?? 0) + 1;
      this.attempts.set(intent.id, n);
      this.logger.warn(`intent ${intent.id} (${intent.kind}) failed (attempt ${n}): ${errorText(error)}`);
      if (n >= 3) {
        this.attempts.delete(intent.id);
        await this.finishIntent(intent, { status: 'refused', code: 'host-error', message: errorText(error).slice(0, 500) }).catch(() => undefined);
      } else {
        throw error;
      }
    }
  }

  private async applyIntentOnce(intent: IntentRow): Promise<void> {
    const kind = intent.kind as IntentKind;
    const parsed = parseIntentPayload(kind, intent.payload);
    if (!parsed.ok) return this.finishIntent(intent, { status: 'refused', code: 'invalid-input', message: parsed.message });
    const payload = parsed.value;
    const order = await this.db.order.findUnique({
      where: { id: intent.orderId },
      select: {
        id: true,
        requestedCpd: true,
        options: true,
        expectedResponseSeconds: true,
        authorId: true,
        negotiations: { select: { id: true, orderId: true, providerId: true, customerOrderId: true, clientState: true, engineRecord: true, providerRevision: true }, orderBy: { createdAt: 'asc' } },
      },
    });
    if (!order) return this.finishIntent(intent, { status: 'refused', code: 'unknown-order', message: 'the order no longer exists' });
    if (order.negotiations.length === 1) this.solo.add(order.id);
    const actor = userActor(intent.actorId);
    const options = fromJson<NegotiationOptions>(order.options, {});
    const target = order.negotiations.find((n) => n.id === intent.negotiationId);

    if (kind === 'approve') {
      await this.refreshRoutes();
      // New negotiations are pinned to the provider's settings as they are now (written with
      // the QUOTATION's commit): a later edit of the provider does not move them.
      const pins = new Map<string, number>();
      for (const n of order.negotiations) {
        if (n.providerRevision !== null || n.engineRecord !== null) continue;
        const r = this.routeFor(n.providerId);
        if (!r.ok) continue;
        n.providerRevision = r.route.revision;
        pins.set(n.customerOrderId, r.route.revision);
      }
      const cpd = fromJson<Cpd>(order.requestedCpd, []);
      const ert = responseTime(this.clock, order.expectedResponseSeconds);
      const groups = new Map<RouteTransport, { n: NegotiationRow; route: ProviderRoute }[]>();
      for (const n of order.negotiations) {
        const route = this.routeFor(n.providerId, n.providerRevision);
        if (!route.ok) return this.finishIntent(intent, { status: 'refused', code: route.code, message: route.message });
        const list = groups.get(route.route.transport) ?? [];
        list.push({ n, route: route.route });
        groups.set(route.route.transport, list);
      }
      if (order.negotiations.length > 1) {
        // Parallel negotiation (8.10): one deadline for the whole group.
        await this.db.order.update({ where: { id: order.id }, data: { groupDeadline: new Date(Date.parse(ert)) } });
      }
      const entries = [...groups.entries()];
      for (const [i, [kindOfLane, list]] of entries.entries()) {
        const lane = await this.lane(kindOfLane);
        await lane.runner.run((core) => {
          const outputs: EngineOutput[] = [];
          let refusal: Outcome | undefined;
          for (const { n, route } of list) {
            const engine = core.engine;
            if (engine.presence(n.customerOrderId) === 'unknown') {
              const created = engine.createOrder({ customerOrderId: n.customerOrderId, cpd, expectedResponseTime: ert, server: route.endpoint, ...(iesOf(options) ? { ies: iesOf(options) } : {}) });
              outputs.push(created);
              refusal ??= refusedBy(created);
              if (!created.ok) continue;
            }
            const approved = engine.approve(n.customerOrderId);
            outputs.push(approved);
            const sent = engine.sendQuotation(n.customerOrderId);
            outputs.push(sent);
            refusal ??= refusedBy(approved) ?? refusedBy(sent);
          }
          if (i === entries.length - 1) core.step.intent = { id: intent.id, actor, outcome: refusal ?? DONE };
          core.step.pins = pins;
          return mergeOutputs(...outputs);
        });
      }
      return;
    }

    if (kind === 'choose-offer') {
      const offerId = String(payload.offerId);
      const offer = await this.db.offer.findFirst({ where: { id: offerId, decision: 'pending', negotiation: { orderId: order.id } }, select: { negotiationId: true } });
      if (!offer) return this.finishIntent(intent, { status: 'refused', code: 'offer-expired', message: 'that offer is no longer open' });
      return this.runOnNegotiations(intent, actor, order.negotiations, (engine, n) => {
        if (n.id === offer.negotiationId) return engine.accept(n.customerOrderId);
        const state = engine.state(n.customerOrderId);
        // 8.10: the offers not chosen are declined with reason 2 (conflict with another offer).
        if (state !== undefined && OFFERED.has(state)) return engine.decline(n.customerOrderId, [2]);
        if (state !== undefined && NEGOTIATING.has(state)) return engine.cancel(n.customerOrderId);
        return undefined;
      }, offer.negotiationId);
    }

    if (!target) return this.finishIntent(intent, { status: 'refused', code: 'unknown-order', message: 'no such negotiation on this order' });
    if (kind === 'accept' || kind === 'decline') {
      const offer = await this.db.offer.findFirst({ where: { id: String(payload.offerId), negotiationId: target.id, decision: 'pending' }, select: { id: true } });
      if (!offer) return this.finishIntent(intent, { status: 'refused', code: 'offer-expired', message: 'that offer is no longer open' });
    }
    const reasons = (payload.reasons as DeclineReasonValue[] | undefined) ?? [];
    return this.runOnNegotiations(intent, actor, [target], (engine, n) => {
      const id = n.customerOrderId;
      switch (kind) {
        case 'accept':
          return engine.accept(id);
        case 'decline':
          return engine.decline(id, reasons);
        case 'cancel':
          return engine.cancel(id);
        case 'withdraw':
          return engine.withdraw(id);
        case 'update': {
          const ies = iesOf(options);
          return engine.update(id, { cpd: payload.cpd as Cpd, expectedResponseTime: responseTime(this.clock, order.expectedResponseSeconds), ...(ies ? { ies } : {}) });
        }
        case 'activate':
          return engine.activate(id, typeof payload.at === 'string' ? (payload.at as DateTime) : null);
        case 'deactivate':
          return engine.activate(id, 0);
        case 'grant-time':
          return engine.grantMoreTime(id);
        case 'deny-time':
          return engine.refuseMoreTime(id);
        default:
          return undefined;
      }
    });
  }

  /**
   * Runs `command` on each negotiation (grouped per lane, one committed step per lane), loading
   * a negotiation's stored record first when the engine does not hold it (evicted or finished).
   * The outcome is the command's on `primary` (default: the first negotiation).
   */
  private async runOnNegotiations(
    intent: IntentRow,
    actor: string,
    negotiations: NegotiationRow[],
    command: (engine: ClientEngine, n: NegotiationRow) => CommandResult | undefined,
    primary?: string,
  ): Promise<void> {
    const groups = new Map<RouteTransport, NegotiationRow[]>();
    for (const n of negotiations) {
      const route = this.routeFor(n.providerId, n.providerRevision);
      if (!route.ok) return this.finishIntent(intent, { status: 'refused', code: route.code, message: route.message });
      const list = groups.get(route.route.transport) ?? [];
      list.push(n);
      groups.set(route.route.transport, list);
    }
    const primaryId = primary ?? negotiations[0]?.id;
    const entries = [...groups.entries()];
    let outcome: Outcome | undefined;
    for (const [i, [kind, list]] of entries.entries()) {
      const lane = await this.lane(kind);
      await lane.runner.run((core) => {
        const outputs: EngineOutput[] = [];
        for (const n of list) {
          if (core.engine.presence(n.customerOrderId) !== 'live') {
            const rec = fromJson<ClientOrderRecord | null>(n.engineRecord, null);
            if (rec === null) {
              if (n.id === primaryId) outcome = { status: 'refused', code: 'wrong-state', message: 'nothing was sent to this provider yet' };
              continue;
            }
            outputs.push(core.engine.load(rec));
          }
          const result = command(core.engine, n);
          if (result === undefined) continue;
          outputs.push(result);
          if (n.id === primaryId) outcome = refusedBy(result) ?? DONE;
        }
        if (i === entries.length - 1) core.step.intent = { id: intent.id, actor, outcome: outcome ?? DONE };
        return mergeOutputs(...outputs);
      });
    }
  }

  // --- the commit hook -------------------------------------------------------------------------

  /**
   * Writes one engine step in one transaction: for each changed order its negotiation columns and
   * record, its transitions (StateChange with cause and actor), a new offer (Offer), offer
   * decisions, the messages sent and received (Message, JSON and hex), then the orders' aggregate
   * states and the intent's outcome. The runner sends nothing before this resolves, and rolls
   * the engine back if it rejects.
   */
  private async commit(lane: Lane, step: CommitStep<HostCore>): Promise<void> {
    const ctx = lane.core.step;
    const { orders } = step.changes;
    const events = step.output.events;
    if (orders.length === 0 && ctx.intent === undefined) return;
    const now = new Date(this.clock.now());
    const touched = new Set<string>();
    const offered: { orderId: string }[] = [];
    await this.db.$transaction(async (tx) => {
      for (const rec of orders) {
        const mine = events.filter((e) => e.orderId === rec.customerOrderId);
        const reachability = mine.some((e) => e.kind === 'received') ? 'ok' : mine.some((e) => e.kind === 'retransmitted') ? 'retrying' : undefined;
        // The first statement writes: SQLite then takes its write lock at once (waiting for
        // another process's write if need be) instead of failing to upgrade a read snapshot.
        const updated = await tx.negotiation.updateMany({
          where: { customerOrderId: rec.customerOrderId },
          data: {
            ...projectRecord(rec),
            ...(ctx.pins?.has(rec.customerOrderId) ? { providerRevision: ctx.pins.get(rec.customerOrderId) } : {}),
            ...(mine.some((e) => e.kind === 'sent' && e.method === 'UPDATE') ? { cycle: { increment: 1 } } : {}),
            ...(reachability === 'ok' ? { reachability, lastError: null } : {}),
          },
        });
        // "retrying" never hides "unreachable": only an answer clears that.
        if (reachability === 'retrying') {
          await tx.negotiation.updateMany({ where: { customerOrderId: rec.customerOrderId, reachability: { not: 'unreachable' } }, data: { reachability } });
        }
        const row = updated.count === 1 ? await tx.negotiation.findUnique({ where: { customerOrderId: rec.customerOrderId }, select: { id: true, orderId: true, cycle: true } }) : null;
        if (!row) {
          this.logger.warn(`engine order ${rec.customerOrderId} has no negotiation row`);
          continue;
        }
        touched.add(row.orderId);
        const cycle = row.cycle;
        const actorOf = (cause: string): string => (ctx.intent && USER_CAUSES.has(cause) ? ctx.intent.actor : ENGINE_ACTOR);
        const notes: Prisma.StateChangeCreateManyInput[] = [];
        for (const e of mine) {
          const at = new Date(e.at);
          switch (e.kind) {
            case 'transition':
              await tx.stateChange.create({
                data: { orderId: row.orderId, negotiationId: row.id, from: e.from ?? null, to: e.to ?? rec.fsm.state, cause: describeCause(e), actor: actorOf(e.cause), at },
              });
              if (e.to === 'Cancelled') {
                await tx.offer.updateMany({
                  where: { negotiationId: row.id, decision: 'pending' },
                  data: { decision: rec.fsm.cancelReason === 'expired' ? 'expired' : 'superseded', decidedAt: at },
                });
              }
              break;
            case 'offer':
              if (rec.offer) {
                await tx.offer.updateMany({ where: { negotiationId: row.id, decision: 'pending' }, data: { decision: 'superseded', decidedAt: at } });
                await tx.offer.upsert({
                  where: { negotiationId_cycle_nonce: { negotiationId: row.id, cycle, nonce: rec.offer.nonce } },
                  update: {},
                  create: {
                    negotiationId: row.id,
                    cycle,
                    cpd: JSON.stringify(rec.offer.cpd),
                    nonce: rec.offer.nonce,
                    validUntil: new Date(Date.parse(rec.offer.validityOfferTime)),
                    receivedAt: new Date(rec.offer.receivedAt),
                  },
                });
                offered.push({ orderId: row.orderId });
              }
              break;
            case 'sent': {
              const send = step.output.sends.find((s) => s.message.customerOrderId === rec.customerOrderId && s.message.seq === e.seq && s.message.txid === e.txid);
              if (send) {
                await tx.message.create({
                  data: { negotiationId: row.id, direction: 'out', method: methodName(send.message.method), transactionId: send.message.txid, json: JSON.stringify(send.message), hex: toHex(send.bytes), at },
                });
              }
              if (e.method === 'ACTIVATE') {
                const schedule = e.data?.activationSchedule;
                const what = schedule === null || schedule === undefined ? 'activate now' : schedule === 0 ? 'deactivate' : `activate at ${schedule}`;
                await tx.stateChange.create({ data: { orderId: row.orderId, negotiationId: row.id, from: rec.fsm.state, to: rec.fsm.state, cause: `ACTIVATE sent (${what})`, actor: actorOf('activate'), at } });
              }
              if (e.method === 'ACCEPT' && rec.offer) {
                await tx.offer.updateMany({ where: { negotiationId: row.id, decision: 'pending', nonce: rec.offer.nonce }, data: { decision: 'accepted', decidedAt: at } });
              } else if (e.method === 'DECLINE') {
                await tx.offer.updateMany({
                  where: { negotiationId: row.id, decision: 'pending' },
                  data: { decision: 'declined', decidedAt: at, declineReasons: JSON.stringify(e.data?.declineReasons ?? []) },
                });
              }
              break;
            }
            case 'notice':
            case 'alarm': {
              // Events that change no state but belong in the order's history.
              // Written after the step's transitions, so the history reads in order.
              const note = historyNote(e);
              if (note) notes.push({ orderId: row.orderId, negotiationId: row.id, from: rec.fsm.state, to: rec.fsm.state, cause: note, actor: ENGINE_ACTOR, at });
              break;
            }
            case 'received':
              if (ctx.inbound) {
                const decoded = decodeMessage(ctx.inbound.bytes);
                await tx.message.create({
                  data: {
                    negotiationId: row.id,
                    direction: 'in',
                    method: e.method ?? 'unknown',
                    transactionId: e.txid ?? null,
                    json: decoded.ok ? JSON.stringify(decoded.message) : '{}',
                    hex: toHex(ctx.inbound.bytes),
                    at,
                  },
                });
              }
              break;
            default:
              break;
          }
        }
        for (const note of notes) await tx.stateChange.create({ data: note });
      }
      // Offer received, more time asked, agreement concluded, alarm: in-app and outbox rows (notifications/).
      await notifyFromStep(tx, orders, events, now);
      if (ctx.intent) {
        const o = ctx.intent.outcome ?? DONE;
        await finishIntent(tx, ctx.intent.id, { status: o.status, code: o.code, ...(o.message ? { message: o.message } : {}) }, now);
        const intentOrder = await tx.intent.findUnique({ where: { id: ctx.intent.id }, select: { orderId: true } });
        if (intentOrder) touched.add(intentOrder.orderId);
      }
      for (const orderId of touched) await this.updateAggregate(tx, orderId, now);
    }, TX_OPTIONS);
    for (const orderId of touched) notifyOrderChanged(orderId);
    let freed = false;
    for (const rec of orders) freed = this.window.track(endpointKey(rec.server), rec.customerOrderId, awaitsAnswer(rec)) || freed;
    if (freed) this.wake();
    // A group's selection rule may pick an offer now (after the commit: it queues an intent).
    for (const orderId of new Set(offered.map((o) => o.orderId))) if (!this.solo.has(orderId)) void this.selectForGroup(orderId).catch((error) => this.logger.warn(`group ${orderId}: ${errorText(error)}`));
    for (const orderId of touched) if (!this.solo.has(orderId) && !offered.some((o) => o.orderId === orderId)) void this.selectForGroup(orderId).catch(() => undefined);
  }

  /** The order's aggregate state from its negotiations (aggregate.ts), with its own history row. */
  private async updateAggregate(tx: Tx, orderId: string, now: Date): Promise<void> {
    const order = await tx.order.findUnique({
      where: { id: orderId },
      select: { state: true, stateReason: true, negotiations: { select: { clientState: true, cancelReason: true, agreed: true } } },
    });
    if (!order) return;
    const current: OrderState = isOneOf(ORDER_STATES, order.state) ? order.state : 'Created';
    const state = aggregateOrderState(current, order.negotiations);
    const next = { state, reason: reasonOf(state, order.negotiations) };
    if (next.state === current && next.reason === order.stateReason) return;
    await tx.order.update({ where: { id: orderId }, data: { state: next.state, stateReason: next.reason, version: { increment: 1 } } });
    if (next.state !== current) {
      await tx.stateChange.create({ data: { orderId, from: current, to: next.state, cause: next.reason ?? 'negotiation', actor: ENGINE_ACTOR, at: now } });
    }
  }

  // --- parallel negotiation (8.10) -----------------------------------------------------------

  /**
   * An order sent to several providers is one group: when its selection rule is not "manual",
   * the host chooses as soon as the rule can decide ("first": the first offer that meets every
   * bound; "cheapest": once every provider answered or the group deadline passed) and queues a
   * choose-offer intent in the author's name. Offers arriving after a choice are declined with
   * reason 2 as well (8.10).
   */
  private async selectForGroup(orderId: string): Promise<void> {
    const order = await this.db.order.findUnique({
      where: { id: orderId },
      select: {
        selectionRule: true,
        requestedCpd: true,
        authorId: true,
        groupDeadline: true,
        negotiations: { select: { id: true, clientState: true, agreed: true, offers: { where: { decision: { in: ['pending', 'accepted'] } }, select: { id: true, cpd: true, price: true, receivedAt: true, decision: true } } } },
        intents: { where: { status: 'pending' }, select: { kind: true, negotiationId: true } },
      },
    });
    if (!order || order.negotiations.length < 2) return;
    const chosen = order.negotiations.some((n) => n.offers.some((o) => o.decision === 'accepted') || n.clientState === 'AcceptSent' || (n.clientState === 'Completed' && n.agreed));
    if (order.intents.some((i) => i.kind === 'choose-offer' || i.kind === 'accept')) return;
    if (chosen) {
      // Late offers in a group whose choice is made: declined with reason 2.
      for (const n of order.negotiations) {
        const pending = n.offers.find((o) => o.decision === 'pending');
        if (!pending || !OFFERED.has(n.clientState) || order.intents.some((i) => i.negotiationId === n.id)) continue;
        await this.db.intent.create({ data: { orderId, negotiationId: n.id, kind: 'decline', payload: JSON.stringify({ offerId: pending.id, reasons: [2] }), actorId: order.authorId } });
      }
      this.wake();
      return;
    }
    if (order.selectionRule === 'manual') return;
    const requested = fromJson<Cpd>(order.requestedCpd, []);
    const offers: GroupOffer[] = [];
    for (const n of order.negotiations) {
      for (const o of n.offers) {
        if (o.decision !== 'pending' || !OFFERED.has(n.clientState)) continue;
        let meetsBounds = false;
        try {
          meetsBounds = diffCpd(requested, fromJson<Cpd>(o.cpd, [])).summary.misses === 0;
        } catch {
          meetsBounds = false;
        }
        offers.push({ id: o.id, negotiationId: n.id, receivedAt: o.receivedAt.getTime(), price: priceOf(o.price), meetsBounds });
      }
    }
    const everyoneAnswered = order.negotiations.every((n) => !NEGOTIATING.has(n.clientState) && n.clientState !== 'AwaitingProcessing' && n.clientState !== 'Created');
    const deadlinePassed = order.groupDeadline !== null && order.groupDeadline.getTime() <= this.clock.now();
    const pick = pickOffer(order.selectionRule === 'cheapest' ? 'cheapest' : 'first', offers, everyoneAnswered || deadlinePassed);
    if (!pick) return;
    await this.db.intent.create({ data: { orderId, kind: 'choose-offer', payload: JSON.stringify({ offerId: pick.id }), actorId: order.authorId } });
    this.wake();
  }
}

/** Why an order ended (Order.stateReason): the most telling cancel reason of its negotiations. */
function reasonOf(state: OrderState, negotiations: { cancelReason: string | null }[]): string | null {
  if (state === 'Withdrawn') return 'withdrawn';
  if (state !== 'Cancelled') return null;
  const reasons = negotiations.map((n) => n.cancelReason ?? 'cancelled');
  return ['cancelled', 'declined', 'timeout', 'expired', 'failed', 'rejected'].find((r) => reasons.includes(r)) ?? 'cancelled';
}

function priceOf(text: string | null): number | undefined {
  const value = fromJson<{ amount?: unknown } | null>(text, null);
  return value !== null && typeof value.amount === 'number' ? value.amount : undefined;
}

/** A timeline line for an event that changes no state (more time asked, a request answered, an alarm). */
function historyNote(e: EngineEvent): string | undefined {
  const d = e.data;
  if (e.kind === 'alarm') return `alarm: ${e.cause}`;
  switch (e.cause) {
    case 'decideMoreTime':
      return `the provider asks for more time${d?.expectedOfferTime ? ` (offer by ${d.expectedOfferTime})` : ''}`;
    case 'requestAnswered': {
      const a = d?.activation;
      return `request answered${a ? ` · service ${a.status === 'scheduled' ? `scheduled for ${a.at}` : a.status}` : ''}`;
    }
    case 'requestFailed':
      return `request refused${d?.statusCode !== undefined ? ` (FAIL ${d.statusCode})` : ''}`;
    case 'requestUnanswered':
      return 'request unanswered';
    case 'cancelDeferred':
      return 'cancel deferred until the ACCEPT is answered';
    default:
      return undefined;
  }
}

/** The timeline's cause: the engine's cause, with the typed facts a person needs. */
function describeCause(e: EngineEvent): string {
  const d = e.data;
  const parts = [e.cause];
  if (d?.statusCode !== undefined) parts.push(`FAIL ${d.statusCode}`);
  if (d?.cancelReason && e.to === 'Cancelled') parts.push(d.cancelReason);
  return parts.join(' · ');
}
