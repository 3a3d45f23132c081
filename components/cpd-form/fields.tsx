'use client';

import {
  getCollectionProps,
  getInputProps,
  getSelectProps,
  getTextareaProps,
  useInputControl,
  type FieldMetadata,
} from '@conform-to/react';
import { parseDateTime, type CalendarDateTime } from '@internationalized/date';
import type { ReactNode } from 'react';
import {
  Button,
  Calendar,
  CalendarCell,
  CalendarGrid,
  ComboBox,
  DateInput,
  DatePicker,
  DateSegment,
  Dialog,
  Group,
  Heading,
  Input,
  Label,
  ListBox,
  ListBoxItem,
  NumberField,
  Popover,
} from 'react-aria-components';
import type { Choice } from '@/lib/portal/cpd-form/choices';

/**
 * The composer's input wrappers: Conform field metadata in, labelled and described controls
 * out, with the field's errors right below it. Native inputs where the platform is accessible
 * enough; React Aria Components for numbers, dates and comboboxes.
 */

export const inputClass =
  'block w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-sm text-slate-900 shadow-sm placeholder:text-slate-400 ' +
  'focus:border-sky-600 focus:outline-none focus:ring-2 focus:ring-sky-500/40 disabled:bg-slate-100 ' +
  'aria-[invalid=true]:border-red-600 aria-[invalid=true]:ring-red-500/30';
const labelClass = 'block text-sm font-medium text-slate-800';
const hintClass = 'mt-1 text-xs text-slate-500';

function describedBy(meta: FieldMetadata<unknown>, hint: ReactNode | undefined): string | undefined {
  const ids = [hint ? meta.descriptionId : undefined, meta.errors ? meta.errorId : undefined].filter(Boolean);
  return ids.length > 0 ? ids.join(' ') : undefined;
}

/** The field's errors, in words (never colour alone). */
export function FieldErrors({ id, errors, label }: { id: string; errors: string[] | undefined; label?: string }) {
  if (!errors || errors.length === 0) return null;
  return (
    <div id={id} className="mt-1 space-y-0.5 text-sm text-red-700">
      {errors.map((error) => (
        <p key={error} className="flex gap-1">
          <span aria-hidden="true">⚠</span>
          <span>
            <span className="sr-only">Error: </span>
            {label ? <span className="font-medium">{label}: </span> : null}
            {error}
          </span>
        </p>
      ))}
    </div>
  );
}

function Hint({ id, children }: { id: string; children: ReactNode }) {
  return (
    <p id={id} className={hintClass}>
      {children}
    </p>
  );
}

interface BaseProps<S> {
  meta: FieldMetadata<S>;
  label: string;
  hint?: ReactNode;
  className?: string;
}

export function TextInput({ meta, label, hint, className, placeholder, autoComplete }: BaseProps<string | undefined> & { placeholder?: string; autoComplete?: string }) {
  const props = getInputProps(meta, { type: 'text', ariaDescribedBy: describedBy(meta, hint) });
  return (
    <div className={className}>
      <label htmlFor={meta.id} className={labelClass}>
        {label}
      </label>
      <input {...props} key={props.key} className={`mt-1 ${inputClass}`} placeholder={placeholder} autoComplete={autoComplete ?? 'off'} />
      {hint ? <Hint id={meta.descriptionId}>{hint}</Hint> : null}
      <FieldErrors id={meta.errorId} errors={meta.errors} />
    </div>
  );
}

/** A list typed as text: one item per line (or comma separated). */
export function ListInput({ meta, label, hint, className, placeholder, rows = 2 }: BaseProps<string | undefined> & { placeholder?: string; rows?: number }) {
  const props = getTextareaProps(meta, { ariaDescribedBy: describedBy(meta, hint ?? 'x') });
  return (
    <div className={className}>
      <label htmlFor={meta.id} className={labelClass}>
        {label}
      </label>
      <textarea {...props} key={props.key} rows={rows} className={`mt-1 font-mono ${inputClass}`} placeholder={placeholder} spellCheck={false} />
      <Hint id={meta.descriptionId}>{hint ?? 'One per line, or separated by commas.'}</Hint>
      <FieldErrors id={meta.errorId} errors={meta.errors} />
    </div>
  );
}

export function SelectInput({
  meta,
  label,
  hint,
  className,
  options,
  placeholder,
}: BaseProps<string | undefined> & { options: readonly Choice<string>[]; placeholder?: string }) {
  const props = getSelectProps(meta, { ariaDescribedBy: describedBy(meta, hint) });
  return (
    <div className={className}>
      <label htmlFor={meta.id} className={labelClass}>
        {label}
      </label>
      <select {...props} key={props.key} className={`mt-1 ${inputClass}`}>
        {[...(placeholder !== undefined ? [{ value: '', label: placeholder }] : []), ...options].map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
      {hint ? <Hint id={meta.descriptionId}>{hint}</Hint> : null}
      <FieldErrors id={meta.errorId} errors={meta.errors} />
    </div>
  );
}

/** Radio buttons (one choice), e.g. the QoS kind: the XOR of RFC 7297 3.3 made visible. */
export function RadioGroupInput({ meta, label, hint, className, options, inline = false }: BaseProps<string | undefined> & { options: readonly Choice<string>[]; inline?: boolean }) {
  const items = getCollectionProps(meta, { type: 'radio', options: options.map((o) => o.value), ariaDescribedBy: describedBy(meta, hint) });
  return (
    <fieldset id={meta.id} tabIndex={-1} className={className} aria-invalid={meta.errors ? true : undefined} aria-describedby={describedBy(meta, hint)}>
      <legend className={labelClass}>{label}</legend>
      <div className={`mt-1 ${inline ? 'flex flex-wrap gap-x-5 gap-y-1' : 'space-y-1'}`}>
        {items.map((props, i) => (
          <label key={props.key} className="flex items-center gap-2 text-sm text-slate-800">
            <input {...props} key={undefined} id={`${meta.id}-${i}`} className="size-4 accent-sky-600" />
            {options[i]?.label}
          </label>
        ))}
      </div>
      {hint ? <Hint id={meta.descriptionId}>{hint}</Hint> : null}
      <FieldErrors id={meta.errorId} errors={meta.errors} />
    </fieldset>
  );
}

/**
 * cpp-model.md Enum<...>: tick the acceptable choices. One ticked is a fixed value; several are
 * a loose value ({"oneOf": [...]}) that the provider narrows.
 */
export function ChoiceGroup({ meta, label, hint, className, options }: BaseProps<string[] | undefined> & { options: readonly Choice<string>[] }) {
  const items = getCollectionProps(meta, { type: 'checkbox', options: options.map((o) => o.value), ariaDescribedBy: describedBy(meta, hint ?? 'x') });
  return (
    <fieldset id={meta.id} tabIndex={-1} className={className} aria-describedby={describedBy(meta, hint ?? 'x')}>
      <legend className={labelClass}>{label}</legend>
      <div className="mt-1 flex flex-wrap gap-x-5 gap-y-1">
        {items.map((props, i) => (
          <label key={props.key} className="flex items-center gap-2 text-sm text-slate-800">
            <input {...props} key={undefined} id={`${meta.id}-${i}`} className="size-4 rounded accent-sky-600" />
            {options[i]?.label}
          </label>
        ))}
      </div>
      <Hint id={meta.descriptionId}>{hint ?? 'Tick one for a fixed value, or several you would accept.'}</Hint>
      <FieldErrors id={meta.errorId} errors={meta.errors} />
    </fieldset>
  );
}

export function CheckboxInput({ meta, label, hint, className }: BaseProps<boolean | undefined>) {
  const props = getInputProps(meta, { type: 'checkbox', ariaDescribedBy: describedBy(meta, hint) });
  return (
    <div className={className}>
      <label className="flex items-center gap-2 text-sm font-medium text-slate-800">
        <input {...props} key={props.key} className="size-4 rounded accent-sky-600" />
        {label}
      </label>
      {hint ? <Hint id={meta.descriptionId}>{hint}</Hint> : null}
      <FieldErrors id={meta.errorId} errors={meta.errors} />
    </div>
  );
}

const NUMBER_FORMAT: Intl.NumberFormatOptions = { useGrouping: false, maximumFractionDigits: 6 };

/**
 * React Aria NumberField (keyboard increments, locale-aware parsing, spin-button semantics),
 * wired to Conform through useInputControl so inline validation runs on change and blur.
 */
export function NumberInput({
  meta,
  label,
  hint,
  className,
  unit,
  minValue,
  maxValue,
  step,
  isDisabled,
  errorsBelow = true,
}: BaseProps<number | string | undefined> & { unit?: string; minValue?: number; maxValue?: number; step?: number; isDisabled?: boolean; errorsBelow?: boolean }) {
  const control = useInputControl({ key: meta.key, name: meta.name, formId: meta.formId, initialValue: initialText(meta.initialValue) });
  const value = control.value === undefined || control.value === '' ? Number.NaN : Number(control.value);
  return (
    <NumberField
      id={meta.id}
      className={className}
      name={meta.name}
      value={value}
      onChange={(v) => control.change(Number.isNaN(v) ? '' : String(v))}
      onBlur={control.blur}
      minValue={minValue}
      maxValue={maxValue}
      step={step}
      isDisabled={isDisabled}
      isInvalid={Boolean(meta.errors)}
      formatOptions={NUMBER_FORMAT}
      validationBehavior="aria"
      aria-describedby={describedBy(meta, hint)}
    >
      <Label className={labelClass}>
        {label}
        {unit ? <span className="font-normal text-slate-500"> ({unit})</span> : null}
      </Label>
      <Group className="mt-1 flex">
        <Input className={`${inputClass} tabular-nums`} />
      </Group>
      {hint ? <Hint id={meta.descriptionId}>{hint}</Hint> : null}
      {errorsBelow ? <FieldErrors id={meta.errorId} errors={meta.errors} /> : null}
    </NumberField>
  );
}

function initialText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}

type NumShape = { mode?: 'fixed' | 'range'; value?: number; min?: number; max?: number; pref?: number };

/**
 * cpp-model.md `Num`: a fixed value, or a range (min / max) with a preferred value. The inactive
 * half stays mounted but disabled, so switching back and forth loses nothing typed and only the
 * active half is posted.
 */
export function NumValueInput({ meta, label, hint, className, unit, minValue, maxValue }: BaseProps<NumShape | undefined> & { unit?: string; minValue?: number; maxValue?: number }) {
  const fields = meta.getFieldset();
  const mode = fields.mode.value === 'range' ? 'range' : 'fixed';
  const modeItems = getCollectionProps(fields.mode, { type: 'radio', options: ['fixed', 'range'] });
  // The parts' errors are listed under the whole row, where a sentence has room.
  const bounds = { minValue, maxValue, errorsBelow: false };
  const parts = [
    [fields.value, 'Value'],
    [fields.min, 'Minimum'],
    [fields.pref, 'Preferred'],
    [fields.max, 'Maximum'],
  ] as const;
  return (
    <fieldset id={meta.id} tabIndex={-1} className={`rounded-md border border-slate-200 bg-slate-50/60 p-3 ${className ?? ''}`} aria-describedby={describedBy(meta, hint)}>
      <legend className="px-1 text-sm font-semibold text-slate-800">
        {label}
        {unit ? <span className="font-normal text-slate-500"> ({unit})</span> : null}
      </legend>
      <div role="radiogroup" aria-label={`${label}: fixed value or range`} className="inline-flex rounded-md border border-slate-300 bg-white p-0.5 text-xs font-medium">
        {modeItems.map((props) => (
          <label
            key={props.key}
            className="cursor-pointer rounded px-2.5 py-1 text-slate-600 has-checked:bg-sky-700 has-checked:text-white has-focus-visible:ring-2 has-focus-visible:ring-sky-500"
          >
            <input {...props} key={undefined} className="sr-only" />
            {props.value === 'fixed' ? 'Fixed value' : 'Range'}
          </label>
        ))}
      </div>
      <div className="mt-2 grid gap-3 sm:grid-cols-3" hidden={mode !== 'fixed'}>
        <NumberInput meta={fields.value} label="Value" {...bounds} isDisabled={mode !== 'fixed'} />
      </div>
      <div className="mt-2 grid gap-3 sm:grid-cols-3" hidden={mode !== 'range'}>
        <NumberInput meta={fields.min} label="Minimum" {...bounds} isDisabled={mode !== 'range'} />
        <NumberInput meta={fields.pref} label="Preferred" {...bounds} isDisabled={mode !== 'range'} />
        <NumberInput meta={fields.max} label="Maximum" {...bounds} isDisabled={mode !== 'range'} />
      </div>
      {hint ? <Hint id={meta.descriptionId}>{hint}</Hint> : null}
      <FieldErrors id={meta.errorId} errors={meta.errors} />
      {parts.map(([part, partLabel]) => (
        <FieldErrors key={part.name} id={part.errorId} errors={part.errors} label={partLabel} />
      ))}
    </fieldset>
  );
}

function toCalendarDateTime(text: string | undefined): CalendarDateTime | null {
  if (!text) return null;
  try {
    return parseDateTime(text.replace(/Z$/, ''));
  } catch {
    return null;
  }
}

/** React Aria DatePicker (segmented, keyboard editable, with a calendar), read as UTC. */
export function DateTimeInput({ meta, label, hint, className, isDisabled }: BaseProps<string | undefined> & { isDisabled?: boolean }) {
  const control = useInputControl({ key: meta.key, name: meta.name, formId: meta.formId, initialValue: initialText(meta.initialValue) });
  return (
    <DatePicker
      id={meta.id}
      className={className}
      name={meta.name}
      granularity="minute"
      hourCycle={24}
      value={toCalendarDateTime(control.value)}
      onChange={(v) => control.change(v ? v.toString() : '')}
      onBlur={control.blur}
      isDisabled={isDisabled}
      isInvalid={Boolean(meta.errors)}
      validationBehavior="aria"
      aria-describedby={describedBy(meta, hint)}
    >
      <Label className={labelClass}>{label}</Label>
      <Group className={`mt-1 flex items-center gap-2 ${inputClass}`}>
        <DateInput className="flex flex-1">
          {(segment) => <DateSegment segment={segment} className="rounded px-0.5 tabular-nums outline-none focus:bg-sky-600 focus:text-white data-[placeholder]:text-slate-400" />}
        </DateInput>
        <Button className="rounded px-1.5 text-slate-600 hover:bg-slate-100 focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-500" aria-label="Open calendar">
          ▾
        </Button>
      </Group>
      {hint ? <Hint id={meta.descriptionId}>{hint}</Hint> : null}
      <FieldErrors id={meta.errorId} errors={meta.errors} />
      <Popover className="rounded-lg border border-slate-200 bg-white p-3 shadow-lg">
        <Dialog className="outline-none">
          <Calendar>
            <header className="mb-2 flex items-center justify-between">
              <Button slot="previous" className="rounded px-2 hover:bg-slate-100">
                ‹
              </Button>
              <Heading className="text-sm font-semibold" />
              <Button slot="next" className="rounded px-2 hover:bg-slate-100">
                ›
              </Button>
            </header>
            <CalendarGrid className="text-sm">
              {(date) => (
                <CalendarCell
                  date={date}
                  className="flex size-8 items-center justify-center rounded outline-none hover:bg-sky-50 data-[outside-month]:text-slate-300 data-[selected]:bg-sky-600 data-[selected]:text-white data-[focus-visible]:ring-2 data-[focus-visible]:ring-sky-500"
                />
              )}
            </CalendarGrid>
          </Calendar>
        </Dialog>
      </Popover>
    </DatePicker>
  );
}

/** React Aria ComboBox over the profile's node ids (type to filter, arrow keys to pick). */
export function NodeComboBox({ meta, label, hint, className, nodeIds }: BaseProps<string | undefined> & { nodeIds: string[] }) {
  const control = useInputControl({ key: meta.key, name: meta.name, formId: meta.formId, initialValue: initialText(meta.initialValue) });
  const items = [...new Set(nodeIds.filter(Boolean))].map((id) => ({ id }));
  return (
    <ComboBox
      id={meta.id}
      className={className}
      name={meta.name}
      allowsCustomValue
      inputValue={control.value ?? ''}
      onInputChange={(text) => control.change(text)}
      onBlur={control.blur}
      defaultItems={items}
      isInvalid={Boolean(meta.errors)}
      validationBehavior="aria"
      aria-describedby={describedBy(meta, hint)}
      menuTrigger="focus"
    >
      <Label className={labelClass}>{label}</Label>
      <Group className="mt-1 flex">
        <Input className={inputClass} />
      </Group>
      {hint ? <Hint id={meta.descriptionId}>{hint}</Hint> : null}
      <FieldErrors id={meta.errorId} errors={meta.errors} />
      <Popover className="w-(--trigger-width) rounded-md border border-slate-200 bg-white shadow-lg">
        <ListBox className="max-h-60 overflow-auto p-1 text-sm outline-none" renderEmptyState={() => <p className="px-2 py-1 text-slate-500">No node with that id yet</p>}>
          {(item: { id: string }) => (
            <ListBoxItem id={item.id} textValue={item.id} className="cursor-default rounded px-2 py-1 outline-none data-[focused]:bg-sky-600 data-[focused]:text-white">
              {item.id}
            </ListBoxItem>
          )}
        </ListBox>
      </Popover>
    </ComboBox>
  );
}

/** A titled group of fields (fieldset + legend) with an id for the section nav. */
export function Section({
  id,
  title,
  description,
  children,
  errors,
  errorId,
  aside,
}: {
  id: string;
  title: string;
  description?: ReactNode;
  children: ReactNode;
  errors?: string[] | undefined;
  errorId?: string;
  aside?: ReactNode;
}) {
  return (
    <fieldset id={id} tabIndex={-1} className="scroll-mt-6 rounded-lg border border-slate-200 bg-white p-5 shadow-sm">
      <legend className="sr-only">{title}</legend>
      <div className="flex flex-wrap items-start justify-between gap-2">
        <div>
          <h3 className="text-base font-semibold text-slate-900" aria-hidden="true">
            {title}
          </h3>
          {description ? <p className="mt-0.5 text-sm text-slate-600">{description}</p> : null}
        </div>
        {aside}
      </div>
      {errorId ? <FieldErrors id={errorId} errors={errors} /> : null}
      <div className="mt-4 space-y-4">{children}</div>
    </fieldset>
  );
}

export const buttonClass = {
  primary:
    'inline-flex items-center justify-center gap-2 rounded-md bg-sky-700 px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-sky-800 focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-500 focus-visible:ring-offset-2 disabled:opacity-60',
  secondary:
    'inline-flex items-center justify-center gap-2 rounded-md border border-slate-300 bg-white px-4 py-2 text-sm font-semibold text-slate-800 shadow-sm hover:bg-slate-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-500 focus-visible:ring-offset-2 disabled:opacity-60',
  subtle:
    'inline-flex items-center gap-1 rounded-md px-2 py-1 text-sm font-medium text-sky-800 hover:bg-sky-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-500',
  danger:
    'inline-flex items-center gap-1 rounded-md px-2 py-1 text-sm font-medium text-red-700 hover:bg-red-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-red-500',
} as const;
