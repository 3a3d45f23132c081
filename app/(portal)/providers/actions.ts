'use server';

import type { SubmissionResult } from '@conform-to/react';
import { parseWithZod } from '@conform-to/zod/v4';
import { redirect } from 'next/navigation';
import { actionHandlers } from '@/lib/portal/actions/definitions';
import { getUser } from '@/lib/portal/auth/session';
import { providerInputSchema } from '@/lib/portal/providers/schema';

/**
 * Add or edit a provider: the registry schema (the one the browser ran), then the admin-only
 * action handler (authorisation, sealing the keys, telling the engine host). Errors come back
 * as a Conform reply; keys typed are never echoed back to the browser.
 */
export async function saveProviderForm(_previous: SubmissionResult<string[]> | undefined, formData: FormData): Promise<SubmissionResult<string[]>> {
  const submission = parseWithZod(formData, { schema: providerInputSchema });
  const hideKeys = ['pskKey', 'tlsKey'];
  if (submission.status !== 'success') return submission.reply({ hideFields: hideKeys });
  const id = formData.get('id');
  const result = await actionHandlers.saveProvider(await getUser(), { ...(typeof id === 'string' && id !== '' ? { id } : {}), values: submission.value });
  if (!result.ok) {
    const fieldErrors = result.fieldErrors ?? {};
    const formErrors = Object.keys(fieldErrors).length > 0 && result.code === 'invalid' ? [] : [result.message];
    return submission.reply({ formErrors, fieldErrors, hideFields: hideKeys });
  }
  redirect('/providers');
}
