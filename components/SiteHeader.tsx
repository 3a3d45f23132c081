import Link from 'next/link';
import { Logo } from './Logo';

/** Top banner of the public landing page, with the way into the portal. */
export function SiteHeader() {
  return (
    <header className="border-b border-slate-200 bg-white">
      <div className="mx-auto flex max-w-5xl flex-wrap items-center gap-x-3 gap-y-1 px-6 py-4">
        <Logo />
        <span className="text-lg font-semibold tracking-tight">CPNP</span>
        <span className="text-sm text-slate-500">Connectivity Provisioning Negotiation Protocol</span>
        <Link href="/orders" className="ml-auto rounded-md bg-sky-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-sky-800">
          Sign in to the portal
        </Link>
      </div>
    </header>
  );
}
