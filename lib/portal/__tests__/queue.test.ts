import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { approveOrder } from '../approvals/service';
import { finishIntent, pendingIntents } from '../intents/queue';
import { enqueueIntent } from '../intents/service';
import { aggregateOrderState } from '../orders/aggregate';
import { createOrder } from '../orders/service';
import { createWorld, orderInput, simulateOffer, type TestWorld } from './helpers';

let w: TestWorld;
before(async () => {
  w = await createWorld();
});
after(() => w.close());

test('the host sees pending intents oldest first, finishes each exactly once, and the page sees the outcome', async () => {
  const r = await createOrder(w.users.customerA, orderInput(w));
  assert.ok(r.ok);
  const id = r.value.orderId;
  await approveOrder(w.users.admin, id);
  const { offerId } = await simulateOffer(w, id, w.providers.example);
  const accept = await enqueueIntent(w.users.customerA, id, 'accept', { offerId });
  assert.ok(accept.ok);
  const queued = (await pendingIntents(w.db)).filter((i) => i.orderId === id);
  assert.deepEqual(queued.map((i) => i.kind), ['approve', 'accept']);
  assert.equal(queued[0]?.negotiationId, null);
  assert.deepEqual(queued[1]?.payload, { offerId });
  const [first, second] = queued;
  assert.equal(await w.db.$transaction((tx) => finishIntent(tx, first!.id, { status: 'done', code: 'ok' })), true);
  assert.equal(await finishIntent(w.db, first!.id, { status: 'refused', code: 'late' }), false, 'finished once only');
  assert.equal(await finishIntent(w.db, second!.id, { status: 'refused', code: 'wrong-state', message: 'The offer expired.' }), true);
  assert.deepEqual((await pendingIntents(w.db)).filter((i) => i.orderId === id), []);
  const row = await w.db.intent.findUniqueOrThrow({ where: { id: second!.id } });
  assert.equal(row.status, 'refused');
  assert.ok(row.processedAt);
});

test('aggregate order state follows the most advanced negotiation', () => {
  const n = (clientState: string, agreed = false, cancelReason: string | null = null) => ({ clientState, agreed, cancelReason });
  assert.equal(aggregateOrderState('Created', [n('Completed', true)]), 'Created');
  assert.equal(aggregateOrderState('AwaitingProcessing', [n('Created')]), 'AwaitingProcessing');
  assert.equal(aggregateOrderState('AwaitingProcessing', [n('PQOSent'), n('Created')]), 'Negotiating');
  assert.equal(aggregateOrderState('Negotiating', [n('OfferReceived'), n('ServerProcessing')]), 'OfferReceived');
  assert.equal(aggregateOrderState('OfferReceived', [n('AcceptSent'), n('Cancelled', false, 'declined')]), 'Accepting');
  assert.equal(aggregateOrderState('Accepting', [n('Completed', true), n('Cancelled', false, 'declined')]), 'Completed');
  assert.equal(aggregateOrderState('Completed', [n('Cancelled', false, 'withdrawn')]), 'Withdrawn');
  assert.equal(aggregateOrderState('Negotiating', [n('Cancelled', false, 'timeout'), n('Cancelled', false, 'failed')]), 'Cancelled');
});
