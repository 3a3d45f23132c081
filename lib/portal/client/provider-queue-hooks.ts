'use client';
/**
 * React Query hooks of /provider-queue: one read (polled, so orders a provider starts holding
 * appear without a reload) and one hook per decision (server actions). Keys from ../query-keys.ts.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { approveHeldOrderAction, rejectHeldOrderAction } from '@/app/(portal)/provider-queue/actions';
import type { HeldDecision, ProviderQueue } from '../provider-queue/service';
import { orderKeys, providerQueueKeys } from '../query-keys';
import type { ServiceResult } from '../result';
import { getJson } from './hooks';

/** A customer's order reaches a provider within a second or two of approval: poll often. */
export const PROVIDER_QUEUE_POLL_MS = 3000;

export function useProviderQueues(initialData: ProviderQueue[]) {
  return useQuery({
    queryKey: providerQueueKeys.list(),
    queryFn: () => getJson<ProviderQueue[]>('/api/portal/provider-queue'),
    initialData,
    refetchInterval: PROVIDER_QUEUE_POLL_MS,
  });
}

function useInvalidateAfterDecision() {
  const client = useQueryClient();
  return (result: ServiceResult<HeldDecision> | undefined) =>
    Promise.all([
      client.invalidateQueries({ queryKey: providerQueueKeys.all }),
      ...(result?.ok && result.value.portalOrderId ? [client.invalidateQueries({ queryKey: orderKeys.detail(result.value.portalOrderId) })] : []),
    ]);
}

export function useApproveHeldOrder() {
  const invalidate = useInvalidateAfterDecision();
  return useMutation({
    mutationFn: (v: { providerId: string; providerOrderId: string }) => approveHeldOrderAction(v),
    onSettled: (result) => invalidate(result),
  });
}

export function useRejectHeldOrder() {
  const invalidate = useInvalidateAfterDecision();
  return useMutation({
    mutationFn: (v: { providerId: string; providerOrderId: string; statusCode: number; note: string }) => rejectHeldOrderAction(v),
    onSettled: (result) => invalidate(result),
  });
}
