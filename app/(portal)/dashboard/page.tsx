import type { Metadata } from 'next';
import { DashboardCharts } from '@/components/history/DashboardCharts';
import { DashboardTables } from '@/components/history/DashboardTables';
import { Forbidden } from '@/components/history/Forbidden';
import { historyQueries } from '@/lib/portal/actions/history-queries';
import { requireUser } from '@/lib/portal/auth/session';

export const metadata: Metadata = { title: 'Dashboard — CPNP portal' };

export default async function DashboardPage({ searchParams }: { searchParams: Promise<{ from?: string; to?: string }> }) {
  const user = await requireUser('/dashboard');
  const result = await historyQueries.dashboard(user, await searchParams);
  if (!result.ok) return <Forbidden message={result.message} />;
  const d = result.value;
  const input = 'mt-1 block rounded-md border border-slate-400 bg-white px-2 py-1.5 text-sm';
  return (
    <section aria-labelledby="dashboard-heading" className="space-y-6">
      <div className="flex flex-wrap items-end justify-between gap-4">
        <div>
          <h1 id="dashboard-heading" className="text-2xl font-bold tracking-tight">
            Dashboard
          </h1>
          <p className="text-sm text-slate-700">
            Orders created from {d.fromDay} to {d.toDay} (UTC): {d.orders.toLocaleString('en')}.
          </p>
        </div>
        {/* A plain GET form: the period is in the URL, shareable, and Back works. */}
        <form method="get" aria-label="Period" className="flex flex-wrap items-end gap-3">
          <label className="text-sm font-medium">
            From
            <input type="date" name="from" defaultValue={d.fromDay} className={input} />
          </label>
          <label className="text-sm font-medium">
            To
            <input type="date" name="to" defaultValue={d.toDay} className={input} />
          </label>
          <button type="submit" className="rounded-md bg-sky-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-sky-800">
            Show period
          </button>
        </form>
      </div>
      <DashboardTables data={d} />
      <DashboardCharts data={d} />
    </section>
  );
}
