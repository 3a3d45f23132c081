/**
 * Validation of a new or edited order. zod checks the shape of the form-level fields; the CPD
 * and the negotiation options are then read with lib/cpnp's own schema reader, which has the
 * last word (the same code validates QUOTATIONs on the wire).
 */
import { z } from 'zod';
import { CpnpDecodeError, type Cpd, type NegotiationOptions } from '../../cpnp';
import { readCpd } from '../../cpnp/cpd/validate';
import { readInformationElements } from '../../cpnp/information-elements-schema';
import { SchemaReader } from '../../cpnp/schema-reader';
import { SELECTION_RULES } from '../db/types';

/** RFC 8921 gives no bound; a portal order waiting more than a week for a response is a typo. */
export const MAX_EXPECTED_RESPONSE_SECONDS = 7 * 24 * 3600;

export const newOrderShape = z.object({
  title: z.string().trim().min(1, 'Give the order a title.').max(120, 'At most 120 characters.'),
  cpd: z.array(z.unknown()),
  options: z.record(z.string(), z.unknown()),
  providerIds: z.array(z.string().min(1)).min(1, 'Choose at least one provider.').max(16, 'At most 16 providers.'),
  expectedResponseSeconds: z
    .number()
    .int('Whole seconds.')
    .min(5, 'At least 5 seconds.')
    .max(MAX_EXPECTED_RESPONSE_SECONDS, 'At most one week.'),
  selectionRule: z.enum(SELECTION_RULES),
  submit: z.boolean(),
  clonedFrom: z.string().min(1).optional(),
});

export interface ValidatedOrder {
  title: string;
  cpd: Cpd;
  options: NegotiationOptions;
  providerIds: string[];
  expectedResponseSeconds: number;
  selectionRule: (typeof SELECTION_RULES)[number];
  submit: boolean;
  clonedFrom?: string;
}

export type OrderValidation = { ok: true; value: ValidatedOrder } | { ok: false; message: string; fieldErrors: Record<string, string[]> };

function add(errors: Record<string, string[]>, key: string, message: string) {
  (errors[key] ??= []).push(message);
}

/** lib/cpnp's message without the path prefix (the path is the key already). */
export function decodeErrorText(error: CpnpDecodeError): string {
  return error.path && error.message.startsWith(`${error.path}: `) ? error.message.slice(error.path.length + 2) : error.message;
}

/**
 * `strict`: run lib/cpnp's CPD validator (submitted orders). Drafts are stored as typed, so a
 * half-filled form is never lost; they are validated when submitted.
 * Field error keys: top-level field names, and JSON-form paths such as `cpd[0].capacity.inMbps`
 * or `options.testUntil` for errors found by lib/cpnp.
 */
export function validateOrderInput(input: unknown, strict: boolean): OrderValidation {
  const parsed = newOrderShape.safeParse(input);
  const fieldErrors: Record<string, string[]> = {};
  if (!parsed.success) {
    for (const issue of parsed.error.issues) add(fieldErrors, issue.path.map(String).join('.') || 'form', issue.message);
    return { ok: false, message: 'Some fields need attention.', fieldErrors };
  }
  const v = parsed.data;
  let options: NegotiationOptions = {};
  try {
    options = readInformationElements({ options: v.options }, '', new SchemaReader('json')).options ?? {};
  } catch (error) {
    if (!(error instanceof CpnpDecodeError)) throw error;
    add(fieldErrors, error.path || 'options', decodeErrorText(error));
  }
  let cpd = v.cpd as Cpd;
  if (strict) {
    if (v.cpd.length === 0) add(fieldErrors, 'cpd', 'Describe at least one connectivity component.');
    else {
      try {
        cpd = readCpd(v.cpd, 'cpd', new SchemaReader('json'));
      } catch (error) {
        if (!(error instanceof CpnpDecodeError)) throw error;
        add(fieldErrors, error.path || 'cpd', decodeErrorText(error));
      }
    }
  }
  if (new Set(v.providerIds).size !== v.providerIds.length) add(fieldErrors, 'providerIds', 'A provider is listed twice.');
  if (v.providerIds.length === 1 && v.selectionRule !== 'manual') {
    add(fieldErrors, 'selectionRule', 'A selection rule needs several providers.');
  }
  if (Object.keys(fieldErrors).length > 0) return { ok: false, message: 'Some fields need attention.', fieldErrors };
  return {
    ok: true,
    value: {
      title: v.title,
      cpd,
      options,
      providerIds: v.providerIds,
      expectedResponseSeconds: v.expectedResponseSeconds,
      selectionRule: v.selectionRule,
      submit: v.submit,
      ...(v.clonedFrom ? { clonedFrom: v.clonedFrom } : {}),
    },
  };
}
