/**
 * Restart of the engine host (kill -9) with real Providers over DTLS and the real SQLite file:
 * (1) while the order waits for the provider's offer, (2) while an ACCEPT is unanswered.
 * After the restart both orders complete and nothing is duplicated: history, offers, messages.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { killChild, tempDir, type SpawnedProvider } from '../../../provider/__tests__/provider-harness';
import { createWorld, killHost, pendingOffer, placeApprovedOrder, queueIntent, registerProvider, startHost, startProvider, waitUntil, type HostProcess, type World } from './host-harness';

const COMPLETED_HISTORY = [
  '→Created',
  'Created→AwaitingProcessing',
  'AwaitingProcessing→PQOSent',
  'PQOSent→ServerProcessing',
  'ServerProcessing→OfferReceived',
  'OfferReceived→OfferProcessing',
  'OfferProcessing→AcceptSent',
  'AcceptSent→Completed',
];
const COMPLETED_MESSAGES = ['out QUOTATION', 'in PROCESSING', 'in OFFER', 'out PROCESSING', 'out ACCEPT', 'in ACK'];

async function history(world: World, negotiationId: string): Promise<string[]> {
  const rows = await world.db.stateChange.findMany({ where: { negotiationId }, orderBy: [{ at: 'asc' }, { id: 'asc' }], select: { from: true, to: true } });
  return rows.map((r) => `${r.from ?? ''}→${r.to}`);
}

async function messages(world: World, negotiationId: string): Promise<string[]> {
  const rows = await world.db.message.findMany({ where: { negotiationId }, orderBy: [{ at: 'asc' }, { id: 'asc' }], select: { direction: true, method: true } });
  return rows.map((r) => `${r.direction} ${r.method}`);
}

const inState = (world: World, negotiationId: string, state: string, ms = 60_000): Promise<true> =>
  waitUntil(
    `negotiation in ${state}`,
    async () => ((await world.db.negotiation.findUnique({ where: { id: negotiationId }, select: { clientState: true } }))?.clientState === state ? true : undefined),
    ms,
  );

async function assertCompletedOnce(world: World, orderId: string, negotiationId: string): Promise<void> {
  assert.deepEqual(await history(world, negotiationId), COMPLETED_HISTORY);
  assert.deepEqual(await messages(world, negotiationId), COMPLETED_MESSAGES);
  const offers = await world.db.offer.findMany({ where: { negotiationId } });
  assert.deepEqual(offers.map((o) => o.decision), ['accepted']);
  const intents = await world.db.intent.findMany({ where: { orderId }, orderBy: { createdAt: 'asc' } });
  assert.deepEqual(intents.map((i) => `${i.kind}:${i.status}`), ['approve:done', 'accept:done']);
  const order = await world.db.order.findUniqueOrThrow({ where: { id: orderId } });
  assert.equal(order.state, 'Completed');
  const orderLevel = await world.db.stateChange.findMany({ where: { orderId, negotiationId: null }, orderBy: [{ at: 'asc' }, { id: 'asc' }] });
  assert.deepEqual(orderLevel.map((c) => c.to), ['Negotiating', 'OfferReceived', 'Accepting', 'Completed']);
}

describe('engine host restart (kill -9)', () => {
  const providers: SpawnedProvider[] = [];
  const hosts: HostProcess[] = [];
  after(async () => {
    for (const h of hosts) await killHost(h);
    for (const p of providers) {
      p.child.kill('SIGCONT');
      await killChild(p);
    }
  });

  test('killed while the order waits for the offer: the offer still arrives, accept completes', { timeout: 120_000 }, async (t) => {
    const dir = tempDir(t, 'cpnp-host-restart-');
    const world = await createWorld(dir);
    t.after(() => world.db.$disconnect());
    // The provider answers PROCESSING at once and makes its offer 5 s later (decisionDelay).
    const provider = await startProvider(dir, 'slow', { decisionDelay: { offerAfter: '5s' } });
    providers.push(provider.spawned);
    const providerId = await registerProvider(world, 'Slow Networks', provider.port);
    const first = await startHost(world);
    hosts.push(first);
    const { orderId, negotiationIds } = await placeApprovedOrder(world, [providerId]);
    const nid = negotiationIds[0] ?? '';
    await inState(world, nid, 'ServerProcessing');
    await killHost(first);

    const second = await startHost(world);
    hosts.push(second);
    const offerId = await waitUntil('the offer after the restart', () => pendingOffer(world, nid), 60_000);
    await queueIntent(world, orderId, nid, 'accept', { offerId });
    await inState(world, nid, 'Completed');
    await assertCompletedOnce(world, orderId, nid);
  });

  test('killed while an ACCEPT is unanswered: restored, retransmitted, the ACK concludes it once', { timeout: 120_000 }, async (t) => {
    const dir = tempDir(t, 'cpnp-host-restart-');
    const world = await createWorld(dir);
    t.after(() => world.db.$disconnect());
    const provider = await startProvider(dir, 'example');
    providers.push(provider.spawned);
    const providerId = await registerProvider(world, 'Example Networks', provider.port);
    const first = await startHost(world);
    hosts.push(first);
    const { orderId, negotiationIds } = await placeApprovedOrder(world, [providerId]);
    const nid = negotiationIds[0] ?? '';
    const offerId = await waitUntil('an offer', () => pendingOffer(world, nid));
    await inState(world, nid, 'OfferProcessing');

    // The provider freezes: the ACCEPT leaves (committed first) and gets no answer.
    provider.spawned.child.kill('SIGSTOP');
    await queueIntent(world, orderId, nid, 'accept', { offerId });
    await inState(world, nid, 'AcceptSent');
    await waitUntil('the ACCEPT logged as sent', async () => ((await messages(world, nid)).includes('out ACCEPT') ? true : undefined));
    await killHost(first);
    // The provider wakes up and answers into the void (the portal process is gone).
    provider.spawned.child.kill('SIGCONT');

    const second = await startHost(world);
    hosts.push(second);
    await inState(world, nid, 'Completed');
    await assertCompletedOnce(world, orderId, nid);
    const n = await world.db.negotiation.findUniqueOrThrow({ where: { id: nid } });
    assert.equal(n.alarm, null, 'the ACK settled the order: no alarm left open');
  });
});
