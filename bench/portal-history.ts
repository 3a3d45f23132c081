/**
 * `npm run bench:portal-history` — the staff history at 100,000 orders (issue 10, Performance):
 * server time of the history's first page with and without each filter, a deep page (2,000),
 * an order's detail with its ladder, and the CSV export of every row (time, peak RSS).
 * Figures go to docs/benchmarks.md; the target (p95 < 150 ms on SQLite) is checked here and
 * reported, never in a timed unit test.
 *
 *   npm run bench:portal-history [-- <portal.db>]   (no file: seeds 100,000 orders into a temp file)
 *
 * Times are the services' own (what a route handler or page spends before rendering), measured
 * in process against the real SQLite file through the portal's Prisma client.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { SessionUser } from '../lib/portal/auth/session';
import { openPortalDb, setPortalDbForTests } from '../lib/portal/db/client';
import { encodeCursor } from '../lib/portal/history/cursor';
import { exportHistoryCsv } from '../lib/portal/history/export';
import { parseHistoryFilter, parseHistoryPage } from '../lib/portal/history/filter';
import { getOrderLadder } from '../lib/portal/history/ladder';
import { historySelect, listHistory } from '../lib/portal/history/service';
import { getOrderDetail } from '../lib/portal/orders/service';
import { addUser } from '../lib/portal/users/accounts';

const ORDERS = Number(process.env.PORTAL_BENCH_ORDERS ?? 100_000);
const RUNS = Number(process.env.PORTAL_BENCH_RUNS ?? 40);
const TARGET_P95_MS = 150;

const root = resolve(import.meta.dirname, '..');
let file = process.argv[2] ? resolve(process.argv[2]) : '';
let tempDir: string | undefined;
if (!file || !existsSync(file)) {
  tempDir = mkdtempSync(join(tmpdir(), 'portal-bench-'));
  file ||= join(tempDir, 'portal.db');
  console.error(`seeding ${ORDERS} orders into ${file} ...`);
  // A child process, so the seed's memory does not count in this process's peak RSS.
  const seeded = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'bench/portal-seed.ts'), file, String(ORDERS)], { stdio: 'inherit', cwd: root });
  if (seeded.status !== 0) process.exit(seeded.status ?? 1);
}

const db = openPortalDb(file, { synchronous: 'NORMAL' });
setPortalDbForTests(db);
const raw = new Database(file, { readonly: true });

async function staffUser(): Promise<SessionUser> {
  const email = 'bench-staff@op.example';
  const found = await db.user.findUnique({ where: { email } });
  if (found) return { id: found.id, email, name: found.name, role: 'staff', organisationId: found.organisationId };
  const added = await addUser(db, { email, password: 'bench-staff-password', name: 'Bench Staff', role: 'staff', organisation: 'Operator' });
  if (!added.ok) throw new Error(added.message);
  return { id: added.userId, email, name: 'Bench Staff', role: 'staff', organisationId: added.organisationId };
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

interface Row {
  name: string;
  p50: number;
  p95: number;
  rows: number;
}

async function timeIt(name: string, fn: () => Promise<number>): Promise<Row> {
  let rows = 0;
  for (let i = 0; i < 3; i++) rows = await fn(); // warm-up: query plans, page cache
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    rows = await fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { name, p50: pct(times, 50), p95: pct(times, 95), rows };
}

const user = await staffUser();
const one = <T>(sql: string, ...args: unknown[]) => raw.prepare(sql).get(...args) as T;
const org = one<{ organisationId: string }>('SELECT organisationId FROM "Order" GROUP BY organisationId ORDER BY COUNT(*) DESC LIMIT 1');
const provider = one<{ providerId: string }>('SELECT providerId FROM "Negotiation" GROUP BY providerId ORDER BY COUNT(*) DESC LIMIT 1');
const sample = one<{ id: string; customerOrderId: string; providerOrderId: string }>(
  'SELECT o.id, n.customerOrderId, n.providerOrderId FROM "Order" o JOIN "Negotiation" n ON n.orderId = o.id ORDER BY o.createdAt LIMIT 1 OFFSET 31337',
);
const deep = one<{ id: string; createdAt: string }>('SELECT id, createdAt FROM "Order" ORDER BY createdAt DESC, id DESC LIMIT 1 OFFSET ?', 1999 * 25 - 1);
const total = one<{ n: number }>('SELECT COUNT(*) AS n FROM "Order"').n;
const monthAgo = new Date(Date.now() - 30 * 86_400_000).toISOString().slice(0, 10);
const today = new Date().toISOString().slice(0, 10);

const page = (query: Record<string, string>) => async () => {
  const r = await listHistory(user, parseHistoryFilter(query), parseHistoryPage(query));
  if (!r.ok) throw new Error(r.message);
  return r.value.rows.length;
};

const rows: Row[] = [];
rows.push(await timeIt('first page, no filter', page({})));
rows.push(await timeIt('first page, state = Completed', page({ state: 'Completed' })));
rows.push(await timeIt('first page, state = Accepting (rare)', page({ state: 'Accepting' })));
rows.push(await timeIt('first page, 2 states', page({ state: 'Cancelled,Withdrawn' })));
rows.push(await timeIt('first page, organisation', page({ org: org.organisationId })));
rows.push(await timeIt('first page, provider', page({ provider: provider.providerId })));
rows.push(await timeIt('first page, last 30 days', page({ from: monthAgo, to: today })));
rows.push(await timeIt('first page, order id', page({ q: sample.id })));
rows.push(await timeIt('first page, customer order id', page({ q: sample.customerOrderId })));
rows.push(await timeIt('first page, provider order id', page({ q: sample.providerOrderId })));
rows.push(await timeIt('first page, state + org + provider + 30 days', page({ state: 'Completed', org: org.organisationId, provider: provider.providerId, from: monthAgo })));
rows.push(await timeIt('first page, sorted by last change, oldest first', page({ sort: 'updatedAt', dir: 'asc' })));
const cursor = encodeCursor({ at: new Date(deep.createdAt), id: deep.id });
rows.push(await timeIt('page 2,000 (keyset cursor)', page({ after: cursor })));
rows.push(await timeIt('deep page: state = Completed after row 50,000 (keyset)', page({ after: cursor, state: 'Completed' })));
rows.push(
  await timeIt('page 2,000 with OFFSET (for comparison; not used)', async () =>
    (await db.order.findMany({ orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], skip: 1999 * 25, take: 25, select: historySelect })).length,
  ),
);
rows.push(
  await timeIt('page 1,000, state = Completed, with OFFSET (for comparison; not used)', async () =>
    (await db.order.findMany({ where: { state: 'Completed' }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], skip: 999 * 25, take: 25, select: historySelect })).length,
  ),
);
rows.push(
  await timeIt('order detail + ladder (decode 6 messages)', async () => {
    const [d, l] = await Promise.all([getOrderDetail(user, sample.id), getOrderLadder(user, sample.id)]);
    if (!d.ok || !l.ok) throw new Error('detail');
    return l.value.messages.length;
  }),
);

// CSV export of every row: time and peak RSS while streaming.
global.gc?.();
const rssBefore = process.memoryUsage().rss;
let peak = rssBefore;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
const t = performance.now();
const exported = await exportHistoryCsv(user, parseHistoryFilter({}));
if (!exported.ok) throw new Error(exported.message);
let bytes = 0;
let lines = 0;
const reader = exported.value.getReader();
for (let r = await reader.read(); !r.done; r = await reader.read()) {
  bytes += r.value.byteLength;
  for (const b of r.value) if (b === 10) lines++;
}
const exportMs = performance.now() - t;
clearInterval(sampler);
peak = Math.max(peak, process.memoryUsage().rss);

const f = (n: number) => n.toFixed(1);
console.log(`\n### Staff history, ${total.toLocaleString('en')} orders — \`npm run bench:portal-history\`\n`);
console.log('| query | rows | p50 ms | p95 ms | < 150 ms p95 |');
console.log('|---|---:|---:|---:|:---:|');
for (const r of rows) console.log(`| ${r.name} | ${r.rows} | ${f(r.p50)} | ${f(r.p95)} | ${r.name.includes('OFFSET') ? '—' : r.p95 < TARGET_P95_MS ? 'yes' : '**no**'} |`);
console.log(`\nCSV export of all rows: ${lines - 1} rows, ${(bytes / 1e6).toFixed(1)} MB in ${(exportMs / 1000).toFixed(2)} s; RSS ${(rssBefore / 1e6).toFixed(0)} MB before, peak ${(peak / 1e6).toFixed(0)} MB (+${((peak - rssBefore) / 1e6).toFixed(0)} MB)`);

raw.close();
setPortalDbForTests(undefined);
await db.$disconnect();
if (tempDir) rmSync(tempDir, { recursive: true, force: true });
