/**
 * The engine host's send window (send-window.ts) with a real Provider over DTLS: while the
 * provider does not answer, no more than the window's QUOTATIONs leave; the other approvals
 * stay queued, and go out as answers free the window. Every order reaches its offer.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { killChild, tempDir, type SpawnedProvider } from '../../../provider/__tests__/provider-harness';
import { createWorld, killHost, placeApprovedOrder, registerProvider, startHost, startProvider, waitUntil, type HostProcess } from './host-harness';

const WINDOW = 2;
const ORDERS = 6;
// host-child.ts reads it when the host process starts.
process.env.HOST_SEND_WINDOW = String(WINDOW);

describe('engine host send window', () => {
  const providers: SpawnedProvider[] = [];
  const hosts: HostProcess[] = [];
  after(async () => {
    for (const h of hosts) await killHost(h, 'SIGTERM');
    for (const p of providers) {
      p.child.kill('SIGCONT');
      await killChild(p);
    }
  });

  test(`a frozen provider gets ${WINDOW} QUOTATIONs, not ${ORDERS}; the rest follow once it answers`, { timeout: 180_000 }, async (t) => {
    const dir = tempDir(t, 'cpnp-host-window-');
    const world = await createWorld(dir);
    t.after(() => world.db.$disconnect());
    // Room for every order (the default pools refuse the later ones with FAIL 5).
    const big = { pools: { core: { inMbps: 1_000_000, outMbps: 1_000_000 }, shared: { inMbps: 1_000_000, outMbps: 1_000_000 } } };
    const provider = await startProvider(dir, 'alpha', big);
    providers.push(provider.spawned);
    const providerId = await registerProvider(world, 'Alpha', provider.port);
    const host = await startHost(world);
    hosts.push(host);

    // One order first: the DTLS association exists before the provider freezes.
    await placeApprovedOrder(world, [providerId], { title: 'warm-up' });
    await waitUntil('the warm-up offer', async () => ((await world.db.offer.count()) === 1 ? true : undefined), 60_000);

    provider.spawned.child.kill('SIGSTOP');
    await Promise.all(Array.from({ length: ORDERS }, (_, i) => placeApprovedOrder(world, [providerId], { title: `window ${i}` })));
    const quotations = async () => (await world.db.message.count({ where: { direction: 'out', method: 'QUOTATION' } })) - 1;
    // The first QUOTATIONs are retransmitted (RETRANS_TIMER 2 s): the window had time to be overrun.
    await waitUntil('a retransmission to the frozen provider', async () => ((await world.db.negotiation.count({ where: { reachability: { in: ['retrying', 'unreachable'] } } })) > 0 ? true : undefined), 60_000);
    assert.equal(await quotations(), WINDOW, 'only the window went on the wire');
    assert.equal(await world.db.intent.count({ where: { kind: 'approve', status: 'pending' } }), ORDERS - WINDOW, 'the other approvals wait in the queue');
    assert.equal(await world.db.negotiation.count({ where: { clientState: 'Created' } }), ORDERS - WINDOW);

    provider.spawned.child.kill('SIGCONT');
    await waitUntil('every offer', async () => ((await world.db.offer.count({ where: { decision: 'pending' } })) === ORDERS + 1 ? true : undefined), 120_000).catch(async (error: Error) => {
      const states = await world.db.negotiation.groupBy({ by: ['clientState', 'cancelReason', 'reachability'], _count: true });
      const intents = await world.db.intent.groupBy({ by: ['kind', 'status', 'resultCode'], _count: true });
      const causes = await world.db.stateChange.findMany({ where: { negotiation: { clientState: 'Cancelled' } }, select: { from: true, to: true, cause: true, at: true } });
      const msgs = await world.db.message.findMany({ where: { negotiation: { clientState: 'Cancelled' } }, select: { direction: true, method: true, json: true, at: true } });
      assert.fail(`${error.message}: ${JSON.stringify({ states, intents, causes, msgs })}`);
    });
    assert.equal(await quotations(), ORDERS, 'one QUOTATION logged per order (retransmissions are not logged again)');
    assert.equal(await world.db.intent.count({ where: { kind: 'approve', status: 'done' } }), ORDERS + 1);
    assert.equal(await world.db.negotiation.count({ where: { clientState: { in: ['Cancelled', 'Failed'] } } }), 0);
  });
});
