/**
 * Administrative approval of Created orders (RFC 8921 8.11.1: an order waits in Created until
 * it is validated, then AwaitingProcessing). Approve queues an 'approve' intent for the engine
 * host, which sends the QUOTATION(s); reject ends the order with the admin's reason, which the
 * requester sees on the order.
 */
import 'server-only';
import type { SessionUser } from '../auth/session';
import { portalDb } from '../db/client';
import { fromJson } from '../db/json';
import { userActor } from '../db/types';
import { notifyDecision } from '../notifications/from-approval';
import { mailQueued } from '../notifications/signal';
import type { Cpd, NegotiationOptions } from '../../cpnp';
import { fail, ok, ORDER_NOT_FOUND, type ServiceResult } from '../result';

export interface ApprovalItem {
  id: string;
  title: string;
  organisation: string;
  author: string;
  submittedAt: string | null;
  providers: string[];
  expectedResponseSeconds: number;
  selectionRule: string;
  requestedCpd: Cpd;
  options: NegotiationOptions;
}

export async function listApprovalQueue(user: SessionUser): Promise<ServiceResult<ApprovalItem[]>> {
  if (user.role !== 'admin') return fail('forbidden', 'Only administrators approve orders.');
  const rows = await portalDb().order.findMany({
    where: { state: 'Created' },
    orderBy: [{ submittedAt: 'asc' }, { id: 'asc' }],
    take: 100,
    include: {
      organisation: { select: { name: true } },
      author: { select: { name: true, email: true } },
      negotiations: { select: { provider: { select: { name: true } } }, orderBy: { createdAt: 'asc' } },
    },
  });
  return ok(
    rows.map((o) => ({
      id: o.id,
      title: o.title,
      organisation: o.organisation.name,
      author: o.author.name || o.author.email,
      submittedAt: o.submittedAt?.toISOString() ?? null,
      providers: o.negotiations.map((n) => n.provider.name),
      expectedResponseSeconds: o.expectedResponseSeconds,
      selectionRule: o.selectionRule,
      requestedCpd: fromJson<Cpd>(o.requestedCpd, []),
      options: fromJson<NegotiationOptions>(o.options, {}),
    })),
  );
}

type Decision = { decision: 'approved' } | { decision: 'rejected'; reason: string };

async function decide(user: SessionUser, orderId: string, d: Decision): Promise<ServiceResult<{ orderId: string }>> {
  const db = portalDb();
  // Admins see every order, so "not found" here really means missing; still the same answer.
  if (user.role !== 'admin') {
    const visible = await db.order.findFirst({ where: user.role === 'customer' ? { id: orderId, organisationId: user.organisationId } : { id: orderId }, select: { id: true } });
    return visible ? fail('forbidden', 'Only administrators approve orders.') : ORDER_NOT_FOUND;
  }
  const now = new Date();
  const to = d.decision === 'approved' ? 'AwaitingProcessing' : 'Rejected';
  const result = await db.$transaction(async (tx) => {
    const order = await tx.order.findUnique({ where: { id: orderId }, select: { state: true } });
    if (!order) return 'missing' as const;
    // Guarded update: of two admins deciding at once, only one wins.
    const claimed = await tx.order.updateMany({
      where: { id: orderId, state: 'Created' },
      data: { state: to, stateReason: d.decision === 'rejected' ? 'rejected' : null, version: { increment: 1 } },
    });
    if (claimed.count !== 1) return 'wrong-state' as const;
    await tx.approval.create({ data: { orderId, approverId: user.id, decision: d.decision, reason: d.decision === 'rejected' ? d.reason : null, at: now } });
    await tx.stateChange.create({
      data: {
        orderId,
        from: 'Created',
        to,
        cause: d.decision === 'approved' ? 'approved' : `rejected: ${d.reason}`,
        actor: userActor(user.id),
        at: now,
      },
    });
    if (d.decision === 'approved') {
      await tx.intent.create({ data: { orderId, kind: 'approve', payload: '{}', actorId: user.id, createdAt: now } });
    }
    await notifyDecision(tx, orderId, d.decision, d.decision === 'rejected' ? d.reason : null, now);
    return 'ok' as const;
  });
  if (result === 'ok') mailQueued();
  if (result === 'missing') return ORDER_NOT_FOUND;
  if (result === 'wrong-state') return fail('wrong-state', 'This order is no longer waiting for approval.');
  return ok({ orderId });
}

export function approveOrder(user: SessionUser, orderId: string): Promise<ServiceResult<{ orderId: string }>> {
  return decide(user, orderId, { decision: 'approved' });
}

export async function rejectOrder(user: SessionUser, orderId: string, reason: string): Promise<ServiceResult<{ orderId: string }>> {
  const text = reason.trim();
  if (text.length < 3 || text.length > 500) {
    return fail('invalid', 'Give a reason (3 to 500 characters).', { reason: ['Give a reason (3 to 500 characters).'] });
  }
  return decide(user, orderId, { decision: 'rejected', reason: text });
}
