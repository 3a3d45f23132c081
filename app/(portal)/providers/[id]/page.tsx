import type { Metadata } from 'next';
import { notFound } from 'next/navigation';
import { ProviderForm } from '@/components/portal/ProviderForm';
import { queryHandlers } from '@/lib/portal/actions/queries';
import { requireUser } from '@/lib/portal/auth/session';
import { saveProviderForm } from '../actions';

export const metadata: Metadata = { title: 'Edit a provider — CPNP portal' };

export default async function EditProviderPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const user = await requireUser(`/providers/${encodeURIComponent(id)}`);
  const result = await queryHandlers.providers(user);
  const provider = result.ok ? result.value.find((p) => p.id === id) : undefined;
  if (!provider) notFound(); // missing, or not an administrator: the same answer
  return (
    <div className="space-y-4">
      <h1 className="text-2xl font-semibold tracking-tight">Edit {provider.name}</h1>
      <ProviderForm action={saveProviderForm} provider={provider} />
    </div>
  );
}
