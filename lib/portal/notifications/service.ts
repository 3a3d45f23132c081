/**
 * The bell's reads and writes: a user sees and marks only their own notifications (every query
 * is scoped by userId; someone else's id answers "not found", exactly like a missing one).
 */
import 'server-only';
import type { SessionUser } from '../auth/session';
import { portalDb } from '../db/client';
import { isOneOf } from '../db/types';
import { fail, ok, type ServiceResult } from '../result';
import { NOTIFICATION_KINDS, type NotificationKind } from './kinds';

export interface NotificationItem {
  id: string;
  kind: NotificationKind;
  orderId: string | null;
  title: string;
  body: string;
  createdAt: string;
  readAt: string | null;
}

export interface NotificationList {
  items: NotificationItem[];
  unread: number;
}

export const NOTIFICATION_PAGE = 50;

export async function listNotifications(user: SessionUser, limit = NOTIFICATION_PAGE): Promise<NotificationList> {
  const db = portalDb();
  const [rows, unread] = await Promise.all([
    db.notification.findMany({
      where: { userId: user.id },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: Math.min(Math.max(1, limit), 200),
      select: { id: true, kind: true, orderId: true, title: true, body: true, createdAt: true, readAt: true },
    }),
    unreadCount(user),
  ]);
  return {
    unread,
    items: rows.map((n) => ({
      id: n.id,
      kind: isOneOf(NOTIFICATION_KINDS, n.kind) ? n.kind : 'alarm',
      orderId: n.orderId,
      title: n.title,
      body: n.body,
      createdAt: n.createdAt.toISOString(),
      readAt: n.readAt?.toISOString() ?? null,
    })),
  };
}

export function unreadCount(user: SessionUser): Promise<number> {
  return portalDb().notification.count({ where: { userId: user.id, readAt: null } });
}

export async function markNotificationRead(user: SessionUser, id: string): Promise<ServiceResult<{ id: string }>> {
  const db = portalDb();
  const updated = await db.notification.updateMany({ where: { id, userId: user.id, readAt: null }, data: { readAt: new Date() } });
  if (updated.count === 1) return ok({ id });
  // Already read is fine; someone else's or a missing one is "not found".
  const mine = await db.notification.findFirst({ where: { id, userId: user.id }, select: { id: true } });
  return mine ? ok({ id }) : fail('not-found', 'No such notification.');
}

export async function markAllNotificationsRead(user: SessionUser): Promise<ServiceResult<{ marked: number }>> {
  const updated = await portalDb().notification.updateMany({ where: { userId: user.id, readAt: null }, data: { readAt: new Date() } });
  return ok({ marked: updated.count });
}
