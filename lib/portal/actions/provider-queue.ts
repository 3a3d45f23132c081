/**
 * The provider validation page's read and actions (lib/portal/provider-queue), as functions of
 * (user or null, untrusted input) like definitions.ts, so the authorisation matrix covers them:
 * zod-validate, authenticate, then the service authorises by role (admins and staff).
 */
import 'server-only';
import { z } from 'zod';
import type { SessionUser } from '../auth/session';
import { decideHeldOrder, listProviderQueues, REJECT_STATUS_CODES, type HeldDecision, type ProviderQueue } from '../provider-queue/service';
import { fail, type ServiceResult } from '../result';
import { SIGNED_OUT } from './definitions';

const target = {
  providerId: z.string().min(1).max(64),
  // PROVIDER_ORDER_IDENTIFIER as the reference provider makes them ("P-" + hex); it goes into a URL path.
  providerOrderId: z.string().regex(/^[A-Za-z0-9._~-]{1,64}$/),
};
export const approveHeldInput = z.object(target);
export const rejectHeldInput = z.object({
  ...target,
  statusCode: z.union(REJECT_STATUS_CODES.map((c) => z.literal(c))).default(4),
  note: z.string().trim().max(500).optional(),
});

async function run<S extends z.ZodType, T>(user: SessionUser | null, schema: S, raw: unknown, fn: (user: SessionUser, input: z.output<S>) => Promise<ServiceResult<T>>): Promise<ServiceResult<T>> {
  if (!user) return SIGNED_OUT;
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const fieldErrors: Record<string, string[]> = {};
    for (const issue of parsed.error.issues) (fieldErrors[issue.path.map(String).join('.') || 'form'] ??= []).push(issue.message);
    return fail('invalid', 'The request is not valid.', fieldErrors);
  }
  return fn(user, parsed.data);
}

export const providerQueueHandlers = {
  queues: async (user: SessionUser | null): Promise<ServiceResult<ProviderQueue[]>> => {
    if (!user) return SIGNED_OUT;
    return listProviderQueues(user);
  },
  approve: (user: SessionUser | null, raw: unknown): Promise<ServiceResult<HeldDecision>> =>
    run(user, approveHeldInput, raw, (u, v) => decideHeldOrder(u, { ...v, decision: 'approve' })),
  reject: (user: SessionUser | null, raw: unknown): Promise<ServiceResult<HeldDecision>> =>
    run(user, rejectHeldInput, raw, (u, v) =>
      decideHeldOrder(u, { providerId: v.providerId, providerOrderId: v.providerOrderId, decision: 'reject', statusCode: v.statusCode, ...(v.note ? { note: v.note } : {}) }),
    ),
} as const;
