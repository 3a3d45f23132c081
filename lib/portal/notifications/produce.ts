/**
 * Writes notifications, always inside the caller's transaction (the change that causes them):
 * a rolled-back change notifies nobody, a committed one notifies exactly once. Each row carries
 * a dedupe key unique per user, so a retried engine step, a restart or a repeated sweep finds
 * the row already there and adds nothing. When mail is on (PORTAL_SMTP_URL), the same
 * transaction queues one MailOutbox row per new notification; the sender sends it after the
 * commit (mail-sender.ts). Framework-free (the engine host calls it).
 */
import type { Prisma } from '../db/client';
import type { NotificationKind } from './kinds';
import { mailSettingsFromEnv, portalBaseUrl } from './mail-config';

type Tx = Prisma.TransactionClient;

export interface NotificationDraft {
  kind: NotificationKind;
  orderId: string | null;
  title: string;
  body: string;
  /** What caused it; the same cause never notifies the same user twice. */
  dedupeKey: string;
}

/** "2026-12-04 23:47:51 UTC" for an instant (ms or an RFC 3339 text); the text itself if unparseable. */
export function humanTime(at: number | string): string {
  const ms = typeof at === 'number' ? at : Date.parse(at);
  if (!Number.isFinite(ms)) return String(at);
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}

/** The order's page, absolute (mails) or relative (the bell). */
export function orderPath(orderId: string): string {
  return `/orders/${encodeURIComponent(orderId)}`;
}

export function mailText(draft: NotificationDraft, baseUrl: string): string {
  const link = draft.orderId ? `\n\nOpen the order: ${baseUrl}${orderPath(draft.orderId)}` : '';
  return `${draft.body}${link}\n\nYour notifications: ${baseUrl}/notifications\n`;
}

export function mailSubject(draft: NotificationDraft): string {
  return `[CPNP portal] ${draft.title}`;
}

/**
 * Notifies each of `userIds` (duplicates ignored) unless they already have `draft.dedupeKey`.
 * Returns how many notifications were created.
 */
export async function notifyUsers(tx: Tx, userIds: Iterable<string>, draft: NotificationDraft, now: Date): Promise<number> {
  const mail = mailSettingsFromEnv();
  const baseUrl = mail?.baseUrl ?? portalBaseUrl();
  let created = 0;
  for (const userId of new Set(userIds)) {
    const existing = await tx.notification.findUnique({ where: { userId_dedupeKey: { userId, dedupeKey: draft.dedupeKey } }, select: { id: true } });
    if (existing) continue;
    const row = await tx.notification.create({
      data: { userId, kind: draft.kind, orderId: draft.orderId, title: draft.title.slice(0, 200), body: draft.body.slice(0, 2000), dedupeKey: draft.dedupeKey, createdAt: now },
      select: { id: true, user: { select: { email: true } } },
    });
    created++;
    if (mail && row.user.email) {
      await tx.mailOutbox.create({
        data: { notificationId: row.id, to: row.user.email, subject: mailSubject(draft).slice(0, 250), text: mailText(draft, baseUrl), nextAttemptAt: now, createdAt: now },
      });
    }
  }
  return created;
}

/** Every administrator: admins approve (and watch) the orders of every organisation. */
export async function adminIds(tx: Tx): Promise<string[]> {
  const rows = await tx.user.findMany({ where: { role: 'admin' }, select: { id: true } });
  return rows.map((r) => r.id);
}
