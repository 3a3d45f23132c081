'use client';
/** React Query hooks of the provider registry page, one per operation (keys: query-keys.ts). */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { setProviderEnabledAction, testProviderAction } from '@/app/(portal)/actions';
import type { ProviderView } from '../providers/service';
import { providerKeys } from '../query-keys';
import type { ServiceResult } from '../result';

async function getProviders(): Promise<ProviderView[]> {
  const response = await fetch('/api/portal/providers', { headers: { accept: 'application/json' }, cache: 'no-store' });
  const body = (await response.json().catch(() => null)) as ServiceResult<ProviderView[]> | null;
  if (!body) throw new Error(`The server answered ${response.status}.`);
  if (!body.ok) throw new Error(body.message);
  return body.value;
}

export function useProviderRegistry(initialData: ProviderView[]) {
  return useQuery({ queryKey: providerKeys.registry(), queryFn: getProviders, initialData, refetchInterval: 30_000 });
}

export function useTestProvider() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => testProviderAction({ id }),
    onSettled: () => client.invalidateQueries({ queryKey: providerKeys.all }),
  });
}

export function useSetProviderEnabled() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (v: { id: string; enabled: boolean }) => setProviderEnabledAction(v),
    onSettled: () => client.invalidateQueries({ queryKey: providerKeys.all }),
  });
}
