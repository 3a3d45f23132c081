/**
 * Reads for the browser's React Query hooks (served by app/api/portal/** route handlers):
 * authenticated, organisation-scoped, typed. Kept as functions of the user so the
 * authorisation matrix test covers them too.
 */
import 'server-only';
import { z } from 'zod';
import type { SessionUser } from '../auth/session';
import { listApprovalQueue, type ApprovalItem } from '../approvals/service';
import { availableIntents } from '../intents/rules';
import { loadOrderFacts } from '../intents/service';
import { getOrderDetail, listOrders, type OrderDetail, type OrderPage } from '../orders/service';
import { heldNegotiationIds } from '../provider-queue/service';
import { listRegistry, type ProviderView } from '../providers/service';
import { fail, ok, type ServiceResult } from '../result';
import type { IntentKind } from '../db/types';
import { SIGNED_OUT } from './definitions';

export interface OrderDetailPayload {
  order: OrderDetail;
  /** Actions the viewer may take now (empty for admins and staff: read-only). */
  actions: { kind: IntentKind; negotiationIds: string[] }[];
  /** The viewer is a customer of the order's organisation (admins and staff read only). */
  canAct: boolean;
  /** Server time when this was read, for countdowns that do not trust the browser's clock. */
  serverNow: string;
  /** Negotiations their provider holds for its administrator (administrative validation, 8.2). */
  heldAtProvider: string[];
}

const pageQuery = z.coerce.number().int().min(1).max(100000).catch(1);

export const queryHandlers = {
  orders: async (user: SessionUser | null, page: unknown): Promise<ServiceResult<OrderPage>> => {
    if (!user) return SIGNED_OUT;
    return ok(await listOrders(user, { page: pageQuery.parse(page) }));
  },
  order: async (user: SessionUser | null, orderId: unknown): Promise<ServiceResult<OrderDetailPayload>> => {
    if (!user) return SIGNED_OUT;
    const id = z.string().min(1).max(64).safeParse(orderId);
    if (!id.success) return fail('not-found', 'No such order.');
    const detail = await getOrderDetail(user, id.data);
    if (!detail.ok) return detail;
    const facts = user.role === 'customer' ? await loadOrderFacts(user, id.data) : null;
    const heldAtProvider = await heldNegotiationIds(detail.value.negotiations);
    return ok({ order: detail.value, actions: facts ? availableIntents(facts) : [], canAct: facts !== null, serverNow: new Date().toISOString(), heldAtProvider });
  },
  approvals: async (user: SessionUser | null): Promise<ServiceResult<ApprovalItem[]>> => {
    if (!user) return SIGNED_OUT;
    return listApprovalQueue(user);
  },
  providers: async (user: SessionUser | null): Promise<ServiceResult<ProviderView[]>> => {
    if (!user) return SIGNED_OUT;
    return listRegistry(user);
  },
} as const;

/** HTTP status for a failed result (route handlers). */
export function httpStatus(code: string): number {
  switch (code) {
    case 'not-found':
      return 404;
    case 'forbidden':
      return 403;
    case 'invalid':
      return 400;
    case 'unavailable':
      return 503;
    default:
      return 409;
  }
}
