/**
 * The payload of each intent kind, validated before it is queued. The engine host reads the
 * same shapes (IntentPayload) back from the Intent.payload column.
 */
import { z } from 'zod';
import { CpnpDecodeError, isDateTime, type Cpd, type DateTime } from '../../cpnp';
import { readCpd } from '../../cpnp/cpd/validate';
import { SchemaReader } from '../../cpnp/schema-reader';
import type { IntentKind } from '../db/types';
import { decodeErrorText } from '../orders/input';

const id = z.string().min(1).max(64);
const dateTime = z.string().refine(isDateTime, 'An RFC 3339 UTC date-time ending in Z.');
const target = { negotiationId: id.optional() };

export const INTENT_PAYLOADS = {
  approve: z.object({}).strict(),
  accept: z.object({ offerId: id }).strict(),
  /** RFC 8921 9.2.5 Table 3 reason codes; at least one. */
  decline: z.object({ offerId: id, reasons: z.array(z.number().int().min(1).max(3)).min(1, 'Give at least one reason.') }).strict(),
  'choose-offer': z.object({ offerId: id }).strict(),
  cancel: z.object(target).strict(),
  withdraw: z.object(target).strict(),
  update: z.object({ ...target, cpd: z.array(z.unknown()).min(1) }).strict(),
  /** Absent `at`: now; else a scheduled activation (9.2.11). */
  activate: z.object({ ...target, at: dateTime.optional() }).strict(),
  deactivate: z.object({ ...target, at: dateTime.optional() }).strict(),
  'grant-time': z.object(target).strict(),
  'deny-time': z.object(target).strict(),
} as const satisfies Record<IntentKind, z.ZodType>;

export type IntentPayload<K extends IntentKind> = K extends 'update'
  ? { negotiationId?: string; cpd: Cpd }
  : K extends 'activate' | 'deactivate'
    ? { negotiationId?: string; at?: DateTime }
    : z.infer<(typeof INTENT_PAYLOADS)[K]>;

export type PayloadCheck =
  | { ok: true; value: Record<string, unknown> & { negotiationId?: string; offerId?: string } }
  | { ok: false; message: string; fieldErrors: Record<string, string[]> };

export function parseIntentPayload(kind: IntentKind, payload: unknown): PayloadCheck {
  const parsed = INTENT_PAYLOADS[kind].safeParse(payload ?? {});
  const fieldErrors: Record<string, string[]> = {};
  if (!parsed.success) {
    for (const issue of parsed.error.issues) (fieldErrors[issue.path.map(String).join('.') || 'payload'] ??= []).push(issue.message);
    return { ok: false, message: 'The request is not valid.', fieldErrors };
  }
  const value = parsed.data as Record<string, unknown>;
  if (kind === 'update') {
    try {
      value.cpd = readCpd(value.cpd, 'cpd', new SchemaReader('json'));
    } catch (error) {
      if (!(error instanceof CpnpDecodeError)) throw error;
      return { ok: false, message: 'The updated CPD is not valid.', fieldErrors: { [error.path || 'cpd']: [decodeErrorText(error)] } };
    }
  }
  return { ok: true, value };
}
