/**
 * The portal's server actions, as plain functions of (signed-in user or null, untrusted input):
 * zod-validate the input, authenticate, call one service, return its typed result. The 'use
 * server' module (app/(portal)/actions.ts) only supplies the user from the session, so the
 * authorisation matrix test exercises exactly these functions.
 *
 * Every result is serialisable (it crosses to the browser). Authorisation per order lives in
 * the services (organisation-scoped queries: another organisation's order answers 'not-found',
 * exactly like a missing one).
 */
import 'server-only';
import { z } from 'zod';
import type { SessionUser } from '../auth/session';
import { approveOrder, rejectOrder } from '../approvals/service';
import { INTENT_KINDS } from '../db/types';
import { enqueueIntent } from '../intents/service';
import { notifyIntentQueued } from '../negotiation/signal';
import { createOrder, updateDraft, type NewOrderInput } from '../orders/service';
import { providerInputSchema } from '../providers/registry';
import { saveRegistryProvider, setProviderEnabled, testProviderConnection } from '../providers/service';
import { fail, type ServiceError, type ServiceResult } from '../result';

export const SIGNED_OUT: ServiceError = { ok: false, code: 'forbidden', message: 'Sign in first.' };

const orderId = z.string().min(1).max(64);

export const enqueueIntentInput = z.object({
  orderId,
  kind: z.enum(INTENT_KINDS).exclude(['approve']),
  payload: z.record(z.string(), z.unknown()).default({}),
});
export const approveInput = z.object({ orderId });
export const rejectInput = z.object({ orderId, reason: z.string().max(500) });
export const createOrderInput = z.object({ input: z.record(z.string(), z.unknown()) });
export const updateDraftInput = z.object({ orderId, input: z.record(z.string(), z.unknown()) });
const providerId = z.string().min(1).max(64);
export const saveProviderInput = z.object({ id: providerId.optional(), values: providerInputSchema });
export const setProviderEnabledInput = z.object({ id: providerId, enabled: z.boolean() });
export const testProviderInput = z.object({ id: providerId });

/** Validates `raw` with `schema`, requires a user, then runs `fn`. */
async function run<S extends z.ZodType, T>(
  user: SessionUser | null,
  schema: S,
  raw: unknown,
  fn: (user: SessionUser, input: z.output<S>) => Promise<ServiceResult<T>>,
): Promise<ServiceResult<T>> {
  if (!user) return SIGNED_OUT;
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const fieldErrors: Record<string, string[]> = {};
    for (const issue of parsed.error.issues) (fieldErrors[issue.path.map(String).join('.') || 'form'] ??= []).push(issue.message);
    return fail('invalid', 'The request is not valid.', fieldErrors);
  }
  return fn(user, parsed.data);
}

/** A queued intent wakes the engine host in this process at once (its poll is the backstop). */
function wakeHost<T>(result: ServiceResult<T>): ServiceResult<T> {
  if (result.ok) notifyIntentQueued();
  return result;
}

export const actionHandlers = {
  enqueueIntent: (user: SessionUser | null, raw: unknown) =>
    run(user, enqueueIntentInput, raw, (u, v) => enqueueIntent(u, v.orderId, v.kind, v.payload).then(wakeHost)),
  approveOrder: (user: SessionUser | null, raw: unknown) => run(user, approveInput, raw, (u, v) => approveOrder(u, v.orderId).then(wakeHost)),
  rejectOrder: (user: SessionUser | null, raw: unknown) => run(user, rejectInput, raw, (u, v) => rejectOrder(u, v.orderId, v.reason)),
  // The compose form's own actions live with it (composer); these two are the service entry
  // points it may reuse. The service validates the whole NewOrderInput itself.
  createOrder: (user: SessionUser | null, raw: unknown) =>
    run(user, createOrderInput, raw, (u, v) => createOrder(u, v.input as unknown as NewOrderInput)),
  updateDraft: (user: SessionUser | null, raw: unknown) =>
    run(user, updateDraftInput, raw, (u, v) => updateDraft(u, v.orderId, v.input as unknown as NewOrderInput)),
  // Provider registry (admin only; the service refuses everyone else).
  saveProvider: (user: SessionUser | null, raw: unknown) => run(user, saveProviderInput, raw, (u, v) => saveRegistryProvider(u, v.id, v.values)),
  setProviderEnabled: (user: SessionUser | null, raw: unknown) => run(user, setProviderEnabledInput, raw, (u, v) => setProviderEnabled(u, v.id, v.enabled)),
  testProvider: (user: SessionUser | null, raw: unknown) => run(user, testProviderInput, raw, (u, v) => testProviderConnection(u, v.id)),
} as const;

export type ActionName = keyof typeof actionHandlers;
