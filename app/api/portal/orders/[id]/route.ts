import { queryHandlers } from '@/lib/portal/actions/queries';
import { respond } from '@/lib/portal/actions/respond';
import { getUser } from '@/lib/portal/auth/session';

export async function GET(_request: Request, { params }: { params: Promise<{ id: string }> }) {
  const user = await getUser();
  return respond(await queryHandlers.order(user, (await params).id), user !== null);
}
