import type { Metadata } from 'next';
import { NuqsAdapter } from 'nuqs/adapters/next/app';
import { HistoryView } from '@/components/history/HistoryView';
import { historyQueries } from '@/lib/portal/actions/history-queries';
import { requireUser } from '@/lib/portal/auth/session';
import { Forbidden } from '@/components/history/Forbidden';

export const metadata: Metadata = { title: 'Order history — CPNP portal' };

export default async function HistoryPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const user = await requireUser('/history');
  const result = await historyQueries.history(user, await searchParams);
  if (!result.ok) return <Forbidden message={result.message} />;
  const { page, options, exportQuery } = result.value;
  return (
    <NuqsAdapter>
      <HistoryView page={page} options={options} exportQuery={exportQuery} />
    </NuqsAdapter>
  );
}
