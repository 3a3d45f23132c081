'use client';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { authClient } from '@/lib/portal/client/auth-client';

/**
 * Email + password sign-in through better-auth's endpoint (/api/auth/sign-in/email), so its
 * Origin check and sign-in rate limit apply. The email stays filled in after an error.
 */
export function SignInForm({ next }: { next: string }) {
  const router = useRouter();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <form
      className="space-y-4"
      noValidate
      onSubmit={async (e) => {
        e.preventDefault();
        setBusy(true);
        setError(null);
        const { error: failure } = await authClient.signIn.email({ email, password });
        if (failure) {
          setBusy(false);
          setPassword('');
          setError(failure.status === 429 ? 'Too many attempts. Wait a minute, then try again.' : 'Wrong email or password.');
          return;
        }
        router.replace(next);
        router.refresh();
      }}
    >
      {error && (
        <p role="alert" id="sign-in-error" className="rounded-md bg-rose-50 p-2 text-sm text-rose-900 ring-1 ring-rose-300">
          {error}
        </p>
      )}
      <div className="space-y-1">
        <label htmlFor="email" className="block text-sm font-medium">
          Email
        </label>
        <input
          id="email"
          name="email"
          type="email"
          autoComplete="username"
          required
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          aria-describedby={error ? 'sign-in-error' : undefined}
          className="w-full rounded-md border border-slate-300 px-3 py-2"
        />
      </div>
      <div className="space-y-1">
        <label htmlFor="password" className="block text-sm font-medium">
          Password
        </label>
        <input
          id="password"
          name="password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          className="w-full rounded-md border border-slate-300 px-3 py-2"
        />
      </div>
      <button type="submit" disabled={busy} className="w-full rounded-md bg-sky-700 px-3 py-2 font-medium text-white hover:bg-sky-800 disabled:opacity-60">
        {busy ? 'Signing in…' : 'Sign in'}
      </button>
    </form>
  );
}
