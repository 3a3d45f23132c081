import type { Metadata } from 'next';
import { notFound } from 'next/navigation';
import { ComposeOrderForm, type ComposeMode } from '@/components/cpd-form/ComposeOrderForm';
import { requireUser } from '@/lib/portal/auth/session';
import { orderFormDefaults } from '@/lib/portal/cpd-form/mapping';
import { getOrderInput, listProviders } from '@/lib/portal/orders/service';
import { composeOrder } from './actions';

export const metadata: Metadata = { title: 'Compose an order — CPNP' };

/** /orders/new, or /orders/new?from=<id>: edit that draft, or start a copy of that order. */
export default async function NewOrderPage({ searchParams }: { searchParams: Promise<{ from?: string | string[] }> }) {
  const { from } = await searchParams;
  const fromId = typeof from === 'string' && from !== '' ? from : undefined;
  const user = await requireUser(fromId ? `/orders/new?from=${encodeURIComponent(fromId)}` : '/orders/new');
  if (user.role !== 'customer') {
    return (
      <main className="mx-auto max-w-3xl px-6 py-10">
        <h1 className="text-2xl font-bold tracking-tight">Compose an order</h1>
        <p className="mt-3 text-slate-700">Only customer accounts place orders. You are signed in as {user.role}.</p>
      </main>
    );
  }
  const [providers, source] = await Promise.all([listProviders(user), fromId ? getOrderInput(user, fromId) : Promise.resolve(undefined)]);
  if (source && !source.ok) notFound();
  const prefill = source?.ok ? source.value : undefined;
  const mode: ComposeMode = !prefill || !fromId ? { kind: 'new' } : prefill.submit ? { kind: 'clone', fromId, fromTitle: prefill.title } : { kind: 'draft', orderId: fromId };
  const defaults = orderFormDefaults(prefill && mode.kind === 'clone' ? { ...prefill, title: `Copy of ${prefill.title}`.slice(0, 120) } : prefill);

  return (
    <main className="mx-auto w-full max-w-6xl px-6 py-8">
      <header className="mb-6">
        <h1 className="text-3xl font-bold tracking-tight">{mode.kind === 'draft' ? 'Edit draft order' : 'Compose an order'}</h1>
        {mode.kind === 'clone' ? <p className="mt-1 text-slate-600">Starting from a copy of “{mode.fromTitle}”.</p> : null}
      </header>
      <ComposeOrderForm action={composeOrder} defaultValue={defaults} providers={providers} mode={mode} />
    </main>
  );
}
