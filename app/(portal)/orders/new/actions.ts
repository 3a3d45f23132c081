'use server';

import type { SubmissionResult } from '@conform-to/react';
import { parseWithZod } from '@conform-to/zod/v4';
import { redirect } from 'next/navigation';
import { z } from 'zod';
import { requireUser } from '@/lib/portal/auth/session';
import { toOrderFields } from '@/lib/portal/cpd-form/mapping';
import { schemaForIntent } from '@/lib/portal/cpd-form/schema';
import { serviceErrorsToForm } from '@/lib/portal/cpd-form/service-errors';
import { enqueueIntent } from '@/lib/portal/intents/service';
import { createOrder, updateDraft, type NewOrderInput } from '@/lib/portal/orders/service';

/** The fields beside the order form itself: which button, and which order it continues. */
const id = z.string().min(1).max(64);
const envelope = z.discriminatedUnion('intent', [
  z.object({ intent: z.enum(['draft', 'submit']), draftId: id.optional(), clonedFrom: id.optional() }),
  z.object({ intent: z.literal('update'), updateOrderId: id, negotiationId: id }),
]);

const field = (formData: FormData, name: string): string | undefined => {
  const value = formData.get(name);
  return typeof value === 'string' && value !== '' ? value : undefined;
};

/**
 * Compose an order: authenticate, validate with the composer's schema (the same one the browser
 * ran; lib/cpnp's validator has the last word inside it), then create the order, update the
 * draft, or queue an UPDATE of an agreement (authorisation per order is the services' job). Errors come back as a Conform reply that carries every typed value.
 */
export async function composeOrder(_previous: SubmissionResult<string[]> | undefined, formData: FormData): Promise<SubmissionResult<string[]>> {
  const user = await requireUser('/orders/new');
  const submission = parseWithZod(formData, { schema: schemaForIntent(formData.get('intent')) });
  if (submission.status !== 'success') return submission.reply();

  const extra = envelope.safeParse({
    intent: field(formData, 'intent') ?? 'draft',
    draftId: field(formData, 'draftId'),
    clonedFrom: field(formData, 'clonedFrom'),
    updateOrderId: field(formData, 'updateOrderId'),
    negotiationId: field(formData, 'negotiationId'),
  });
  if (!extra.success) return submission.reply({ formErrors: ['The form was sent incompletely; reload the page and try again.'] });
  const fields = toOrderFields(submission.value);

  const envelopeData = extra.data;
  let result: Awaited<ReturnType<typeof createOrder>>;
  let orderId: string | undefined;
  if (envelopeData.intent === 'update') {
    // RFC 8921 9.2.9: a new cycle with the edited CPD; the engine host sends it.
    const queued = await enqueueIntent(user, envelopeData.updateOrderId, 'update', { negotiationId: envelopeData.negotiationId, cpd: fields.cpd });
    result = queued.ok ? { ok: true, value: { orderId: envelopeData.updateOrderId } } : queued;
  } else {
    const { intent, draftId, clonedFrom } = envelopeData;
    const input: NewOrderInput = { ...fields, submit: intent === 'submit', ...(clonedFrom ? { clonedFrom } : {}) };
    result = draftId ? await updateDraft(user, draftId, input) : await createOrder(user, input);
  }
  if (result.ok) orderId = result.value.orderId;
  if (!result.ok) {
    const mapped = serviceErrorsToForm(result.fieldErrors);
    const formErrors = Object.keys(mapped.fieldErrors).length > 0 && result.code === 'invalid' ? mapped.formErrors : [result.message, ...mapped.formErrors];
    return submission.reply({ formErrors, fieldErrors: mapped.fieldErrors });
  }
  redirect(`/orders/${encodeURIComponent(orderId ?? '')}`);
}
