/**
 * The engine host's side of the intent queue (framework-free; the host runs in the Next.js
 * server process, started from instrumentation.ts). Server actions insert pending rows
 * (service.ts); the host:
 *
 *   1. `pendingIntents(db)`: pending rows, oldest first (FIFO per order).
 *   2. applies each to its engine, persisting the engine step and `finishIntent(tx, ...)` in
 *      the same transaction, so a crash never leaves an intent applied but still pending (it
 *      would be applied twice) or marked done but not applied.
 *
 * `finishIntent` only moves a row out of `pending` once (guarded update), so two hosts, or a
 * retry after a crash, cannot both finish it.
 */
import type { PortalDbClient } from '../db/client';
import type { Prisma } from '../db/client';
import { fromJson } from '../db/json';
import { INTENT_KINDS, isOneOf, type IntentKind } from '../db/types';

export interface QueuedIntent {
  id: string;
  orderId: string;
  /** null for order-wide intents ('approve': send the QUOTATION to every provider of the order). */
  negotiationId: string | null;
  kind: IntentKind;
  /** Validated by intents/payload.ts when queued (IntentPayload<kind>). */
  payload: Record<string, unknown>;
  actorId: string;
  createdAt: Date;
}

type Tx = PortalDbClient | Prisma.TransactionClient;

export async function pendingIntents(db: Tx, limit = 100): Promise<QueuedIntent[]> {
  const rows = await db.intent.findMany({ where: { status: 'pending' }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }], take: limit });
  return rows
    .filter((r) => isOneOf(INTENT_KINDS, r.kind))
    .map((r) => ({
      id: r.id,
      orderId: r.orderId,
      negotiationId: r.negotiationId,
      kind: r.kind as IntentKind,
      payload: fromJson<Record<string, unknown>>(r.payload, {}),
      actorId: r.actorId,
      createdAt: r.createdAt,
    }));
}

/**
 * Marks an intent done or refused (with a result code: "ok", "wrong-state", a CPNP FAIL
 * status...). Returns false when it was no longer pending (already finished elsewhere).
 */
export async function finishIntent(
  db: Tx,
  intentId: string,
  outcome: { status: 'done' | 'refused'; code: string; message?: string },
  now: Date = new Date(),
): Promise<boolean> {
  const r = await db.intent.updateMany({
    where: { id: intentId, status: 'pending' },
    data: { status: outcome.status, resultCode: outcome.code, resultMessage: outcome.message ?? null, processedAt: now },
  });
  return r.count === 1;
}
