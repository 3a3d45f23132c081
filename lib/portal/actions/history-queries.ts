/**
 * Reads of the operator's views (staff history, ladder, dashboard, CSV export), as functions of
 * (user or null, untrusted input) like queries.ts, so the authorisation matrix covers them.
 */
import 'server-only';
import { z } from 'zod';
import type { SessionUser } from '../auth/session';
import { getDashboard, type Dashboard } from '../dashboard/service';
import { exportHistoryCsv } from '../history/export';
import { historyFilterQuery, parseHistoryFilter, parseHistoryPage, type HistoryFilter } from '../history/filter';
import { getOrderLadder, type OrderLadder } from '../history/ladder';
import { historyOptions, listHistory, type HistoryOptions, type HistoryPage } from '../history/service';
import { fail, ok, type ServiceResult } from '../result';
import { SIGNED_OUT } from './definitions';

type Params = Record<string, string | string[] | undefined> | URLSearchParams;

export interface HistoryPayload {
  filter: HistoryFilter;
  page: HistoryPage;
  options: HistoryOptions;
  /** The filter as a query string, for the export link. */
  exportQuery: string;
}

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/);

/** The dashboard's period: [from, to] UTC days, default the last 30 days, at most 3 years. */
export function dashboardPeriod(params: { from?: unknown; to?: unknown }, now = new Date()): { from: Date; to: Date; fromDay: string; toDay: string } {
  const toDay = day.safeParse(params.to).success ? String(params.to) : now.toISOString().slice(0, 10);
  const defFrom = new Date(Date.parse(`${toDay}T00:00:00Z`) - 29 * 86_400_000).toISOString().slice(0, 10);
  let fromDay = day.safeParse(params.from).success ? String(params.from) : defFrom;
  if (Number.isNaN(Date.parse(`${fromDay}T00:00:00Z`)) || fromDay > toDay) fromDay = defFrom;
  const to = new Date(Date.parse(`${toDay}T00:00:00Z`) + 86_400_000);
  const from = new Date(Math.max(Date.parse(`${fromDay}T00:00:00Z`), to.getTime() - 3 * 366 * 86_400_000));
  return { from, to, fromDay: from.toISOString().slice(0, 10), toDay };
}

export const historyQueries = {
  history: async (user: SessionUser | null, params: Params): Promise<ServiceResult<HistoryPayload>> => {
    if (!user) return SIGNED_OUT;
    const filter = parseHistoryFilter(params);
    const [page, options] = await Promise.all([listHistory(user, filter, parseHistoryPage(params)), historyOptions(user)]);
    if (!page.ok) return page;
    if (!options.ok) return options;
    return ok({ filter, page: page.value, options: options.value, exportQuery: historyFilterQuery(filter) });
  },
  exportCsv: async (user: SessionUser | null, params: Params): Promise<ServiceResult<ReadableStream<Uint8Array>>> => {
    if (!user) return SIGNED_OUT;
    return exportHistoryCsv(user, parseHistoryFilter(params));
  },
  ladder: async (user: SessionUser | null, orderId: unknown): Promise<ServiceResult<OrderLadder>> => {
    if (!user) return SIGNED_OUT;
    const id = z.string().min(1).max(64).safeParse(orderId);
    if (!id.success) return fail('not-found', 'No such order.');
    return getOrderLadder(user, id.data);
  },
  dashboard: async (user: SessionUser | null, params: { from?: unknown; to?: unknown }): Promise<ServiceResult<Dashboard & { fromDay: string; toDay: string }>> => {
    if (!user) return SIGNED_OUT;
    const period = dashboardPeriod(params);
    const d = await getDashboard(user, period);
    return d.ok ? ok({ ...d.value, fromDay: period.fromDay, toDay: period.toDay }) : d;
  },
} as const;
