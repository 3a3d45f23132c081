/**
 * "Deadline close": a periodic sweep (started beside the engine host, start.ts) tells the
 * requester once per deadline when it is within the threshold (PORTAL_DEADLINE_NOTICE_SECONDS,
 * default 600 s):
 *  - an offer's validity (VALIDITY_OFFER_TIME, 9.1.8) ending while the offer waits for a decision;
 *  - the response time (EXPECTED_RESPONSE_TIME, 9.1.6) ending while the provider has not answered.
 * The dedupe key holds the deadline instant: a sweep repeated or restarted adds nothing, while a
 * new deadline (a new offer, more time granted) is notified again. Framework-free.
 */
import type { PortalDbClient } from '../db/client';
import { IN_FLIGHT_STATES } from '../db/types';
import { humanTime, notifyUsers } from './produce';

const OFFERED = ['OfferReceived', 'OfferProcessing'];
const WAITING = ['PQOSent', 'ServerProcessing'];

export function deadlineThresholdMs(env: NodeJS.ProcessEnv = process.env): number {
  const seconds = Number(env.PORTAL_DEADLINE_NOTICE_SECONDS ?? 600);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 600_000;
}

function inMinutes(ms: number): string {
  const minutes = Math.max(1, Math.round(ms / 60_000));
  return minutes === 1 ? 'about a minute' : `about ${minutes} minutes`;
}

/** One sweep: returns how many notifications it created. */
export async function sweepDeadlines(db: PortalDbClient, now: Date, thresholdMs: number): Promise<number> {
  const horizon = new Date(now.getTime() + thresholdMs);
  const rows = await db.negotiation.findMany({
    where: {
      OR: [
        { clientState: { in: OFFERED }, offerValidUntil: { gt: now, lte: horizon } },
        { clientState: { in: WAITING }, expectedResponseAt: { gt: now, lte: horizon } },
      ],
      // Only orders still in flight (an ended order's stale columns are no deadline).
      order: { state: { in: [...IN_FLIGHT_STATES] } },
    },
    select: {
      customerOrderId: true,
      orderId: true,
      clientState: true,
      offerValidUntil: true,
      expectedResponseAt: true,
      provider: { select: { name: true } },
      order: { select: { title: true, authorId: true } },
    },
    take: 500,
  });
  if (rows.length === 0) return 0;
  return db.$transaction(async (tx) => {
    let created = 0;
    for (const n of rows) {
      const offer = OFFERED.includes(n.clientState);
      const at = offer ? n.offerValidUntil : n.expectedResponseAt;
      if (!at) continue;
      const left = inMinutes(at.getTime() - now.getTime());
      created += await notifyUsers(
        tx,
        [n.order.authorId],
        {
          kind: 'deadline',
          orderId: n.orderId,
          title: offer ? `Offer ends soon: ${n.order.title}` : `Response time ends soon: ${n.order.title}`,
          body: offer
            ? `The offer of ${n.provider.name} for "${n.order.title}" is valid until ${humanTime(at.getTime())} (in ${left}). Accept or decline it before then.`
            : `${n.provider.name} has until ${humanTime(at.getTime())} (in ${left}) to answer "${n.order.title}".`,
          dedupeKey: `deadline:${offer ? 'offer' : 'response'}:${n.customerOrderId}:${at.getTime()}`,
        },
        now,
      );
    }
    return created;
  });
}
