/**
 * Notifications of the approval step (RFC 8921 8.11.1): a submitted order waits for an
 * administrator; the decision goes back to the requester. Called inside the transactions of
 * orders/service.ts (submit) and approvals/service.ts (decide).
 */
import type { Prisma } from '../db/client';
import { adminIds, notifyUsers } from './produce';

type Tx = Prisma.TransactionClient;

/** The order was submitted (Draft or nothing -> Created): every admin is asked to decide. */
export async function notifyWaitingForApproval(tx: Tx, orderId: string, now: Date): Promise<number> {
  const order = await tx.order.findUnique({ where: { id: orderId }, select: { title: true, organisation: { select: { name: true } }, author: { select: { name: true, email: true } } } });
  if (!order) return 0;
  return notifyUsers(
    tx,
    await adminIds(tx),
    {
      kind: 'waiting-approval',
      orderId,
      title: `Order waiting for approval: ${order.title}`,
      body: `${order.author.name || order.author.email} (${order.organisation.name}) submitted "${order.title}". It waits for an administrator to approve or reject it.`,
      dedupeKey: `waiting-approval:${orderId}`,
    },
    now,
  );
}

/** An admin approved or rejected the order: its requester hears it. */
export async function notifyDecision(tx: Tx, orderId: string, decision: 'approved' | 'rejected', reason: string | null, now: Date): Promise<number> {
  const order = await tx.order.findUnique({ where: { id: orderId }, select: { title: true, authorId: true } });
  if (!order) return 0;
  const approved = decision === 'approved';
  return notifyUsers(
    tx,
    [order.authorId],
    {
      kind: decision,
      orderId,
      title: approved ? `Order approved: ${order.title}` : `Order rejected: ${order.title}`,
      body: approved ? `"${order.title}" was approved; the portal now asks the providers for offers.` : `"${order.title}" was rejected. Reason: ${reason ?? '(none given)'}`,
      dedupeKey: `decision:${orderId}`,
    },
    now,
  );
}
