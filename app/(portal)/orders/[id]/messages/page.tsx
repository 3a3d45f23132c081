import type { Metadata } from 'next';
import Link from 'next/link';
import { notFound } from 'next/navigation';
import { MessageLog } from '@/components/history/MessageLog';
import { SequenceChart } from '@/components/history/SequenceChart';
import { StateBadge } from '@/components/portal/StateBadge';
import { historyQueries } from '@/lib/portal/actions/history-queries';
import { requireUser } from '@/lib/portal/auth/session';
import { formatTime } from '@/lib/portal/labels';

export const metadata: Metadata = { title: 'Order messages — CPNP portal' };

export default async function OrderMessagesPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const user = await requireUser(`/orders/${id}/messages`);
  const result = await historyQueries.ladder(user, id);
  // Another organisation's order is "not found", exactly like a missing one.
  if (!result.ok) notFound();
  const { order, lanes, arrows, messages, stateChanges } = result.value;
  return (
    <article className="space-y-6">
      <nav aria-label="Breadcrumb" className="text-sm">
        {user.role !== 'customer' && (
          <>
            <Link href="/history" className="text-sky-800 underline-offset-2 hover:underline">
              Order history
            </Link>
            {' › '}
          </>
        )}
        <Link href={`/orders/${order.id}`} className="text-sky-800 underline-offset-2 hover:underline">
          Order detail
        </Link>
        {' › '}Messages
      </nav>
      <header className="space-y-1">
        <h1 className="text-2xl font-bold tracking-tight">{order.title}</h1>
        <p className="flex flex-wrap items-center gap-2 text-sm text-slate-700">
          <StateBadge state={order.state} />
          <span>{order.organisation}</span>·<span className="font-mono">{order.id}</span>·<span>created {formatTime(order.createdAt)}</span>
        </p>
      </header>

      <section aria-labelledby="chart-heading" className="space-y-2">
        <h2 id="chart-heading" className="text-lg font-semibold">
          Message sequence
        </h2>
        {arrows.length > 0 ? <SequenceChart lanes={lanes} arrows={arrows} /> : <p className="text-slate-700">No messages yet.</p>}
      </section>

      <section aria-labelledby="states-heading" className="space-y-2">
        <h2 id="states-heading" className="text-lg font-semibold">
          State history
        </h2>
        <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white shadow-sm">
          <table className="w-full text-left text-sm">
            <caption className="sr-only">Every state change of the order and its negotiations</caption>
            <thead className="border-b border-slate-200 bg-slate-50 text-xs uppercase text-slate-700">
              <tr>
                <th scope="col" className="px-3 py-2">When (UTC)</th>
                <th scope="col" className="px-3 py-2">Of</th>
                <th scope="col" className="px-3 py-2">From → to</th>
                <th scope="col" className="px-3 py-2">Cause</th>
                <th scope="col" className="px-3 py-2">By</th>
              </tr>
            </thead>
            <tbody>
              {stateChanges.map((c) => (
                <tr key={c.id} className="border-b border-slate-100 last:border-0">
                  <td className="px-3 py-2">
                    <time dateTime={c.at}>{formatTime(c.at)}</time>
                  </td>
                  <td className="px-3 py-2">{c.provider ? `negotiation with ${c.provider}` : 'order'}</td>
                  <td className="px-3 py-2">
                    {c.from ?? '—'} → <span className="font-medium">{c.to}</span>
                  </td>
                  <td className="px-3 py-2">{c.cause}</td>
                  <td className="px-3 py-2">{c.actor}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>

      <section aria-labelledby="log-heading" className="space-y-2">
        <h2 id="log-heading" className="text-lg font-semibold">
          Message log ({messages.length})
        </h2>
        <MessageLog messages={messages} />
      </section>
    </article>
  );
}
