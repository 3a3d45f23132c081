'use client';
/**
 * React Query hooks of the bell and the notifications page (keys from ../query-keys.ts). The
 * list polls: notifications are written by the engine host and other users' actions.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { markAllNotificationsReadAction, markNotificationReadAction } from '@/app/(portal)/notifications/actions';
import type { NotificationList } from '../notifications/service';
import { notificationKeys } from '../query-keys';
import type { ServiceResult } from '../result';

export const NOTIFICATION_POLL_MS = 10_000;

async function fetchNotifications(): Promise<NotificationList> {
  const response = await fetch('/api/portal/notifications', { headers: { accept: 'application/json' }, cache: 'no-store' });
  const body = (await response.json().catch(() => null)) as ServiceResult<NotificationList> | null;
  if (!body) throw new Error(`The server answered ${response.status}.`);
  if (!body.ok) throw new Error(body.message);
  return body.value;
}

export function useNotifications(initialData?: NotificationList) {
  return useQuery({
    queryKey: notificationKeys.list(),
    queryFn: fetchNotifications,
    ...(initialData ? { initialData } : {}),
    refetchInterval: NOTIFICATION_POLL_MS,
  });
}

export function useMarkNotificationRead() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => markNotificationReadAction({ id }),
    onSettled: () => client.invalidateQueries({ queryKey: notificationKeys.all }),
  });
}

export function useMarkAllNotificationsRead() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => markAllNotificationsReadAction(),
    onSettled: () => client.invalidateQueries({ queryKey: notificationKeys.all }),
  });
}
