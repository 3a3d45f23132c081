import Link from 'next/link';
import { Logo } from '@/components/Logo';
import type { SessionUser } from '@/lib/portal/auth/session';
import { NotificationBell } from './NotificationBell';
import { SignOutButton } from './SignOutButton';

const ROLE_NAMES = { customer: 'Customer', admin: 'Administrator', staff: 'Provider staff' } as const;

/** Top navigation; links depend on the role (customers order, admins approve, staff read). */
export function PortalNav({ user, organisation }: { user: SessionUser; organisation: string }) {
  const links = [
    { href: '/orders', label: 'Orders' },
    ...(user.role === 'customer' ? [{ href: '/orders/new', label: 'New order' }] : []),
    ...(user.role === 'admin' ? [{ href: '/approvals', label: 'Approvals' }] : []),
    ...(user.role === 'admin' ? [{ href: '/providers', label: 'Providers' }] : []),
    ...(user.role !== 'customer'
      ? [
          { href: '/history', label: 'History' },
          { href: '/dashboard', label: 'Dashboard' },
          { href: '/provider-queue', label: 'Provider validation' },
        ]
      : []),
  ];
  return (
    <header className="border-b border-slate-200 bg-white">
      <div className="mx-auto flex max-w-6xl flex-wrap items-center gap-x-6 gap-y-2 px-6 py-3">
        <Link href="/orders" className="flex items-center gap-2">
          <Logo />
          <span className="text-lg font-semibold tracking-tight">CPNP portal</span>
        </Link>
        <nav aria-label="Portal">
          <ul className="flex flex-wrap gap-x-4 gap-y-1 text-sm font-medium">
            {links.map((l) => (
              <li key={l.href}>
                <Link href={l.href} className="text-sky-800 hover:underline">
                  {l.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div className="ml-auto flex items-center gap-3 text-sm">
          {/* Two short lines rather than one long one: the admin's six links and this block fit one row. */}
          <span className="flex flex-col text-right leading-tight">
            <span className="font-medium">{user.name || user.email}</span>
            <span className="text-xs text-slate-600">
              <span className="sr-only"> · </span>
              {ROLE_NAMES[user.role]}, {organisation}
            </span>
          </span>
          <NotificationBell />
          <SignOutButton />
        </div>
      </div>
    </header>
  );
}
