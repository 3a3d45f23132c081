import { queryHandlers } from '@/lib/portal/actions/queries';
import { respond } from '@/lib/portal/actions/respond';
import { getUser } from '@/lib/portal/auth/session';

export async function GET(request: Request) {
  const user = await getUser();
  return respond(await queryHandlers.orders(user, new URL(request.url).searchParams.get('page')), user !== null);
}
