/**
 * The bell's server actions and read, as plain functions of (signed-in user or null, untrusted
 * input), like definitions.ts and queries.ts (kept apart so the notification feature merges on
 * its own). Tested in __tests__/notifications-authorization.test.ts.
 */
import 'server-only';
import { z } from 'zod';
import type { SessionUser } from '../auth/session';
import { listNotifications, markAllNotificationsRead, markNotificationRead, type NotificationList } from '../notifications/service';
import { fail, ok, type ServiceResult } from '../result';
import { SIGNED_OUT } from './definitions';

const markReadInput = z.object({ id: z.string().min(1).max(64) });

export const notificationHandlers = {
  list: async (user: SessionUser | null): Promise<ServiceResult<NotificationList>> => (user ? ok(await listNotifications(user)) : SIGNED_OUT),
  markRead: async (user: SessionUser | null, raw: unknown): Promise<ServiceResult<{ id: string }>> => {
    if (!user) return SIGNED_OUT;
    const parsed = markReadInput.safeParse(raw);
    if (!parsed.success) return fail('invalid', 'The request is not valid.');
    return markNotificationRead(user, parsed.data.id);
  },
  markAllRead: async (user: SessionUser | null): Promise<ServiceResult<{ marked: number }>> => (user ? markAllNotificationsRead(user) : SIGNED_OUT),
} as const;
