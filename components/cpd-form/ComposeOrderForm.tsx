'use client';

import { FormProvider, getCollectionProps, getFormProps, useForm, type SubmissionResult } from '@conform-to/react';
import { parseWithZod } from '@conform-to/zod/v4';
import { startTransition, useActionState, useState, type FormEvent } from 'react';
import { ACTIVATION_TYPES, OPTION_SCOPES, PURPOSES, SELECTION_RULES } from '@/lib/portal/cpd-form/choices';
import { emptyCpp } from '@/lib/portal/cpd-form/mapping';
import { schemaForIntent, type OrderFormInput, type OrderFormValue } from '@/lib/portal/cpd-form/schema';
import { ErrorSummary } from './ErrorSummary';
import { buttonClass, DateTimeInput, FieldErrors, NumberInput, RadioGroupInput, Section, TextInput } from './fields';
import { ProfileFields } from './ProfileFields';
import { SectionNav, type NavGroup } from './SectionNav';
import { PROFILE_SECTIONS, sectionId } from './sections';

export const COMPOSE_FORM_ID = 'compose';

export interface ProviderChoice {
  id: string;
  name: string;
  endpoint: string;
  transport: string;
}

export type ComposeMode =
  | { kind: 'new' }
  | { kind: 'clone'; fromId: string; fromTitle: string }
  | { kind: 'draft'; orderId: string }
  /** A new negotiation cycle on an agreement (RFC 8921 9.2.9 UPDATE): only the CPD changes. */
  | { kind: 'update'; orderId: string; negotiationId: string; providerName: string };

export type ComposeAction = (previous: SubmissionResult<string[]> | undefined, formData: FormData) => Promise<SubmissionResult<string[]>>;

/**
 * The compose-order form (issue 9 item 3): the order, its negotiation options and the whole CPD,
 * one profile after another. One zod schema validates here (inline, on blur then on input) and
 * in the server action; the server's reply carries back every value typed, so nothing is lost.
 */
export function ComposeOrderForm({
  action,
  defaultValue,
  providers,
  mode,
}: {
  action: ComposeAction;
  defaultValue: OrderFormInput;
  providers: ProviderChoice[];
  mode: ComposeMode;
}) {
  const [lastResult, formAction, pending] = useActionState(action, undefined);
  const [form, fields] = useForm<OrderFormInput, OrderFormValue>({
    id: COMPOSE_FORM_ID,
    lastResult,
    defaultValue,
    shouldValidate: 'onBlur',
    shouldRevalidate: 'onInput',
    // "Save draft" may leave the CPD unfinished; every other check (blur, input, submit) is strict.
    onValidate: ({ formData, submitter }) => parseWithZod(formData, { schema: schemaForIntent(submitter?.value) }),
  });

  // React resets a form after its action runs; posting through a transition ourselves keeps
  // every typed value in place when the server answers with errors.
  const [attempt, setAttempt] = useState(0);
  const onSubmit = (event: FormEvent<HTMLFormElement>) => {
    const submitter = (event.nativeEvent as SubmitEvent).submitter;
    // List buttons (add/remove) submit Conform intents; they are not attempts to send.
    if (submitter?.getAttribute('name') !== '__intent__') setAttempt((n) => n + 1);
    form.onSubmit(event);
    if (event.defaultPrevented) return;
    event.preventDefault();
    const formData = new FormData(event.currentTarget, submitter);
    startTransition(() => formAction(formData));
  };

  const profiles = fields.cpd.getFieldList();
  const options = fields.options.getFieldset();
  const chosen = ([] as unknown[]).concat(fields.providerIds.value ?? []);
  const parallel = chosen.length > 1;
  const providerItems = getCollectionProps(fields.providerIds, { type: 'checkbox', options: providers.map((p) => p.id) });
  const errorNames = Object.keys(form.allErrors);

  const updating = mode.kind === 'update';
  const nav: NavGroup[] = [
    ...(updating
      ? []
      : [
          {
            label: 'Order',
            links: [
              { href: '#order', label: 'Order and providers', errors: count(errorNames, ['title', 'providerIds', 'expectedResponseSeconds', 'selectionRule']) },
              { href: '#negotiation', label: 'Negotiation options', errors: count(errorNames, ['options']) },
            ],
          },
        ]),
    ...profiles.map((_, i) => ({
      label: `Profile ${i + 1}`,
      links: PROFILE_SECTIONS.map(([key, label, prefixes]) => ({
        href: `#${sectionId(i, key)}`,
        label,
        errors: count(
          errorNames,
          prefixes.map((p) => `cpd[${i}].${p}`),
        ),
      })),
    })),
  ];

  return (
    <FormProvider context={form.context}>
      <div className="lg:grid lg:grid-cols-[14rem_1fr] lg:gap-8">
        <SectionNav groups={nav} />
        <form {...getFormProps(form)} action={formAction} onSubmit={onSubmit} className="min-w-0 space-y-8" aria-describedby="compose-intro">
          <ErrorSummary formId={form.id} status={form.status} errors={form.allErrors} formErrors={form.errors} attempt={`${attempt}:${lastResult ? JSON.stringify(lastResult.error ?? {}) : ''}`} />
          <p id="compose-intro" className="text-sm text-slate-600">
            Describe the connectivity you need as a Connectivity Provisioning Document (CPD). Every figure may be a fixed value or a range with a preferred value: providers answer with an offer inside it.
          </p>
          {mode.kind === 'clone' ? <input type="hidden" name="clonedFrom" value={mode.fromId} /> : null}
          {mode.kind === 'draft' ? <input type="hidden" name="draftId" value={mode.orderId} /> : null}
          {mode.kind === 'update' ? (
            <>
              <input type="hidden" name="updateOrderId" value={mode.orderId} />
              <input type="hidden" name="negotiationId" value={mode.negotiationId} />
              <OrderFieldsKept value={defaultValue} />
            </>
          ) : (
            <>
              <Section id="order" title="Order and providers" description="What this order is called, who is asked, and how long they have to answer.">
                <TextInput meta={fields.title} label="Title" placeholder="Rennes – Volos 100 Mbit/s" className="sm:w-2/3" />
                <fieldset id={fields.providerIds.id} tabIndex={-1} aria-describedby={fields.providerIds.errors ? fields.providerIds.errorId : `${fields.providerIds.id}-hint`}>
                  <legend className="block text-sm font-medium text-slate-800">Providers</legend>
                  <p id={`${fields.providerIds.id}-hint`} className="mt-0.5 text-xs text-slate-500">
                    Choose one, or several to negotiate with them in parallel (RFC 8921 8.10).
                  </p>
                  {providers.length === 0 ? (
                    <p className="mt-2 text-sm text-slate-600">No provider is configured yet; ask an administrator.</p>
                  ) : (
                    <ul className="mt-2 grid gap-2 sm:grid-cols-2">
                      {providerItems.map((props, i) => {
                        const provider = providers[i];
                        return (
                          <li key={props.key}>
                            <label className="flex cursor-pointer items-start gap-3 rounded-md border border-slate-200 bg-white p-3 has-checked:border-sky-600 has-checked:bg-sky-50">
                              <input {...props} key={undefined} className="mt-0.5 size-4 rounded accent-sky-600" />
                              <span>
                                <span className="block text-sm font-medium text-slate-900">{provider?.name}</span>
                                <span className="block font-mono text-xs text-slate-600">
                                  {provider?.endpoint} · {provider?.transport.toUpperCase()}
                                </span>
                              </span>
                            </label>
                          </li>
                        );
                      })}
                    </ul>
                  )}
                  <FieldErrors id={fields.providerIds.errorId} errors={fields.providerIds.errors} />
                </fieldset>
                <div className="grid gap-4 sm:grid-cols-2">
                  <NumberInput
                    meta={fields.expectedResponseSeconds}
                    label="Expected response time"
                    unit="seconds"
                    minValue={5}
                    step={1}
                    hint="How long each provider may take to answer (EXPECTED_RESPONSE_TIME); 600 is ten minutes."
                  />
                  <fieldset disabled={!parallel}>
                    <RadioGroupInput
                      meta={fields.selectionRule}
                      label="When several offers arrive"
                      options={SELECTION_RULES}
                      hint={parallel ? 'The other offers are declined.' : 'Applies when you choose several providers.'}
                    />
                  </fieldset>
                </div>
              </Section>

              <Section id="negotiation" title="Negotiation options" description="RFC 8921 9.1.10.3; leave “Not stated” when it does not matter.">
                <div className="grid gap-4 sm:grid-cols-2">
                  <RadioGroupInput meta={options.purpose} label="Purpose" options={PURPOSES} />
                  <fieldset disabled={options.purpose.value !== 'test'} className="disabled:opacity-60">
                    <DateTimeInput meta={options.testUntil} label="Test period ends (UTC)" hint="Only for a test order." isDisabled={options.purpose.value !== 'test'} />
                  </fieldset>
                  <RadioGroupInput meta={options.activationType} label="Activation" options={ACTIVATION_TYPES} />
                  <RadioGroupInput meta={options.scope} label="Scope of the provider's work" options={OPTION_SCOPES} />
                </div>
              </Section>
            </>
          )}

          <FieldErrors id={fields.cpd.errorId} errors={fields.cpd.errors} />
          {profiles.map((profile, i) => (
            <ProfileFields key={profile.key} form={form} meta={profile} index={i} count={profiles.length} />
          ))}
          <button {...form.insert.getButtonProps({ name: fields.cpd.name, defaultValue: emptyCpp() })} className={buttonClass.secondary}>
            + Add another connectivity profile
          </button>

          <div className="sticky bottom-0 z-10 -mx-2 flex flex-wrap items-center justify-end gap-3 border-t border-slate-200 bg-slate-50/95 px-2 py-4 backdrop-blur">
            <p role="status" aria-live="polite" className="mr-auto text-sm text-slate-600">
              {pending ? 'Saving your order…' : form.status === 'error' ? `${errorNames.length} ${errorNames.length === 1 ? 'field needs' : 'fields need'} attention.` : ''}
            </p>
            {mode.kind === 'update' ? (
              <button type="submit" name="intent" value="update" className={buttonClass.primary} disabled={pending}>
                {pending ? <Spinner /> : null}
                Send the update to {mode.providerName}
              </button>
            ) : (
              <>
                <button type="submit" name="intent" value="draft" className={buttonClass.secondary} disabled={pending}>
                  Save draft
                </button>
                <button type="submit" name="intent" value="submit" className={buttonClass.primary} disabled={pending}>
                  {pending ? <Spinner /> : null}
                  Submit for approval
                </button>
              </>
            )}
          </div>
        </form>
      </div>
    </FormProvider>
  );
}

/**
 * An update changes only the CPD; the order's other fields are posted as they are so the one
 * schema still applies (the update action reads nothing but the CPD).
 */
function OrderFieldsKept({ value }: { value: OrderFormInput }) {
  const o = value.options;
  const kept: [string, string | number | undefined][] = [
    ['title', value.title],
    ['expectedResponseSeconds', value.expectedResponseSeconds],
    ['selectionRule', value.selectionRule],
    ['options.purpose', o.purpose],
    ['options.testUntil', o.testUntil],
    ['options.activationType', o.activationType],
    ['options.scope', o.scope],
    ...(value.providerIds ?? []).map((id): [string, string] => ['providerIds', id]),
  ];
  return (
    <>
      {kept.map(([name, v], i) => (v === undefined ? null : <input key={`${name}-${i}`} type="hidden" name={name} value={v} />))}
    </>
  );
}

function count(names: string[], prefixes: string[]): number {
  return names.filter((name) => prefixes.some((p) => name === p || name.startsWith(`${p}.`) || name.startsWith(`${p}[`))).length;
}

function Spinner() {
  return <span aria-hidden="true" className="size-4 animate-spin rounded-full border-2 border-white/40 border-t-white" />;
}
