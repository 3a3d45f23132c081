'use client';
import Link from 'next/link';
import { useNotifications } from '@/lib/portal/client/notification-hooks';

/** The bell in the nav: a link to /notifications whose name says how many are unread. */
export function NotificationBell() {
  const { data } = useNotifications();
  const unread = data?.unread ?? 0;
  const shown = unread > 99 ? '99+' : String(unread);
  return (
    <Link
      href="/notifications"
      aria-label={unread > 0 ? `Notifications, ${unread} unread` : 'Notifications'}
      className="relative inline-flex h-9 w-9 shrink-0 items-center justify-center rounded-md text-slate-800 ring-1 ring-inset ring-slate-300 hover:bg-slate-100"
    >
      <svg aria-hidden="true" viewBox="0 0 24 24" className="h-5 w-5" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round">
        <path d="M18 8a6 6 0 0 0-12 0c0 7-3 9-3 9h18s-3-2-3-9" />
        <path d="M13.73 21a2 2 0 0 1-3.46 0" />
      </svg>
      {unread > 0 && (
        <span aria-hidden="true" className="absolute -right-1.5 -top-1.5 min-w-5 rounded-full bg-rose-700 px-1 text-center text-xs font-semibold leading-5 text-white">
          {shown}
        </span>
      )}
    </Link>
  );
}
