'use server';

import type { SubmissionResult } from '@conform-to/react';
import { parseWithZod } from '@conform-to/zod/v4';
import { redirect } from 'next/navigation';
import { z } from 'zod';
import { requireUser } from '@/lib/portal/auth/session';
import { toOrderFields } from '@/lib/portal/cpd-form/mapping';
import { orderFormSchema } from '@/lib/portal/cpd-form/schema';
import { serviceErrorsToForm } from '@/lib/portal/cpd-form/service-errors';
import { createOrder, updateDraft, type NewOrderInput } from '@/lib/portal/orders/service';

/** The fields beside the order form itself: which button, and which order it continues. */
const envelope = z.object({
  intent: z.enum(['draft', 'submit']),
  draftId: z.string().min(1).max(64).optional(),
  clonedFrom: z.string().min(1).max(64).optional(),
});

/**
 * Compose an order: authenticate, validate with the composer's schema (the same one the browser
 * ran; lib/cpnp's validator has the last word inside it), then create the order or update the
 * draft. Errors come back as a Conform reply that carries every typed value.
 */
export async function composeOrder(_previous: SubmissionResult<string[]> | undefined, formData: FormData): Promise<SubmissionResult<string[]>> {
  const user = await requireUser('/orders/new');
  const submission = parseWithZod(formData, { schema: orderFormSchema });
  if (submission.status !== 'success') return submission.reply();

  const extra = envelope.safeParse({
    intent: formData.get('intent') ?? 'draft',
    draftId: formData.get('draftId') ?? undefined,
    clonedFrom: formData.get('clonedFrom') ?? undefined,
  });
  if (!extra.success) return submission.reply({ formErrors: ['The form was sent incompletely; reload the page and try again.'] });
  const { intent, draftId, clonedFrom } = extra.data;

  const input: NewOrderInput = { ...toOrderFields(submission.value), submit: intent === 'submit', ...(clonedFrom ? { clonedFrom } : {}) };
  const result = draftId ? await updateDraft(user, draftId, input) : await createOrder(user, input);
  if (!result.ok) {
    const mapped = serviceErrorsToForm(result.fieldErrors);
    const formErrors = Object.keys(mapped.fieldErrors).length > 0 && result.code === 'invalid' ? mapped.formErrors : [result.message, ...mapped.formErrors];
    return submission.reply({ formErrors, fieldErrors: mapped.fieldErrors });
  }
  redirect(`/orders/${encodeURIComponent(result.value.orderId)}`);
}
