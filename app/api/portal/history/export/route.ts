import { historyQueries } from '@/lib/portal/actions/history-queries';
import { respond } from '@/lib/portal/actions/respond';
import { getUser } from '@/lib/portal/auth/session';

/** CSV of every order matching the history filter in the query string (streamed). */
export async function GET(request: Request) {
  const user = await getUser();
  const result = await historyQueries.exportCsv(user, new URL(request.url).searchParams);
  if (!result.ok) return respond(result, user !== null);
  const stamp = new Date().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
  return new Response(result.value, {
    headers: {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="cpnp-orders-${stamp}.csv"`,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    },
  });
}
