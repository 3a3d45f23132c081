import type { Metadata } from 'next';
import { redirect } from 'next/navigation';
import { Logo } from '@/components/Logo';
import { SignInForm } from '@/components/auth/SignInForm';
import { getUser } from '@/lib/portal/auth/session';

export const metadata: Metadata = { title: 'Sign in — CPNP portal' };
export const dynamic = 'force-dynamic';

/** Only same-site paths: `next` must not become an open redirect. */
function safeNext(value: string | undefined): string {
  return value && value.startsWith('/') && !value.startsWith('//') && !value.startsWith('/\\') ? value : '/orders';
}

export default async function SignInPage({ searchParams }: { searchParams: Promise<{ next?: string }> }) {
  const next = safeNext((await searchParams).next);
  if (await getUser()) redirect(next);
  return (
    <main className="flex min-h-screen items-center justify-center px-6">
      <div className="w-full max-w-sm space-y-6 rounded-lg border border-slate-200 bg-white p-8 shadow-sm">
        <div className="flex items-center gap-2">
          <Logo />
          <span className="text-lg font-semibold">CPNP portal</span>
        </div>
        <h1 className="text-2xl font-bold tracking-tight">Sign in</h1>
        <SignInForm next={next} />
      </div>
    </main>
  );
}
