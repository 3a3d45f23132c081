import { Logo } from './Logo';

/** Top banner with the project mark; the portal has a single page for now. */
export function SiteHeader() {
  return (
    <header className="border-b border-slate-200 bg-white">
      <div className="mx-auto flex max-w-5xl flex-wrap items-center gap-x-3 gap-y-1 px-6 py-4">
        <Logo />
        <span className="text-lg font-semibold tracking-tight">CPNP</span>
        <span className="text-sm text-slate-500">Connectivity Provisioning Negotiation Protocol</span>
      </div>
    </header>
  );
}
