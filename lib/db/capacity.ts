/**
 * Capacity booking for the decision engine, without double booking under concurrency.
 *
 * A pool keeps its remaining capacity (`availableInKbps`, `availableOutKbps`). Booking is one
 * conditional UPDATE that subtracts the request only if enough remains:
 *
 *   UPDATE CapacityPool SET available = available - x WHERE id = ? AND available >= x
 *
 * A single UPDATE is atomic on both providers: SQLite runs one writer at a time, and PostgreSQL
 * re-checks the WHERE clause on the latest row version after taking the row lock (even at READ
 * COMMITTED). Two concurrent bookings can therefore never both pass the check on the same
 * remainder. The reservation row is written in the same transaction, so the pool and the sum of
 * its live reservations (held + committed) always agree: capacity - available = that sum.
 * Releasing is the reverse, made idempotent by a conditional status change.
 *
 * Every transaction here starts with its write, which SQLite needs to wait for a busy writer
 * instead of failing (transaction.ts). Units are kbit/s integers, so sums are exact.
 */
import type { Database, DbClient } from './client';
import type { CapacityReservation } from './generated/sqlite/client';
import { withTransaction, type TxClient } from './transaction';
import type { ReservationStatus } from './types';

const INT32_MAX = 0x7fff_ffff;
const LIVE: ReservationStatus[] = ['held', 'committed'];

export class CapacityError extends Error {
  override readonly name = 'CapacityError';
}

function checkKbps(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > INT32_MAX) {
    throw new CapacityError(`${name} must be an integer in 0..${INT32_MAX} kbit/s, got ${value}`);
  }
}

/** Mbit/s as booked: rounded up to whole kbit/s, so a booking never covers less than asked. */
export function mbpsToKbps(mbps: number): number {
  if (!Number.isFinite(mbps) || mbps < 0) throw new CapacityError(`capacity must be a finite non-negative number of Mbit/s, got ${mbps}`);
  // Round away binary noise first (0.1 * 3 * 1000 = 300.00000000000006 must stay 300).
  return Math.ceil(Number((mbps * 1000).toFixed(6)));
}

export interface PoolSpec {
  id: string;
  capacityInKbps: number;
  capacityOutKbps: number;
}

/**
 * Creates the pool, or sets the capacity of an existing one (servers call it at start-up with
 * their configuration). The remaining capacity moves by the same amount as the capacity; a
 * capacity below what is booked now is refused.
 */
export async function ensureCapacityPool(db: Database | DbClient, spec: PoolSpec): Promise<void> {
  checkKbps('capacityInKbps', spec.capacityInKbps);
  checkKbps('capacityOutKbps', spec.capacityOutKbps);
  await withTransaction(db, async (tx) => {
    // Write first (see the file comment): a no-op update takes the write lock.
    const touched = await tx.capacityPool.updateManyAndReturn({ where: { id: spec.id }, data: { updatedAt: new Date() } });
    const pool = touched[0];
    if (pool === undefined) {
      await tx.capacityPool.create({
        data: {
          id: spec.id,
          capacityInKbps: spec.capacityInKbps,
          capacityOutKbps: spec.capacityOutKbps,
          availableInKbps: spec.capacityInKbps,
          availableOutKbps: spec.capacityOutKbps,
        },
      });
      return;
    }
    const availableIn = pool.availableInKbps + spec.capacityInKbps - pool.capacityInKbps;
    const availableOut = pool.availableOutKbps + spec.capacityOutKbps - pool.capacityOutKbps;
    if (availableIn < 0 || availableOut < 0) {
      throw new CapacityError(
        `pool ${spec.id}: capacity ${spec.capacityInKbps}/${spec.capacityOutKbps} kbit/s is below what is booked ` +
          `(${pool.capacityInKbps - pool.availableInKbps}/${pool.capacityOutKbps - pool.availableOutKbps})`,
      );
    }
    await tx.capacityPool.update({
      where: { id: spec.id },
      data: { capacityInKbps: spec.capacityInKbps, capacityOutKbps: spec.capacityOutKbps, availableInKbps: availableIn, availableOutKbps: availableOut },
    });
  });
}

export interface ReserveRequest {
  pool: string;
  orderId: string;
  inKbps: number;
  outKbps: number;
  /** When a held reservation lapses (the offer's VALIDITY_OFFER_TIME); see releaseExpired. */
  expiresAt?: Date;
}

export type ReserveResult =
  | { ok: true; reservation: CapacityReservation }
  | { ok: false; reason: 'insufficient' | 'no-pool' };

/** reserveCapacity inside the caller's transaction (a decision step that writes more). */
export async function reserveCapacityTx(tx: TxClient, request: ReserveRequest): Promise<ReserveResult> {
  checkKbps('inKbps', request.inKbps);
  checkKbps('outKbps', request.outKbps);
  const booked = await tx.capacityPool.updateMany({
    where: { id: request.pool, availableInKbps: { gte: request.inKbps }, availableOutKbps: { gte: request.outKbps } },
    data: { availableInKbps: { decrement: request.inKbps }, availableOutKbps: { decrement: request.outKbps } },
  });
  if (booked.count === 0) {
    const exists = (await tx.capacityPool.count({ where: { id: request.pool } })) > 0;
    return { ok: false, reason: exists ? 'insufficient' : 'no-pool' };
  }
  const reservation = await tx.capacityReservation.create({
    data: {
      pool: request.pool,
      orderId: request.orderId,
      inKbps: request.inKbps,
      outKbps: request.outKbps,
      status: 'held' satisfies ReservationStatus,
      expiresAt: request.expiresAt ?? null,
    },
  });
  return { ok: true, reservation };
}

/** Holds capacity for an order if the pool has it; never overdraws, whatever runs alongside. */
export function reserveCapacity(db: Database | DbClient, request: ReserveRequest): Promise<ReserveResult> {
  return withTransaction(db, (tx) => reserveCapacityTx(tx, request));
}

/** Held becomes committed (the agreement was concluded); false if it was not held. */
export async function commitReservation(db: Database | DbClient | TxClient, id: number): Promise<boolean> {
  const client = 'prisma' in db ? db.prisma : db;
  const changed = await client.capacityReservation.updateMany({
    where: { id, status: 'held' satisfies ReservationStatus },
    data: { status: 'committed' satisfies ReservationStatus, expiresAt: null },
  });
  return changed.count === 1;
}

/** Gives the capacity of these live reservations back to their pools; returns them. */
async function releaseWhere(tx: TxClient, where: { id?: number; orderId?: string; expiresAt?: { lte: Date } }, held: boolean, now: Date) {
  const released = await tx.capacityReservation.updateManyAndReturn({
    where: { ...where, status: held ? ('held' satisfies ReservationStatus) : { in: LIVE } },
    data: { status: 'released' satisfies ReservationStatus, releasedAt: now },
  });
  for (const r of released) {
    await tx.capacityPool.update({
      where: { id: r.pool },
      data: { availableInKbps: { increment: r.inKbps }, availableOutKbps: { increment: r.outKbps } },
    });
  }
  return released;
}

/** Releases one reservation inside the caller's transaction; false if it was not live. */
export async function releaseReservationTx(tx: TxClient, id: number, now: Date): Promise<boolean> {
  return (await releaseWhere(tx, { id }, false, now)).length === 1;
}

/** Releases one reservation (held or committed); releasing twice does nothing the second time. */
export function releaseReservation(db: Database | DbClient, id: number, now: Date): Promise<boolean> {
  return withTransaction(db, (tx) => releaseReservationTx(tx, id, now));
}

/** Releases every live reservation of an order (withdrawn, cancelled, failed, expired). */
export async function releaseOrderReservations(db: Database | DbClient, orderId: string, now: Date): Promise<CapacityReservation[]> {
  return withTransaction(db, (tx) => releaseWhere(tx, { orderId }, false, now));
}

/**
 * Releases held reservations whose expiresAt has passed: the sweep a server runs at start-up
 * and periodically, so capacity held by offers that lapsed while it was down comes back.
 */
export async function releaseExpired(db: Database | DbClient, now: Date): Promise<CapacityReservation[]> {
  return withTransaction(db, (tx) => releaseWhere(tx, { expiresAt: { lte: now } }, true, now));
}

export interface PoolUsage {
  capacityInKbps: number;
  capacityOutKbps: number;
  availableInKbps: number;
  availableOutKbps: number;
  /** Sums over the pool's held and committed reservations. */
  bookedInKbps: number;
  bookedOutKbps: number;
}

/** The pool and the sum of its live reservations; `capacity - available = booked` always holds. */
export async function poolUsage(db: Database | DbClient | TxClient, pool: string): Promise<PoolUsage | undefined> {
  const client = 'prisma' in db ? db.prisma : db;
  const row = await client.capacityPool.findUnique({ where: { id: pool } });
  if (row === null) return undefined;
  const sums = await client.capacityReservation.aggregate({ where: { pool, status: { in: LIVE } }, _sum: { inKbps: true, outKbps: true } });
  return {
    capacityInKbps: row.capacityInKbps,
    capacityOutKbps: row.capacityOutKbps,
    availableInKbps: row.availableInKbps,
    availableOutKbps: row.availableOutKbps,
    bookedInKbps: sums._sum.inKbps ?? 0,
    bookedOutKbps: sums._sum.outKbps ?? 0,
  };
}
