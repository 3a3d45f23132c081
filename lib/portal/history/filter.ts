/**
 * The staff history's filter, as it travels in the URL (shareable, back button) and in the CSV
 * export's query string. One zod schema parses both; anything malformed falls back to "no
 * filter" rather than an error page, because a hand-edited URL should still show orders.
 * Framework-free: the client's nuqs parsers use the same names (components/history).
 */
import { z } from 'zod';
import { ORDER_STATES, type OrderState } from '../db/types';

export const HISTORY_SORTS = ['createdAt', 'updatedAt'] as const;
export type HistorySort = (typeof HISTORY_SORTS)[number];
export const HISTORY_PAGE_SIZES = [25, 50, 100] as const;

const day = /^\d{4}-\d{2}-\d{2}$/;
const optionalText = (max: number) =>
  z
    .string()
    .trim()
    .max(max)
    .optional()
    .catch(undefined)
    .transform((v) => (v ? v : undefined));

const stateList = z
  .union([z.string(), z.array(z.string())])
  .optional()
  .catch(undefined)
  .transform((v): OrderState[] => {
    const parts = (Array.isArray(v) ? v : (v ?? '').split(',')).map((s) => s.trim());
    return [...new Set(parts.filter((s): s is OrderState => (ORDER_STATES as readonly string[]).includes(s)))];
  });

const dayText = z
  .string()
  .regex(day)
  .refine((s) => !Number.isNaN(Date.parse(`${s}T00:00:00Z`)))
  .optional()
  .catch(undefined);

export const historyFilterSchema = z.object({
  state: stateList,
  org: optionalText(64),
  provider: optionalText(64),
  /** Created on or after this UTC day (YYYY-MM-DD). */
  from: dayText,
  /** Created on or before this UTC day (inclusive). */
  to: dayText,
  /** An order id, a CUSTOMER_ORDER_IDENTIFIER or a PROVIDER_ORDER_IDENTIFIER (exact). */
  q: optionalText(128),
  sort: z.enum(HISTORY_SORTS).catch('createdAt').default('createdAt'),
  dir: z.enum(['asc', 'desc']).catch('desc').default('desc'),
});

export type HistoryFilter = z.output<typeof historyFilterSchema>;

export const historyPageSchema = z.object({
  /** Keyset cursor: rows after this one (next page) ... */
  after: optionalText(200),
  /** ... or before it (previous page). */
  before: optionalText(200),
  size: z.coerce
    .number()
    .int()
    .refine((n) => (HISTORY_PAGE_SIZES as readonly number[]).includes(n))
    .catch(25)
    .default(25),
});

export type HistoryPageParams = z.output<typeof historyPageSchema>;

type Params = Record<string, string | string[] | undefined> | URLSearchParams;

function toRecord(params: Params): Record<string, string | string[] | undefined> {
  if (!(params instanceof URLSearchParams)) return params;
  const out: Record<string, string | string[] | undefined> = {};
  for (const key of new Set(params.keys())) {
    const all = params.getAll(key);
    out[key] = all.length > 1 ? all : all[0];
  }
  return out;
}

const single = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

export function parseHistoryFilter(params: Params): HistoryFilter {
  const r = toRecord(params);
  return historyFilterSchema.parse({
    state: r.state,
    org: single(r.org),
    provider: single(r.provider),
    from: single(r.from),
    to: single(r.to),
    q: single(r.q),
    sort: single(r.sort),
    dir: single(r.dir),
  });
}

export function parseHistoryPage(params: Params): HistoryPageParams {
  const r = toRecord(params);
  return historyPageSchema.parse({ after: single(r.after), before: single(r.before), size: single(r.size) });
}

/** The filter as a query string (export link, "back to history"); defaults are left out. */
export function historyFilterQuery(filter: HistoryFilter): string {
  const p = new URLSearchParams();
  if (filter.state.length > 0) p.set('state', filter.state.join(','));
  if (filter.org) p.set('org', filter.org);
  if (filter.provider) p.set('provider', filter.provider);
  if (filter.from) p.set('from', filter.from);
  if (filter.to) p.set('to', filter.to);
  if (filter.q) p.set('q', filter.q);
  if (filter.sort !== 'createdAt') p.set('sort', filter.sort);
  if (filter.dir !== 'desc') p.set('dir', filter.dir);
  return p.toString();
}
