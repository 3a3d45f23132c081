'use client';
import Link from 'next/link';
import type { OrderDetailPayload } from '@/lib/portal/actions/queries';
import { useEnqueueIntent, useOrderDetail } from '@/lib/portal/client/hooks';
import type { IntentKind } from '@/lib/portal/db/types';
import { ALARM_LABELS, CANCEL_REASON_LABELS, CLIENT_STATE_LABELS, formatTime, INTENT_LABELS } from '@/lib/portal/labels';
import type { NegotiationView } from '@/lib/portal/orders/service';
import { Countdown } from './Countdown';
import { CpdView } from './CpdView';
import { OfferDiff } from './OfferDiff';
import { NegotiationActions, OfferActions } from './OrderActions';
import { StateBadge } from './StateBadge';
import { Timeline } from './Timeline';

type Kind = Exclude<IntentKind, 'approve'>;

function kindsFor(payload: OrderDetailPayload, negotiationId: string): Kind[] {
  return payload.actions.filter((a) => a.kind !== 'approve' && a.negotiationIds.includes(negotiationId)).map((a) => a.kind as Kind);
}

function Deadlines({ n, serverNow }: { n: NegotiationView; serverNow: string }) {
  const d = n.deadlines;
  const items: { label: string; at: string }[] = [];
  if (d.expectedResponseAt && ['PQOSent', 'AcceptSent', 'AwaitingProcessing'].includes(n.clientState)) items.push({ label: 'Response expected by', at: d.expectedResponseAt });
  if (d.expectedOfferAt && n.clientState === 'ServerProcessing') items.push({ label: 'Offer expected by', at: d.expectedOfferAt });
  if (d.moreTimeRequestedUntil) items.push({ label: 'The provider asks for more time, until', at: d.moreTimeRequestedUntil });
  if (d.offerValidUntil && (n.clientState === 'OfferReceived' || n.clientState === 'OfferProcessing')) items.push({ label: 'Offer valid until', at: d.offerValidUntil });
  if (items.length === 0) return null;
  return (
    <ul className="space-y-0.5 text-sm text-slate-800">
      {items.map((i) => (
        <li key={i.label}>
          <Countdown label={i.label} deadline={i.at} serverNow={serverNow} />
        </li>
      ))}
    </ul>
  );
}

/** Before approval nothing has gone to the provider; say why. */
const NOT_SENT: Partial<Record<string, string>> = {
  Draft: 'Not sent (draft)',
  Created: 'Not sent: waiting for approval',
  Rejected: 'Not sent: the order was rejected',
};

function NegotiationCard({ payload, n }: { payload: OrderDetailPayload; n: NegotiationView }) {
  const order = payload.order;
  const kinds = kindsFor(payload, n.id);
  const parallel = order.negotiations.length > 1;
  const alarm = n.alarm ? (ALARM_LABELS[n.alarm] ?? { title: n.alarm, advice: 'Contact the provider.' }) : null;
  const openOffers = n.offers.filter((o) => o.decision === 'pending');
  const pastOffers = n.offers.filter((o) => o.decision !== 'pending');
  return (
    <article aria-labelledby={`neg-${n.id}`} className="min-w-0 space-y-3 rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
      <header>
        <h3 id={`neg-${n.id}`} className="text-base font-semibold">
          {n.provider.name}
        </h3>
        <p className="text-xs text-slate-600">
          {n.provider.transport.toUpperCase()} {n.provider.endpoint} · order {n.customerOrderId}
          {n.providerOrderId ? ` / provider order ${n.providerOrderId}` : ''}
        </p>
      </header>
      <p className="text-sm">
        <span className="font-medium">Status:</span> {NOT_SENT[order.state] ?? CLIENT_STATE_LABELS[n.clientState] ?? n.clientState}
        {n.cancelReason ? ` (${CANCEL_REASON_LABELS[n.cancelReason] ?? n.cancelReason})` : ''}
        {n.agreed && n.active ? ' · service active' : n.agreed && order.options.activationType === 'scheduled' ? ' · service not active' : ''}
      </p>
      {payload.heldAtProvider?.includes(n.id) && (
        <p role="status" className="rounded-md bg-sky-50 p-2 text-sm text-sky-900 ring-1 ring-sky-200">
          <span aria-hidden="true">◔ </span>
          Held for {n.provider.name}&apos;s administrator: a person at the provider validates the order before it answers (RFC 8921 8.2).
        </p>
      )}
      {n.reachability === 'unreachable' || n.reachability === 'retrying' ? (
        <p role="status" className="rounded-md bg-amber-50 p-2 text-sm text-amber-900 ring-1 ring-amber-300">
          <span aria-hidden="true">⚠ </span>
          <strong>Provider not reachable</strong>
          {n.reachability === 'retrying' ? ' — retrying' : ''}
          {n.lastError ? `: ${n.lastError}` : ''}
        </p>
      ) : null}
      {alarm && (
        <div role="alert" className="rounded-md bg-rose-50 p-3 text-sm text-rose-900 ring-1 ring-rose-300">
          <p className="font-semibold">
            <span aria-hidden="true">⚠ </span>Alarm: {alarm.title}
            {n.alarmAt ? ` (${formatTime(n.alarmAt)})` : ''}
          </p>
          <p>{alarm.advice}</p>
        </div>
      )}
      <Deadlines n={n} serverNow={payload.serverNow} />
      {openOffers.map((offer) => (
        <section key={offer.id} aria-label={`Offer from ${n.provider.name}`} className="space-y-2 rounded-md border border-sky-200 bg-sky-50/40 p-3">
          <h4 className="text-sm font-semibold">
            Offer (cycle {offer.cycle}) received {formatTime(offer.receivedAt)}
            {offer.price !== null && offer.price !== undefined ? ` · price ${formatPrice(offer.price)}` : ''}
          </h4>
          <OfferDiff
            requested={offer.updateRequest ?? order.requestedCpd}
            offered={offer.cpd}
            caption={offer.updateRequest ? `${n.provider.name}'s offer compared with your update request` : `${n.provider.name}'s offer compared with the request`}
          />
          <OfferActions orderId={order.id} offerId={offer.id} providerName={n.provider.name} parallel={parallel} kinds={kinds} />
        </section>
      ))}
      {pastOffers.length > 0 && (
        <details className="text-sm">
          <summary className="cursor-pointer">Earlier offers ({pastOffers.length})</summary>
          <ul className="mt-1 space-y-1">
            {pastOffers.map((o) => (
              <li key={o.id}>
                Cycle {o.cycle}, {formatTime(o.receivedAt)}: {o.decision}
              </li>
            ))}
          </ul>
        </details>
      )}
      {n.agreementCpd && (
        <details className="text-sm">
          <summary className="cursor-pointer font-medium">Agreed CPD</summary>
          <div className="mt-2">
            <CpdView cpd={n.agreementCpd} headingLevel={4} />
          </div>
        </details>
      )}
      <NegotiationActions orderId={order.id} negotiationId={n.id} kinds={kinds} />
    </article>
  );
}

function formatPrice(price: unknown): string {
  if (typeof price === 'object' && price !== null && 'amount' in price) {
    const p = price as { amount: unknown; currency?: unknown; period?: unknown };
    return `${String(p.amount)} ${p.currency ? String(p.currency) : ''}${p.period ? ` per ${String(p.period)}` : ''}`.trim();
  }
  return String(price);
}

export function OrderDetailView({ initial }: { initial: OrderDetailPayload }) {
  const { data, isFetching, error } = useOrderDetail(initial.order.id, initial);
  const order = data.order;
  const rejection = order.approvals.find((a) => a.decision === 'rejected');
  const cancelAll = data.actions.find((a) => a.kind === 'cancel');
  return (
    <div className="space-y-8">
      <header className="space-y-2">
        <p className="text-sm">
          <Link href="/orders" className="text-sky-800 underline">
            ← Orders
          </Link>
        </p>
        <div className="flex flex-wrap items-center gap-3">
          <h1 className="text-2xl font-bold tracking-tight">{order.title}</h1>
          <StateBadge state={order.state} />
          <span aria-live="polite" className="text-xs text-slate-500">
            {isFetching ? 'Refreshing…' : ''}
          </span>
        </div>
        <p className="text-sm text-slate-700">
          {order.organisation} · by {order.author.name || order.author.email} · created {formatTime(order.createdAt)}
          {order.negotiations.length > 1 ? ` · parallel negotiation with ${order.negotiations.length} providers (selection: ${order.selectionRule})` : ''}
        </p>
        {error && (
          <p role="alert" className="text-sm text-rose-800">
            Could not refresh: {error.message}
          </p>
        )}
        {rejection && (
          <div role="status" className="rounded-md bg-rose-50 p-3 text-sm text-rose-900 ring-1 ring-rose-300">
            <p className="font-semibold">Rejected by {rejection.approver} on {formatTime(rejection.at)}</p>
            <p>Reason: {rejection.reason}</p>
          </div>
        )}
        {!data.canAct && <p className="text-sm text-slate-600">Read-only view.</p>}
        {order.state === 'Created' && <p className="text-sm text-slate-700">Waiting for an administrator to approve the order before anything is sent.</p>}
        {data.order.pendingIntents.length > 0 && (
          <p role="status" className="text-sm text-indigo-900">
            <span aria-hidden="true">◔ </span>
            On its way: {data.order.pendingIntents.map((i) => INTENT_LABELS[i.kind as IntentKind] ?? i.kind).join(', ')}
          </p>
        )}
        {data.order.refusedIntents.length > 0 && (
          <ul className="text-sm text-rose-800">
            {data.order.refusedIntents.map((i) => (
              <li key={i.id}>
                {INTENT_LABELS[i.kind as IntentKind] ?? i.kind} was refused: {i.resultMessage ?? i.resultCode}
              </li>
            ))}
          </ul>
        )}
        <div className="flex flex-wrap gap-2 text-sm">
          {data.canAct && order.state === 'Draft' && (
            <Link className="rounded-md bg-sky-700 px-3 py-1.5 font-medium text-white" href={`/orders/new?draft=${encodeURIComponent(order.id)}`}>
              Edit draft
            </Link>
          )}
          {data.canAct && (
            <Link className="rounded-md px-3 py-1.5 font-medium text-sky-800 ring-1 ring-inset ring-slate-300" href={`/orders/new?clone=${encodeURIComponent(order.id)}`}>
              Clone order
            </Link>
          )}
          {cancelAll && cancelAll.negotiationIds.length > 1 && <CancelAll orderId={order.id} />}
        </div>
      </header>

      <section aria-labelledby="negotiations-heading" className="space-y-3">
        <h2 id="negotiations-heading" className="text-lg font-semibold">
          {order.negotiations.length > 1 ? 'Providers and offers' : 'Provider'}
        </h2>
        <div className={`grid gap-4 ${order.negotiations.length > 1 ? 'lg:grid-cols-2' : ''}`}>
          {order.negotiations.map((n) => (
            <NegotiationCard key={n.id} payload={data} n={n} />
          ))}
        </div>
      </section>

      <section aria-labelledby="request-heading" className="space-y-3">
        <h2 id="request-heading" className="text-lg font-semibold">
          Requested CPD
        </h2>
        <p className="text-sm text-slate-700">
          Expected response within {order.expectedResponseSeconds} s · purpose {order.options.purpose ?? 'production'} · activation{' '}
          {order.options.activationType ?? 'permanent'} · scope {order.options.scope ?? 'any'}
        </p>
        <CpdView cpd={order.requestedCpd} />
      </section>

      <section aria-labelledby="timeline-heading" className="space-y-3">
        <h2 id="timeline-heading" className="text-lg font-semibold">
          History
        </h2>
        <Timeline changes={order.timeline} />
      </section>
    </div>
  );
}

function CancelAll({ orderId }: { orderId: string }) {
  const m = useEnqueueIntent(orderId);
  return (
    <>
      <button
        type="button"
        className="rounded-md px-3 py-1.5 font-medium text-rose-800 ring-1 ring-inset ring-rose-300"
        disabled={m.isPending}
        onClick={() => m.mutate({ kind: 'cancel', payload: {} })}
      >
        Cancel with every provider
      </button>
      {m.data && !m.data.ok && <span role="status" className="text-rose-800">{m.data.message}</span>}
    </>
  );
}
