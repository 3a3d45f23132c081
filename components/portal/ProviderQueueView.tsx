'use client';
import Link from 'next/link';
import { useState } from 'react';
import type { Cpd } from '@/lib/cpnp';
import { useApproveHeldOrder, useProviderQueues, useRejectHeldOrder } from '@/lib/portal/client/provider-queue-hooks';
import { CLIENT_STATE_LABELS, formatTime } from '@/lib/portal/labels';
import type { HeldOrder } from '@/lib/portal/provider-queue/held-order';
import type { ProviderQueue } from '@/lib/portal/provider-queue/service';
import { CpdView, formatValue } from './CpdView';

type Reason = { code: number; label: string };

const CELL = 'block px-3 py-1 md:table-cell md:py-2';

/** The column's name above a cell, on phones only (the table header row is hidden there). */
function MobileLabel({ children }: { children: string }) {
  return (
    <span className="block text-xs font-semibold uppercase tracking-wide text-slate-600 md:hidden">
      {children}
    </span>
  );
}

const KIND_LABELS: Record<HeldOrder['kind'], string> = {
  QUOTATION: 'New order (QUOTATION)',
  UPDATE: 'Change (UPDATE)',
  WITHDRAW: 'Withdrawal (WITHDRAW)',
  ACTIVATE: 'Activation (ACTIVATE)',
};

/** One line per CPP: component, capacity, links — enough to recognise the order. */
function cpdSummary(cpd: Cpd | null): string {
  if (!cpd || cpd.length === 0) return '—';
  return cpd
    .map((cpp, i) => {
      // The CPD came from the provider's record: read defensively.
      const nodes = Array.isArray(cpp.nodes) ? cpp.nodes.map((n) => n.link).filter(Boolean) : [];
      const parts = [
        cpp.component ?? `CPP ${i + 1}`,
        cpp.capacity ? `in ${formatValue(cpp.capacity.inMbps)} / out ${formatValue(cpp.capacity.outMbps)} Mbit/s` : null,
        nodes.length ? nodes.join(', ') : null,
      ];
      return parts.filter(Boolean).join(' · ');
    })
    .join('; ');
}

/** Who the order is for: the portal order (linked) when it is ours, else the provider's customer identity. */
function orderRef(order: HeldOrder): string {
  return order.portalOrder ? `“${order.portalOrder.title}”` : order.providerOrderId;
}

function HeldRow({ providerId, order, reasons }: { providerId: string; order: HeldOrder; reasons: readonly Reason[] }) {
  const approve = useApproveHeldOrder();
  const reject = useRejectHeldOrder();
  const [rejecting, setRejecting] = useState(false);
  const [statusCode, setStatusCode] = useState(4);
  const [note, setNote] = useState('');
  const busy = approve.isPending || reject.isPending;
  const result = approve.data ?? reject.data;
  const id = `held-${providerId}-${order.providerOrderId}`;
  const isRequest = order.kind === 'WITHDRAW' || order.kind === 'ACTIVATE';
  const [showCpd, setShowCpd] = useState(false);
  return (
    <>
      <tr className={`block py-2 align-top md:table-row md:py-0 ${showCpd ? '' : 'border-b border-slate-100'}`}>
        <th scope="row" className={`${CELL} text-left font-normal`}>
          <MobileLabel>Provider order</MobileLabel>
          <span className="font-mono text-xs">{order.providerOrderId}</span>
          <span className="block text-xs text-slate-600">customer order {order.customerOrderId}</span>
        </th>
        <td className={CELL}>
          <MobileLabel>Decision on</MobileLabel>
          {KIND_LABELS[order.kind]}
        </td>
        <td className={CELL}>
          <MobileLabel>Customer / portal order</MobileLabel>
          {order.portalOrder ? (
            <>
              <Link href={`/orders/${order.portalOrder.orderId}`} className="font-medium text-sky-800 hover:underline">
                {order.portalOrder.title}
              </Link>
              <span className="block text-xs text-slate-600">
                {order.portalOrder.organisation} · portal: {CLIENT_STATE_LABELS[order.portalOrder.clientState] ?? order.portalOrder.clientState}
              </span>
            </>
          ) : (
            <span>{order.customer ?? 'unauthenticated client'}</span>
          )}
        </td>
        <td className={`${CELL} text-xs`}>
          <MobileLabel>Times</MobileLabel>
          <span className="block">waiting since {formatTime(order.waitingSince)}</span>
          {order.answerBy && <span className="block text-slate-600">customer expects an answer by {formatTime(order.answerBy)}</span>}
        </td>
        <td className={`${CELL} text-xs md:max-w-xs`}>
          <MobileLabel>CPD</MobileLabel>
          <span className="block">{cpdSummary(order.cpd)}</span>
          {order.cpd && (
            <button type="button" aria-expanded={showCpd} aria-controls={`${id}-cpd`} onClick={() => setShowCpd((v) => !v)} className="mt-1 text-sky-800 underline">
              {showCpd ? 'Hide the CPD' : 'Show the CPD'}
            </button>
          )}
        </td>
        <td className={`${CELL} md:min-w-[15rem]`}>
          <MobileLabel>Decision</MobileLabel>
          <div className="flex flex-wrap gap-2">
            <button
              type="button"
              disabled={busy}
              onClick={() => approve.mutate({ providerId, providerOrderId: order.providerOrderId })}
              className="relative rounded-md bg-emerald-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-emerald-800 disabled:opacity-60"
            >
              {approve.isPending ? 'Approving…' : 'Approve'}
              <span className="sr-only"> {orderRef(order)}</span>
            </button>
            {!rejecting && (
              <button
                type="button"
                disabled={busy}
                onClick={() => setRejecting(true)}
                className="relative rounded-md bg-white px-3 py-1.5 text-sm font-medium text-rose-800 ring-1 ring-inset ring-rose-300 hover:bg-rose-50 disabled:opacity-60"
              >
                Reject…<span className="sr-only"> {orderRef(order)}</span>
              </button>
            )}
          </div>
          {rejecting && (
            <form
              aria-label={`Reject ${orderRef(order)}`}
              className="mt-2 space-y-2"
              onSubmit={(e) => {
                e.preventDefault();
                reject.mutate({ providerId, providerOrderId: order.providerOrderId, statusCode, note });
              }}
            >
              <label htmlFor={`${id}-code`} className="block text-xs font-medium">
                FAIL status code sent to the customer
              </label>
              <select id={`${id}-code`} value={statusCode} onChange={(e) => setStatusCode(Number(e.target.value))} className="w-full rounded-md border border-slate-400 bg-white p-1 text-xs">
                {reasons.map((r) => (
                  <option key={r.code} value={r.code}>
                    {r.label}
                  </option>
                ))}
              </select>
              <label htmlFor={`${id}-note`} className="block text-xs font-medium">
                Reason (kept in the portal&apos;s history; CPNP carries only the code)
              </label>
              <textarea id={`${id}-note`} maxLength={500} rows={2} value={note} onChange={(e) => setNote(e.target.value)} className="w-full rounded-md border border-slate-400 p-1 text-xs" />
              <div className="flex flex-wrap gap-2">
                <button type="submit" disabled={busy} className="rounded-md bg-rose-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-rose-800 disabled:opacity-60">
                  {reject.isPending ? 'Rejecting…' : isRequest ? 'Refuse request' : 'Reject order'}
                </button>
                <button type="button" onClick={() => setRejecting(false)} className="rounded-md px-3 py-1.5 text-sm ring-1 ring-inset ring-slate-300">
                  Keep it
                </button>
              </div>
            </form>
          )}
          {result && !result.ok && (
            <p role="alert" className="mt-2 text-xs text-rose-800">
              {result.message}
            </p>
          )}
          {result?.ok && (
            <p role="status" className="mt-2 text-xs text-emerald-800">
              Sent: {result.value.action.replace('-', ' ')} (provider state {result.value.state ?? '?'}).
            </p>
          )}
        </td>
      </tr>
      {showCpd && order.cpd && (
        <tr id={`${id}-cpd`} className="block border-b border-slate-100 md:table-row">
          <td colSpan={6} className="block px-3 pb-3 md:table-cell">
            <CpdView cpd={order.cpd} headingLevel={4} />
          </td>
        </tr>
      )}
    </>
  );
}

function ProviderSection({ queue, reasons }: { queue: ProviderQueue; reasons: readonly Reason[] }) {
  const headingId = `pq-${queue.providerId}`;
  return (
    <section aria-labelledby={headingId} className="space-y-2 rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
      <header className="flex flex-wrap items-baseline justify-between gap-2">
        <h2 id={headingId} className="text-lg font-semibold">
          {queue.name}
        </h2>
        <span className="text-xs text-slate-600">{queue.endpoint}</span>
      </header>
      {queue.status !== 'ok' ? (
        <p role="status" className="rounded-md bg-amber-50 p-3 text-sm text-amber-900 ring-1 ring-inset ring-amber-300">
          {queue.message}
        </p>
      ) : queue.orders.length === 0 ? (
        <p className="text-sm text-slate-700">Nothing is waiting for an administrator.</p>
      ) : (
        <div className="relative overflow-x-auto">
          {/* A table from md up; below, each row is a card (cells stacked, each with its label). */}
          <table className="block w-full text-sm md:table md:min-w-full">
            <caption className="sr-only">Orders {queue.name} holds for administrative validation</caption>
            <thead className="hidden bg-slate-50 text-left text-xs font-semibold uppercase tracking-wide text-slate-700 md:table-header-group">
              <tr>
                <th scope="col" className="px-3 py-2">
                  Provider order
                </th>
                <th scope="col" className="px-3 py-2">
                  Decision on
                </th>
                <th scope="col" className="px-3 py-2">
                  Customer / portal order
                </th>
                <th scope="col" className="px-3 py-2">
                  Times
                </th>
                <th scope="col" className="px-3 py-2">
                  CPD
                </th>
                <th scope="col" className="px-3 py-2">
                  Decision
                </th>
              </tr>
            </thead>
            <tbody className="block md:table-row-group">
              {queue.orders.map((o) => (
                <HeldRow key={o.providerOrderId} providerId={queue.providerId} order={o} reasons={reasons} />
              ))}
            </tbody>
          </table>
          {queue.more > 0 && <p className="mt-2 text-xs text-slate-600">{queue.more} more held orders are not shown; decide these first.</p>}
        </div>
      )}
    </section>
  );
}

export function ProviderQueueView({ initial, reasons }: { initial: ProviderQueue[]; reasons: readonly Reason[] }) {
  const { data, isFetching, error } = useProviderQueues(initial);
  const total = data.reduce((n, q) => n + q.orders.length, 0);
  return (
    <section aria-labelledby="pq-heading" className="space-y-4">
      <div className="flex flex-wrap items-end justify-between gap-2">
        <div>
          <h1 id="pq-heading" className="text-2xl font-bold tracking-tight">
            Provider validation
          </h1>
          <p className="max-w-3xl text-sm text-slate-700">
            Orders the providers hold for a person before they answer (administrative validation, RFC 8921 8.2): approving lets the provider make its offer (or carry out the
            withdrawal), rejecting sends FAIL to the customer.
          </p>
        </div>
        <p className="text-sm text-slate-700" aria-live="polite">
          {total === 0 ? 'No held orders' : `${total} held order${total === 1 ? '' : 's'}`}
          {isFetching ? ' · checking the providers…' : ''}
        </p>
      </div>
      {error && (
        <p role="alert" className="text-sm text-rose-800">
          Could not refresh: {error.message}
        </p>
      )}
      {data.length === 0 ? (
        <p className="rounded-lg border border-dashed border-slate-300 bg-white p-6 text-slate-700">No providers are registered.</p>
      ) : (
        data.map((q) => <ProviderSection key={q.providerId} queue={q} reasons={reasons} />)
      )}
    </section>
  );
}
