import type { Metadata } from 'next';
import { NotificationList } from '@/components/portal/NotificationList';
import { requireUser } from '@/lib/portal/auth/session';
import { listNotifications } from '@/lib/portal/notifications/service';

export const metadata: Metadata = { title: 'Notifications — CPNP portal' };

export default async function NotificationsPage() {
  const user = await requireUser('/notifications');
  return <NotificationList initial={await listNotifications(user)} />;
}
