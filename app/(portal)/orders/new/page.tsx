import type { Metadata } from 'next';
import { notFound } from 'next/navigation';
import { ComposeOrderForm, type ComposeMode } from '@/components/cpd-form/ComposeOrderForm';
import { requireUser } from '@/lib/portal/auth/session';
import { orderFormDefaults } from '@/lib/portal/cpd-form/mapping';
import { getOrderDetail, getOrderInput, listProviders } from '@/lib/portal/orders/service';
import { composeOrder } from './actions';

export const metadata: Metadata = { title: 'Compose an order — CPNP portal' };

type Param = string | string[] | undefined;
type Search = { from?: Param; clone?: Param; draft?: Param; update?: Param; negotiation?: Param };
const one = (value: Param): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/**
 * /orders/new: a blank order. ?clone=<id>: a copy of that order. ?draft=<id>: edit that draft.
 * ?from=<id>: the draft itself when it is one, else a copy. ?update=<id>&negotiation=<nid>: an
 * UPDATE of that negotiation's agreement, prefilled with the agreed CPD.
 */
export default async function NewOrderPage({ searchParams }: { searchParams: Promise<Search> }) {
  const search = await searchParams;
  const updateId = one(search.update);
  const sourceId = updateId ?? one(search.draft) ?? one(search.clone) ?? one(search.from);
  const user = await requireUser('/orders/new');
  if (user.role !== 'customer') {
    return (
      <div className="max-w-3xl">
        <h1 className="text-3xl font-bold tracking-tight">Compose an order</h1>
        <p className="mt-3 text-slate-700">Only customer accounts place orders.</p>
      </div>
    );
  }
  const [providers, source, detail] = await Promise.all([
    listProviders(user),
    sourceId ? getOrderInput(user, sourceId) : Promise.resolve(undefined),
    updateId ? getOrderDetail(user, updateId) : Promise.resolve(undefined),
  ]);
  if ((source && !source.ok) || (detail && !detail.ok)) notFound();
  const prefill = source?.ok ? source.value : undefined;

  if (updateId && prefill && detail?.ok) {
    const negotiation = detail.value.negotiations.find((n) => n.id === one(search.negotiation));
    if (!negotiation) notFound();
    const cpd = negotiation.agreementCpd && negotiation.agreementCpd.length > 0 ? negotiation.agreementCpd : prefill.cpd;
    return (
      <div>
        <header className="mb-6">
          <h1 className="text-3xl font-bold tracking-tight">Update the agreement</h1>
          <p className="mt-1 text-slate-600">
            “{prefill.title}” with {negotiation.provider.name}: edit the connectivity below, starting from what was agreed. Sending it starts a new negotiation cycle with the provider (RFC 8921 9.2.9 UPDATE).
          </p>
        </header>
        <ComposeOrderForm
          action={composeOrder}
          defaultValue={orderFormDefaults({ ...prefill, cpd })}
          providers={providers}
          mode={{ kind: 'update', orderId: updateId, negotiationId: negotiation.id, providerName: negotiation.provider.name }}
        />
      </div>
    );
  }
  const asDraft = prefill !== undefined && !prefill.submit && !one(search.clone);
  if (one(search.draft) && prefill?.submit) notFound();
  const mode: ComposeMode =
    !prefill || !sourceId ? { kind: 'new' } : asDraft ? { kind: 'draft', orderId: sourceId } : { kind: 'clone', fromId: sourceId, fromTitle: prefill.title };
  const defaults = orderFormDefaults(prefill && mode.kind === 'clone' ? { ...prefill, title: `Copy of ${prefill.title}`.slice(0, 120) } : prefill);

  return (
    <div>
      <header className="mb-6">
        <h1 className="text-3xl font-bold tracking-tight">{mode.kind === 'draft' ? 'Edit draft order' : 'Compose an order'}</h1>
        {mode.kind === 'clone' ? <p className="mt-1 text-slate-600">A copy of “{mode.fromTitle}”: change what you need, then save or submit it as a new order.</p> : null}
      </header>
      <ComposeOrderForm action={composeOrder} defaultValue={defaults} providers={providers} mode={mode} />
    </div>
  );
}
