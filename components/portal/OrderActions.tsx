'use client';
import { useState } from 'react';
import { DECLINE_REASON_DESCRIPTIONS } from '@/lib/cpnp/decline-reason';
import { useEnqueueIntent } from '@/lib/portal/client/hooks';
import type { IntentKind } from '@/lib/portal/db/types';
import { INTENT_LABELS } from '@/lib/portal/labels';

type Kind = Exclude<IntentKind, 'approve'>;

/** The outcome of the last action, announced to screen readers. */
function Outcome({ result }: { result: { ok: boolean; message?: string } | undefined }) {
  if (!result) return null;
  return (
    <p role="status" className={`text-sm ${result.ok ? 'text-emerald-800' : 'text-rose-800'}`}>
      {result.ok ? 'Queued: the portal is sending it to the provider.' : result.message}
    </p>
  );
}

const BUTTON = 'rounded-md px-3 py-1.5 text-sm font-medium shadow-sm focus-visible:outline-2 focus-visible:outline-offset-2 disabled:opacity-50';
const PRIMARY = `${BUTTON} bg-sky-700 text-white hover:bg-sky-800 focus-visible:outline-sky-700`;
const SECONDARY = `${BUTTON} bg-white text-slate-900 ring-1 ring-inset ring-slate-300 hover:bg-slate-50 focus-visible:outline-slate-500`;
const DANGER = `${BUTTON} bg-white text-rose-800 ring-1 ring-inset ring-rose-300 hover:bg-rose-50 focus-visible:outline-rose-600`;

/** Accept / choose / decline an offer. */
export function OfferActions({ orderId, offerId, providerName, parallel, kinds }: { orderId: string; offerId: string; providerName: string; parallel: boolean; kinds: Kind[] }) {
  const m = useEnqueueIntent(orderId);
  const [declining, setDeclining] = useState(false);
  const [reasons, setReasons] = useState<number[]>([1]);
  const acceptKind: Kind | undefined = parallel && kinds.includes('choose-offer') ? 'choose-offer' : kinds.includes('accept') ? 'accept' : undefined;
  return (
    <div className="space-y-2">
      <div className="flex flex-wrap gap-2">
        {acceptKind && (
          <button type="button" className={PRIMARY} disabled={m.isPending} onClick={() => m.mutate({ kind: acceptKind, payload: { offerId } })}>
            {acceptKind === 'choose-offer' ? `Choose ${providerName}'s offer` : `Accept ${providerName}'s offer`}
          </button>
        )}
        {kinds.includes('decline') && !declining && (
          <button type="button" className={DANGER} onClick={() => setDeclining(true)}>
            Decline…
          </button>
        )}
      </div>
      {declining && (
        <form
          className="space-y-2 rounded-md border border-rose-200 bg-rose-50/50 p-3"
          onSubmit={(e) => {
            e.preventDefault();
            m.mutate({ kind: 'decline', payload: { offerId, reasons } });
          }}
        >
          <fieldset>
            <legend className="text-sm font-medium">Why decline {providerName}&apos;s offer? (RFC 8921 Table 3)</legend>
            {Object.entries(DECLINE_REASON_DESCRIPTIONS).map(([code, text]) => (
              <label key={code} className="mt-1 flex items-center gap-2 text-sm">
                <input
                  type="checkbox"
                  checked={reasons.includes(Number(code))}
                  onChange={(e) => setReasons((r) => (e.target.checked ? [...r, Number(code)] : r.filter((x) => x !== Number(code))))}
                />
                {text}
              </label>
            ))}
          </fieldset>
          <div className="flex gap-2">
            <button type="submit" className={DANGER} disabled={m.isPending || reasons.length === 0}>
              Decline offer
            </button>
            <button type="button" className={SECONDARY} onClick={() => setDeclining(false)}>
              Keep it
            </button>
          </div>
        </form>
      )}
      <Outcome result={m.data} />
    </div>
  );
}

/** Actions on one provider's negotiation (cancel, withdraw, activate, more time...). */
export function NegotiationActions({ orderId, negotiationId, kinds }: { orderId: string; negotiationId: string; kinds: Kind[] }) {
  const m = useEnqueueIntent(orderId);
  const [at, setAt] = useState('');
  const simple: Kind[] = ['grant-time', 'deny-time', 'withdraw', 'deactivate', 'cancel'];
  const shown = kinds.filter((k) => simple.includes(k) || k === 'activate' || k === 'update');
  if (shown.length === 0) return null;
  return (
    <div className="space-y-2">
      <div className="flex flex-wrap items-end gap-2">
        {shown.includes('grant-time') && (
          <button type="button" className={PRIMARY} disabled={m.isPending} onClick={() => m.mutate({ kind: 'grant-time', payload: { negotiationId } })}>
            Grant more time
          </button>
        )}
        {shown.includes('deny-time') && (
          <button type="button" className={DANGER} disabled={m.isPending} onClick={() => m.mutate({ kind: 'deny-time', payload: { negotiationId } })}>
            Deny more time
          </button>
        )}
        {shown.includes('activate') && (
          <form
            className="flex flex-wrap items-end gap-2"
            onSubmit={(e) => {
              e.preventDefault();
              const when = at ? new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z') : undefined;
              m.mutate({ kind: 'activate', payload: when ? { negotiationId, at: when } : { negotiationId } });
            }}
          >
            <label className="text-sm">
              <span className="block font-medium">Activate at (empty: now)</span>
              <input type="datetime-local" value={at} onChange={(e) => setAt(e.target.value)} className="rounded-md border border-slate-300 px-2 py-1" />
            </label>
            <button type="submit" className={PRIMARY} disabled={m.isPending}>
              {at ? 'Schedule activation' : 'Activate now'}
            </button>
          </form>
        )}
        {shown.includes('deactivate') && (
          <button type="button" className={SECONDARY} disabled={m.isPending} onClick={() => m.mutate({ kind: 'deactivate', payload: { negotiationId } })}>
            Deactivate
          </button>
        )}
        {shown.includes('update') && (
          <a className={SECONDARY} href={`/orders/new?update=${encodeURIComponent(orderId)}&negotiation=${encodeURIComponent(negotiationId)}`}>
            {INTENT_LABELS.update}…
          </a>
        )}
        {shown.includes('withdraw') && (
          <button
            type="button"
            className={DANGER}
            disabled={m.isPending}
            onClick={() => {
              if (window.confirm('Withdraw the agreement? The provider tears the service down.')) m.mutate({ kind: 'withdraw', payload: { negotiationId } });
            }}
          >
            Withdraw agreement
          </button>
        )}
        {shown.includes('cancel') && (
          <button type="button" className={DANGER} disabled={m.isPending} onClick={() => m.mutate({ kind: 'cancel', payload: { negotiationId } })}>
            Cancel with this provider
          </button>
        )}
      </div>
      <Outcome result={m.data} />
    </div>
  );
}
