/**
 * Fills a portal database with a realistic history for the staff-history benchmark
 * (bench/portal-history.ts): N orders (default 100,000) over the past year, across 12
 * organisations and 3 providers, in a mix of states; each with one negotiation, 5 state changes
 * and 6 CPNP messages encoded by lib/cpnp (so the ladder's hex decodes), and an offer where the
 * negotiation got that far. Written with better-sqlite3 prepared statements in transactions of
 * 5,000 orders (the Prisma client would take minutes for 1.1M rows).
 *
 *   node --import tsx bench/portal-seed.ts <portal.db> [orders]
 */
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { encodeMessage } from '../lib/cpnp/codec';
import { toHex } from '../lib/cpnp/hex';
import type { CpnpMessage } from '../lib/cpnp/message';
import type { DateTime } from '../lib/cpnp/date-time';
import type { Cpd } from '../lib/cpnp/cpd/types';
import { applyPortalMigrations } from '../lib/portal/db/migrate';

/** State mix: [order state, final client state, share]. */
const MIX: [string, string, number][] = [
  ['Completed', 'Completed', 0.4],
  ['Cancelled', 'Cancelled', 0.15],
  ['Withdrawn', 'Cancelled', 0.05],
  ['OfferReceived', 'OfferReceived', 0.08],
  ['Negotiating', 'ServerProcessing', 0.07],
  ['Created', 'Created', 0.08],
  ['Rejected', 'Created', 0.05],
  ['AwaitingProcessing', 'AwaitingProcessing', 0.04],
  ['Accepting', 'AcceptSent', 0.03],
  ['Draft', 'Created', 0.05],
];
const PROVIDERS = ['Example Networks', 'Carrier B', 'Northwind Transit'];
const ORGS = ['Acme Corp', 'Globex Ltd', 'Initech', 'Umbrella', 'Hooli', 'Stark Industries', 'Wayne Enterprises', 'Tyrell', 'Cyberdyne', 'Soylent', 'Wonka', 'Oscorp'];

const stored = (ms: number) => new Date(ms).toISOString().replace('Z', '+00:00');
const dt = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z') as DateTime;
const hex16 = () => randomBytes(16).toString('hex');

/** A small deterministic generator, so two seeds of the same size look alike. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function cpd(inMbps: number | { min: number; max: number; pref: number }): Cpd {
  return [{ component: 'access', nodes: [{ id: 'ce-a', link: 'pe1:ge-0/0/1' }, { id: 'ce-b', link: 'pe2:ge-0/0/3' }], capacity: { inMbps, outMbps: 100 }, conformance: { policing: 'shape', outOfProfile: 'drop' } }];
}

export interface SeedOptions {
  now?: number;
  /** Only orders that are over (no in-flight negotiation a running engine host would resume). */
  finishedOnly?: boolean;
  /** Provider names to use (default: three; existing rows of the same name are reused). */
  providers?: string[];
}

const FINISHED = new Set(['Completed', 'Cancelled', 'Withdrawn', 'Rejected', 'Draft']);

export async function seedPortalBench(file: string, orders = 100_000, options: SeedOptions = {}): Promise<{ orders: number; ms: number; prefix: string }> {
  const now = options.now ?? Date.now();
  const mix = options.finishedOnly ? MIX.filter((m) => FINISHED.has(m[0])) : MIX;
  const share = mix.reduce((s, m) => s + m[2], 0);
  const started = performance.now();
  await applyPortalMigrations(file);
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  const ins = {
    org: db.prepare('INSERT OR IGNORE INTO "Organisation" (id, name, createdAt) VALUES (?, ?, ?)'),
    user: db.prepare('INSERT OR IGNORE INTO "User" (id, name, email, emailVerified, createdAt, updatedAt, role, organisationId) VALUES (?, ?, ?, 0, ?, ?, \'customer\', ?)'),
    provider: db.prepare('INSERT OR IGNORE INTO "Provider" (id, name, endpoint, transport, enabled, createdAt) VALUES (?, ?, ?, \'udp\', 1, ?)'),
    order: db.prepare(
      'INSERT INTO "Order" (id, organisationId, authorId, title, requestedCpd, options, expectedResponseSeconds, selectionRule, state, stateReason, submittedAt, createdAt, updatedAt, version) VALUES (?, ?, ?, ?, ?, \'{}\', 120, \'manual\', ?, ?, ?, ?, ?, 0)',
    ),
    negotiation: db.prepare(
      'INSERT INTO "Negotiation" (id, orderId, providerId, customerOrderId, providerOrderId, clientState, agreed, cycle, reachability, createdAt, updatedAt) VALUES (?, ?, ?, ?, ?, ?, ?, 0, \'ok\', ?, ?)',
    ),
    change: db.prepare('INSERT INTO "StateChange" (id, orderId, negotiationId, "from", "to", cause, actor, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
    message: db.prepare('INSERT INTO "Message" (id, negotiationId, direction, method, transactionId, json, hex, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
    offer: db.prepare('INSERT INTO "Offer" (id, negotiationId, cycle, cpd, nonce, validUntil, price, receivedAt, decision) VALUES (?, ?, 0, ?, ?, ?, ?, ?, ?)'),
  };
  const t0 = stored(now - 400 * 86_400_000);
  const orgIds = ORGS.map((name, i) => {
    ins.org.run(`bench-org-${i}`, name, t0);
    return (db.prepare('SELECT id FROM "Organisation" WHERE name = ?').get(name) as { id: string }).id;
  });
  const authorIds = orgIds.map((orgId, i) => {
    ins.user.run(`bench-user-${i}`, `Buyer ${i}`, `buyer${i}@bench.example`, t0, t0, orgId);
    return (db.prepare('SELECT id FROM "User" WHERE email = ?').get(`buyer${i}@bench.example`) as { id: string }).id;
  });
  // The administrator who approved the orders (no credentials: cannot sign in).
  db.prepare('INSERT OR IGNORE INTO "User" (id, name, email, emailVerified, createdAt, updatedAt, role, organisationId) VALUES (?, ?, ?, 0, ?, ?, \'admin\', ?)').run(
    'bench-admin',
    'Avery Approver',
    'approver@bench.example',
    t0,
    t0,
    orgIds[0],
  );
  const providerIds = (options.providers ?? PROVIDERS).map((name, i) => {
    ins.provider.run(`bench-provider-${i}`, name, `127.0.0.1:${18931 + i}`, t0);
    return (db.prepare('SELECT id FROM "Provider" WHERE name = ?').get(name) as { id: string }).id;
  });
  const rand = rng(orders);
  const pickState = () => {
    let x = rand() * share;
    for (const m of mix) if ((x -= m[2]) < 0) return m;
    return mix[0]!;
  };
  const prefix = randomBytes(3).toString('hex');
  const one = (i: number) => {
    const [state, clientState] = pickState();
    const id = `o${prefix}${i.toString(36).padStart(6, '0')}`;
    const created = now - Math.floor(rand() * 365 * 86_400_000);
    const org = Math.floor(rand() * orgIds.length);
    const prov = Math.floor(rand() * providerIds.length);
    const requested = 50 + 10 * Math.floor(rand() * 20);
    const offered = Math.round(requested * (0.6 + rand() * 0.4));
    const reqCpd = cpd({ min: Math.round(requested / 2), max: requested * 2, pref: requested });
    const negId = `n${id.slice(1)}`;
    const coid = `C-${prefix}${i.toString(16).padStart(10, '0')}`;
    const poid = `P-${prefix}${i.toString(16).padStart(10, '0')}`;
    const step = (k: number) => created + k * (20_000 + Math.floor(rand() * 90_000));
    const times = [0, 1, 2, 3, 4, 5, 6, 7].map(step);
    const updated = times[7]!;
    const reason = state === 'Cancelled' ? 'declined' : state === 'Rejected' ? 'rejected' : state === 'Withdrawn' ? 'withdrawn' : null;
    ins.order.run(id, orgIds[org], authorIds[org], `Site link ${i}`, JSON.stringify(reqCpd), state, reason, state === 'Draft' ? null : stored(created), stored(created), stored(updated));
    const agreed = state === 'Completed' ? 1 : 0;
    ins.negotiation.run(negId, id, providerIds[prov], coid, poid, clientState, agreed, stored(created), stored(updated));
    const actor = `user:${authorIds[org]}`;
    const changes: [string | null, string, string, string, string | null][] = [
      [null, 'Created', 'submitted', actor, null],
      ['Created', 'AwaitingProcessing', 'approved', 'user:bench-admin', null],
      ['AwaitingProcessing', 'PQOSent', 'QUOTATION sent', 'engine', negId],
      ['PQOSent', 'OfferReceived', 'OFFER received', 'engine', negId],
      // The last change reaches the negotiation's current state (the order's history is complete
      // for finished orders; in-flight ones stop where they are).
      ['OfferReceived', clientState, clientState === 'Completed' ? 'ACK to ACCEPT' : clientState === 'Cancelled' ? 'declined' : 'engine step', 'engine', negId],
    ];
    changes.forEach(([from, to, cause, who, neg], k) => ins.change.run(`s${id.slice(1)}${k}`, id, neg, from, to, cause, who, stored(times[k]!)));
    const txQ = hex16();
    const txA = hex16();
    const nonce = hex16();
    const offerCpd = cpd(offered);
    const base = { version: 1 as const, customerOrderId: coid };
    const msgs: [string, CpnpMessage, number][] = [
      ['out', { ...base, method: 1, seq: 1, txid: txQ, expectedResponseTime: dt(created + 120_000), cpd: reqCpd }, times[2]!],
      ['in', { ...base, method: 2, seq: 1, txid: txQ, providerOrderId: poid }, times[2]! + 40],
      ['in', { ...base, method: 3, seq: 2, txid: txQ, providerOrderId: poid, nonce, validityOfferTime: dt(created + 3_600_000), cpd: offerCpd }, times[3]!],
      ['out', { ...base, method: 4, seq: 2, txid: txA, providerOrderId: poid, nonce, cpd: offerCpd }, times[4]! - 3000],
      // A retransmission of the ACCEPT (RETRANS_TIMER, RFC 8921 11.4): the first copy was lost.
      ['out', { ...base, method: 4, seq: 2, txid: txA, providerOrderId: poid, nonce, cpd: offerCpd }, times[4]!],
      ['in', { ...base, method: 6, seq: 3, txid: txA, providerOrderId: poid }, times[4]! + 35],
    ];
    msgs.forEach(([direction, m, at], k) =>
      ins.message.run(`m${id.slice(1)}${k}`, negId, direction, String(m.method), m.txid, JSON.stringify(m), toHex(encodeMessage(m)), stored(at)),
    );
    if (!['Draft', 'Created', 'Rejected', 'AwaitingProcessing', 'Negotiating'].includes(state)) {
      const decision = state === 'Completed' || state === 'Withdrawn' ? 'accepted' : state === 'Cancelled' ? 'declined' : 'pending';
      ins.offer.run(`f${id.slice(1)}`, negId, JSON.stringify(offerCpd), nonce, stored(created + 3_600_000), JSON.stringify({ amount: offered * 12, currency: 'EUR', period: 'month' }), stored(times[3]!), decision);
    }
  };
  const batch = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) one(i);
  });
  for (let i = 0; i < orders; i += 5000) batch(i, Math.min(orders, i + 5000));
  db.pragma('optimize');
  db.exec('ANALYZE');
  db.close();
  return { orders, ms: performance.now() - started, prefix };
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node --import tsx bench/portal-seed.ts <portal.db> [orders]');
    process.exit(2);
  }
  if (existsSync(file)) console.log(`adding to ${file}`);
  const r = await seedPortalBench(resolve(file), Number(process.argv[3] ?? 100_000));
  console.log(`seeded ${r.orders} orders in ${(r.ms / 1000).toFixed(1)} s`);
}
