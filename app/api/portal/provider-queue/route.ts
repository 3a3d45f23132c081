import { providerQueueHandlers } from '@/lib/portal/actions/provider-queue';
import { respond } from '@/lib/portal/actions/respond';
import { getUser } from '@/lib/portal/auth/session';

export async function GET() {
  const user = await getUser();
  return respond(await providerQueueHandlers.queues(user), user !== null);
}
