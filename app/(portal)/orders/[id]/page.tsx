import type { Metadata } from 'next';
import { notFound } from 'next/navigation';
import { OrderDetailView } from '@/components/portal/OrderDetailView';
import { queryHandlers } from '@/lib/portal/actions/queries';
import { requireUser } from '@/lib/portal/auth/session';

export const metadata: Metadata = { title: 'Order — CPNP portal' };

export default async function OrderPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const user = await requireUser(`/orders/${id}`);
  const result = await queryHandlers.order(user, id);
  // Another organisation's order is "not found", exactly like a missing one.
  if (!result.ok) notFound();
  return <OrderDetailView initial={result.value} />;
}
