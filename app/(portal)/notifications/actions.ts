'use server';
// The bell's server actions: the session's user + lib/portal/actions/notifications.ts.
import { notificationHandlers } from '@/lib/portal/actions/notifications';
import { getUser } from '@/lib/portal/auth/session';

export async function markNotificationReadAction(input: unknown) {
  return notificationHandlers.markRead(await getUser(), input);
}

export async function markAllNotificationsReadAction() {
  return notificationHandlers.markAllRead(await getUser());
}
