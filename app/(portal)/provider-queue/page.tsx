import type { Metadata } from 'next';
import { Forbidden } from '@/components/history/Forbidden';
import { ProviderQueueView } from '@/components/portal/ProviderQueueView';
import { providerQueueHandlers } from '@/lib/portal/actions/provider-queue';
import { requireUser } from '@/lib/portal/auth/session';
import { REJECT_REASONS } from '@/lib/portal/provider-queue/service';

export const metadata: Metadata = { title: 'Provider validation — CPNP portal' };

export default async function ProviderQueuePage() {
  const user = await requireUser('/provider-queue');
  const result = await providerQueueHandlers.queues(user);
  if (!result.ok) return <Forbidden message={result.message} />;
  return <ProviderQueueView initial={result.value} reasons={REJECT_REASONS} />;
}
