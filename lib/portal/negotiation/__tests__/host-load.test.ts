/**
 * Many orders at once through the engine host: 200 concurrent negotiations against two real
 * reference Providers over DTLS, all Completed, every transition persisted exactly once.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { killChild, tempDir, type SpawnedProvider } from '../../../provider/__tests__/provider-harness';
import { createWorld, killHost, placeApprovedOrder, queueIntent, registerProvider, startHost, startProvider, waitUntil, type HostProcess } from './host-harness';

const ORDERS = Number(process.env.HOST_LOAD_ORDERS ?? 200);
/** Generous waits that grow with the load (a shared 2-vCPU machine; `HOST_LOAD_ORDERS=1000` is the bench's run). */
const PHASE_MS = Math.max(180_000, ORDERS * 600);
const EXPECTED = [
  '→Created',
  'Created→AwaitingProcessing',
  'AwaitingProcessing→PQOSent',
  'PQOSent→ServerProcessing',
  'ServerProcessing→OfferReceived',
  'OfferReceived→OfferProcessing',
  'OfferProcessing→AcceptSent',
  'AcceptSent→Completed',
].join(' ');
// A provider under load may make its offer straight away, without an interim PROCESSING first.
const EXPECTED_DIRECT = EXPECTED.replace('PQOSent→ServerProcessing ServerProcessing→OfferReceived', 'PQOSent→OfferReceived');

describe('engine host under load', () => {
  const providers: SpawnedProvider[] = [];
  const hosts: HostProcess[] = [];
  after(async () => {
    for (const h of hosts) await killHost(h, 'SIGTERM');
    for (const p of providers) await killChild(p);
  });

  test(`${ORDERS} concurrent negotiations with two providers: all Completed, each transition stored once`, { timeout: 2 * PHASE_MS + 60_000 }, async (t) => {
    const dir = tempDir(t, 'cpnp-host-load-');
    const world = await createWorld(dir);
    t.after(() => world.db.$disconnect());
    const big = { pools: { core: { inMbps: 1_000_000, outMbps: 1_000_000 }, shared: { inMbps: 1_000_000, outMbps: 1_000_000 } } };
    const a = await startProvider(dir, 'alpha', big);
    const b = await startProvider(dir, 'beta', big);
    providers.push(a.spawned, b.spawned);
    const ids = [await registerProvider(world, 'Alpha', a.port), await registerProvider(world, 'Beta', b.port)];
    const host = await startHost(world);
    hosts.push(host);

    const orders = await Promise.all(Array.from({ length: ORDERS }, (_, i) => placeApprovedOrder(world, [ids[i % 2] ?? ''], { title: `load ${i}` })));
    const census = async (): Promise<string> => {
      const states = await world.db.negotiation.groupBy({ by: ['clientState', 'cancelReason', 'reachability'], _count: true });
      const intents = await world.db.intent.groupBy({ by: ['kind', 'status', 'resultCode'], _count: true });
      return JSON.stringify({ states, intents });
    };
    await waitUntil(
      'every offer',
      async () => ((await world.db.offer.count({ where: { decision: 'pending' } })) === ORDERS ? true : undefined),
      PHASE_MS,
    ).catch(async (error: Error) => assert.fail(`${error.message}: ${await census()}`));
    const offers = await world.db.offer.findMany({ select: { id: true, negotiationId: true, negotiation: { select: { orderId: true } } } });
    await Promise.all(offers.map((o) => queueIntent(world, o.negotiation.orderId, o.negotiationId, 'accept', { offerId: o.id })));
    await waitUntil(
      'every order Completed',
      async () => ((await world.db.order.count({ where: { state: 'Completed' } })) === ORDERS ? true : undefined),
      PHASE_MS,
    );

    const negotiations = await world.db.negotiation.findMany({
      include: { stateChanges: { orderBy: [{ at: 'asc' }, { id: 'asc' }] }, messages: true, offers: true },
    });
    assert.equal(negotiations.length, ORDERS);
    for (const n of negotiations) {
      assert.equal(n.clientState, 'Completed');
      const history = n.stateChanges.map((c) => `${c.from ?? ''}→${c.to}`).join(' ');
      assert.ok(history === EXPECTED || history === EXPECTED_DIRECT, `history of ${n.customerOrderId}: ${history}`);
      assert.equal(n.offers.length, 1);
      assert.equal(n.messages.filter((m) => m.direction === 'out' && m.method === 'ACCEPT').length, 1);
      assert.equal(n.messages.filter((m) => m.direction === 'in' && m.method === 'ACK').length, 1);
    }
    const intents = await world.db.intent.groupBy({ by: ['kind', 'status'], _count: true });
    assert.deepEqual(intents.map((i) => `${i.kind}:${i.status}:${i._count}`).sort(), [`accept:done:${ORDERS}`, `approve:done:${ORDERS}`]);
    assert.equal(orders.length, ORDERS);
  });
});
