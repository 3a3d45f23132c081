/**
 * The intent queue (the durable hand-over from server actions to the engine host, which owns
 * the network): validate, authorise, check the action is valid now, insert a pending row.
 * The host (lib/portal/negotiation/host.ts) claims pending rows in createdAt order, applies
 * them, and sets status done|refused with a result code.
 */
import 'server-only';
import type { SessionUser } from '../auth/session';
import { portalDb } from '../db/client';
import { toJson } from '../db/json';
import { isOneOf, ORDER_STATES, type IntentKind, type OrderState } from '../db/types';
import { orderWhere } from '../orders/scope';
import { fail, ok, ORDER_NOT_FOUND, type ServiceResult } from '../result';
import { parseIntentPayload } from './payload';
import { checkIntent, type OrderFacts } from './rules';

/** Loads what rules.ts needs to decide, scoped to the user's organisation. */
export async function loadOrderFacts(user: SessionUser, orderId: string): Promise<OrderFacts | null> {
  const order = await portalDb().order.findFirst({
    where: orderWhere(user, { id: orderId }),
    select: {
      state: true,
      options: true,
      negotiations: {
        select: {
          id: true,
          clientState: true,
          agreed: true,
          active: true,
          moreTimeRequestedUntil: true,
          offers: { where: { decision: 'pending' }, select: { id: true } },
        },
        orderBy: { createdAt: 'asc' },
      },
      intents: { where: { status: 'pending' }, select: { kind: true, negotiationId: true } },
    },
  });
  if (!order) return null;
  let scheduled = false;
  try {
    scheduled = (JSON.parse(order.options) as { activationType?: string }).activationType === 'scheduled';
  } catch {
    scheduled = false;
  }
  return {
    state: isOneOf(ORDER_STATES, order.state) ? order.state : ('Created' as OrderState),
    scheduled,
    negotiations: order.negotiations.map((n) => ({
      id: n.id,
      clientState: n.clientState,
      agreed: n.agreed,
      active: n.active,
      moreTimeRequested: n.moreTimeRequestedUntil !== null,
      pendingOfferIds: n.offers.map((o) => o.id),
    })),
    pending: order.intents,
  };
}

/** Customers steer their organisation's orders; admins only approve (approvals/service.ts). */
function mayEnqueue(user: SessionUser, kind: IntentKind): boolean {
  if (kind === 'approve') return user.role === 'admin';
  return user.role === 'customer';
}

export async function enqueueIntent(
  user: SessionUser,
  orderId: string,
  kind: IntentKind,
  payload: unknown,
): Promise<ServiceResult<{ intentIds: string[] }>> {
  const facts = await loadOrderFacts(user, orderId);
  if (!facts) return ORDER_NOT_FOUND;
  if (!mayEnqueue(user, kind)) return fail('forbidden', 'Your role cannot do that.');
  if (kind === 'approve') return fail('forbidden', 'Approve through the approvals queue.');
  const parsed = parseIntentPayload(kind, payload);
  if (!parsed.ok) return fail('invalid', parsed.message, parsed.fieldErrors);
  let negotiationId = parsed.value.negotiationId;
  if (typeof parsed.value.offerId === 'string') {
    const offerId = parsed.value.offerId;
    const owner = facts.negotiations.find((n) => n.pendingOfferIds.includes(offerId));
    if (!owner) return fail('wrong-state', 'That offer is no longer open.');
    negotiationId = owner.id;
  }
  if (negotiationId !== undefined && !facts.negotiations.some((n) => n.id === negotiationId)) {
    return fail('not-found', 'No such provider negotiation on this order.');
  }
  const check = checkIntent(kind, facts, negotiationId);
  if (!check.ok) return fail(check.code, check.message);
  const db = portalDb();
  const created = await db.$transaction(
    check.negotiationIds.map((nid) =>
      db.intent.create({ data: { orderId, negotiationId: nid, kind, payload: toJson(parsed.value), actorId: user.id }, select: { id: true } }),
    ),
  );
  return ok({ intentIds: created.map((c) => c.id) });
}
