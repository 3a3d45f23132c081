'use client';
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { Dashboard } from '@/lib/portal/dashboard/service';
import { ORDER_STATE_LABELS } from '@/lib/portal/labels';

/** The dashboard's charts (recharts renders in the browser); the same numbers are in tables beside them. */
export function DashboardCharts({ data }: { data: Dashboard }) {
  const states = data.byState.map((s) => ({ name: ORDER_STATE_LABELS[s.state].label, orders: s.count }));
  const providers = data.providers.map((p) => ({
    name: p.provider,
    acceptance: p.acceptanceRate === null ? 0 : Math.round(p.acceptanceRate * 1000) / 10,
    requested: p.avgRequestedMbps === null ? 0 : Math.round(p.avgRequestedMbps),
    offered: p.avgOfferedMbps === null ? 0 : Math.round(p.avgOfferedMbps),
  }));
  return (
    <div className="grid gap-4 lg:grid-cols-2">
      <figure className="rounded-lg border border-slate-200 bg-white p-3 shadow-sm lg:col-span-2" aria-label="Chart: orders by state">
        <figcaption className="mb-2 text-sm font-semibold">Orders by state</figcaption>
        <div aria-hidden="true" className="h-72">
          <ResponsiveContainer width="100%" height="100%">
            <BarChart accessibilityLayer={false} data={states} margin={{ top: 4, right: 8, bottom: 8, left: 0 }}>
              <CartesianGrid strokeDasharray="3 3" vertical={false} />
              <XAxis dataKey="name" interval={0} angle={-40} textAnchor="end" height={70} tick={{ fontSize: 11, fill: '#334155' }} />
              <YAxis allowDecimals={false} tick={{ fontSize: 12, fill: '#334155' }} />
              <Tooltip />
              <Bar dataKey="orders" name="Orders" fill="#0369a1" isAnimationActive={false} />
            </BarChart>
          </ResponsiveContainer>
        </div>
      </figure>
      <figure className="rounded-lg border border-slate-200 bg-white p-3 shadow-sm" aria-label="Chart: acceptance rate per provider">
        <figcaption className="mb-2 text-sm font-semibold">Acceptance rate per provider (%)</figcaption>
        <div aria-hidden="true" className="h-56">
          <ResponsiveContainer width="100%" height="100%">
            <BarChart accessibilityLayer={false} data={providers} margin={{ top: 4, right: 8, bottom: 4, left: 0 }}>
              <CartesianGrid strokeDasharray="3 3" vertical={false} />
              <XAxis dataKey="name" tick={{ fontSize: 12, fill: '#334155' }} />
              <YAxis domain={[0, 100]} tick={{ fontSize: 12, fill: '#334155' }} />
              <Tooltip />
              <Bar dataKey="acceptance" name="Accepted %" fill="#15803d" isAnimationActive={false} />
            </BarChart>
          </ResponsiveContainer>
        </div>
      </figure>
      <figure className="rounded-lg border border-slate-200 bg-white p-3 shadow-sm" aria-label="Chart: average requested and offered capacity per provider">
        <figcaption className="mb-2 text-sm font-semibold">Average capacity, requested vs offered (Mbit/s)</figcaption>
        <div aria-hidden="true" className="h-56">
          <ResponsiveContainer width="100%" height="100%">
            <BarChart accessibilityLayer={false} data={providers} margin={{ top: 4, right: 8, bottom: 4, left: 0 }}>
              <CartesianGrid strokeDasharray="3 3" vertical={false} />
              <XAxis dataKey="name" tick={{ fontSize: 12, fill: '#334155' }} />
              <YAxis tick={{ fontSize: 12, fill: '#334155' }} />
              <Tooltip />
              <Legend />
              <Bar dataKey="requested" name="Requested" fill="#64748b" isAnimationActive={false} />
              <Bar dataKey="offered" name="Offered" fill="#0369a1" isAnimationActive={false} />
            </BarChart>
          </ResponsiveContainer>
        </div>
      </figure>
    </div>
  );
}
