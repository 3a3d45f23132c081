/**
 * Notifications caused by one engine step, written inside the host's commit transaction
 * (negotiation/host.ts calls notifyFromStep once per step): an OFFER received, the provider
 * asking for more time (9.2.2), an agreement concluded (Completed with an agreement), an alarm
 * (outcome unknown at the server). Dedupe keys come from the engine record, not from the clock,
 * so a step retried after a failed commit produces the same keys. Steps with none of these
 * events cost no query.
 */
import type { ClientOrderRecord } from '../../cpnp/engine/client-engine';
import type { EngineEvent } from '../../cpnp/engine/output';
import type { Prisma } from '../db/client';
import { adminIds, humanTime, notifyUsers, type NotificationDraft } from './produce';

type Tx = Prisma.TransactionClient;

const ALARM_TEXT: Record<string, string> = {
  acceptUnanswered: 'the ACCEPT was not answered: whether the agreement exists is unknown',
  withdrawalUnanswered: 'the WITHDRAW was not answered: whether the agreement ended is unknown',
  withdrawalRefused: 'the provider refused the withdrawal',
  activationUnanswered: 'the ACTIVATE was not answered: whether the service is active is unknown',
  answerOverdue: 'the provider did not answer in time',
  cancelTooLate: 'the cancel came too late: the provider may have concluded the agreement',
};

function relevant(e: EngineEvent): boolean {
  return e.kind === 'offer' || e.kind === 'alarm' || (e.kind === 'notice' && e.cause === 'decideMoreTime') || (e.kind === 'transition' && e.to === 'Completed');
}

interface Target {
  orderId: string;
  title: string;
  authorId: string;
  provider: string;
}

/** The drafts one order's events produce, and whether admins are told too (alarms). */
export function draftsFor(rec: ClientOrderRecord, events: EngineEvent[], t: Target): { draft: NotificationDraft; admins: boolean }[] {
  const out: { draft: NotificationDraft; admins: boolean }[] = [];
  const coid = rec.customerOrderId;
  for (const e of events) {
    if (e.kind === 'offer' && rec.offer) {
      out.push({
        admins: false,
        draft: {
          kind: 'offer',
          orderId: t.orderId,
          title: `Offer received: ${t.title}`,
          body: `${t.provider} made an offer for "${t.title}", valid until ${humanTime(rec.offer.validityOfferTime)}. Accept or decline it on the order page.`,
          dedupeKey: `offer:${coid}:${rec.offer.nonce}`,
        },
      });
    } else if (e.kind === 'notice' && e.cause === 'decideMoreTime') {
      const until = e.data?.expectedOfferTime ?? rec.fsm.moreTimeRequested ?? 'later';
      out.push({
        admins: false,
        draft: {
          kind: 'more-time',
          orderId: t.orderId,
          title: `More time requested: ${t.title}`,
          body: `${t.provider} asks for more time to make its offer for "${t.title}" (until ${humanTime(until)}). Grant or deny it on the order page.`,
          dedupeKey: `more-time:${coid}:${until}`,
        },
      });
    } else if (e.kind === 'transition' && e.to === 'Completed' && rec.agreement && rec.fsm.hasAgreement) {
      out.push({
        admins: false,
        draft: {
          kind: 'agreed',
          orderId: t.orderId,
          title: `Agreement concluded: ${t.title}`,
          body: `${t.provider} and you concluded the agreement for "${t.title}" (provider order ${rec.agreement.providerOrderId}).`,
          dedupeKey: `agreed:${coid}:${rec.agreement.txid}`,
        },
      });
    } else if (e.kind === 'alarm') {
      const kind = e.data?.alarm ?? e.cause;
      // The record's alarm of that kind gives a stable instant (the event's own time would change on a retried step).
      const raised = [...(rec.alarms ?? [])].reverse().find((a) => a.kind === kind)?.raisedAt ?? e.at;
      out.push({
        admins: true,
        draft: {
          kind: 'alarm',
          orderId: t.orderId,
          title: `Alarm: ${t.title}`,
          body: `Order "${t.title}" with ${t.provider}: ${ALARM_TEXT[kind] ?? kind}. Check the order and, if need be, the provider.`,
          dedupeKey: `alarm:${coid}:${kind}:${raised}`,
        },
      });
    }
  }
  return out;
}

/** Writes the notifications of one committed engine step (inside its transaction). */
export async function notifyFromStep(tx: Tx, orders: readonly ClientOrderRecord[], events: readonly EngineEvent[], now: Date): Promise<number> {
  const wanted = events.filter(relevant);
  if (wanted.length === 0) return 0;
  const ids = [...new Set(wanted.map((e) => e.orderId).filter((id): id is string => id !== undefined))];
  const rows = await tx.negotiation.findMany({
    where: { customerOrderId: { in: ids } },
    select: { customerOrderId: true, orderId: true, provider: { select: { name: true } }, order: { select: { title: true, authorId: true } } },
  });
  let admins: string[] | undefined;
  let created = 0;
  for (const row of rows) {
    const rec = orders.find((o) => o.customerOrderId === row.customerOrderId);
    if (!rec) continue;
    const mine = wanted.filter((e) => e.orderId === row.customerOrderId);
    for (const { draft, admins: toAdmins } of draftsFor(rec, mine, { orderId: row.orderId, title: row.order.title, authorId: row.order.authorId, provider: row.provider.name })) {
      const users = [row.order.authorId];
      if (toAdmins) users.push(...(admins ??= await adminIds(tx)));
      created += await notifyUsers(tx, users, draft, now);
    }
  }
  return created;
}
