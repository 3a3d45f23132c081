'use client';
import Link from 'next/link';
import { useMarkAllNotificationsRead, useMarkNotificationRead, useNotifications } from '@/lib/portal/client/notification-hooks';
import { NOTIFICATION_KIND_LABELS } from '@/lib/portal/notifications/kinds';
import type { NotificationItem, NotificationList as List } from '@/lib/portal/notifications/service';
import { formatTime } from '@/lib/portal/labels';

const KIND_TONE: Record<NotificationItem['kind'], string> = {
  'waiting-approval': 'bg-amber-100 text-amber-900',
  approved: 'bg-emerald-100 text-emerald-900',
  rejected: 'bg-rose-100 text-rose-900',
  offer: 'bg-sky-100 text-sky-900',
  'more-time': 'bg-amber-100 text-amber-900',
  deadline: 'bg-amber-100 text-amber-900',
  agreed: 'bg-emerald-100 text-emerald-900',
  alarm: 'bg-rose-100 text-rose-900',
};

function Row({ n }: { n: NotificationItem }) {
  const mark = useMarkNotificationRead();
  const unread = n.readAt === null && !(mark.isSuccess || mark.isPending);
  return (
    <li className={`flex flex-col gap-2 rounded-lg border p-4 sm:flex-row sm:items-start sm:justify-between ${unread ? 'border-sky-300 bg-sky-50' : 'border-slate-200 bg-white'}`}>
      <div className="min-w-0 space-y-1">
        <p className="flex flex-wrap items-center gap-2 text-xs">
          {unread && (
            <span className="inline-flex items-center gap-1 font-semibold text-sky-900">
              <span aria-hidden="true" className="h-2 w-2 rounded-full bg-sky-700" />
              Unread
            </span>
          )}
          <span className={`rounded px-1.5 py-0.5 font-medium ${KIND_TONE[n.kind]}`}>{NOTIFICATION_KIND_LABELS[n.kind]}</span>
          <time dateTime={n.createdAt} className="text-slate-700">
            {formatTime(n.createdAt)}
          </time>
        </p>
        <h2 className="font-semibold break-words">
          {n.orderId ? (
            <Link href={`/orders/${encodeURIComponent(n.orderId)}`} className="text-sky-800 underline-offset-2 hover:underline" onClick={() => unread && mark.mutate(n.id)}>
              {n.title}
            </Link>
          ) : (
            n.title
          )}
        </h2>
        <p className="text-sm break-words text-slate-800">{n.body}</p>
      </div>
      {unread && (
        <button
          type="button"
          aria-label={`Mark read: ${n.title}`}
          onClick={() => mark.mutate(n.id)}
          className="shrink-0 self-start rounded-md bg-white px-2 py-1 text-sm font-medium text-slate-800 ring-1 ring-inset ring-slate-300 hover:bg-slate-100"
        >
          Mark read
        </button>
      )}
    </li>
  );
}

/** The notifications page: newest first, unread highlighted, mark one or all read. */
export function NotificationList({ initial }: { initial: List }) {
  const { data, isFetching } = useNotifications(initial);
  const markAll = useMarkAllNotificationsRead();
  const list = data ?? initial;
  return (
    <section aria-labelledby="notifications-heading" className="space-y-4">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <h1 id="notifications-heading" className="text-2xl font-semibold tracking-tight">
          Notifications
        </h1>
        <div className="flex items-center gap-3 text-sm">
          <p aria-live="polite" className="text-slate-700">
            {list.unread === 0 ? 'All read' : `${list.unread} unread`}
            {isFetching ? ' · updating…' : ''}
          </p>
          <button
            type="button"
            disabled={list.unread === 0 || markAll.isPending}
            onClick={() => markAll.mutate()}
            className="rounded-md bg-sky-800 px-3 py-1.5 font-medium text-white hover:bg-sky-900 disabled:bg-slate-300 disabled:text-slate-700"
          >
            {markAll.isPending ? 'Marking…' : 'Mark all read'}
          </button>
        </div>
      </div>
      {list.items.length === 0 ? (
        <p className="rounded-lg border border-dashed border-slate-300 p-6 text-slate-700">
          Nothing yet. Orders waiting for approval, decisions, offers, requests for more time, deadlines, agreements and alarms appear here.
        </p>
      ) : (
        <ul className="space-y-3">
          {list.items.map((n) => (
            <Row key={n.id} n={n} />
          ))}
        </ul>
      )}
    </section>
  );
}
