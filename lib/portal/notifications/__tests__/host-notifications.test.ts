/**
 * The engine host's commit hook writes the step's notifications (from-step.ts) with the step:
 * a real reference Provider over DTLS, the host in its own process. Offer received and
 * agreement concluded reach the requester once each, with their outbox mails (mail on), and a
 * host restarted with kill -9 (restoring the order) notifies nothing again.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { killChild, tempDir, type SpawnedProvider } from '../../../provider/__tests__/provider-harness';
import { createWorld, killHost, pendingOffer, placeApprovedOrder, queueIntent, registerProvider, startHost, startProvider, waitUntil, type HostProcess } from '../../negotiation/__tests__/host-harness';

describe('notifications from engine steps', () => {
  const children: SpawnedProvider[] = [];
  const hosts: HostProcess[] = [];
  after(async () => {
    for (const h of hosts) await killHost(h, 'SIGTERM');
    for (const c of children) await killChild(c);
  });

  test('offer received and agreement concluded: once each, also across a host restart', { timeout: 120_000 }, async (t) => {
    const dir = tempDir(t, 'cpnp-notify-');
    const world = await createWorld(dir);
    t.after(() => world.db.$disconnect());
    const provider = await startProvider(dir, 'example');
    children.push(provider.spawned);
    const providerId = await registerProvider(world, 'Example Networks', provider.port);
    // The host process queues outbox rows when mail is on (it does not send them itself).
    process.env.PORTAL_SMTP_URL = 'smtp://127.0.0.1:9';
    t.after(() => {
      delete process.env.PORTAL_SMTP_URL;
    });
    let host = await startHost(world);
    hosts.push(host);

    const { orderId, negotiationIds } = await placeApprovedOrder(world, [providerId], { title: 'Notify me' });
    const nid = negotiationIds[0] ?? '';
    const offerId = await waitUntil('an offer', () => pendingOffer(world, nid));
    const kinds = async () => (await world.db.notification.findMany({ where: { orderId }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] })).map((n) => `${n.userId === world.customerId ? 'customer' : 'admin'}:${n.kind}`);
    assert.deepEqual(await kinds(), ['customer:offer']);
    const offer = await world.db.notification.findFirstOrThrow({ where: { orderId, kind: 'offer' } });
    assert.match(offer.title, /^Offer received: Notify me$/);
    assert.match(offer.body, /Example Networks made an offer/);

    // Restart while the offer waits: the restored order notifies nothing new.
    await killHost(host, 'SIGKILL');
    host = await startHost(world);
    hosts.push(host);
    await queueIntent(world, orderId, nid, 'accept', { offerId });
    await waitUntil('Completed', async () => ((await world.db.negotiation.findUnique({ where: { id: nid } }))?.clientState === 'Completed' ? true : undefined), 60_000);
    assert.deepEqual(await kinds(), ['customer:offer', 'customer:agreed']);
    const agreed = await world.db.notification.findFirstOrThrow({ where: { orderId, kind: 'agreed' } });
    assert.match(agreed.body, /provider order P-/);

    await killHost(host, 'SIGKILL');
    host = await startHost(world);
    hosts.push(host);
    assert.deepEqual(await kinds(), ['customer:offer', 'customer:agreed']);
    const mails = await world.db.mailOutbox.findMany({ where: { notification: { orderId } } });
    assert.deepEqual(mails.map((m) => [m.to, m.status]), [
      ['casey@acme.example', 'pending'],
      ['casey@acme.example', 'pending'],
    ]);
  });
});
