import type { Metadata } from 'next';
import { OrdersTable } from '@/components/portal/OrdersTable';
import { queryHandlers } from '@/lib/portal/actions/queries';
import { requireUser } from '@/lib/portal/auth/session';

export const metadata: Metadata = { title: 'Orders — CPNP portal' };

export default async function OrdersPage({ searchParams }: { searchParams: Promise<{ page?: string }> }) {
  const user = await requireUser('/orders');
  const result = await queryHandlers.orders(user, (await searchParams).page);
  if (!result.ok) throw new Error(result.message);
  return <OrdersTable initial={result.value} role={user.role} />;
}
