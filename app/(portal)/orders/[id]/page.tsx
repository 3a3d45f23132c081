import type { Metadata } from 'next';
import Link from 'next/link';
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
  return (
    <>
      {/* The ladder view (components/history): state history, message sequence chart, decoded messages. */}
      <nav aria-label="Order views" className="-mb-2 flex justify-end text-sm">
        <Link href={`/orders/${id}/messages`} className="rounded-md border border-sky-700 px-3 py-1.5 font-medium text-sky-800 hover:bg-sky-50">
          Messages and state history →
        </Link>
      </nav>
      <OrderDetailView initial={result.value} />
    </>
  );
}
