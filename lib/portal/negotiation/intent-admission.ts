/**
 * Which pending intents the engine host may apply now, given its send window (send-window.ts).
 *
 * The queue is read oldest first in pages (a cursor on createdAt, id), each intent with the
 * negotiations it would send to: an order-wide intent (approve, choose-offer) every negotiation
 * of its order, the others their own. An intent is held when a provider it would send a new
 * request to has a full window; every later intent of the same order is held with it, so an
 * order's intents are still applied in the order they were queued. Held intents stay pending
 * and are seen again on the next drain, which the host starts when an answer frees a slot.
 */
import type { PortalDbClient } from '../db/client';
import { fromJson } from '../db/json';
import { INTENT_KINDS, isOneOf, type IntentKind } from '../db/types';
import type { QueuedIntent } from '../intents/queue';
import type { SendWindow } from './send-window';

/** A negotiation an intent would send to. */
export interface IntentTarget {
  providerId: string;
  customerOrderId: string;
}

export interface AdmissionCandidate extends QueuedIntent {
  targets: IntentTarget[];
}

export interface IntentCursor {
  createdAt: Date;
  id: string;
}

/** Intent kinds that act on every negotiation of the order (negotiationId is null or ignored). */
const ORDER_WIDE = new Set<IntentKind>(['approve', 'choose-offer']);

/** Pending intents after `cursor` (oldest first), with the negotiations each would send to. */
export async function pendingIntentsAfter(db: PortalDbClient, cursor: IntentCursor | undefined, limit: number): Promise<AdmissionCandidate[]> {
  const rows = await db.intent.findMany({
    where: {
      status: 'pending',
      ...(cursor ? { OR: [{ createdAt: { gt: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { gt: cursor.id } }] } : {}),
    },
    orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    take: limit,
    include: {
      negotiation: { select: { providerId: true, customerOrderId: true } },
      order: { select: { negotiations: { select: { providerId: true, customerOrderId: true } } } },
    },
  });
  const out: AdmissionCandidate[] = [];
  for (const r of rows) {
    if (!isOneOf(INTENT_KINDS, r.kind)) continue;
    const kind = r.kind as IntentKind;
    const targets = ORDER_WIDE.has(kind) || r.negotiation === null ? r.order.negotiations : [r.negotiation];
    out.push({
      id: r.id,
      orderId: r.orderId,
      negotiationId: r.negotiationId,
      kind,
      payload: fromJson<Record<string, unknown>>(r.payload, {}),
      actorId: r.actorId,
      createdAt: r.createdAt,
      targets,
    });
  }
  return out;
}

/**
 * Whether `candidate` may be applied now. Decide one intent at a time, right before applying
 * it: applying changes the window. `held` (orders with an intent held back) is carried across
 * the pages of one drain. `providerKey` maps a provider id to the window's key (undefined: no
 * usable route; the intent is admitted and the host refuses it with the configuration error).
 */
export function admissible(
  candidate: AdmissionCandidate,
  window: SendWindow,
  providerKey: (providerId: string) => string | undefined,
  held: Set<string>,
): boolean {
  if (held.has(candidate.orderId)) return false;
  const requests: { provider: string; orderId: string }[] = [];
  for (const t of candidate.targets) {
    const key = providerKey(t.providerId);
    if (key === undefined) return true;
    requests.push({ provider: key, orderId: t.customerOrderId });
  }
  if (window.admits(requests)) return true;
  held.add(candidate.orderId);
  return false;
}
