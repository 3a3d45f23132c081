'use server';
// Server actions of the portal: the session's user + lib/portal/actions/definitions.ts (which
// validates with zod and calls the services). Nothing here talks to the network: intents are
// queued for the engine host.
import { actionHandlers } from '@/lib/portal/actions/definitions';
import { getUser } from '@/lib/portal/auth/session';

export async function enqueueIntentAction(input: unknown) {
  return actionHandlers.enqueueIntent(await getUser(), input);
}

export async function approveOrderAction(input: unknown) {
  return actionHandlers.approveOrder(await getUser(), input);
}

export async function rejectOrderAction(input: unknown) {
  return actionHandlers.rejectOrder(await getUser(), input);
}

export async function setProviderEnabledAction(input: unknown) {
  return actionHandlers.setProviderEnabled(await getUser(), input);
}

export async function testProviderAction(input: unknown) {
  return actionHandlers.testProvider(await getUser(), input);
}
