'use client';
import Link from 'next/link';
import { useProviderRegistry, useSetProviderEnabled, useTestProvider } from '@/lib/portal/client/registry-hooks';
import { formatTime } from '@/lib/portal/labels';
import type { ProviderView } from '@/lib/portal/providers/service';

const TRANSPORT_NAMES: Record<string, string> = { dtls: 'DTLS (PSK)', tls: 'TLS (certificates)', udp: 'UDP (loopback)' };
const ms = (v: number | null): string => (v === null ? '—' : `${v.toFixed(v < 10 ? 2 : 1)} ms`);

function Status({ check }: { check: ProviderView['lastCheck'] }) {
  if (!check) return <span className="text-slate-600">not checked yet</span>;
  return (
    <div className="space-y-0.5">
      <p className={check.ok ? 'font-medium text-emerald-800' : 'font-medium text-red-800'}>
        <span aria-hidden="true">{check.ok ? '✓ ' : '✗ '}</span>
        {check.ok ? 'OK' : 'Failed'}
        <span className="font-normal text-slate-700"> · {check.message}</span>
      </p>
      <p className="text-xs text-slate-600">
        handshake {ms(check.handshakeMs)} · round trip {ms(check.rttMs)} · <time dateTime={check.at}>{formatTime(check.at)}</time>
      </p>
    </div>
  );
}

function identityOf(p: ProviderView): string {
  if (p.transport === 'dtls') return `${p.pskIdentity ?? '—'}${p.pskKey === 'file' ? ' (key file)' : p.pskKey === 'sealed' ? ' (key encrypted)' : ' (no key)'}`;
  if (p.transport === 'tls') return `${p.tlsCertFile ?? '—'}${p.tlsKey === 'sealed' ? ' (key encrypted)' : ' (no key)'}`;
  return '—';
}

/** Test / edit / enable-disable for one provider, with the check's live state. */
function useProviderControls(p: ProviderView) {
  const test = useTestProvider();
  const toggle = useSetProviderEnabled();
  const error = (test.data && !test.data.ok ? test.data.message : undefined) ?? (toggle.data && !toggle.data.ok ? toggle.data.message : undefined) ?? test.error?.message ?? toggle.error?.message;
  const status = (
    <div aria-live="polite">
      {test.isPending ? <span className="text-slate-700">Testing…</span> : <Status check={p.lastCheck} />}
      {error ? (
        <p role="alert" className="mt-1 text-sm text-red-800">
          {error}
        </p>
      ) : null}
    </div>
  );
  const actions = (
    <div className="flex flex-wrap items-center gap-2">
      <button type="button" className="whitespace-nowrap rounded-md px-2 py-1 text-sm font-medium text-sky-800 ring-1 ring-inset ring-sky-300 hover:bg-sky-50 disabled:opacity-50" disabled={test.isPending} onClick={() => test.mutate(p.id)}>
        Test connection<span className="sr-only"> to {p.name}</span>
      </button>
      <Link href={`/providers/${p.id}`} className="rounded-md px-2 py-1 text-sm font-medium text-sky-800 hover:underline">
        Edit<span className="sr-only"> {p.name}</span>
      </Link>
      <button type="button" className="rounded-md px-2 py-1 text-sm font-medium text-slate-800 ring-1 ring-inset ring-slate-300 hover:bg-slate-100 disabled:opacity-50" disabled={toggle.isPending} onClick={() => toggle.mutate({ id: p.id, enabled: !p.enabled })}>
        {p.enabled ? 'Disable' : 'Enable'}
        <span className="sr-only"> {p.name}</span>
      </button>
    </div>
  );
  return { status, actions };
}

function Subline({ p }: { p: ProviderView }) {
  return (
    <span className="block text-xs font-normal text-slate-600">
      settings revision {p.revision}
      {p.openNegotiations > 0 ? ` · ${p.openNegotiations} negotiation${p.openNegotiations === 1 ? '' : 's'} open or in force` : ''}
    </span>
  );
}

const enabledText = (p: ProviderView) => (p.enabled ? 'Enabled' : <span className="font-medium text-amber-800">Disabled</span>);

function Row({ p }: { p: ProviderView }) {
  const { status, actions } = useProviderControls(p);
  return (
    <tr className="align-top">
      <th scope="row" className="px-3 py-3 text-left font-semibold">
        {p.name}
        <Subline p={p} />
      </th>
      <td className="px-3 py-3 font-mono text-xs whitespace-nowrap">{p.endpoint}</td>
      <td className="px-3 py-3 whitespace-nowrap">{TRANSPORT_NAMES[p.transport] ?? p.transport}</td>
      <td className="px-3 py-3 text-xs break-words">{identityOf(p)}</td>
      <td className="px-3 py-3">{enabledText(p)}</td>
      <td className="px-3 py-3 text-sm">{status}</td>
      <td className="px-3 py-3">{actions}</td>
    </tr>
  );
}

/** Phones: one card per provider instead of a seven-column table. */
function Card({ p }: { p: ProviderView }) {
  const { status, actions } = useProviderControls(p);
  return (
    <li className="space-y-2 rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
      <h2 className="font-semibold">
        {p.name}
        <Subline p={p} />
      </h2>
      <dl className="grid grid-cols-[6rem_1fr] gap-x-3 gap-y-1 text-sm">
        <dt className="text-slate-600">Endpoint</dt>
        <dd className="font-mono text-xs break-all">{p.endpoint}</dd>
        <dt className="text-slate-600">Transport</dt>
        <dd>{TRANSPORT_NAMES[p.transport] ?? p.transport}</dd>
        <dt className="text-slate-600">Identity</dt>
        <dd className="text-xs break-all">{identityOf(p)}</dd>
        <dt className="text-slate-600">Enabled</dt>
        <dd>{enabledText(p)}</dd>
        <dt className="text-slate-600">Last check</dt>
        <dd>{status}</dd>
      </dl>
      {actions}
    </li>
  );
}

/** The provider registry (admin): every provider with its last connection check. */
export function ProviderRegistry({ initial }: { initial: ProviderView[] }) {
  const { data } = useProviderRegistry(initial);
  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <p className="max-w-3xl text-sm text-slate-700">
          The Provider servers this portal negotiates with. Disabled providers are not offered for new orders; their open orders still finish. Keys are stored encrypted and never shown.
        </p>
        <Link href="/providers/new" className="inline-flex items-center rounded-md bg-sky-700 px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-sky-800 focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-500 focus-visible:ring-offset-2">
          Add provider
        </Link>
      </div>
      {data.length === 0 ? (
        <p className="rounded-lg border border-slate-200 bg-white p-4 text-sm">No provider yet. Add one to let customers order.</p>
      ) : (
        <>
        <ul className="space-y-3 lg:hidden">
          {data.map((p) => (
            <Card key={p.id} p={p} />
          ))}
        </ul>
        <div className="hidden overflow-x-auto rounded-lg border border-slate-200 bg-white shadow-sm lg:block">
          <table className="min-w-full divide-y divide-slate-200 text-sm">
            <caption className="sr-only">Provider servers</caption>
            <thead className="bg-slate-50 text-left text-xs font-semibold tracking-wide text-slate-700 uppercase">
              <tr>
                <th scope="col" className="px-3 py-2">Name</th>
                <th scope="col" className="px-3 py-2">Endpoint</th>
                <th scope="col" className="px-3 py-2">Transport</th>
                <th scope="col" className="px-3 py-2">Identity</th>
                <th scope="col" className="px-3 py-2">Enabled</th>
                <th scope="col" className="px-3 py-2">Status (last check)</th>
                <th scope="col" className="px-3 py-2">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody className="divide-y divide-slate-100">
              {data.map((p) => (
                <Row key={p.id} p={p} />
              ))}
            </tbody>
          </table>
        </div>
        </>
      )}
    </div>
  );
}
