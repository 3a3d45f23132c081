import { notificationHandlers } from '@/lib/portal/actions/notifications';
import { respond } from '@/lib/portal/actions/respond';
import { getUser } from '@/lib/portal/auth/session';

export async function GET() {
  const user = await getUser();
  return respond(await notificationHandlers.list(user), user !== null);
}
