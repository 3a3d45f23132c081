import type { Metadata } from 'next';
import { notFound } from 'next/navigation';
import { ProviderForm } from '@/components/portal/ProviderForm';
import { requireUser } from '@/lib/portal/auth/session';
import { saveProviderForm } from '../actions';

export const metadata: Metadata = { title: 'Add a provider — CPNP portal' };

export default async function NewProviderPage() {
  const user = await requireUser('/providers/new');
  if (user.role !== 'admin') notFound();
  return (
    <div className="space-y-4">
      <h1 className="text-2xl font-semibold tracking-tight">Add a provider</h1>
      <ProviderForm action={saveProviderForm} />
    </div>
  );
}
