'use client';
import Link from 'next/link';
import { parseAsArrayOf, parseAsInteger, parseAsString, parseAsStringLiteral, useQueryStates } from 'nuqs';
import { useMemo, useState, useTransition, type FormEvent } from 'react';
import { createColumnHelper, tableFeatures, useTable } from '@tanstack/react-table';
import { ORDER_STATES } from '@/lib/portal/db/types';
import { HISTORY_PAGE_SIZES, HISTORY_SORTS, type HistoryFilter } from '@/lib/portal/history/filter';
import type { HistoryOptions, HistoryPage, HistoryRow } from '@/lib/portal/history/service';
import { ORDER_STATE_LABELS, formatTime } from '@/lib/portal/labels';
import { StateBadge } from '@/components/portal/StateBadge';

/**
 * The staff history: filters and cursor live in the URL (nuqs, a history entry per change, so
 * links are shareable and Back works); every change re-renders the page on the server
 * (shallow: false), which filters, sorts and pages. The table is TanStack Table in manual mode:
 * it only lays out the rows the server sent.
 */
const searchParsers = {
  state: parseAsArrayOf(parseAsStringLiteral(ORDER_STATES), ',').withDefault([]),
  org: parseAsString.withDefault(''),
  provider: parseAsString.withDefault(''),
  from: parseAsString.withDefault(''),
  to: parseAsString.withDefault(''),
  q: parseAsString.withDefault(''),
  sort: parseAsStringLiteral(HISTORY_SORTS).withDefault('createdAt'),
  dir: parseAsStringLiteral(['asc', 'desc'] as const).withDefault('desc'),
  after: parseAsString,
  before: parseAsString,
  size: parseAsInteger.withDefault(25),
};

const features = tableFeatures({});
const helper = createColumnHelper<typeof features, HistoryRow>();
const columns = helper.columns([
  helper.accessor('title', {
    id: 'order',
    header: 'Order',
    cell: ({ row }) => (
      <>
        <Link href={`/orders/${row.original.id}/messages`} className="font-medium text-sky-800 underline-offset-2 hover:underline">
          {row.original.title}
        </Link>
        <span className="block font-mono text-xs text-slate-600">{row.original.id}</span>
      </>
    ),
  }),
  helper.accessor('organisation', { header: 'Organisation' }),
  helper.accessor('negotiations', {
    header: 'Providers and order ids',
    cell: ({ getValue }) => (
      <ul className="space-y-0.5">
        {getValue().map((n) => (
          <li key={n.customerOrderId}>
            {n.provider}
            <span className="block font-mono text-xs text-slate-600">
              {n.customerOrderId}
              {n.providerOrderId ? ` · ${n.providerOrderId}` : ''}
            </span>
          </li>
        ))}
      </ul>
    ),
  }),
  helper.accessor('state', { header: 'State', cell: ({ getValue }) => <StateBadge state={getValue()} /> }),
  helper.accessor('createdAt', { header: 'Created', cell: ({ getValue }) => <time dateTime={getValue()}>{formatTime(getValue())}</time> }),
  helper.accessor('updatedAt', { header: 'Last change', cell: ({ getValue }) => <time dateTime={getValue()}>{formatTime(getValue())}</time> }),
]);

const SORTABLE: Record<string, HistoryFilter['sort']> = { createdAt: 'createdAt', updatedAt: 'updatedAt' };

export function HistoryView({ page, options, exportQuery }: { page: HistoryPage; options: HistoryOptions; exportQuery: string }) {
  const [pending, startTransition] = useTransition();
  const [params, setParams] = useQueryStates(searchParsers, { shallow: false, history: 'push', startTransition });
  const table = useTable({ features, columns, data: page.rows, getRowId: (r) => r.id });
  const count = useMemo(() => `${page.total.toLocaleString('en')}${page.totalCapped ? '+' : ''}`, [page.total, page.totalCapped]);

  function apply(draft: Draft) {
    void setParams({ ...draft, after: null, before: null });
  }
  function sortBy(column: HistoryFilter['sort']) {
    const dir = params.sort === column && params.dir === 'desc' ? 'asc' : 'desc';
    void setParams({ sort: column, dir, after: null, before: null });
  }

  return (
    <section aria-labelledby="history-heading" className="space-y-4">
      <div className="flex flex-wrap items-end justify-between gap-3">
        <div>
          <h1 id="history-heading" className="text-2xl font-bold tracking-tight">
            Order history
          </h1>
          <p className="text-sm text-slate-700">Every order of every organisation. Open one to read its states and CPNP messages.</p>
        </div>
        <a href={`/api/portal/history/export${exportQuery ? `?${exportQuery}` : ''}`} download className="rounded-md border border-sky-700 px-3 py-1.5 text-sm font-medium text-sky-800 hover:bg-sky-50">
          Export CSV ({count} rows)
        </a>
      </div>

      {/* Keyed by the URL's filter: Back/Forward (or Clear) show the filter of that URL. */}
      <FilterForm key={JSON.stringify([params.q, params.org, params.provider, params.from, params.to, params.state])} initial={params} options={options} onApply={apply} />

      <div className="flex flex-wrap items-center justify-between gap-2 text-sm">
        <p role="status" aria-live="polite">
          {pending ? <span className="animate-pulse">Loading orders…</span> : `${count} matching orders`}
        </p>
        <label className="flex items-center gap-2">
          Rows per page
          <select className="rounded-md border border-slate-400 bg-white px-2 py-1" value={params.size} onChange={(e) => void setParams({ size: Number(e.target.value), after: null, before: null })}>
            {HISTORY_PAGE_SIZES.map((n) => (
              <option key={n}>{n}</option>
            ))}
          </select>
        </label>
      </div>

      {page.rows.length === 0 ? (
        <p className="rounded-lg border border-dashed border-slate-300 bg-white p-6 text-slate-700">No order matches these filters.</p>
      ) : (
        <div className={`overflow-x-auto rounded-lg border border-slate-200 bg-white shadow-sm transition-opacity ${pending ? 'opacity-60' : ''}`} aria-busy={pending}>
          <table className="w-full text-left text-sm">
            <caption className="sr-only">Order history</caption>
            <thead className="border-b border-slate-200 bg-slate-50 text-xs uppercase text-slate-700">
              {table.getHeaderGroups().map((group) => (
                <tr key={group.id}>
                  {group.headers.map((header) => {
                    const sortable = SORTABLE[header.column.id];
                    const active = sortable === params.sort;
                    return (
                      <th
                        key={header.id}
                        scope="col"
                        className="px-3 py-2"
                        aria-sort={sortable ? (active ? (params.dir === 'asc' ? 'ascending' : 'descending') : 'none') : undefined}
                      >
                        {sortable ? (
                          <button type="button" onClick={() => sortBy(sortable)} className="inline-flex items-center gap-1 uppercase hover:underline">
                            <table.FlexRender header={header} />
                            <span aria-hidden="true">{active ? (params.dir === 'asc' ? '▲' : '▼') : '↕'}</span>
                          </button>
                        ) : (
                          <table.FlexRender header={header} />
                        )}
                      </th>
                    );
                  })}
                </tr>
              ))}
            </thead>
            <tbody>
              {table.getRowModel().rows.map((row) => (
                <tr key={row.id} className="border-b border-slate-100 align-top last:border-0">
                  {row.getAllCells().map((cell) => (
                    <td key={cell.id} className="px-3 py-2">
                      <table.FlexRender cell={cell} />
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      <nav aria-label="History pages" className="flex flex-wrap items-center gap-2 text-sm">
        <button type="button" disabled={pending || !page.prev} onClick={() => void setParams({ after: null, before: null })} className="rounded-md border border-slate-400 px-3 py-1.5 disabled:opacity-50">
          First page
        </button>
        <button type="button" disabled={pending || !page.prev} onClick={() => void setParams({ before: page.prev, after: null })} className="rounded-md border border-slate-400 px-3 py-1.5 disabled:opacity-50">
          ← Previous
        </button>
        <button type="button" disabled={pending || !page.next} onClick={() => void setParams({ after: page.next, before: null })} className="rounded-md border border-slate-400 px-3 py-1.5 disabled:opacity-50">
          Next →
        </button>
      </nav>
    </section>
  );
}

type Draft = { org: string; provider: string; from: string; to: string; q: string; state: HistoryFilter['state'] };
const EMPTY: Draft = { org: '', provider: '', from: '', to: '', q: '', state: [] };

/** The filter form: edits a draft, applied to the URL on submit. */
function FilterForm({ initial, options, onApply }: { initial: Draft; options: HistoryOptions; onApply: (d: Draft) => void }) {
  const [draft, setDraft] = useState<Draft>({ org: initial.org, provider: initial.provider, from: initial.from, to: initial.to, q: initial.q, state: initial.state });
  function apply(e: FormEvent) {
    e.preventDefault();
    onApply(draft);
  }
  function toggleState(s: (typeof ORDER_STATES)[number], on: boolean) {
    setDraft((d) => ({ ...d, state: on ? [...d.state, s] : d.state.filter((x) => x !== s) }));
  }
  const input = 'mt-1 block w-full rounded-md border border-slate-400 bg-white px-2 py-1.5 text-sm';
  return (
    <form onSubmit={apply} aria-label="Filter orders" className="grid gap-3 rounded-lg border border-slate-200 bg-white p-4 shadow-sm sm:grid-cols-2 lg:grid-cols-6">
      <label className="text-sm font-medium lg:col-span-2">
        Order, customer or provider order id
        <input className={input} value={draft.q} onChange={(e) => setDraft({ ...draft, q: e.target.value })} placeholder="exact id" />
      </label>
      <label className="text-sm font-medium">
        Organisation
        <select className={input} value={draft.org} onChange={(e) => setDraft({ ...draft, org: e.target.value })}>
          <option value="">All</option>
          {options.organisations.map((o) => (
            <option key={o.id} value={o.id}>
              {o.name}
            </option>
          ))}
        </select>
      </label>
      <label className="text-sm font-medium">
        Provider
        <select className={input} value={draft.provider} onChange={(e) => setDraft({ ...draft, provider: e.target.value })}>
          <option value="">All</option>
          {options.providers.map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
        </select>
      </label>
      <label className="text-sm font-medium">
        Created from
        <input type="date" className={input} value={draft.from} onChange={(e) => setDraft({ ...draft, from: e.target.value })} />
      </label>
      <label className="text-sm font-medium">
        Created to
        <input type="date" className={input} value={draft.to} onChange={(e) => setDraft({ ...draft, to: e.target.value })} />
      </label>
      <fieldset className="sm:col-span-2 lg:col-span-6">
        <legend className="text-sm font-medium">State</legend>
        <div className="mt-1 flex flex-wrap gap-x-4 gap-y-1">
          {ORDER_STATES.map((s) => (
            <label key={s} className="inline-flex items-center gap-1.5 text-sm">
              <input type="checkbox" checked={draft.state.includes(s)} onChange={(e) => toggleState(s, e.target.checked)} />
              {ORDER_STATE_LABELS[s].label}
            </label>
          ))}
        </div>
      </fieldset>
      <div className="flex gap-2 sm:col-span-2 lg:col-span-6">
        <button type="submit" className="rounded-md bg-sky-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-sky-800">
          Apply filters
        </button>
        <button type="button" onClick={() => onApply(EMPTY)} className="rounded-md border border-slate-400 px-3 py-1.5 text-sm font-medium hover:bg-slate-50">
          Clear
        </button>
      </div>
    </form>
  );
}
