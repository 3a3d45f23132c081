/**
 * `npm run bench:portal-host` — the portal's engine host (issue 9, Performance), with the real
 * NegotiationHost in this process, the real portal database (SQLite file) and two reference
 * Provider processes over loopback DTLS (the engine host test harness):
 *
 *  1. approve → OFFER visible in the portal DB, p50/p99 (orders one after another, through the
 *     real server-action handlers: customer createOrder(submit) then admin approveOrder);
 *  2. durable transitions/s and event-loop delay p99 while 1,000 approved orders negotiate at
 *     once (until all 1,000 have an OFFER awaiting the customer: 1,000 open orders);
 *  3. RSS per open order (RSS delta after gc / open orders; the host's and Prisma's memory in
 *     this process, the providers run elsewhere);
 *  4. server-action latency p95 with 50 concurrent simulated users calling the action handlers
 *     of lib/portal/actions/definitions.ts directly (no HTTP, no session lookup), host running
 *     with the 1,000 open orders.
 *
 * Baselines measured in the same run (the machine is shared): event-loop delay with the host
 * idle, one trivial Prisma write transaction, the same actions with a single user.
 * Bounded: ~1–2 minutes on 2 vCPU; loopback only. Not part of the test command.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { actionHandlers } from '../lib/portal/actions/definitions';
import type { SessionUser } from '../lib/portal/auth/session';
import { setPortalDbForTests } from '../lib/portal/db/client';
import { NegotiationHost } from '../lib/portal/negotiation/host';
import { onOrderChanged } from '../lib/portal/negotiation/signal';
import { CPD, createWorld, placeApprovedOrder, registerProvider, startProvider, waitUntil, type World } from '../lib/portal/negotiation/__tests__/host-harness';
import { killChild, type SpawnedProvider } from '../lib/provider/__tests__/provider-harness';
import { addUser } from '../lib/portal/users/accounts';

const LATENCY_ORDERS = Number(process.env.PORTAL_HOST_BENCH_LATENCY ?? 50);
const OPEN_ORDERS = Number(process.env.PORTAL_HOST_BENCH_OPEN ?? 1000);
const USERS = Number(process.env.PORTAL_HOST_BENCH_USERS ?? 50);
/** Orders inserted at once (default: all of them, one burst; issue 9 measured waves of 100 before
 * the send window existed, because a burst of 1,000 ended with a quarter Cancelled). */
const WAVE = Number(process.env.PORTAL_HOST_BENCH_WAVE ?? OPEN_ORDERS);
const ROUNDS = Number(process.env.PORTAL_HOST_BENCH_ROUNDS ?? 4);
const WAVE_WAIT_MS = Number(process.env.PORTAL_HOST_BENCH_WAIT ?? 600_000);
/** 5. accept every open offer at once and wait until every order is Completed (0: skip). */
const ACCEPT_ALL = process.env.PORTAL_HOST_BENCH_ACCEPT !== '0';

const gc = (): void => {
  globalThis.gc?.();
  globalThis.gc?.();
};
const pct = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
};
const ms = (n: number): string => n.toFixed(1);
const started = performance.now();
const phase = (what: string): void => console.error(`[${((performance.now() - started) / 1000).toFixed(1)} s] ${what}`);

const dir = mkdtempSync(join(tmpdir(), 'portal-host-bench-'));
const providers: SpawnedProvider[] = [];
let host: NegotiationHost | undefined;
let world: World | undefined;
try {
  const w = await createWorld(dir);
  world = w;
  setPortalDbForTests(w.db);
  const db = world.db;
  const big = { pools: { core: { inMbps: 1_000_000, outMbps: 1_000_000 }, shared: { inMbps: 1_000_000, outMbps: 1_000_000 } }, defaultCustomer: { allowed: true, maxOrders: 100_000 } };
  const a = await startProvider(dir, 'alpha', big);
  providers.push(a.spawned);
  const b = await startProvider(dir, 'beta', big);
  providers.push(b.spawned);
  const providerIds = [await registerProvider(world, 'Alpha', a.port), await registerProvider(world, 'Beta', b.port)];
  const customer: SessionUser = { id: world.customerId, email: 'casey@acme.example', name: 'Casey', role: 'customer', organisationId: world.organisationId };
  const adminRow = await db.user.findUniqueOrThrow({ where: { id: world.adminId } });
  const admin: SessionUser = { id: adminRow.id, email: adminRow.email, name: adminRow.name, role: 'admin', organisationId: adminRow.organisationId };

  host = new NegotiationHost({ db, logger: { info: () => undefined, warn: (m) => console.error(`host: ${m}`) } });
  await host.start();
  phase('host started, 2 providers over DTLS');

  // Baselines: event-loop delay with the host idle; a trivial Prisma write transaction.
  const idle = monitorEventLoopDelay({ resolution: 10 });
  idle.enable();
  await new Promise((r) => setTimeout(r, 2000));
  idle.disable();
  const txTimes: number[] = [];
  for (let i = 0; i < 100; i++) {
    const t = performance.now();
    await db.$transaction(async (tx) => tx.organisation.update({ where: { id: w.organisationId }, data: { name: 'Acme' } }));
    txTimes.push(performance.now() - t);
  }

  // 1. approve → OFFER visible, one order at a time, through the action handlers.
  const newOrder = { title: 'bench', cpd: CPD, options: {}, expectedResponseSeconds: 120, selectionRule: 'manual', submit: true };
  const offerVisible = (orderId: string): Promise<void> =>
    new Promise((resolve) => {
      let checking = false;
      const check = async (): Promise<void> => {
        if (checking) return;
        checking = true;
        const n = await db.offer.count({ where: { negotiation: { orderId }, decision: 'pending' } });
        checking = false;
        if (n > 0) {
          off();
          resolve();
        }
      };
      const off = onOrderChanged((changed) => {
        if (changed === orderId) void check();
      });
    });
  const approveToOffer: number[] = [];
  for (let i = 0; i < LATENCY_ORDERS + 3; i++) {
    const created = await actionHandlers.createOrder(customer, { input: { ...newOrder, providerIds: [providerIds[i % 2]] } });
    if (!created.ok) throw new Error(`createOrder: ${created.message}`);
    const visible = offerVisible(created.value.orderId);
    const t = performance.now();
    const approved = await actionHandlers.approveOrder(admin, { orderId: created.value.orderId });
    if (!approved.ok) throw new Error(`approveOrder: ${approved.message}`);
    await visible;
    if (i >= 3) approveToOffer.push(performance.now() - t); // 3 warm-up orders (JIT, DTLS associations)
  }
  phase(`${LATENCY_ORDERS} approve → OFFER measured`);

  // 2 + 3. 1,000 orders at once: transitions/s, event-loop delay; then RSS per open order.
  gc();
  const rssBefore = process.memoryUsage().rss;
  const heapBefore = process.memoryUsage().heapUsed;
  const changesBefore = await db.stateChange.count();
  // The clock and the monitor start before the orders are inserted: the host's poll may pick
  // the first ones up while the rest are still being written.
  const loaded = monitorEventLoopDelay({ resolution: 10 });
  loaded.enable();
  const t0 = performance.now();
  // All at once by default (WAVE = OPEN_ORDERS): the host's send window paces the QUOTATIONs.
  const settledStates = ['OfferProcessing', 'Cancelled', 'Failed'];
  const settledBefore = await db.negotiation.count({ where: { clientState: { in: settledStates } } });
  for (let i = 0; i < OPEN_ORDERS; i += WAVE) {
    await Promise.all(Array.from({ length: Math.min(WAVE, OPEN_ORDERS - i) }, (_, j) => placeApprovedOrder(w, [providerIds[(i + j) % 2] ?? ''], { title: `open ${i + j}` })));
    host.wake();
    const target = settledBefore + Math.min(i + WAVE, OPEN_ORDERS);
    await waitUntil(`wave ${i / WAVE + 1}`, async () => ((await db.negotiation.count({ where: { clientState: { in: settledStates } } })) >= target ? true : undefined), WAVE_WAIT_MS).catch(async (error: Error) => {
      const states = await db.negotiation.groupBy({ by: ['clientState', 'reachability'], _count: true });
      throw new Error(`${error.message}: ${JSON.stringify(states)}`);
    });
  }
  const loadSeconds = (performance.now() - t0) / 1000;
  loaded.disable();
  const transitions = (await db.stateChange.count()) - changesBefore;
  const openOrders = await db.order.count({ where: { state: 'OfferReceived' } });
  const cancelled = await db.negotiation.count({ where: { clientState: { in: ['Cancelled', 'Failed'] } } });
  await new Promise((r) => setTimeout(r, 500));
  gc();
  const rssAfter = process.memoryUsage().rss;
  const heapAfter = process.memoryUsage().heapUsed;
  phase(`${OPEN_ORDERS} orders negotiated to OFFER in ${loadSeconds.toFixed(1)} s`);

  // 4. Server actions, 50 concurrent users (and 1 user as the baseline), host holding the open orders.
  const users: SessionUser[] = [];
  for (let i = 0; i < USERS; i++) {
    const email = `user${i}@acme.example`;
    const added = await addUser(db, { email, password: 'correct-horse-battery', name: `User ${i}`, role: 'customer', organisation: 'Acme' });
    if (!added.ok) throw new Error(added.message);
    users.push({ id: added.userId, email, name: `User ${i}`, role: 'customer', organisationId: added.organisationId });
  }
  const draft = { ...newOrder, submit: false, providerIds: [providerIds[0]] };
  type Sample = { action: string; ms: number };
  const session = async (user: SessionUser, rounds: number, out: Sample[]): Promise<void> => {
    const timed = async <T extends { ok: boolean }>(action: string, call: () => Promise<T>): Promise<T> => {
      const t = performance.now();
      const r = await call();
      out.push({ action, ms: performance.now() - t });
      if (!r.ok) throw new Error(`${action} failed: ${JSON.stringify(r)}`);
      return r;
    };
    for (let r = 0; r < rounds; r++) {
      const created = await timed('createOrder (draft)', () => actionHandlers.createOrder(user, { input: draft }));
      const orderId = created.ok ? created.value.orderId : '';
      await timed('updateDraft (submit)', () => actionHandlers.updateDraft(user, { orderId, input: { ...draft, title: 'edited', submit: true } }));
      await timed('rejectOrder by admin', () => actionHandlers.rejectOrder(admin, { orderId, reason: 'bench' }));
    }
  };
  const single: Sample[] = [];
  await session(users[0] ?? customer, 20, single);
  const concurrent: Sample[] = [];
  const tc = performance.now();
  await Promise.all(users.map((u) => session(u, ROUNDS, concurrent)));
  const concurrentSeconds = (performance.now() - tc) / 1000;
  phase(`${USERS} users × ${ROUNDS} rounds of actions`);

  // 5. Every open offer accepted at once: all orders Completed, each transition stored once.
  let acceptSeconds = NaN;
  let acceptLoop: ReturnType<typeof monitorEventLoopDelay> | undefined;
  let completed = 0;
  let duplicated = 0;
  let finalCensus = '';
  if (ACCEPT_ALL) {
    const offers = await db.offer.findMany({ where: { decision: 'pending' }, select: { id: true, negotiationId: true, negotiation: { select: { orderId: true } } } });
    acceptLoop = monitorEventLoopDelay({ resolution: 10 });
    acceptLoop.enable();
    const ta = performance.now();
    await Promise.all(offers.map((o) => db.intent.create({ data: { orderId: o.negotiation.orderId, negotiationId: o.negotiationId, kind: 'accept', payload: JSON.stringify({ offerId: o.id }), actorId: w.customerId } })));
    host.wake();
    const target = offers.length;
    await waitUntil('every accepted order Completed', async () => ((await db.negotiation.count({ where: { clientState: { in: ['Completed', 'Cancelled', 'Failed'] }, offers: { some: { decision: { not: 'pending' } } } } })) >= target ? true : undefined), WAVE_WAIT_MS).catch(() => undefined);
    acceptSeconds = (performance.now() - ta) / 1000;
    acceptLoop.disable();
    completed = await db.order.count({ where: { state: 'Completed' } });
    // Exactly once: no negotiation has the same state transition (from ≠ to) twice (the
    // lifecycle Created → … → Completed visits every state once).
    const dup = await db.stateChange.groupBy({ by: ['negotiationId', 'from', 'to'], where: { negotiationId: { not: null } }, _count: true, having: { negotiationId: { _count: { gt: 1 } } } });
    // History notes (from = to: "request answered", an alarm…) may repeat legitimately.
    duplicated = dup.filter((d) => d.from !== d.to).length;
    finalCensus = JSON.stringify((await db.negotiation.groupBy({ by: ['clientState', 'cancelReason'], _count: true })).map((g) => `${g.clientState}${g.cancelReason ? `/${g.cancelReason}` : ''}: ${g._count}`));
    phase(`${target} offers accepted at once in ${acceptSeconds.toFixed(1)} s`);
  }

  // Report (markdown).
  const lat = approveToOffer;
  console.log(`\nnode ${process.version}, ${process.platform}/${process.arch}; host in this process, 2 reference providers over loopback DTLS, SQLite portal DB\n`);
  console.log('| measure | value |');
  console.log('|---|---:|');
  console.log(`| baseline: event-loop delay p99, host idle (2 s) | ${ms(idle.percentile(99) / 1e6)} ms |`);
  console.log(`| baseline: one trivial Prisma write transaction, p50 / p99 (100) | ${ms(pct(txTimes, 50))} / ${ms(pct(txTimes, 99))} ms |`);
  console.log(`| approve → OFFER visible in the portal DB, p50 / p99 (${lat.length} orders, one at a time) | ${ms(pct(lat, 50))} / ${ms(pct(lat, 99))} ms |`);
  console.log(`| ${OPEN_ORDERS} approved orders, ${WAVE >= OPEN_ORDERS ? 'all at once' : `waves of ${WAVE}`}, inserted → OFFERs awaiting the customer | ${loadSeconds.toFixed(1)} s |`);
  console.log(`| durable transitions/s (StateChange rows committed: ${transitions}) | ${Math.round(transitions / loadSeconds)} |`);
  console.log(`| event-loop delay p50 / p99 / max during that load | ${ms(loaded.percentile(50) / 1e6)} / ${ms(loaded.percentile(99) / 1e6)} / ${ms(loaded.max / 1e6)} ms |`);
  console.log(`| open orders after the load (OfferReceived; incl. the ${LATENCY_ORDERS + 3} of the latency run) / negotiations Cancelled or Failed | ${openOrders} / ${cancelled} |`);
  console.log(`| RSS per open order (RSS delta after gc / ${OPEN_ORDERS}) | ${((rssAfter - rssBefore) / OPEN_ORDERS / 1024).toFixed(1)} KiB |`);
  console.log(`| heap per open order (heapUsed delta after gc / ${OPEN_ORDERS}) | ${((heapAfter - heapBefore) / OPEN_ORDERS / 1024).toFixed(1)} KiB |`);
  console.log(`| RSS before / after the load (after gc; glibc may return freed arenas, so the delta is noisy) | ${(rssBefore / 1e6).toFixed(0)} / ${(rssAfter / 1e6).toFixed(0)} MB |`);
  if (ACCEPT_ALL && acceptLoop) {
    console.log(`| every open offer accepted at once → orders Completed (all orders of the run) | ${acceptSeconds.toFixed(1)} s, ${completed} Completed |`);
    console.log(`| event-loop delay p50 / p99 / max during the accepts | ${ms(acceptLoop.percentile(50) / 1e6)} / ${ms(acceptLoop.percentile(99) / 1e6)} / ${ms(acceptLoop.max / 1e6)} ms |`);
    console.log(`| state transitions (negotiation, from → to) stored more than once | ${duplicated} |`);
    console.log(`| final negotiation states | ${finalCensus} |`);
  }
  console.log(`\nServer actions (handlers of lib/portal/actions/definitions.ts called directly; ${USERS} users × ${ROUNDS} rounds in ${concurrentSeconds.toFixed(1)} s, ${Math.round(concurrent.length / concurrentSeconds)} actions/s):\n`);
  console.log(`| action | 1 user p50 / p95 (baseline) | ${USERS} users p50 / p95 |`);
  console.log('|---|---:|---:|');
  for (const action of [...new Set(concurrent.map((s) => s.action)), 'all']) {
    const pick = (samples: Sample[]) => samples.filter((s) => action === 'all' || s.action === action).map((s) => s.ms);
    const one = pick(single);
    const many = pick(concurrent);
    console.log(`| ${action} | ${ms(pct(one, 50))} / ${ms(pct(one, 95))} ms | ${ms(pct(many, 50))} / ${ms(pct(many, 95))} ms |`);
  }
} finally {
  await host?.stop();
  for (const p of providers) await killChild(p);
  setPortalDbForTests(undefined);
  await world?.db.$disconnect();
  rmSync(dir, { recursive: true, force: true });
  phase('done');
}
