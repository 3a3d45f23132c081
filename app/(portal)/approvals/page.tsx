import type { Metadata } from 'next';
import { notFound } from 'next/navigation';
import { ApprovalQueue } from '@/components/portal/ApprovalQueue';
import { queryHandlers } from '@/lib/portal/actions/queries';
import { requireUser } from '@/lib/portal/auth/session';

export const metadata: Metadata = { title: 'Approvals — CPNP portal' };

export default async function ApprovalsPage() {
  const user = await requireUser('/approvals');
  const result = await queryHandlers.approvals(user);
  if (!result.ok) notFound(); // only administrators have this page
  return <ApprovalQueue initial={result.value} />;
}
