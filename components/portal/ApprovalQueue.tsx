'use client';
import Link from 'next/link';
import { useState } from 'react';
import type { ApprovalItem } from '@/lib/portal/approvals/service';
import { useApprovalQueue, useApproveOrder, useRejectOrder } from '@/lib/portal/client/hooks';
import { formatTime } from '@/lib/portal/labels';
import { CpdView } from './CpdView';

function ApprovalCard({ item }: { item: ApprovalItem }) {
  const approve = useApproveOrder();
  const reject = useRejectOrder();
  const [rejecting, setRejecting] = useState(false);
  const [reason, setReason] = useState('');
  const result = approve.data ?? reject.data;
  const reasonId = `reason-${item.id}`;
  return (
    <article aria-labelledby={`appr-${item.id}`} className="space-y-3 rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
      <header>
        <h2 id={`appr-${item.id}`} className="text-lg font-semibold">
          <Link href={`/orders/${item.id}`} className="text-sky-800 hover:underline">
            {item.title}
          </Link>
        </h2>
        <p className="text-sm text-slate-700">
          {item.organisation} · by {item.author}
          {item.submittedAt ? ` · submitted ${formatTime(item.submittedAt)}` : ''} · to {item.providers.join(' and ')} · response expected within{' '}
          {item.expectedResponseSeconds} s{item.providers.length > 1 ? ` · selection: ${item.selectionRule}` : ''}
        </p>
        <p className="text-sm text-slate-700">
          Purpose {item.options.purpose ?? 'production'} · activation {item.options.activationType ?? 'permanent'} · scope {item.options.scope ?? 'any'}
        </p>
      </header>
      <CpdView cpd={item.requestedCpd} />
      <div className="flex flex-wrap items-start gap-2">
        <button
          type="button"
          className="rounded-md bg-emerald-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-emerald-800 disabled:opacity-50"
          disabled={approve.isPending || reject.isPending}
          onClick={() => approve.mutate(item.id)}
        >
          Approve “{item.title}”
        </button>
        {!rejecting && (
          <button
            type="button"
            className="rounded-md bg-white px-3 py-1.5 text-sm font-medium text-rose-800 ring-1 ring-inset ring-rose-300 hover:bg-rose-50"
            onClick={() => setRejecting(true)}
          >
            Reject…
          </button>
        )}
      </div>
      {rejecting && (
        <form
          className="space-y-2"
          onSubmit={(e) => {
            e.preventDefault();
            reject.mutate({ orderId: item.id, reason });
          }}
        >
          <label htmlFor={reasonId} className="block text-sm font-medium">
            Reason for rejecting (the customer sees it)
          </label>
          <textarea
            id={reasonId}
            required
            minLength={3}
            maxLength={500}
            value={reason}
            onChange={(e) => setReason(e.target.value)}
            className="w-full max-w-xl rounded-md border border-slate-300 p-2 text-sm"
            rows={3}
          />
          <div className="flex gap-2">
            <button type="submit" disabled={reject.isPending} className="rounded-md bg-rose-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-rose-800">
              Reject order
            </button>
            <button type="button" onClick={() => setRejecting(false)} className="rounded-md px-3 py-1.5 text-sm ring-1 ring-inset ring-slate-300">
              Keep it
            </button>
          </div>
        </form>
      )}
      {result && !result.ok && (
        <p role="alert" className="text-sm text-rose-800">
          {result.message}
        </p>
      )}
    </article>
  );
}

export function ApprovalQueue({ initial }: { initial: ApprovalItem[] }) {
  const { data } = useApprovalQueue(initial);
  return (
    <section aria-labelledby="approvals-heading" className="space-y-4">
      <h1 id="approvals-heading" className="text-2xl font-bold tracking-tight">
        Orders waiting for approval
      </h1>
      <p className="text-sm text-slate-700">Nothing is sent to a provider before an administrator approves the order (RFC 8921 8.11.1).</p>
      {data.length === 0 ? (
        <p role="status" className="rounded-lg border border-dashed border-slate-300 bg-white p-6 text-slate-700">
          No orders are waiting for approval.
        </p>
      ) : (
        data.map((item) => <ApprovalCard key={item.id} item={item} />)
      )}
    </section>
  );
}
