import type { Dashboard } from '@/lib/portal/dashboard/service';
import { ORDER_STATE_LABELS } from '@/lib/portal/labels';

const pct = (r: number | null) => (r === null ? '—' : `${(r * 100).toFixed(1)} %`);
const mbps = (v: number | null) => (v === null ? '—' : `${v.toFixed(0)} Mbit/s`);

/** Duration in words: "4 min 12 s". */
export function formatDuration(ms: number | null): string {
  if (ms === null) return '—';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** The dashboard's numbers as tables (the accessible form of the charts). */
export function DashboardTables({ data }: { data: Dashboard }) {
  const th = 'px-3 py-2';
  return (
    <div className="grid gap-4 lg:grid-cols-3">
      <dl className="grid grid-cols-3 gap-3 rounded-lg border border-slate-200 bg-white p-4 shadow-sm lg:col-span-3">
        <div>
          <dt className="text-xs uppercase text-slate-700">Finished negotiations</dt>
          <dd className="text-2xl font-semibold">{data.duration.finished.toLocaleString('en')}</dd>
        </div>
        <div>
          <dt className="text-xs uppercase text-slate-700">Negotiation duration p50</dt>
          <dd className="text-2xl font-semibold">{formatDuration(data.duration.p50Ms)}</dd>
        </div>
        <div>
          <dt className="text-xs uppercase text-slate-700">Negotiation duration p95</dt>
          <dd className="text-2xl font-semibold">{formatDuration(data.duration.p95Ms)}</dd>
        </div>
      </dl>
      <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white shadow-sm">
        <table className="w-full text-left text-sm">
          <caption className="px-3 pt-3 text-left text-sm font-semibold">Orders by state</caption>
          <thead className="border-b border-slate-200 bg-slate-50 text-xs uppercase text-slate-700">
            <tr>
              <th scope="col" className={th}>State</th>
              <th scope="col" className={`${th} text-right`}>Orders</th>
            </tr>
          </thead>
          <tbody>
            {data.byState.map((s) => (
              <tr key={s.state} className="border-b border-slate-100 last:border-0">
                <th scope="row" className={`${th} font-normal`}>{ORDER_STATE_LABELS[s.state].label}</th>
                <td className={`${th} text-right tabular-nums`}>{s.count.toLocaleString('en')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white shadow-sm lg:col-span-2">
        <table className="w-full text-left text-sm">
          <caption className="px-3 pt-3 text-left text-sm font-semibold">Per provider</caption>
          <thead className="border-b border-slate-200 bg-slate-50 text-xs uppercase text-slate-700">
            <tr>
              <th scope="col" className={th}>Provider</th>
              <th scope="col" className={`${th} text-right`}>Negotiations</th>
              <th scope="col" className={`${th} text-right`}>With offer</th>
              <th scope="col" className={`${th} text-right`}>Agreed</th>
              <th scope="col" className={`${th} text-right`}>Acceptance</th>
              <th scope="col" className={`${th} text-right`}>Requested (avg)</th>
              <th scope="col" className={`${th} text-right`}>Offered (avg)</th>
            </tr>
          </thead>
          <tbody>
            {data.providers.length === 0 && (
              <tr>
                <td colSpan={7} className={th}>No negotiation in this period.</td>
              </tr>
            )}
            {data.providers.map((p) => (
              <tr key={p.provider} className="border-b border-slate-100 last:border-0">
                <th scope="row" className={`${th} font-normal`}>{p.provider}</th>
                <td className={`${th} text-right tabular-nums`}>{p.negotiations.toLocaleString('en')}</td>
                <td className={`${th} text-right tabular-nums`}>{p.offered.toLocaleString('en')}</td>
                <td className={`${th} text-right tabular-nums`}>{p.agreed.toLocaleString('en')}</td>
                <td className={`${th} text-right tabular-nums`}>{pct(p.acceptanceRate)}</td>
                <td className={`${th} text-right tabular-nums`}>{mbps(p.avgRequestedMbps)}</td>
                <td className={`${th} text-right tabular-nums`}>{mbps(p.avgOfferedMbps)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
