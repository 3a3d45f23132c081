/**
 * PostgreSQL, against a real server. Skipped unless CPNP_TEST_PG_URL names a THROWAWAY database:
 * the test drops and recreates its `public` schema. For example (docs/database.md):
 *
 *   CPNP_TEST_PG_URL=postgresql://postgres@127.0.0.1:55432/cpnp_test node scripts/run-unit-tests.mjs db-postgres
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PrismaPg } from '@prisma/adapter-pg';
import { commitReservation, ensureCapacityPool, poolUsage, releaseReservation, reserveCapacity } from '../capacity';
import { openDatabase } from '../client';
import { MigrationError } from '../migration-error';
import { initializePostgres } from '../postgres-init';
import { writeBatch } from '../transaction';
import { PEER } from './helpers';

const url = process.env.CPNP_TEST_PG_URL;

async function resetSchema(pgUrl: string): Promise<void> {
  const adapter = await new PrismaPg({ connectionString: pgUrl }).connect();
  try {
    await adapter.executeScript('DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public');
  } finally {
    await adapter.dispose();
  }
}

describe('PostgreSQL', { skip: url === undefined ? 'set CPNP_TEST_PG_URL to a throwaway database to run' : false }, () => {
  it('initialises an empty database once, then the client reads and writes every kind of column', async (t) => {
    const pgUrl = url ?? '';
    await resetSchema(pgUrl);
    assert.match(await initializePostgres(pgUrl), /CREATE TABLE "ProviderOrder"/);
    await assert.rejects(initializePostgres(pgUrl), (e: unknown) => e instanceof MigrationError && e.kind === 'not-empty');

    const db = await openDatabase(pgUrl);
    t.after(() => db.close());
    assert.equal(db.provider, 'postgresql');
    await db.prisma.providerOrder.create({ data: { id: 'P-pg', customerOrderId: 'C', state: 'PQOReceived', requestedCpd: { objects: [] }, snapshot: '{}' } });
    const [tx] = await writeBatch(db, [
      db.prisma.providerTransaction.create({
        data: { txid: 'ab'.repeat(16), orderId: 'P-pg', customerOrderId: 'C', method: 'QUOTATION', ...PEER, inSeq: 0xffff_ffffn, lastAnswer: new Uint8Array([1, 2, 3]) },
      }),
      db.prisma.providerStateChange.create({ data: { orderId: 'P-pg', to: 'PQOReceived', cause: 'quotationReceived', at: new Date(), detail: { a: 1 } } }),
    ]);
    assert.equal(tx.inSeq, 0xffff_ffffn);
    assert.deepEqual(new Uint8Array(tx.lastAnswer ?? []), new Uint8Array([1, 2, 3]));
    await assert.rejects(db.prisma.providerStateChange.create({ data: { orderId: 'P-none', to: 'X', cause: 'x', at: new Date() } }), /Foreign key/);
  });

  it('never overbooks a pool under concurrent bookings from two clients', async (t) => {
    const pgUrl = url ?? '';
    await resetSchema(pgUrl);
    await initializePostgres(pgUrl);
    const [a, b] = [await openDatabase(pgUrl), await openDatabase(pgUrl)];
    t.after(async () => {
      await a.close();
      await b.close();
    });
    await a.prisma.providerOrder.create({ data: { id: 'P-race', customerOrderId: 'C', state: 'PQOReceived', requestedCpd: {}, snapshot: '{}' } });
    await ensureCapacityPool(a, { id: 'pool', capacityInKbps: 1000, capacityOutKbps: 1000 });
    const attempts = Array.from({ length: 60 }, (_, i) => reserveCapacity(i % 2 ? a : b, { pool: 'pool', orderId: 'P-race', inKbps: 10 + (i % 7) * 10, outKbps: 5 }));
    const results = await Promise.all(attempts);
    const ok = results.flatMap((r) => (r.ok ? [r.reservation] : []));
    assert.ok(results.some((r) => !r.ok), 'the pool ran out');
    await commitReservation(a, ok[0]?.id ?? 0);
    await releaseReservation(b, ok[1]?.id ?? 0, new Date());
    const u = (await poolUsage(a, 'pool')) ?? assert.fail('no pool');
    assert.ok(u.bookedInKbps <= 1000);
    assert.equal(u.capacityInKbps - u.availableInKbps, u.bookedInKbps);
    assert.equal(u.bookedInKbps, ok.slice(0).reduce((s, r) => s + r.inKbps, 0) - (ok[1]?.inKbps ?? 0));
  });
});
