import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { approveOrder, listApprovalQueue, rejectOrder } from '../approvals/service';
import { INTENT_KINDS, type IntentKind } from '../db/types';
import { checkIntent, availableIntents, type OrderFacts } from '../intents/rules';
import { enqueueIntent } from '../intents/service';
import { createOrder, getOrderDetail } from '../orders/service';
import { createWorld, orderInput, simulateAgreement, simulateOffer, type TestWorld } from './helpers';

let w: TestWorld;
before(async () => {
  w = await createWorld();
});
after(() => w.close());

async function submitted(overrides = {}): Promise<string> {
  const r = await createOrder(w.users.customerA, orderInput(w, overrides));
  assert.ok(r.ok, JSON.stringify(r));
  return r.value.orderId;
}

describe('approvals', () => {
  test('approve: Created -> AwaitingProcessing, an approval row, history, and one approve intent', async () => {
    const id = await submitted();
    const queue = await listApprovalQueue(w.users.admin);
    assert.ok(queue.ok && queue.value.some((o) => o.id === id && o.requestedCpd.length === 1));
    const r = await approveOrder(w.users.admin, id);
    assert.ok(r.ok);
    const o = await w.db.order.findUniqueOrThrow({ where: { id }, include: { intents: true, approvals: true, stateChanges: { orderBy: { at: 'asc' } } } });
    assert.equal(o.state, 'AwaitingProcessing');
    assert.deepEqual(o.intents.map((i) => [i.kind, i.status, i.actorId, i.negotiationId]), [['approve', 'pending', w.users.admin.id, null]]);
    assert.deepEqual(o.approvals.map((a) => a.decision), ['approved']);
    assert.deepEqual(o.stateChanges.map((c) => c.to), ['Created', 'AwaitingProcessing']);
    // A second decision finds it no longer waiting; nothing is queued twice.
    const again = await approveOrder(w.users.admin, id);
    assert.ok(!again.ok && again.code === 'wrong-state');
    const rejectLate = await rejectOrder(w.users.admin, id, 'too late');
    assert.ok(!rejectLate.ok && rejectLate.code === 'wrong-state');
    assert.equal(await w.db.intent.count({ where: { orderId: id } }), 1);
    assert.ok((await listApprovalQueue(w.users.admin)).ok);
  });

  test('reject needs a reason; the requester sees it on the order', async () => {
    const id = await submitted();
    const empty = await rejectOrder(w.users.admin, id, '  ');
    assert.ok(!empty.ok && empty.code === 'invalid' && empty.fieldErrors?.reason);
    const r = await rejectOrder(w.users.admin, id, 'Budget not approved');
    assert.ok(r.ok);
    const d = await getOrderDetail(w.users.customerA, id);
    assert.ok(d.ok);
    assert.equal(d.value.state, 'Rejected');
    assert.equal(d.value.approvals[0]?.reason, 'Budget not approved');
    assert.equal(d.value.approvals[0]?.decision, 'rejected');
    assert.equal(await w.db.intent.count({ where: { orderId: id } }), 0);
  });

  test('two admins approving at once: exactly one wins', async () => {
    const id = await submitted();
    const results = await Promise.all([approveOrder(w.users.admin, id), approveOrder(w.users.admin, id), rejectOrder(w.users.admin, id, 'no way')]);
    assert.equal(results.filter((r) => r.ok).length, 1);
    assert.ok((await w.db.approval.count({ where: { orderId: id } })) === 1);
  });

  test('drafts are not in the queue and cannot be approved', async () => {
    const id = await submitted({ submit: false });
    const q = await listApprovalQueue(w.users.admin);
    assert.ok(q.ok && !q.value.some((o) => o.id === id));
    const r = await approveOrder(w.users.admin, id);
    assert.ok(!r.ok && r.code === 'wrong-state');
  });
});

describe('enqueueIntent', () => {
  test('accept is wrong-state before an offer, valid with one, and not queued twice', async () => {
    const id = await submitted();
    const early = await enqueueIntent(w.users.customerA, id, 'cancel', {});
    assert.ok(!early.ok && early.code === 'wrong-state', 'a Created order has no negotiation to cancel yet');
    await approveOrder(w.users.admin, id);
    const { offerId, negotiationId } = await simulateOffer(w, id, w.providers.example);
    const accept = await enqueueIntent(w.users.customerA, id, 'accept', { offerId });
    assert.ok(accept.ok, JSON.stringify(accept));
    const row = await w.db.intent.findUniqueOrThrow({ where: { id: accept.value.intentIds[0]! } });
    assert.equal(row.negotiationId, negotiationId);
    assert.deepEqual(JSON.parse(row.payload), { offerId });
    const dup = await enqueueIntent(w.users.customerA2, id, 'accept', { offerId });
    assert.ok(!dup.ok && dup.code === 'conflict');
    const withdraw = await enqueueIntent(w.users.customerA, id, 'withdraw', {});
    assert.ok(!withdraw.ok && withdraw.code === 'wrong-state');
  });

  test('payloads are validated per kind', async () => {
    const id = await submitted();
    await approveOrder(w.users.admin, id);
    const { offerId } = await simulateOffer(w, id, w.providers.example);
    const noReason = await enqueueIntent(w.users.customerA, id, 'decline', { offerId, reasons: [] });
    assert.ok(!noReason.ok && noReason.code === 'invalid');
    const badReason = await enqueueIntent(w.users.customerA, id, 'decline', { offerId, reasons: [9] });
    assert.ok(!badReason.ok && badReason.code === 'invalid');
    const extra = await enqueueIntent(w.users.customerA, id, 'accept', { offerId, price: 0 });
    assert.ok(!extra.ok && extra.code === 'invalid');
    const unknownOffer = await enqueueIntent(w.users.customerA, id, 'accept', { offerId: 'nope' });
    assert.ok(!unknownOffer.ok && unknownOffer.code === 'wrong-state');
    const ok = await enqueueIntent(w.users.customerA, id, 'decline', { offerId, reasons: [1, 3] });
    assert.ok(ok.ok);
  });

  test('after agreement: withdraw, update (CPD validated by lib/cpnp), activate at a time (scheduled orders only)', async () => {
    const id = await submitted();
    await approveOrder(w.users.admin, id);
    await simulateAgreement(w, id);
    const badUpdate = await enqueueIntent(w.users.customerA, id, 'update', { cpd: [{ nodes: [] , bogus: 1 }] });
    assert.ok(!badUpdate.ok && badUpdate.code === 'invalid');
    const update = await enqueueIntent(w.users.customerA, id, 'update', { cpd: [{ nodes: [{ id: 'a', link: 'l' }] }] });
    assert.ok(update.ok, JSON.stringify(update));
    const badTime = await enqueueIntent(w.users.customerA, id, 'activate', { at: 'tomorrow' });
    assert.ok(!badTime.ok && badTime.code === 'invalid');
    const activate = await enqueueIntent(w.users.customerA, id, 'activate', { at: '2030-01-01T08:00:00Z' });
    assert.ok(activate.ok);
    const deactivate = await enqueueIntent(w.users.customerA, id, 'deactivate', {});
    assert.ok(!deactivate.ok && deactivate.code === 'wrong-state', 'not active yet');
    const permanent = await submitted({ options: {} });
    await approveOrder(w.users.admin, permanent);
    await simulateAgreement(w, permanent);
    const notScheduled = await enqueueIntent(w.users.customerA, permanent, 'activate', {});
    assert.ok(!notScheduled.ok && notScheduled.code === 'wrong-state');
    assert.ok((await enqueueIntent(w.users.customerA, permanent, 'withdraw', {})).ok);
  });

  test('parallel group: choose-offer needs the provider\'s open offer; cancel without a target covers every provider', async () => {
    const id = await submitted({ providerIds: [w.providers.example, w.providers.carrier], selectionRule: 'manual' });
    await approveOrder(w.users.admin, id);
    const a = await simulateOffer(w, id, w.providers.example);
    await w.db.negotiation.updateMany({ where: { orderId: id, providerId: w.providers.carrier }, data: { clientState: 'ServerProcessing', moreTimeRequestedUntil: new Date(Date.now() + 60_000) } });
    const ambiguous = await enqueueIntent(w.users.customerA, id, 'grant-time', {});
    assert.ok(ambiguous.ok, 'only one negotiation asked for more time');
    const choose = await enqueueIntent(w.users.customerA, id, 'choose-offer', { offerId: a.offerId });
    assert.ok(choose.ok);
    const cancel = await enqueueIntent(w.users.customerA, id, 'cancel', {});
    assert.ok(cancel.ok);
    assert.equal(cancel.value.intentIds.length, 2);
  });

  test('staff and admins cannot steer orders; approve cannot be queued directly', async () => {
    const id = await submitted();
    for (const u of [w.users.staff, w.users.admin]) {
      const r = await enqueueIntent(u, id, 'cancel', {});
      assert.ok(!r.ok && r.code === 'forbidden');
    }
    const direct = await enqueueIntent(w.users.admin, id, 'approve', {});
    assert.ok(!direct.ok && direct.code === 'forbidden');
  });
});

describe('intent rules (property)', () => {
  const state = fc.constantFrom('Created', 'AwaitingProcessing', 'Negotiating', 'OfferReceived', 'Completed', 'Cancelled' as const);
  const negotiation = fc.record({
    id: fc.constantFrom('n1', 'n2', 'n3'),
    clientState: fc.constantFrom('Created', 'AwaitingProcessing', 'PQOSent', 'ServerProcessing', 'OfferReceived', 'OfferProcessing', 'AcceptSent', 'Completed', 'Cancelled'),
    agreed: fc.boolean(),
    active: fc.boolean(),
    moreTimeRequested: fc.boolean(),
    pendingOfferIds: fc.array(fc.constantFrom('o1', 'o2'), { maxLength: 2 }),
  });
  const facts = fc.record({
    state,
    scheduled: fc.boolean(),
    negotiations: fc.uniqueArray(negotiation, { selector: (n) => n.id, maxLength: 3 }),
    pending: fc.array(fc.record({ kind: fc.constantFrom(...INTENT_KINDS), negotiationId: fc.constantFrom('n1', 'n2', null) }), { maxLength: 3 }),
  }) as fc.Arbitrary<OrderFacts>;

  test('every button the page offers is accepted by the service check, for that negotiation', () => {
    fc.assert(
      fc.property(facts, (f) => {
        for (const a of availableIntents(f)) {
          for (const nid of a.negotiationIds) assert.ok(checkIntent(a.kind, f, nid).ok, `${a.kind} ${nid}`);
        }
      }),
    );
  });

  test('nothing is possible on a Completed negotiation that has no agreement, or on a Cancelled one', () => {
    fc.assert(
      fc.property(facts, fc.constantFrom(...(INTENT_KINDS.filter((k) => k !== 'approve') as IntentKind[])), (f, kind) => {
        const dead = f.negotiations.filter((n) => n.clientState === 'Cancelled' || (n.clientState === 'Completed' && !n.agreed));
        for (const n of dead) assert.equal(checkIntent(kind, f, n.id).ok, false);
      }),
    );
  });
});

describe('answers that exclude each other', () => {
  test('once "grant more time" is queued, "deny" is refused; once accept is queued, decline is refused', async () => {
    const id = await submitted();
    await approveOrder(w.users.admin, id);
    await w.db.negotiation.updateMany({ where: { orderId: id }, data: { clientState: 'ServerProcessing', moreTimeRequestedUntil: new Date(Date.now() + 60_000) } });
    assert.ok((await enqueueIntent(w.users.customerA, id, 'grant-time', {})).ok);
    const deny = await enqueueIntent(w.users.customerA, id, 'deny-time', {});
    assert.ok(!deny.ok && deny.code === 'conflict');
    const other = await submitted();
    await approveOrder(w.users.admin, other);
    const { offerId } = await simulateOffer(w, other, w.providers.example);
    assert.ok((await enqueueIntent(w.users.customerA, other, 'accept', { offerId })).ok);
    const decline = await enqueueIntent(w.users.customerA, other, 'decline', { offerId, reasons: [1] });
    assert.ok(!decline.ok && decline.code === 'conflict');
  });
});
