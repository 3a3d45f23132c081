'use client';
/**
 * React Query hooks, one per operation. Reads go to app/api/portal/**; writes are server
 * actions. Keys come from ../query-keys.ts only.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { approveOrderAction, enqueueIntentAction, rejectOrderAction } from '@/app/(portal)/actions';
import type { OrderDetailPayload } from '../actions/queries';
import type { ApprovalItem } from '../approvals/service';
import type { IntentKind } from '../db/types';
import { IN_FLIGHT_STATES } from '../db/types';
import type { OrderPage } from '../orders/service';
import { approvalKeys, orderKeys } from '../query-keys';
import type { ServiceResult } from '../result';

/** Fails with the server's message, so error boundaries and mutation states can show it. */
export async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url, { headers: { accept: 'application/json' }, cache: 'no-store' });
  const body = (await response.json().catch(() => null)) as ServiceResult<T> | null;
  if (!body) throw new Error(`The server answered ${response.status}.`);
  if (!body.ok) throw new Error(body.message);
  return body.value;
}

/** While an order waits for a provider, poll every 2 s; otherwise every 15 s. */
export const IN_FLIGHT_POLL_MS = 2000;
export const IDLE_POLL_MS = 15000;

export function useOrderDetail(orderId: string, initialData: OrderDetailPayload) {
  return useQuery({
    queryKey: orderKeys.detail(orderId),
    queryFn: () => getJson<OrderDetailPayload>(`/api/portal/orders/${encodeURIComponent(orderId)}`),
    initialData,
    refetchInterval: (query) => {
      const data = query.state.data;
      const busy = data && (IN_FLIGHT_STATES.includes(data.order.state) || data.order.pendingIntents.length > 0);
      return busy ? IN_FLIGHT_POLL_MS : IDLE_POLL_MS;
    },
  });
}

export function useOrders(page: number, initialData: OrderPage) {
  return useQuery({
    queryKey: orderKeys.list(page),
    queryFn: () => getJson<OrderPage>(`/api/portal/orders?page=${page}`),
    initialData,
    refetchInterval: IDLE_POLL_MS,
  });
}

export function useApprovalQueue(initialData: ApprovalItem[]) {
  return useQuery({
    queryKey: approvalKeys.queue(),
    queryFn: () => getJson<ApprovalItem[]>('/api/portal/approvals'),
    initialData,
    refetchInterval: IDLE_POLL_MS,
  });
}

/** Expected errors come back as results, not exceptions: the caller shows `message`. */
export function useEnqueueIntent(orderId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (v: { kind: Exclude<IntentKind, 'approve'>; payload?: Record<string, unknown> }) =>
      enqueueIntentAction({ orderId, kind: v.kind, payload: v.payload ?? {} }),
    onSettled: () => client.invalidateQueries({ queryKey: orderKeys.detail(orderId) }),
  });
}

export function useApproveOrder() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (orderId: string) => approveOrderAction({ orderId }),
    onSettled: (_r, _e, orderId) =>
      Promise.all([
        client.invalidateQueries({ queryKey: approvalKeys.all }),
        client.invalidateQueries({ queryKey: orderKeys.detail(orderId) }),
        client.invalidateQueries({ queryKey: orderKeys.lists() }),
      ]),
  });
}

export function useRejectOrder() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (v: { orderId: string; reason: string }) => rejectOrderAction(v),
    onSettled: (_r, _e, v) =>
      Promise.all([
        client.invalidateQueries({ queryKey: approvalKeys.all }),
        client.invalidateQueries({ queryKey: orderKeys.detail(v.orderId) }),
        client.invalidateQueries({ queryKey: orderKeys.lists() }),
      ]),
  });
}
