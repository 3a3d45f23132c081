import { queryHandlers } from '@/lib/portal/actions/queries';
import { respond } from '@/lib/portal/actions/respond';
import { getUser } from '@/lib/portal/auth/session';

export async function GET() {
  const user = await getUser();
  return respond(await queryHandlers.providers(user), user !== null);
}
