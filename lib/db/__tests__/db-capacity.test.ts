import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  CapacityError,
  commitReservation,
  ensureCapacityPool,
  mbpsToKbps,
  poolUsage,
  releaseExpired,
  releaseOrderReservations,
  releaseReservation,
  reserveCapacity,
  reserveCapacityTx,
  type PoolUsage,
} from '../capacity';
import type { Database } from '../client';
import { withTransaction } from '../transaction';
import { createOrder, migratedDatabase, runToEnd, spawnTs } from './helpers';

const T0 = new Date('2026-11-27T12:00:00Z');
const ORDER = 'P-0000000000aa';

async function usage(db: Database, pool: string): Promise<PoolUsage> {
  return (await poolUsage(db, pool)) ?? assert.fail(`no pool ${pool}`);
}

/** The invariant every booking keeps: capacity - available = booked, and nothing is overdrawn. */
function assertConsistent(u: PoolUsage): void {
  assert.equal(u.capacityInKbps - u.availableInKbps, u.bookedInKbps);
  assert.equal(u.capacityOutKbps - u.availableOutKbps, u.bookedOutKbps);
  assert.ok(u.availableInKbps >= 0 && u.availableOutKbps >= 0, JSON.stringify(u));
}

describe('capacity booking', () => {
  it('reserves what the pool has, refuses the rest, and gives it back on release', async (t) => {
    const { db } = await migratedDatabase(t);
    await createOrder(db, ORDER);
    await ensureCapacityPool(db, { id: 'edge', capacityInKbps: 1000, capacityOutKbps: 100 });

    const a = await reserveCapacity(db, { pool: 'edge', orderId: ORDER, inKbps: 600, outKbps: 60, expiresAt: T0 });
    assert.ok(a.ok);
    assert.equal(a.reservation.status, 'held');
    assert.deepEqual(await reserveCapacity(db, { pool: 'edge', orderId: ORDER, inKbps: 401, outKbps: 1 }), { ok: false, reason: 'insufficient' });
    assert.deepEqual(await reserveCapacity(db, { pool: 'edge', orderId: ORDER, inKbps: 1, outKbps: 41 }), { ok: false, reason: 'insufficient' });
    assert.deepEqual(await reserveCapacity(db, { pool: 'core', orderId: ORDER, inKbps: 1, outKbps: 1 }), { ok: false, reason: 'no-pool' });
    const b = await reserveCapacity(db, { pool: 'edge', orderId: ORDER, inKbps: 400, outKbps: 40 });
    assert.ok(b.ok);
    assert.deepEqual(await usage(db, 'edge'), {
      capacityInKbps: 1000,
      capacityOutKbps: 100,
      availableInKbps: 0,
      availableOutKbps: 0,
      bookedInKbps: 1000,
      bookedOutKbps: 100,
    });

    assert.equal(await commitReservation(db, a.reservation.id), true);
    assert.equal(await commitReservation(db, a.reservation.id), false, 'only a held reservation is committed');
    assert.equal(await releaseReservation(db, a.reservation.id, T0), true);
    assert.equal(await releaseReservation(db, a.reservation.id, T0), false, 'a second release gives nothing back');
    const u = await usage(db, 'edge');
    assertConsistent(u);
    assert.equal(u.availableInKbps, 600);
    const released = await db.prisma.capacityReservation.findUnique({ where: { id: a.reservation.id } });
    assert.equal(released?.status, 'released');
    assert.equal(released?.releasedAt?.toISOString(), T0.toISOString());
  });

  it('books inside a larger transaction, and a rollback undoes the booking', async (t) => {
    const { db } = await migratedDatabase(t);
    await createOrder(db, ORDER);
    await ensureCapacityPool(db, { id: 'edge', capacityInKbps: 100, capacityOutKbps: 100 });
    await assert.rejects(
      withTransaction(db, async (tx) => {
        const r = await reserveCapacityTx(tx, { pool: 'edge', orderId: ORDER, inKbps: 100, outKbps: 100 });
        assert.ok(r.ok);
        throw new Error('the offer could not be sent');
      }),
      /could not be sent/,
    );
    const u = await usage(db, 'edge');
    assert.equal(u.availableInKbps, 100);
    assert.equal(await db.prisma.capacityReservation.count(), 0);
  });

  it('releases expired held reservations and every live reservation of an order', async (t) => {
    const { db } = await migratedDatabase(t);
    await createOrder(db, ORDER);
    await createOrder(db, 'P-0000000000bb');
    await ensureCapacityPool(db, { id: 'edge', capacityInKbps: 1000, capacityOutKbps: 1000 });
    const reserve = async (orderId: string, kbps: number, expiresAt?: Date) => {
      const r = await reserveCapacity(db, { pool: 'edge', orderId, inKbps: kbps, outKbps: kbps, ...(expiresAt ? { expiresAt } : {}) });
      return r.ok ? r.reservation.id : assert.fail(r.reason);
    };
    const expired = await reserve(ORDER, 10, new Date(T0.getTime() - 1));
    const later = await reserve(ORDER, 20, new Date(T0.getTime() + 60_000));
    const committed = await reserve('P-0000000000bb', 40, new Date(T0.getTime() - 1));
    await commitReservation(db, committed);
    assert.deepEqual((await releaseExpired(db, T0)).map((r) => r.id), [expired]);
    assert.equal((await usage(db, 'edge')).bookedInKbps, 60);
    assert.deepEqual((await releaseOrderReservations(db, 'P-0000000000bb', T0)).map((r) => r.id), [committed]);
    assert.deepEqual((await releaseOrderReservations(db, ORDER, T0)).map((r) => r.id), [later]);
    const u = await usage(db, 'edge');
    assertConsistent(u);
    assert.equal(u.availableInKbps, 1000);
  });

  it('resizes a pool by configuration, never below what is booked', async (t) => {
    const { db } = await migratedDatabase(t);
    await createOrder(db, ORDER);
    await ensureCapacityPool(db, { id: 'edge', capacityInKbps: 1000, capacityOutKbps: 1000 });
    assert.ok((await reserveCapacity(db, { pool: 'edge', orderId: ORDER, inKbps: 700, outKbps: 100 })).ok);
    await ensureCapacityPool(db, { id: 'edge', capacityInKbps: 2000, capacityOutKbps: 1000 });
    assert.equal((await usage(db, 'edge')).availableInKbps, 1300);
    await assert.rejects(ensureCapacityPool(db, { id: 'edge', capacityInKbps: 699, capacityOutKbps: 1000 }), CapacityError);
    await ensureCapacityPool(db, { id: 'edge', capacityInKbps: 700, capacityOutKbps: 1000 });
    const u = await usage(db, 'edge');
    assertConsistent(u);
    assert.equal(u.availableInKbps, 0);
  });

  it('validates amounts and converts Mbit/s up to whole kbit/s', async (t) => {
    const { db } = await migratedDatabase(t);
    await assert.rejects(reserveCapacity(db, { pool: 'edge', orderId: ORDER, inKbps: 1.5, outKbps: 1 }), CapacityError);
    await assert.rejects(reserveCapacity(db, { pool: 'edge', orderId: ORDER, inKbps: -1, outKbps: 1 }), CapacityError);
    await assert.rejects(ensureCapacityPool(db, { id: 'x', capacityInKbps: 2 ** 31, capacityOutKbps: 1 }), CapacityError);
    assert.equal(mbpsToKbps(0.3), 300);
    assert.equal(mbpsToKbps(0.1 * 3), 300);
    assert.equal(mbpsToKbps(1.0005), 1001);
    assert.equal(mbpsToKbps(10_000), 10_000_000);
    assert.throws(() => mbpsToKbps(Number.NaN), CapacityError);
  });

  it('property: any sequence of bookings, commits and releases keeps the pool equal to its reservations', async (t) => {
    const { db } = await migratedDatabase(t);
    await createOrder(db, ORDER);
    const command = fc.oneof(
      fc.record({ op: fc.constant('reserve' as const), inKbps: fc.integer({ min: 0, max: 400 }), outKbps: fc.integer({ min: 0, max: 400 }) }),
      fc.record({ op: fc.constant('commit' as const), pick: fc.nat() }),
      fc.record({ op: fc.constant('release' as const), pick: fc.nat() }),
    );
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 1000 }), fc.array(command, { maxLength: 12 }), async (capIn, capOut, commands) => {
        const pool = `pool-${run++}`;
        await ensureCapacityPool(db, { id: pool, capacityInKbps: capIn, capacityOutKbps: capOut });
        const live = new Map<number, { inKbps: number; outKbps: number; status: 'held' | 'committed' }>();
        const ids: number[] = [];
        let freeIn = capIn;
        let freeOut = capOut;
        for (const c of commands) {
          if (c.op === 'reserve') {
            const r = await reserveCapacity(db, { pool, orderId: ORDER, inKbps: c.inKbps, outKbps: c.outKbps });
            const fits = c.inKbps <= freeIn && c.outKbps <= freeOut;
            assert.equal(r.ok, fits, `reserve ${c.inKbps}/${c.outKbps} with ${freeIn}/${freeOut} free`);
            if (r.ok) {
              live.set(r.reservation.id, { inKbps: c.inKbps, outKbps: c.outKbps, status: 'held' });
              ids.push(r.reservation.id);
              freeIn -= c.inKbps;
              freeOut -= c.outKbps;
            }
          } else if (ids.length > 0) {
            const id = ids[c.pick % ids.length] ?? 0;
            const model = live.get(id);
            if (c.op === 'commit') {
              assert.equal(await commitReservation(db, id), model?.status === 'held');
              if (model) model.status = 'committed';
            } else {
              assert.equal(await releaseReservation(db, id, T0), model !== undefined);
              if (model) {
                freeIn += model.inKbps;
                freeOut += model.outKbps;
                live.delete(id);
              }
            }
          }
          const u = await usage(db, pool);
          assertConsistent(u);
          assert.equal(u.availableInKbps, freeIn);
          assert.equal(u.availableOutKbps, freeOut);
        }
      }),
      { numRuns: 25 },
    );
  });

  it('never overbooks a pool shared by concurrent processes', async (t) => {
    const { db, file } = await migratedDatabase(t);
    await createOrder(db, ORDER);
    const capacity = { id: 'shared', capacityInKbps: 3000, capacityOutKbps: 1500 };
    await ensureCapacityPool(db, capacity);
    const summaries = (
      await Promise.all(
        [11, 22, 33].map((seed) => runToEnd(spawnTs('lib/db/__tests__/capacity-race-child.ts', [file, 'shared', ORDER, String(seed), '300']))),
      )
    ).map((out) => JSON.parse(out.trim()) as { held: number; refused: number; inKbps: number; outKbps: number; start: number; end: number });

    // The children really ran at the same time, and all of them hit the pool's limit.
    assert.ok(Math.max(...summaries.map((s) => s.start)) < Math.min(...summaries.map((s) => s.end)), JSON.stringify(summaries));
    for (const s of summaries) assert.ok(s.refused > 0, JSON.stringify(s));

    const u = await usage(db, 'shared');
    assertConsistent(u);
    assert.ok(u.bookedInKbps <= capacity.capacityInKbps && u.bookedOutKbps <= capacity.capacityOutKbps, JSON.stringify(u));
    assert.equal(u.bookedInKbps, summaries.reduce((sum, s) => sum + s.inKbps, 0));
    assert.equal(u.bookedOutKbps, summaries.reduce((sum, s) => sum + s.outKbps, 0));
    assert.equal(
      await db.prisma.capacityReservation.count({ where: { pool: 'shared', status: 'held' } }),
      summaries.reduce((sum, s) => sum + s.held, 0),
    );
  });
});
