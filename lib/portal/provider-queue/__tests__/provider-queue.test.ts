/**
 * The provider validation service against a real reference Provider (startProvider in process:
 * real SQLite file, real DTLS, the real admin HTTP endpoint and admin file) and a real CPNP
 * client placing the orders with the portal's customer order ids, on a real portal database.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readAdminFile } from '../../../provider/admin-http';
import { parseProviderArgs } from '../../../provider/config';
import { silentLogger } from '../../../provider/logger';
import { startProvider, type RunningProvider } from '../../../provider/server';
import { cpd, EventHub, TestClient, writePolicy, writePsk } from '../../../provider/__tests__/provider-harness';
import { createOrder } from '../../orders/service';
import { upsertProvider } from '../../providers/registry';
import { createWorld, orderInput, type TestWorld } from '../../__tests__/helpers';
import { isLoopbackAdminUrl } from '../held-order';
import { decideHeldOrder, heldNegotiationIds, listProviderQueues, type ProviderQueue } from '../service';

describe('provider validation (administrative mode, RFC 8921 8.2) from the portal', () => {
  let w: TestWorld;
  let hub: EventHub;
  let provider: RunningProvider;
  let client: TestClient;
  let dir: string;
  const ids: Record<string, string> = {};

  before(async () => {
    w = await createWorld();
    dir = mkdtempSync(join(tmpdir(), 'portal-provider-queue-'));
    hub = new EventHub();
    const policy = writePolicy(dir, { decisionModes: { QUOTATION: 'admin', WITHDRAW: 'admin' }, activationTypes: ['permanent'] }, 'review.json');
    const psk = writePsk(dir, ['portal'], {}, 'review.psk.json');
    provider = await startProvider(parseProviderArgs(['--config', policy, '--listen', '127.0.0.1:0', '--psk-file', psk, '--db', join(dir, 'review.db'), '--retrans-timer', '1s'], { cwd: dir }), {
      logger: silentLogger,
      onEvent: hub.push,
    });
    client = new TestClient('portal', hub);
    const endpoint = `127.0.0.1:${provider.endpoint.port}`;
    ids.review = await upsertProvider(w.db, { name: 'Review Networks', endpoint, transport: 'udp', adminFile: provider.config.adminFile });
    ids.unconfigured = await upsertProvider(w.db, { name: 'No Admin Co', endpoint: '127.0.0.1:9', transport: 'udp' });
    ids.missing = await upsertProvider(w.db, { name: 'Gone Telecom', endpoint: '127.0.0.1:9', transport: 'udp', adminFile: join(dir, 'nothing.admin.json') });
    // A file with the live URL but another token (as after the provider restarted).
    const stale = join(dir, 'stale.admin.json');
    writeFileSync(stale, JSON.stringify({ ...readAdminFile(provider.config.adminFile), token: 'f'.repeat(64) }));
    ids.stale = await upsertProvider(w.db, { name: 'Stale Token Ltd', endpoint: '127.0.0.1:9', transport: 'udp', adminFile: stale });
    const remote = join(dir, 'remote.admin.json');
    writeFileSync(remote, JSON.stringify({ url: 'http://192.0.2.10:8080', token: 'x' }));
    ids.remote = await upsertProvider(w.db, { name: 'Remote Admin Inc', endpoint: '127.0.0.1:9', transport: 'udp', adminFile: remote });
  });

  after(async () => {
    await client?.close();
    await provider?.close();
    await w?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const queueOf = (queues: ProviderQueue[], providerId: string | undefined): ProviderQueue => {
    const q = queues.find((x) => x.providerId === providerId);
    assert.ok(q, `queue of ${providerId}`);
    return q;
  };
  const heldCount = () => provider.orders().filter((o) => o.awaiting !== undefined).length;

  /** A portal order to Review Networks, and its QUOTATION really sent with the negotiation's customer order id. */
  async function placeHeld(title: string, link: string): Promise<{ orderId: string; negotiationId: string; clientId: string; providerOrderId: string }> {
    const created = await createOrder(w.users.customerA, orderInput(w, { title, providerIds: [ids.review ?? ''] }));
    assert.ok(created.ok, JSON.stringify(created));
    const n = await w.db.negotiation.findFirstOrThrow({ where: { orderId: created.value.orderId } });
    const before = heldCount();
    const clientId = await client.place(provider.endpoint, n.customerOrderId, cpd(link, 20));
    await hub.until(`${title} held`, () => heldCount() === before + 1 && client.state(clientId) === 'ServerProcessing');
    const providerOrderId = provider.engine.listOrders().find((o) => o.customerOrderId === n.customerOrderId)?.id ?? '';
    return { orderId: created.value.orderId, negotiationId: n.id, clientId, providerOrderId };
  }

  test('lists held orders with the requested CPD and the matching portal order; every other provider says why it has no list', async () => {
    const first = await placeHeld('Held for review', 'pe1:a');
    // The host learns the provider order id from PROCESSING; this one matches by customer order id only.
    await w.db.negotiation.update({ where: { id: first.negotiationId }, data: { providerOrderId: first.providerOrderId, clientState: 'ServerProcessing' } });

    const listed = await listProviderQueues(w.users.staff);
    assert.ok(listed.ok);
    const review = queueOf(listed.value, ids.review);
    assert.equal(review.status, 'ok', review.message ?? '');
    const held = review.orders.find((o) => o.providerOrderId === first.providerOrderId);
    assert.ok(held, JSON.stringify(review.orders));
    assert.equal(held.kind, 'QUOTATION');
    assert.equal(held.state, 'AwaitingProcessing');
    assert.equal(held.customer, 'portal');
    assert.deepEqual(held.cpd, cpd('pe1:a', 20));
    assert.ok(held.answerBy && Date.parse(held.answerBy) > Date.now());
    assert.ok(Date.parse(held.waitingSince) <= Date.now());
    assert.deepEqual(held.portalOrder, { orderId: first.orderId, negotiationId: first.negotiationId, title: 'Held for review', organisation: 'Org A', clientState: 'ServerProcessing' });

    assert.equal(queueOf(listed.value, ids.unconfigured).status, 'not-configured');
    const missing = queueOf(listed.value, ids.missing);
    assert.equal(missing.status, 'unavailable');
    assert.match(missing.message ?? '', /Gone Telecom: .*no admin file/);
    assert.match(queueOf(listed.value, ids.stale).message ?? '', /refused the token/);
    assert.match(queueOf(listed.value, ids.remote).message ?? '', /not a loopback/);
    // The admin token never reaches a browser.
    assert.ok(!JSON.stringify(listed.value).includes(readAdminFile(provider.config.adminFile).token));

    // Admins see it too; customers never.
    assert.ok((await listProviderQueues(w.users.admin)).ok);
    const refused = await listProviderQueues(w.users.customerA);
    assert.ok(!refused.ok && refused.code === 'forbidden');
  });

  test('approve: the provider makes its OFFER; the portal order gets a history line naming who approved', async () => {
    const o = await placeHeld('Approve me', 'pe1:b');
    // What the engine host would have stored on PROCESSING.
    await w.db.negotiation.update({ where: { id: o.negotiationId }, data: { providerOrderId: o.providerOrderId, clientState: 'ServerProcessing' } });
    const denied = await decideHeldOrder(w.users.customerA, { providerId: ids.review ?? '', providerOrderId: o.providerOrderId, decision: 'approve' });
    assert.ok(!denied.ok && denied.code === 'forbidden');
    assert.equal(client.state(o.clientId), 'ServerProcessing', 'a refused call decides nothing');

    // The order page's "held for the provider's administrator".
    const asSeen = { id: o.negotiationId, clientState: 'ServerProcessing', providerOrderId: o.providerOrderId, provider: { id: ids.review ?? '' } };
    assert.deepEqual(await heldNegotiationIds([asSeen, { ...asSeen, id: 'other', provider: { id: ids.missing ?? '' } }]), [o.negotiationId]);

    const r = await decideHeldOrder(w.users.staff, { providerId: ids.review ?? '', providerOrderId: o.providerOrderId, decision: 'approve' });
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.value.action, 'approved');
    assert.equal(r.value.portalOrderId, o.orderId);
    await hub.until('the OFFER reaches the client', () => client.state(o.clientId) === 'OfferReceived');
    assert.deepEqual(await heldNegotiationIds([asSeen]), [], 'no longer held');
    const line = await w.db.stateChange.findFirst({ where: { negotiationId: o.negotiationId, cause: { contains: 'administrator approved' } } });
    assert.equal(line?.actor, `user:${w.users.staff.id}`);
    assert.match(line?.cause ?? '', /^Review Networks's administrator approved the order$/);
    assert.equal(line?.from, 'ServerProcessing', 'the state the decision was taken in');

    const again = await decideHeldOrder(w.users.staff, { providerId: ids.review ?? '', providerOrderId: o.providerOrderId, decision: 'approve' });
    assert.ok(!again.ok && again.code === 'wrong-state', JSON.stringify(again));
    const unknown = await decideHeldOrder(w.users.admin, { providerId: ids.review ?? '', providerOrderId: 'P-000000000000', decision: 'approve' });
    assert.ok(!unknown.ok && unknown.code === 'not-found');
    const noProvider = await decideHeldOrder(w.users.admin, { providerId: 'nope', providerOrderId: o.providerOrderId, decision: 'approve' });
    assert.ok(!noProvider.ok && noProvider.code === 'not-found');
    const stale = await decideHeldOrder(w.users.admin, { providerId: ids.stale ?? '', providerOrderId: o.providerOrderId, decision: 'approve' });
    assert.ok(!stale.ok && stale.code === 'unavailable' && /refused the token/.test(stale.message));

    // Accept, then WITHDRAW: held too (WITHDRAW: admin), listed with the agreed CPD, approved as a request.
    await client.run((c) => c.processOffer(o.clientId));
    await client.run((c) => c.accept(o.clientId));
    await hub.until('agreed', () => client.state(o.clientId) === 'Completed');
    await client.run((c) => c.withdraw(o.clientId));
    await hub.until('WITHDRAW held', () => provider.orders().find((x) => x.id === o.providerOrderId)?.awaiting === 'WITHDRAW');
    const listed = await listProviderQueues(w.users.admin);
    assert.ok(listed.ok);
    const held = queueOf(listed.value, ids.review).orders.find((x) => x.providerOrderId === o.providerOrderId);
    assert.equal(held?.kind, 'WITHDRAW');
    assert.ok(held?.cpd && held.cpd.length === 1);
    const done = await decideHeldOrder(w.users.admin, { providerId: ids.review ?? '', providerOrderId: o.providerOrderId, decision: 'approve' });
    assert.ok(done.ok && done.value.action === 'request-approved', JSON.stringify(done));
    await hub.until('withdrawn', () => provider.orders().find((x) => x.id === o.providerOrderId)?.awaiting === undefined && client.engine.order(o.clientId)?.fsm.outstanding === undefined);
  });

  test('reject with a status code and a note: FAIL with that code reaches the client; the note stays in the portal', async () => {
    const o = await placeHeld('Reject me', 'pe1:c');
    await w.db.negotiation.update({ where: { id: o.negotiationId }, data: { providerOrderId: o.providerOrderId } });
    const r = await decideHeldOrder(w.users.staff, { providerId: ids.review ?? '', providerOrderId: o.providerOrderId, decision: 'reject', statusCode: 5, note: 'No spare ports on pe1 this quarter' });
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.value.action, 'rejected');
    await hub.until('FAIL reaches the client', () => client.state(o.clientId) === 'Cancelled');
    const fail = hub.events.find((e) => e.side === 'client' && e.orderId === o.clientId && e.kind === 'received' && e.method === 'FAIL');
    assert.equal(fail?.data?.statusCode, 5, 'the status code chosen in the portal');
    assert.equal(client.engine.order(o.clientId)?.fsm.cancelReason, 'failed');
    const line = await w.db.stateChange.findFirst({ where: { negotiationId: o.negotiationId, cause: { contains: 'administrator rejected' } } });
    assert.equal(line?.cause, "Review Networks's administrator rejected the order (FAIL 5): No spare ports on pe1 this quarter");
  });

  test('a provider that stops: its queue says so, the others still list', async () => {
    await provider.close();
    const listed = await listProviderQueues(w.users.staff);
    assert.ok(listed.ok);
    const review = queueOf(listed.value, ids.review);
    assert.equal(review.status, 'unavailable');
    assert.match(review.message ?? '', /Review Networks: /);
    // createWorld's two providers (no admin file) + the five of this test.
    assert.equal(listed.value.length, 7);
    assert.equal(listed.value.filter((q) => q.status === 'not-configured').length, 3);
  });

  test('the token is only ever sent to a loopback http:// endpoint', () => {
    for (const url of ['http://127.0.0.1:1234', 'http://[::1]:80', 'http://localhost:9']) assert.ok(isLoopbackAdminUrl(url), url);
    for (const url of ['https://127.0.0.1:1', 'http://10.0.0.1:80', 'http://127.0.0.1.evil.example', 'http://u:p@127.0.0.1:1', 'file:///etc/passwd', 'not a url']) assert.ok(!isLoopbackAdminUrl(url), url);
  });
});
