import type { Metadata } from 'next';
import { notFound } from 'next/navigation';
import { ProviderRegistry } from '@/components/portal/ProviderRegistry';
import { queryHandlers } from '@/lib/portal/actions/queries';
import { requireUser } from '@/lib/portal/auth/session';

export const metadata: Metadata = { title: 'Providers — CPNP portal' };

export default async function ProvidersPage() {
  const user = await requireUser('/providers');
  const result = await queryHandlers.providers(user);
  if (!result.ok) notFound(); // only administrators have this page
  return (
    <div className="space-y-4">
      <h1 className="text-2xl font-semibold tracking-tight">Providers</h1>
      <ProviderRegistry initial={result.value} />
    </div>
  );
}
