'use server';
// Server actions of /provider-queue: the session's user + lib/portal/actions/provider-queue.ts
// (zod, role check, then the provider's admin endpoint).
import { providerQueueHandlers } from '@/lib/portal/actions/provider-queue';
import { getUser } from '@/lib/portal/auth/session';

export async function approveHeldOrderAction(input: unknown) {
  return providerQueueHandlers.approve(await getUser(), input);
}

export async function rejectHeldOrderAction(input: unknown) {
  return providerQueueHandlers.reject(await getUser(), input);
}
