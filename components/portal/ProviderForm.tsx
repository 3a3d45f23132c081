'use client';

import { getFormProps, getInputProps, getTextareaProps, useForm, type SubmissionResult } from '@conform-to/react';
import { parseWithZod } from '@conform-to/zod/v4';
import Link from 'next/link';
import { startTransition, useActionState, type FormEvent } from 'react';
import { buttonClass, FieldErrors, inputClass, RadioGroupInput, TextInput } from '@/components/cpd-form/fields';
import { providerInputSchema, type ProviderInput } from '@/lib/portal/providers/schema';
import type { ProviderView } from '@/lib/portal/providers/service';

export type ProviderFormAction = (previous: SubmissionResult<string[]> | undefined, formData: FormData) => Promise<SubmissionResult<string[]>>;

const TRANSPORT_CHOICES = [
  { value: 'dtls', label: 'DTLS with a pre-shared key (default)' },
  { value: 'tls', label: 'TLS over TCP with certificates' },
  { value: 'udp', label: 'Plain UDP (loopback providers only: tests, development)' },
] as const;

const labelClass = 'block text-sm font-medium text-slate-800';
const hintClass = 'mt-1 text-xs text-slate-500';

/**
 * Add or edit a provider (admin). One zod schema (registry.ts) validates here and in the server
 * action. Keys are write-only: the page never receives a stored key, and a blank key field on
 * an edit keeps the stored one.
 */
export function ProviderForm({ action, provider }: { action: ProviderFormAction; provider?: ProviderView }) {
  const [lastResult, formAction, pending] = useActionState(action, undefined);
  const defaultValue: ProviderInput = provider
    ? {
        name: provider.name,
        endpoint: provider.endpoint,
        transport: provider.transport as ProviderInput['transport'],
        pskIdentity: provider.pskIdentity ?? '',
        tlsCaFile: provider.tlsCaFile ?? '',
        tlsCertFile: provider.tlsCertFile ?? '',
        adminFile: provider.adminFile ?? '',
      }
    : { name: '', endpoint: '', transport: 'dtls', pskIdentity: '' };
  const [form, fields] = useForm<ProviderInput>({
    id: provider ? `provider-${provider.id}` : 'provider-new',
    lastResult,
    defaultValue,
    shouldValidate: 'onBlur',
    shouldRevalidate: 'onInput',
    onValidate: ({ formData }) => parseWithZod(formData, { schema: providerInputSchema }),
  });
  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    form.onSubmit(event);
    if (event.defaultPrevented) return;
    event.preventDefault();
    const formData = new FormData(event.currentTarget);
    startTransition(() => formAction(formData));
  };
  const transport = (fields.transport.value as string | undefined) ?? 'dtls';
  const keyHint = (what: string, stored: boolean) =>
    stored ? `A ${what} is stored (encrypted). Leave blank to keep it; type a new one to replace it.` : `Stored encrypted with the portal secret key; never shown again.`;

  return (
    <form {...getFormProps(form)} action={formAction} onSubmit={onSubmit} className="max-w-2xl space-y-5 rounded-lg border border-slate-200 bg-white p-5 shadow-sm">
      {provider ? <input type="hidden" name="id" value={provider.id} /> : null}
      {form.errors?.length ? (
        <div role="alert" className="rounded-md border-2 border-red-700 p-3 text-sm text-red-800">
          {form.errors.map((e) => (
            <p key={e}>
              <span aria-hidden="true">⚠ </span>
              {e}
            </p>
          ))}
        </div>
      ) : null}
      <TextInput meta={fields.name} label="Name" placeholder="Example Networks" />
      <TextInput meta={fields.endpoint} label="Endpoint" placeholder="192.0.2.7:8921" hint="host:port, or an SRV name such as _cpnp._udp.provider.example (RFC 8921 8.1)." />
      <RadioGroupInput meta={fields.transport} label="Transport" options={TRANSPORT_CHOICES} />
      {transport === 'dtls' ? (
        <fieldset className="space-y-4 rounded-md border border-slate-200 p-4">
          <legend className="px-1 text-sm font-semibold text-slate-800">Pre-shared key</legend>
          <TextInput meta={fields.pskIdentity} label="PSK identity" placeholder="portal" hint="The identity the provider knows this portal by." />
          <SecretField meta={fields.pskKey} label="PSK key (hex)" hint={provider?.pskKey === 'file' ? 'The key is read from a key file on the portal host (set by the demo). Type a key to store it encrypted instead.' : keyHint('key', provider?.pskKey === 'sealed')} />
        </fieldset>
      ) : null}
      {transport === 'tls' ? (
        <fieldset className="space-y-4 rounded-md border border-slate-200 p-4">
          <legend className="px-1 text-sm font-semibold text-slate-800">TLS certificates</legend>
          <TextInput meta={fields.tlsCaFile} label="CA file" placeholder="/etc/cpnp/provider-ca.crt" hint="Path on the portal host of the CA that signs the provider's certificate (PEM)." />
          <TextInput meta={fields.tlsCertFile} label="Client certificate file" placeholder="/etc/cpnp/portal.crt" hint="Path on the portal host of this portal's certificate (PEM)." />
          <SecretTextarea meta={fields.tlsKey} label="Client private key (PEM)" hint={keyHint('private key', provider?.tlsKey === 'sealed')} />
        </fieldset>
      ) : null}
      <TextInput
        meta={fields.adminFile}
        label="Admin file (optional)"
        placeholder="/var/lib/cpnp/provider.db.admin.json"
        hint="A reference provider's admin file on the portal host: lets staff decide the orders it holds for administrative validation (Provider validation page)."
      />
      <div className="flex flex-wrap items-center gap-3">
        <button type="submit" className={buttonClass.primary} disabled={pending}>
          {pending ? 'Saving…' : provider ? 'Save changes' : 'Add provider'}
        </button>
        <Link href="/providers" className={buttonClass.secondary}>
          Cancel
        </Link>
      </div>
      {provider ? (
        <p className="text-xs text-slate-600">
          Orders already sent to this provider finish with the endpoint and credentials they started with; new orders use the saved settings.
        </p>
      ) : null}
    </form>
  );
}

type Meta = Parameters<typeof getInputProps>[0];

/** A write-only secret: a password input that the page never fills. */
function SecretField({ meta, label, hint }: { meta: Meta; label: string; hint: string }) {
  const props = getInputProps(meta, { type: 'password', ariaDescribedBy: `${meta.descriptionId}${meta.errors ? ` ${meta.errorId}` : ''}` });
  return (
    <div>
      <label htmlFor={meta.id} className={labelClass}>
        {label}
      </label>
      <input {...props} key={props.key} defaultValue="" autoComplete="new-password" spellCheck={false} className={`mt-1 font-mono ${inputClass}`} />
      <p id={meta.descriptionId} className={hintClass}>
        {hint}
      </p>
      <FieldErrors id={meta.errorId} errors={meta.errors} />
    </div>
  );
}

function SecretTextarea({ meta, label, hint }: { meta: Meta; label: string; hint: string }) {
  const props = getTextareaProps(meta, { ariaDescribedBy: `${meta.descriptionId}${meta.errors ? ` ${meta.errorId}` : ''}` });
  return (
    <div>
      <label htmlFor={meta.id} className={labelClass}>
        {label}
      </label>
      <textarea {...props} key={props.key} defaultValue="" rows={4} autoComplete="off" spellCheck={false} className={`mt-1 font-mono ${inputClass}`} placeholder="-----BEGIN PRIVATE KEY-----" />
      <p id={meta.descriptionId} className={hintClass}>
        {hint}
      </p>
      <FieldErrors id={meta.errorId} errors={meta.errors} />
    </div>
  );
}
