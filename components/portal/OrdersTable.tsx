'use client';
import Link from 'next/link';
import { useOrders } from '@/lib/portal/client/hooks';
import type { Role } from '@/lib/portal/db/types';
import { CLIENT_STATE_LABELS, formatTime } from '@/lib/portal/labels';
import type { OrderPage } from '@/lib/portal/orders/service';
import { StateBadge } from './StateBadge';

/** The orders list: server-paginated; refreshed in the background. */
export function OrdersTable({ initial, role }: { initial: OrderPage; role: Role }) {
  const { data } = useOrders(initial.page, initial);
  const heading = role === 'customer' ? 'Your organisation’s orders' : 'All orders';
  return (
    <section aria-labelledby="orders-heading" className="space-y-4">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <h1 id="orders-heading" className="text-2xl font-bold tracking-tight">
          {heading}
        </h1>
        {role === 'customer' && (
          <Link href="/orders/new" className="rounded-md bg-sky-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-sky-800">
            New order
          </Link>
        )}
      </div>
      {data.total === 0 ? (
        <p className="rounded-lg border border-dashed border-slate-300 bg-white p-6 text-slate-700">
          No orders yet.{role === 'customer' ? ' Compose one with “New order”.' : ''}
        </p>
      ) : (
        <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white shadow-sm">
          <table className="w-full text-left text-sm">
            <caption className="sr-only">Orders, most recently changed first</caption>
            <thead className="border-b border-slate-200 bg-slate-50 text-xs uppercase text-slate-600">
              <tr>
                <th scope="col" className="px-3 py-2">Order</th>
                <th scope="col" className="px-3 py-2">State</th>
                <th scope="col" className="px-3 py-2">Providers</th>
                {role !== 'customer' && <th scope="col" className="px-3 py-2">Organisation</th>}
                <th scope="col" className="px-3 py-2">Last change</th>
              </tr>
            </thead>
            <tbody>
              {data.items.map((o) => (
                <tr key={o.id} className="border-b border-slate-100 align-top last:border-0">
                  <th scope="row" className="px-3 py-2 font-medium">
                    <Link href={`/orders/${o.id}`} className="text-sky-800 underline-offset-2 hover:underline">
                      {o.title}
                    </Link>
                    <span className="block text-xs font-normal text-slate-600">by {o.author}</span>
                  </th>
                  <td className="px-3 py-2">
                    <StateBadge state={o.state} />
                  </td>
                  <td className="px-3 py-2">
                    <ul>
                      {o.providers.map((p) => (
                        <li key={p.name}>
                          {p.name}
                          <span className="text-slate-600"> — {CLIENT_STATE_LABELS[p.clientState] ?? p.clientState}</span>
                          {p.alarm && <span className="font-semibold text-rose-800"> ⚠ alarm</span>}
                        </li>
                      ))}
                    </ul>
                  </td>
                  {role !== 'customer' && <td className="px-3 py-2">{o.organisation}</td>}
                  <td className="px-3 py-2">
                    {o.lastChange ? (
                      <>
                        <span className="block">{o.lastChange.cause}</span>
                        <time dateTime={o.lastChange.at} className="text-xs text-slate-600">
                          {formatTime(o.lastChange.at)}
                        </time>
                      </>
                    ) : (
                      <time dateTime={o.updatedAt}>{formatTime(o.updatedAt)}</time>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav aria-label="Pages" className="flex items-center gap-3 text-sm">
        {data.page > 1 ? (
          <Link href={`/orders?page=${data.page - 1}`} className="text-sky-800 underline">
            ← Newer
          </Link>
        ) : (
          <span className="text-slate-600" aria-hidden="true">← Newer</span>
        )}
        <span>
          Page {data.page} of {data.pageCount} ({data.total} orders)
        </span>
        {data.page < data.pageCount ? (
          <Link href={`/orders?page=${data.page + 1}`} className="text-sky-800 underline">
            Older →
          </Link>
        ) : (
          <span className="text-slate-600" aria-hidden="true">Older →</span>
        )}
      </nav>
    </section>
  );
}
