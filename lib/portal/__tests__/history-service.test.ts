/**
 * The staff history, ladder, export and dashboard against a real migrated SQLite file filled by
 * the benchmark's seed (bench/portal-seed.ts, the same rows the benchmark measures), checked
 * against plain SQL over the same file.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { seedPortalBench } from '../../../bench/portal-seed';
import { getDashboard } from '../dashboard/service';
import { exportHistoryCsv } from '../history/export';
import { parseHistoryFilter, parseHistoryPage } from '../history/filter';
import { getOrderLadder } from '../history/ladder';
import { listHistory, type HistoryPage } from '../history/service';
import { createWorld, type TestWorld } from './helpers';

let w: TestWorld;
let sql: Database.Database;
const N = 300;

before(async () => {
  w = await createWorld();
  await seedPortalBench(w.file, N);
  sql = new Database(w.file, { readonly: true });
});
after(async () => {
  sql.close();
  await w.close();
});

async function page(query: Record<string, string>): Promise<HistoryPage> {
  const r = await listHistory(w.users.staff, parseHistoryFilter(query), parseHistoryPage(query));
  assert.ok(r.ok, JSON.stringify(r));
  return r.value;
}

/** Walks every page forwards with the next cursor; returns the ids in order. */
async function walk(query: Record<string, string>): Promise<string[]> {
  const ids: string[] = [];
  let p = await page(query);
  ids.push(...p.rows.map((r) => r.id));
  while (p.next) {
    p = await page({ ...query, after: p.next });
    ids.push(...p.rows.map((r) => r.id));
  }
  return ids;
}

const ids = (text: string, ...args: unknown[]) => (sql.prepare(text).all(...args) as { id: string }[]).map((r) => r.id);

describe('staff history service', () => {
  test('keyset pages walk every order exactly once, newest first, and Previous goes back', async () => {
    const all = await walk({ size: '25' });
    assert.equal(all.length, N);
    assert.deepEqual(all, ids('SELECT id FROM "Order" ORDER BY createdAt DESC, id DESC'));
    const p1 = await page({});
    const p2 = await page({ after: p1.next! });
    assert.equal(p1.prev, null);
    const back = await page({ before: p2.prev! });
    assert.deepEqual(back.rows.map((r) => r.id), p1.rows.map((r) => r.id));
    assert.equal(back.prev, null, 'back on the first page');
  });

  test('each filter returns exactly what SQL says, in order', async () => {
    const org = (sql.prepare('SELECT organisationId AS id FROM "Order" LIMIT 1').get() as { id: string }).id;
    const provider = (sql.prepare('SELECT providerId AS id FROM "Negotiation" LIMIT 1').get() as { id: string }).id;
    const from = (sql.prepare('SELECT substr(createdAt, 1, 10) AS d FROM "Order" ORDER BY createdAt LIMIT 1 OFFSET 150').get() as { d: string }).d;
    const cases: [Record<string, string>, string[]][] = [
      [{ state: 'Completed' }, ids('SELECT id FROM "Order" WHERE state = ? ORDER BY createdAt DESC, id DESC', 'Completed')],
      [{ state: 'Cancelled,Withdrawn,Draft' }, ids('SELECT id FROM "Order" WHERE state IN (?,?,?) ORDER BY createdAt DESC, id DESC', 'Cancelled', 'Withdrawn', 'Draft')],
      [{ org }, ids('SELECT id FROM "Order" WHERE organisationId = ? ORDER BY createdAt DESC, id DESC', org)],
      [{ provider }, ids('SELECT o.id FROM "Order" o WHERE EXISTS (SELECT 1 FROM "Negotiation" n WHERE n.orderId = o.id AND n.providerId = ?) ORDER BY createdAt DESC, id DESC', provider)],
      [{ from }, ids('SELECT id FROM "Order" WHERE createdAt >= ? ORDER BY createdAt DESC, id DESC', `${from}T00:00:00.000+00:00`)],
      [{ to: from, sort: 'updatedAt', dir: 'asc' }, ids('SELECT id FROM "Order" WHERE createdAt < ? ORDER BY updatedAt ASC, id ASC', `${from}T99`)],
    ];
    for (const [query, expected] of cases) {
      assert.ok(expected.length > 0, JSON.stringify(query));
      assert.deepEqual(await walk({ ...query, size: '25' }), expected, JSON.stringify(query));
      const first = await page(query);
      assert.equal(first.total, expected.length);
    }
  });

  test('an id search finds the order by its id, customer order id or provider order id', async () => {
    const n = sql.prepare('SELECT orderId, customerOrderId, providerOrderId FROM "Negotiation" LIMIT 1 OFFSET 77').get() as { orderId: string; customerOrderId: string; providerOrderId: string };
    for (const q of [n.orderId, n.customerOrderId, n.providerOrderId]) {
      const p = await page({ q });
      assert.deepEqual(p.rows.map((r) => r.id), [n.orderId], q);
    }
    assert.equal((await page({ q: 'nothing-like-this' })).rows.length, 0);
  });

  test('customers get forbidden, not rows', async () => {
    const r = await listHistory(w.users.customerA, parseHistoryFilter({}), parseHistoryPage({}));
    assert.ok(!r.ok && r.code === 'forbidden');
  });

  test('the CSV export holds every matching row (not just a page) with the documented header', async () => {
    const r = await exportHistoryCsv(w.users.staff, parseHistoryFilter({ state: 'Completed' }));
    assert.ok(r.ok);
    const text = await new Response(r.value).text();
    const lines = text.replace(/^\uFEFF/, '').trimEnd().split('\r\n');
    assert.ok(lines[0]!.startsWith('order_id,title,organisation,'));
    const expected = ids('SELECT id FROM "Order" WHERE state = ? ORDER BY createdAt DESC, id DESC', 'Completed');
    assert.deepEqual(lines.slice(1).map((l) => l.split(',')[0]), expected);
    assert.ok(lines.slice(1).every((l) => l.includes(',Completed,')));
  });

  test('the ladder lists every message with its hex decoded, and marks the lost ACCEPT and its retransmission', async () => {
    const orderId = (sql.prepare('SELECT id FROM "Order" LIMIT 1 OFFSET 5').get() as { id: string }).id;
    const r = await getOrderLadder(w.users.staff, orderId);
    assert.ok(r.ok);
    const l = r.value;
    assert.equal(l.lanes.length, 2);
    assert.deepEqual(l.messages.map((m) => m.method), ['QUOTATION', 'PROCESSING', 'OFFER', 'ACCEPT', 'ACCEPT', 'ACK']);
    assert.ok(l.messages.every((m) => m.decoded.ok), 'every stored hex decodes');
    assert.deepEqual(l.messages.map((m) => m.marks.join('+')), ['', '', '', 'lost', 'retransmission', '']);
    assert.deepEqual(l.arrows.map((a) => [a.from, a.to]), [[0, 1], [1, 0], [1, 0], [0, 1], [0, 1], [1, 0]]);
    assert.equal(l.stateChanges.length, 5);
    const first = l.messages[0]!;
    assert.deepEqual(first.decoded.ok && first.decoded.message, first.json);
    const foreign = await getOrderLadder(w.users.customerB, orderId);
    assert.ok(!foreign.ok && foreign.code === 'not-found', 'another organisation’s ladder is not found');
  });

  test('the dashboard counts what SQL counts', async () => {
    const from = new Date(Date.now() - 400 * 86_400_000);
    const to = new Date(Date.now() + 86_400_000);
    const r = await getDashboard(w.users.admin, { from, to });
    assert.ok(r.ok);
    assert.equal(r.value.orders, N);
    const completed = (sql.prepare('SELECT COUNT(*) AS n FROM "Order" WHERE state = ?').get('Completed') as { n: number }).n;
    assert.equal(r.value.byState.find((s) => s.state === 'Completed')?.count, completed);
    const agreed = r.value.providers.reduce((s, p) => s + p.agreed, 0);
    assert.equal(agreed, completed, 'agreements = Completed orders in the seed');
    assert.ok(r.value.duration.p50Ms !== null && r.value.duration.p95Ms !== null && r.value.duration.p50Ms <= r.value.duration.p95Ms);
    for (const p of r.value.providers) {
      assert.ok(p.avgOfferedMbps !== null && p.avgRequestedMbps !== null && p.avgOfferedMbps <= p.avgRequestedMbps, 'the seed offers at most what was asked');
    }
    assert.ok(!(await getDashboard(w.users.customerA, { from, to })).ok);
  });
});
