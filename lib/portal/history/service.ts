/**
 * The staff history: every order of every organisation, filtered on the server and paged by
 * keyset (cursor.ts) so that any page costs one index range scan. Admins and staff only
 * (access.ts); customers get 'forbidden'. The export (export.ts) walks the same query in batches.
 */
import 'server-only';
import type { SessionUser } from '../auth/session';
import { portalDb, type Prisma } from '../db/client';
import { isOneOf, ORDER_STATES, type OrderState } from '../db/types';
import { ok, type ServiceResult } from '../result';
import { canReadHistory, HISTORY_FORBIDDEN } from './access';
import { decodeCursor, encodeCursor, type HistoryCursor } from './cursor';
import type { HistoryFilter, HistoryPageParams } from './filter';

export interface HistoryRow {
  id: string;
  title: string;
  state: OrderState;
  stateReason: string | null;
  organisation: string;
  author: string;
  createdAt: string;
  updatedAt: string;
  submittedAt: string | null;
  negotiations: { provider: string; customerOrderId: string; providerOrderId: string | null; clientState: string }[];
}

export interface HistoryPage {
  rows: HistoryRow[];
  /** Cursor of the next page (older rows for desc), null on the last page. */
  next: string | null;
  /** Cursor of the previous page, null on the first page. */
  prev: string | null;
  /** Matching orders (exact). */
  total: number;
  /** Reserved for a capped count on larger databases; always false today. */
  totalCapped: boolean;
}

export interface HistoryOptions {
  organisations: { id: string; name: string }[];
  providers: { id: string; name: string }[];
}

const dayStart = (d: string) => new Date(`${d}T00:00:00.000Z`);
const dayEnd = (d: string) => new Date(dayStart(d).getTime() + 86_400_000);

/** The where clause of a filter. An id search resolves to order ids first (indexed lookups). */
export async function historyWhere(filter: HistoryFilter): Promise<Prisma.OrderWhereInput> {
  const and: Prisma.OrderWhereInput[] = [];
  if (filter.state.length === 1) and.push({ state: filter.state[0] });
  else if (filter.state.length > 1) and.push({ state: { in: filter.state } });
  if (filter.org) and.push({ organisationId: filter.org });
  if (filter.provider) and.push({ negotiations: { some: { providerId: filter.provider } } });
  if (filter.from) and.push({ createdAt: { gte: dayStart(filter.from) } });
  if (filter.to) and.push({ createdAt: { lt: dayEnd(filter.to) } });
  if (filter.q) {
    const q = filter.q;
    const hits = await portalDb().negotiation.findMany({
      where: { OR: [{ customerOrderId: q }, { providerOrderId: q }] },
      select: { orderId: true },
      take: 100,
    });
    and.push({ id: { in: [q, ...hits.map((h) => h.orderId)] } });
  }
  return and.length === 0 ? {} : and.length === 1 ? and[0]! : { AND: and };
}

type Dir = 'asc' | 'desc';

/** Rows strictly after `c` in the order (sort dir, id dir). */
function keyset(sort: HistoryFilter['sort'], dir: Dir, c: HistoryCursor): Prisma.OrderWhereInput {
  const beyond = dir === 'desc' ? 'lt' : 'gt';
  const bound = dir === 'desc' ? 'lte' : 'gte';
  // (sort, id) beyond (at, id), written so the first conjunct is an index range on the sort
  // column (SQLite cannot range-scan through a top-level OR).
  return { AND: [{ [sort]: { [bound]: c.at } }, { OR: [{ [sort]: { [beyond]: c.at } }, { id: { [beyond]: c.id } }] }] };
}

const flip = (d: Dir): Dir => (d === 'desc' ? 'asc' : 'desc');

export const historySelect = {
  id: true,
  title: true,
  state: true,
  stateReason: true,
  createdAt: true,
  updatedAt: true,
  submittedAt: true,
  organisation: { select: { name: true } },
  author: { select: { name: true, email: true } },
  negotiations: {
    orderBy: { createdAt: 'asc' },
    select: { customerOrderId: true, providerOrderId: true, clientState: true, provider: { select: { name: true } } },
  },
} satisfies Prisma.OrderSelect;

type SelectedOrder = Prisma.OrderGetPayload<{ select: typeof historySelect }>;

export function toHistoryRow(o: SelectedOrder): HistoryRow {
  return {
    id: o.id,
    title: o.title,
    state: isOneOf(ORDER_STATES, o.state) ? o.state : 'Created',
    stateReason: o.stateReason,
    organisation: o.organisation.name,
    author: o.author.name || o.author.email,
    createdAt: o.createdAt.toISOString(),
    updatedAt: o.updatedAt.toISOString(),
    submittedAt: o.submittedAt ? o.submittedAt.toISOString() : null,
    negotiations: o.negotiations.map((n) => ({
      provider: n.provider.name,
      customerOrderId: n.customerOrderId,
      providerOrderId: n.providerOrderId,
      clientState: n.clientState,
    })),
  };
}

/** Merges runs each sorted by (sort, id) in `dir` into one run in that order. */
export function mergeRuns<T extends { id: string; createdAt: Date; updatedAt: Date }>(runs: T[][], sort: HistoryFilter['sort'], dir: Dir): T[] {
  const sign = dir === 'desc' ? -1 : 1;
  return runs.flat().sort((a, b) => {
    const d = a[sort].getTime() - b[sort].getTime();
    return sign * (d !== 0 ? d : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  });
}

function cursorOf(o: { id: string; createdAt: Date; updatedAt: Date }, sort: HistoryFilter['sort']): string {
  return encodeCursor({ at: o[sort], id: o.id });
}

/** One page of rows in filter order, starting after `after` (or ending before `before`). */
export async function queryHistoryPage(where: Prisma.OrderWhereInput, filter: HistoryFilter, page: HistoryPageParams): Promise<Omit<HistoryPage, 'total' | 'totalCapped'>> {
  const db = portalDb();
  const { sort, dir } = filter;
  const after = decodeCursor(page.after);
  const before = after ? undefined : decodeCursor(page.before);
  // Backwards = the same scan in the opposite direction, then reversed.
  const scanDir = before ? flip(dir) : dir;
  const anchor = after ?? before;
  const read = (w: Prisma.OrderWhereInput) =>
    db.order.findMany({
      where: anchor ? { AND: [w, keyset(sort, scanDir, anchor)] } : w,
      orderBy: [{ [sort]: scanDir }, { id: scanDir }],
      take: page.size + 1,
      select: historySelect,
    });
  // Several states: one index range per state ((state, createdAt, id)), merged here. SQLite
  // would otherwise read every row of those states and sort them to find the first page.
  const rows =
    filter.state.length > 1 && sort === 'createdAt'
      ? mergeRuns(await Promise.all(filter.state.map((state) => read({ AND: [where, { state }] }))), sort, scanDir).slice(0, page.size + 1)
      : await read(where);
  const more = rows.length > page.size;
  const slice = rows.slice(0, page.size);
  if (before) slice.reverse();
  const first = slice[0];
  const last = slice[slice.length - 1];
  return {
    rows: slice.map(toHistoryRow),
    // Forwards: a next page exists when we over-read; a previous one when we came from a cursor.
    // Backwards: the reverse.
    next: last && (before ? true : more) ? cursorOf(last, sort) : null,
    prev: first && (before ? more : Boolean(after)) ? cursorOf(first, sort) : null,
  };
}

/**
 * Exact count of the matches. Measured at 100k orders (docs/benchmarks.md): at most ~45 ms (the
 * provider filter's EXISTS per order), a few ms otherwise. A capped count (`take`) was tried
 * first and was slower: Prisma orders the capped sub-select by id, which sorts every match.
 */
export async function countHistory(where: Prisma.OrderWhereInput): Promise<{ total: number; capped: boolean }> {
  return { total: await portalDb().order.count({ where }), capped: false };
}

export async function listHistory(user: SessionUser, filter: HistoryFilter, page: HistoryPageParams): Promise<ServiceResult<HistoryPage>> {
  if (!canReadHistory(user)) return HISTORY_FORBIDDEN;
  const where = await historyWhere(filter);
  const [result, count] = await Promise.all([queryHistoryPage(where, filter, page), countHistory(where)]);
  return ok({ ...result, total: count.total, totalCapped: count.capped });
}

export async function historyOptions(user: SessionUser): Promise<ServiceResult<HistoryOptions>> {
  if (!canReadHistory(user)) return HISTORY_FORBIDDEN;
  const db = portalDb();
  const [organisations, providers] = await Promise.all([
    db.organisation.findMany({ select: { id: true, name: true }, orderBy: { name: 'asc' } }),
    db.provider.findMany({ select: { id: true, name: true }, orderBy: { name: 'asc' } }),
  ]);
  return ok({ organisations, providers });
}
