/**
 * The reference Provider process end to end, in process: startProvider (real SQLite file, real
 * DTLS on loopback, real clock) driven by real CPNP clients (ClientEngine over the DTLS client
 * transport, one PSK identity each). Every RFC 8921 flow of Figures 6, 11, 12, 13, 14, 15 and
 * 16; administrative validation through the HTTP admin endpoint; Table 6 rejections (wrong
 * nonce, another customer's identity, replayed and forged messages) that change nothing, in
 * memory or in the database; and an address ACL.
 *
 * Four providers run side by side: "auto" (fully automated), "admin" (QUOTATION and WITHDRAW
 * under administrative validation), "slow" (a decision delay: PROCESSING with
 * EXPECTED_OFFER_TIME first) and "acl" (only 10.0.0.0/8 may order: the policy's `acl` merged with
 * `--deny`).
 *
 * No sleeps: every wait resolves on an engine event, with a timeout naming what was awaited.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodeMessage, encodeMessage } from '../../cpnp/codec';
import type { CpnpMessage } from '../../cpnp/message';
import { Method, type MethodName } from '../../cpnp/method';
import { ProcessingSubcode } from '../../cpnp/processing-subcode';
import { cryptoRandom, newNonce, newTransactionId, randomInitialSequence } from '../../cpnp/random';
import { StatusCode } from '../../cpnp/status-code';
import { DtlsClientTransport } from '../../cpnp/transport/dtls-client';
import type { Endpoint } from '../../cpnp/transport/transport';
import { adminCall } from '../admin-http';
import { parseProviderArgs } from '../config';
import { createJsonLogger, silentLogger } from '../logger';
import { startProvider, type RunningProvider } from '../server';
import { CASCADE_CPD } from './fixtures';
import { cpd, EventHub, fromNow, keyOf, TestClient, tempDir, writeCarrierB, writeExampleNetworks, writePolicy, writePsk } from './provider-harness';

const IDENTITIES = ['acme', 'globex', 'initech'];

interface World {
  hub: EventHub;
  auto: RunningProvider;
  admin: RunningProvider;
  slow: RunningProvider;
  acl: RunningProvider;
  acme: TestClient;
  globex: TestClient;
  logs: Record<string, unknown>[];
}

async function provider(dir: string, name: string, hub: EventHub, logs: Record<string, unknown>[], overrides: Record<string, unknown>, extra: string[] = []): Promise<RunningProvider> {
  const policy = writePolicy(dir, overrides, `${name}.json`);
  const psk = writePsk(dir, IDENTITIES, {}, `${name}.psk.json`);
  const config = parseProviderArgs(['--config', policy, '--listen', '127.0.0.1:0', '--psk-file', psk, '--retrans-timer', '1s', ...extra], { cwd: dir });
  const logger = createJsonLogger({ level: 'debug', write: () => undefined, onRecord: (r) => logs.push({ ...r, provider: name }) });
  return startProvider(config, { logger, onEvent: hub.push });
}

describe('the reference Provider over DTLS (in process)', () => {
  let w: World;
  const closers: (() => Promise<unknown>)[] = [];

  before(async () => {
    const dir = tempDir({ after });
    const hub = new EventHub();
    const logs: Record<string, unknown>[] = [];
    const auto = await provider(dir, 'auto', hub, logs, {});
    closers.push(() => auto.close());
    const admin = await provider(dir, 'admin', hub, logs, { decisionModes: { QUOTATION: 'admin', WITHDRAW: 'admin' }, activationTypes: ['permanent'] });
    closers.push(() => admin.close());
    const slow = await provider(dir, 'slow', hub, logs, { decisionDelay: { offerAfter: '3s' } });
    closers.push(() => slow.close());
    // The ACL comes from both sources: the policy allows 10.0.0.0/8 only, the command line adds a deny.
    const acl = await provider(dir, 'acl', hub, logs, { acl: { allow: ['10.0.0.0/8'] } }, ['--deny', '10.9.0.0/16']);
    closers.push(() => acl.close());
    const acme = new TestClient('acme', hub);
    closers.push(() => acme.close());
    const globex = new TestClient('globex', hub);
    closers.push(() => globex.close());
    w = { hub, auto, admin, slow, acl, acme, globex, logs };
  });

  after(async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  });

  // --- helpers ---------------------------------------------------------------------------------

  const serverOrder = (p: RunningProvider, customerOrderId: string) => p.engine.listOrders().find((o) => o.customerOrderId === customerOrderId);
  const serverState = (p: RunningProvider, customerOrderId: string) => serverOrder(p, customerOrderId)?.fsm.state;
  const providerId = (p: RunningProvider, customerOrderId: string): string => {
    const order = serverOrder(p, customerOrderId);
    assert.ok(order, `server order for ${customerOrderId}`);
    return order.id;
  };
  /** Methods the provider sent / processed for an order, in order. */
  const serverMethods = (kind: 'sent' | 'received', orderId: string): MethodName[] =>
    w.hub.events.filter((e) => e.side === 'server' && e.kind === kind && e.orderId === orderId && e.method !== undefined).map((e) => e.method as MethodName);

  async function dbRows(p: RunningProvider, orderId: string) {
    const prisma = p.db.prisma;
    const [order, changes, messages, transactions, reservations] = await Promise.all([
      prisma.providerOrder.findUnique({ where: { id: orderId } }),
      prisma.providerStateChange.findMany({ where: { orderId }, orderBy: { id: 'asc' } }),
      prisma.providerMessage.findMany({ where: { orderId }, orderBy: { id: 'asc' } }),
      prisma.providerTransaction.findMany({ where: { orderId }, orderBy: { id: 'asc' } }),
      prisma.capacityReservation.findMany({ where: { orderId }, orderBy: { id: 'asc' } }),
    ]);
    return { order, changes, messages, transactions, reservations };
  }

  /** A raw DTLS sender for crafted messages, with the answer to each. */
  async function exchange(identity: string, server: Endpoint, message: CpnpMessage, expectAnswer = true): Promise<CpnpMessage | undefined> {
    const raw = new DtlsClientTransport({ psk: { identity, key: keyOf(identity) }, logger: { warn: () => undefined } });
    try {
      const answer = new Promise<CpnpMessage | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), expectAnswer ? 5000 : 1500);
        raw.onMessage((inbound) => {
          const decoded = decodeMessage(inbound.bytes);
          if (decoded.ok && decoded.message.txid === message.txid) {
            clearTimeout(timer);
            resolve(decoded.message);
          }
        });
      });
      await raw.send(server, encodeMessage(message));
      return await answer;
    } finally {
      await raw.close();
    }
  }

  // --- Figure 6 and 16 -------------------------------------------------------------------------

  test('Figure 6: QUOTATION → PROCESSING, OFFER → PROCESSING → ACCEPT → ACK; persisted before it is acknowledged', async () => {
    const id = await w.acme.place(w.auto.endpoint, 'C-fig6', cpd('pe1:ge-0/0/1', { min: 50, pref: 200 }), { options: { activationType: 'scheduled' } });
    await w.hub.until('the OFFER', () => w.acme.state(id) === 'OfferReceived');
    await w.acme.run((c) => c.processOffer(id));
    await w.hub.until('the provider got the PROCESSING', () => serverState(w.auto, 'C-fig6') === 'ProcessingReceived');
    await w.acme.run((c) => c.accept(id));
    await w.hub.until('both ends Completed', () => w.acme.state(id) === 'Completed' && serverState(w.auto, 'C-fig6') === 'Completed');

    const pid = providerId(w.auto, 'C-fig6');
    assert.deepEqual(serverMethods('received', pid), ['QUOTATION', 'PROCESSING', 'ACCEPT']);
    assert.deepEqual(serverMethods('sent', pid), ['PROCESSING', 'OFFER', 'ACK']);
    const agreed = w.acme.engine.order(id)?.agreement;
    assert.equal(agreed?.providerOrderId, pid);
    assert.equal(agreed?.nonce, serverOrder(w.auto, 'C-fig6')?.agreement?.nonce);
    assert.equal(serverOrder(w.auto, 'C-fig6')?.owner, 'acme');

    const rows = await dbRows(w.auto, pid);
    assert.equal(rows.order?.state, 'Completed');
    assert.equal(rows.order?.ownerIdentity, 'acme');
    assert.equal(rows.order?.activationStatus, 'inactive', 'a scheduled order starts inactive (9.2.11)');
    assert.deepEqual(JSON.parse(rows.order?.snapshot ?? '{}').fsm, serverOrder(w.auto, 'C-fig6')?.fsm, 'the snapshot is the engine record');
    assert.deepEqual(
      rows.changes.map((c) => `${c.from ?? ''}→${c.to} ${c.cause}`),
      [
        '→PQOReceived quotationReceived',
        'PQOReceived→AwaitingProcessing startProcessing',
        'AwaitingProcessing→OfferProposed makeOffer',
        'OfferProposed→ProcessingReceived processingReceived',
        'ProcessingReceived→AcceptReceived acceptReceived',
        'AcceptReceived→Completed confirmAccept',
      ],
    );
    assert.equal(rows.changes.find((c) => c.cause === 'acceptReceived')?.method, 'ACCEPT');
    // Digests of every message both ways: 3 in, 3 out.
    assert.deepEqual(rows.messages.map((m) => `${m.direction} ${m.method}`), ['in QUOTATION', 'out PROCESSING', 'out OFFER', 'in PROCESSING', 'in ACCEPT', 'out ACK']);
    for (const m of rows.messages) assert.match(m.digest, /^[0-9a-f]{64}$/);
    assert.equal(rows.transactions.length, 1);
    assert.equal(rows.transactions[0]?.processed, 3);
    assert.equal(rows.transactions[0]?.status, 'closed');
    // 200 asked on pool "core": one committed reservation (the hold, promoted).
    assert.deepEqual(rows.reservations.map((r) => [r.pool, r.status, r.inKbps]), [['core', 'committed', 200_000]]);
    const pool = await w.auto.db.prisma.capacityPool.findUnique({ where: { id: 'core' } });
    assert.equal(pool?.availableInKbps, 800_000);
    assert.deepEqual(w.auto.decisions.ledger.usage('core').committed, { inMbps: 200, outMbps: 200 });
  });

  test('Figure 16: ACTIVATE → ACK (now, scheduled, deactivate); a scheduled activation fires on time', async () => {
    const id = 'C-fig6';
    const pid = providerId(w.auto, id);
    await w.acme.run((c) => c.activate(id, null));
    await w.hub.until('activated', () => w.acme.engine.order(id)?.fsm.outstanding === undefined && w.acme.engine.activation(id)?.status === 'active');
    assert.deepEqual(serverOrder(w.auto, id)?.fsm.activation, { status: 'active' });
    assert.equal((await w.auto.db.prisma.providerOrder.findUnique({ where: { id: pid } }))?.activationStatus, 'active');

    await w.acme.run((c) => c.activate(id, 0));
    await w.hub.until('deactivated', () => w.acme.engine.order(id)?.fsm.outstanding === undefined && w.acme.engine.activation(id)?.status === 'inactive');

    const at = fromNow(2000);
    await w.acme.run((c) => c.activate(id, at));
    await w.hub.until('scheduled', () => w.acme.engine.order(id)?.fsm.outstanding === undefined && w.acme.engine.activation(id)?.status === 'scheduled');
    const row = await w.auto.db.prisma.scheduledActivation.findFirst({ where: { orderId: pid } });
    assert.equal(row?.done, false);
    assert.equal(row?.at.toISOString(), new Date(at).toISOString());
    await w.hub.until('the scheduled activation fires', () => w.hub.events.some((e) => e.cause === 'scheduled-activation' && e.orderId === pid), 6000);
    assert.ok(Date.now() >= Date.parse(at), 'not before its time');
    const fired = await w.auto.db.prisma.scheduledActivation.findFirst({ where: { orderId: pid } });
    assert.equal(fired?.done, true);
    assert.equal((await w.auto.db.prisma.providerOrder.findUnique({ where: { id: pid } }))?.activationStatus, 'active');
    const change = await w.auto.db.prisma.providerStateChange.findFirst({ where: { orderId: pid, cause: 'scheduledActivation' } });
    assert.ok(change, 'the activation is logged as a state change');
    assert.ok(w.logs.some((l) => l.provider === 'auto' && l.cause === 'scheduled-activation' && l.order === pid), 'and in the structured log');
  });

  // --- Table 6 rejections that change nothing ------------------------------------------------

  test('wrong nonce, another customer, replayed and forged messages: FAIL or silence, and nothing changes (memory and database)', async () => {
    const id = 'C-fig6';
    const rec = w.acme.engine.order(id);
    assert.ok(rec?.nonce && rec.providerOrderId);
    const pid = rec.providerOrderId;
    const before = structuredClone(serverOrder(w.auto, id));
    const rowsBefore = await dbRows(w.auto, pid);
    const base = { version: 1 as const, customerOrderId: rec.customerOrderId, providerOrderId: pid };
    const fresh = () => ({ seq: randomInitialSequence(cryptoRandom), txid: newTransactionId(cryptoRandom) });

    // Wrong nonce (acme itself): Table 6 refuses with FAIL 1.
    const wrongNonce = await exchange('acme', w.auto.endpoint, { ...base, ...fresh(), method: Method.WITHDRAW, nonce: newNonce(cryptoRandom) });
    assert.equal(wrongNonce?.method, Method.FAIL);
    if (wrongNonce?.method === Method.FAIL) assert.equal(wrongNonce.statusCode, StatusCode.MESSAGE_VALIDATION_ERROR);

    // Another customer with every key right: FAIL 3.
    for (const message of [
      { ...base, ...fresh(), method: Method.WITHDRAW, nonce: rec.nonce },
      { ...base, ...fresh(), method: Method.UPDATE, nonce: rec.nonce, expectedResponseTime: fromNow(60_000), cpd: cpd('pe1:ge-0/0/9', 10) },
      { ...base, ...fresh(), method: Method.ACTIVATE, nonce: rec.nonce, activationSchedule: null },
    ] as CpnpMessage[]) {
      const answer = await exchange('globex', w.auto.endpoint, message);
      assert.equal(answer?.method, Method.FAIL, `globex ${message.method}`);
      if (answer?.method === Method.FAIL) assert.equal(answer.statusCode, StatusCode.AUTHORIZATION_FAILED);
    }

    // A replay of the QUOTATION transaction's ACCEPT from another transport session: not
    // processed again (its transaction ended; another 4-tuple).
    const quotationTx = before?.transactions[0]?.session.txid;
    assert.ok(quotationTx);
    const offer = before?.transactions[0]?.offer;
    assert.ok(offer);
    const replayed = await exchange('acme', w.auto.endpoint, { ...base, seq: (before?.transactions[0]?.session.inSeq ?? 0), txid: quotationTx, method: Method.ACCEPT, nonce: offer.nonce, cpd: offer.cpd } as CpnpMessage, false);
    assert.ok(replayed === undefined || replayed.method === Method.FAIL, 'silence or FAIL');

    // Forged: an ACK, a CANCEL and a DECLINE naming the order from nowhere; garbage bytes.
    for (const message of [
      { ...base, ...fresh(), method: Method.ACK },
      { ...base, ...fresh(), method: Method.CANCEL },
      { ...base, ...fresh(), method: Method.DECLINE, nonce: rec.nonce },
    ] as CpnpMessage[]) {
      const answer = await exchange('acme', w.auto.endpoint, message, false);
      assert.ok(answer === undefined || answer.method === Method.FAIL, `forged ${message.method}: silence or FAIL`);
    }

    const afterOrder = serverOrder(w.auto, id);
    assert.deepEqual(afterOrder?.fsm, before?.fsm, 'the order is untouched');
    assert.equal(afterOrder?.transactions.length, before?.transactions.length, 'no transaction opened');
    assert.deepEqual(afterOrder?.history, before?.history);
    const rowsAfter = await dbRows(w.auto, pid);
    assert.equal(rowsAfter.order?.snapshot, rowsBefore.order?.snapshot, 'the stored order is untouched');
    assert.equal(rowsAfter.changes.length, rowsBefore.changes.length, 'no state change stored');
    assert.equal(rowsAfter.transactions.length, rowsBefore.transactions.length);
    assert.ok(w.hub.events.some((e) => e.side === 'server' && e.kind === 'rejected' && e.detail?.startsWith('FAIL 3')));
    assert.ok(w.logs.some((l) => l.provider === 'auto' && l.event === 'rejected' && typeof l.client === 'string' && typeof l.ts === 'string'), 'rejections are logged with the client address and a timestamp (12.1)');
  });

  // --- Figure 15 and Figure 14 (automated) ------------------------------------------------------

  test('Figure 15: UPDATE → PROCESSING, OFFER (new nonce) → PROCESSING → ACCEPT → ACK; capacity follows', async () => {
    const id = 'C-fig6';
    const oldNonce = w.acme.engine.order(id)?.nonce;
    await w.acme.run((c) => c.update(id, { cpd: cpd('pe1:ge-0/0/1', 300), expectedResponseTime: fromNow(60_000) }));
    await w.hub.until('the update OFFER', () => w.acme.state(id) === 'OfferReceived');
    await w.acme.run((c) => c.processOffer(id));
    await w.acme.run((c) => c.accept(id));
    await w.hub.until('the update concluded', () => w.acme.state(id) === 'Completed' && w.acme.engine.order(id)?.agreement?.cycle === 'update' && serverState(w.auto, id) === 'Completed');
    const pid = providerId(w.auto, id);
    assert.notEqual(w.acme.engine.order(id)?.nonce, oldNonce, 'a new nonce (11.2.3)');
    assert.equal(w.acme.engine.order(id)?.nonce, serverOrder(w.auto, id)?.agreement?.nonce);
    const rows = await dbRows(w.auto, pid);
    assert.equal(rows.order?.cycle, 1);
    assert.deepEqual(
      rows.reservations.filter((r) => r.status !== 'released').map((r) => [r.pool, r.status, r.inKbps]),
      [['core', 'committed', 300_000]],
    );
    assert.equal((await w.auto.db.prisma.capacityPool.findUnique({ where: { id: 'core' } }))?.availableInKbps, 700_000);
  });

  test('WITHDRAW → ACK (automated): the order is Cancelled(withdrawn) and its capacity released', async () => {
    const id = 'C-fig6';
    await w.acme.run((c) => c.withdraw(id));
    await w.hub.until('withdrawn', () => serverState(w.auto, id) === 'Cancelled' && w.acme.engine.order(id)?.fsm.outstanding === undefined);
    assert.equal(w.acme.engine.order(id)?.fsm.cancelReason, 'withdrawn');
    const rows = await dbRows(w.auto, providerId(w.auto, id));
    assert.equal(rows.order?.state, 'Cancelled');
    assert.equal(rows.order?.cancelReason, 'withdrawn');
    assert.deepEqual(rows.reservations.filter((r) => r.status !== 'released'), []);
    assert.equal((await w.auto.db.prisma.capacityPool.findUnique({ where: { id: 'core' } }))?.availableInKbps, 1_000_000);
  });

  test('Figure 13: OFFER → PROCESSING → DECLINE → ACK releases the hold', async () => {
    const id = await w.acme.place(w.auto.endpoint, 'C-fig13', cpd('pe1:ge-0/0/2', 100));
    await w.hub.until('the OFFER', () => w.acme.state(id) === 'OfferReceived');
    assert.equal((await w.auto.db.prisma.capacityPool.findUnique({ where: { id: 'core' } }))?.availableInKbps, 900_000, 'held while the offer is valid');
    await w.acme.run((c) => c.processOffer(id));
    await w.acme.run((c) => c.decline(id));
    await w.hub.until('declined', () => serverState(w.auto, 'C-fig13') === 'Cancelled' && w.acme.engine.order(id)?.fsm.outstanding === undefined);
    assert.equal(w.acme.engine.order(id)?.fsm.cancelReason, 'declined');
    const rows = await dbRows(w.auto, providerId(w.auto, 'C-fig13'));
    assert.equal(rows.order?.cancelReason, 'declined');
    assert.deepEqual(rows.reservations.map((r) => r.status), ['released']);
    assert.equal((await w.auto.db.prisma.capacityPool.findUnique({ where: { id: 'core' } }))?.availableInKbps, 1_000_000);
  });

  test('FAIL decided by policy: no network presence (6); unsupported activation type (8), before any administrator sees it', async () => {
    const north = await w.globex.place(w.auto.endpoint, 'C-north', [{ nodes: [{ id: 'ce', link: 'pe1:x' }], routing: { regions: ['north'] } }]);
    const typed = await w.globex.place(w.admin.endpoint, 'C-type', cpd('pe1:y', 10), { options: { activationType: 'scheduled' } });
    await w.hub.until('both refused', () => w.globex.state(north) === 'Cancelled' && w.globex.state(typed) === 'Cancelled');
    const failOf = (p: RunningProvider, customerOrderId: string) =>
      w.hub.events.find((e) => e.side === 'server' && e.kind === 'sent' && e.method === 'FAIL' && e.orderId === providerId(p, customerOrderId));
    assert.ok(failOf(w.auto, 'C-north'), 'FAIL for a region without presence');
    assert.ok(failOf(w.admin, 'C-type'), 'FAIL for the activation type');
    assert.equal(serverOrder(w.admin, 'C-type')?.fsm.adminApprovalPending, undefined, 'never waited for an administrator');
    assert.equal(w.admin.decisions.explain(providerId(w.admin, 'C-type'))?.decisions.at(-1)?.statusCode, StatusCode.UNSUPPORTED_ACTIVATION_TYPE);
    assert.equal(w.auto.decisions.explain(providerId(w.auto, 'C-north'))?.decisions.at(-1)?.statusCode, StatusCode.NETWORK_PRESENCE_ERROR);
    const rows = await dbRows(w.auto, providerId(w.auto, 'C-north'));
    assert.equal(rows.order?.state, 'Cancelled');
    assert.deepEqual(rows.messages.map((m) => `${m.direction} ${m.method}`), ['in QUOTATION', 'out FAIL']);
  });

  // --- administrative validation (8.2, 12.2) over the HTTP admin endpoint ------------------------

  test('admin mode: the order waits in AwaitingProcessing; approve over HTTP gives the OFFER, reject gives FAIL 4', async () => {
    assert.ok(w.admin.adminUrl && w.admin.adminToken);
    const target = { url: w.admin.adminUrl, token: w.admin.adminToken };
    const approved = await w.acme.place(w.admin.endpoint, 'C-approve', cpd('pe1:a', 10));
    const rejected = await w.acme.place(w.admin.endpoint, 'C-reject', cpd('pe1:b', 10));
    await w.hub.until('both wait for an administrator', () =>
      [serverOrder(w.admin, 'C-approve'), serverOrder(w.admin, 'C-reject')].every((o) => o?.fsm.adminApprovalPending === true) &&
      w.acme.state(approved) === 'ServerProcessing' && w.acme.state(rejected) === 'ServerProcessing');

    const listed = await adminCall(target, 'GET', '/v1/orders');
    assert.equal(listed.status, 200);
    const orders = (listed.body as { orders: { id: string; awaiting?: string }[] }).orders;
    assert.deepEqual(orders.filter((o) => o.awaiting === 'approval').map((o) => o.id).sort(), [providerId(w.admin, 'C-approve'), providerId(w.admin, 'C-reject')].sort());

    const denied = await adminCall({ ...target, token: 'wrong' }, 'POST', `/v1/orders/${providerId(w.admin, 'C-approve')}/approve`, {});
    assert.equal(denied.status, 401, 'a wrong token is refused');

    const ok = await adminCall(target, 'POST', `/v1/orders/${providerId(w.admin, 'C-approve')}/approve`, {});
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    await w.hub.until('the OFFER after approval', () => w.acme.state(approved) === 'OfferReceived');
    const no = await adminCall(target, 'POST', `/v1/orders/${providerId(w.admin, 'C-reject')}/reject`, {});
    assert.equal(no.status, 200);
    await w.hub.until('FAIL 4 after rejection', () => w.acme.state(rejected) === 'Cancelled');
    assert.ok(w.hub.events.some((e) => e.side === 'client' && e.orderId === rejected && e.kind === 'received' && e.method === 'FAIL'));
    const again = await adminCall(target, 'POST', `/v1/orders/${providerId(w.admin, 'C-reject')}/approve`, {});
    assert.equal(again.status, 409, 'nothing awaits a decision any more');
    assert.equal((await adminCall(target, 'POST', '/v1/orders/P-000000000000/approve', {})).status, 404);

    const changes = await w.admin.db.prisma.providerStateChange.findMany({ where: { orderId: providerId(w.admin, 'C-approve') }, orderBy: { id: 'asc' } });
    assert.deepEqual(changes.map((c) => c.cause), ['quotationReceived', 'startProcessing', 'needAdminApproval', 'adminApprove', 'makeOffer']);
  });

  test('CANCEL while the order waits for an administrator → ACK (9.2.7); nothing is left to approve', async () => {
    const id = await w.globex.place(w.admin.endpoint, 'C-cancel', cpd('pe1:z', 10));
    await w.hub.until('waiting for approval', () => serverOrder(w.admin, 'C-cancel')?.fsm.adminApprovalPending === true && w.globex.state(id) === 'ServerProcessing');
    await w.globex.run((c) => c.cancel(id));
    await w.hub.until('cancelled at both ends', () => serverState(w.admin, 'C-cancel') === 'Cancelled' && w.globex.engine.order(id)?.fsm.outstanding === undefined);
    assert.equal(w.globex.engine.order(id)?.fsm.cancelReason, 'cancelled');
    const result = await w.admin.approve(providerId(w.admin, 'C-cancel'));
    assert.equal(result.status, 409);
    assert.equal((await w.admin.db.prisma.providerOrder.findUnique({ where: { id: providerId(w.admin, 'C-cancel') } }))?.cancelReason, 'cancelled');
  });

  test('Figure 14: WITHDRAW under administrative validation → PROCESSING, approved → ACK (Empty CPD)', async () => {
    const id = 'C-approve';
    await w.acme.run((c) => c.accept(id));
    await w.hub.until('agreed', () => w.acme.state(id) === 'Completed' && serverState(w.admin, id) === 'Completed');
    await w.acme.run((c) => c.withdraw(id));
    const pid = providerId(w.admin, id);
    await w.hub.until('the WITHDRAW is held (PROCESSING)', () => w.admin.orders().find((o) => o.id === pid)?.awaiting === 'WITHDRAW');
    await w.hub.until('the client got the PROCESSING', () => w.hub.events.some((e) => e.side === 'client' && e.orderId === id && e.kind === 'received' && e.method === 'PROCESSING' && e.txid === w.acme.engine.order(id)?.session?.txid));
    const result = await w.admin.approve(pid);
    assert.equal(result.ok, true, result.error);
    await w.hub.until('withdrawn', () => serverState(w.admin, id) === 'Cancelled' && w.acme.engine.order(id)?.fsm.outstanding === undefined);
    const ack = w.hub.events.filter((e) => e.side === 'server' && e.orderId === pid && e.kind === 'sent').map((e) => e.method);
    assert.deepEqual(ack.slice(-2), ['PROCESSING', 'ACK']);
  });

  // --- Figures 11 and 12: more time ------------------------------------------------------------

  test('Figure 11: PROCESSING(time1), PROCESSING(more time) → ACK; OFFER at the delayed decision → ACCEPT → ACK', async () => {
    const id = await w.acme.place(w.slow.endpoint, 'C-fig11', cpd('pe1:c', 10));
    await w.hub.until('PROCESSING with EXPECTED_OFFER_TIME', () => w.acme.state(id) === 'ServerProcessing');
    const pid = providerId(w.slow, 'C-fig11');
    const until = fromNow(30_000);
    await w.slow.runner.run((c) => c.command((e) => e.requestMoreTime(pid, until, ProcessingSubcode.UPGRADE_LOCAL_RESOURCES)));
    await w.hub.until('the client sees the request', () => w.acme.engine.order(id)?.fsm.moreTimeRequested === until);
    await w.acme.run((c) => c.grantMoreTime(id));
    await w.hub.until('the provider gets the ACK', () => serverOrder(w.slow, 'C-fig11')?.fsm.moreTimeRequested === undefined);
    await w.hub.until('the delayed OFFER', () => w.acme.state(id) === 'OfferReceived', 8000);
    await w.acme.run((c) => c.accept(id));
    await w.hub.until('agreed', () => w.acme.state(id) === 'Completed' && serverState(w.slow, 'C-fig11') === 'Completed');
    assert.deepEqual(serverMethods('sent', pid), ['PROCESSING', 'PROCESSING', 'OFFER', 'ACK']);
    assert.deepEqual(serverMethods('received', pid), ['QUOTATION', 'ACK', 'ACCEPT']);
  });

  test('Figure 12: PROCESSING(more time) → FAIL 7; the provider still answers (the delayed OFFER), then DECLINE', async () => {
    const id = await w.acme.place(w.slow.endpoint, 'C-fig12', cpd('pe1:d', 10));
    await w.hub.until('PROCESSING', () => w.acme.state(id) === 'ServerProcessing');
    const pid = providerId(w.slow, 'C-fig12');
    const until = fromNow(30_000);
    await w.slow.runner.run((c) => c.command((e) => e.requestMoreTime(pid, until, ProcessingSubcode.REQUEST_EXTERNAL_RESOURCES)));
    await w.hub.until('the client sees the request', () => w.acme.engine.order(id)?.fsm.moreTimeRequested === until);
    await w.acme.run((c) => c.refuseMoreTime(id));
    await w.hub.until('the provider gets FAIL 7', () => w.hub.events.some((e) => e.side === 'server' && e.orderId === pid && e.kind === 'received' && e.method === 'FAIL'));
    assert.equal(serverState(w.slow, 'C-fig12'), 'AwaitingProcessing');
    await w.hub.until('the OFFER before the first deadline', () => w.acme.state(id) === 'OfferReceived', 8000);
    await w.acme.run((c) => c.decline(id));
    await w.hub.until('declined', () => serverState(w.slow, 'C-fig12') === 'Cancelled');
  });

  // --- ACL ----------------------------------------------------------------------------------------

  test('address ACL: a QUOTATION from a source outside the allowed blocks gets FAIL 4 and creates no order', async () => {
    const listening = w.logs.find((r) => r.provider === 'acl' && r.event === 'listening');
    assert.deepEqual(listening?.acl, { allow: ['10.0.0.0/8'], deny: ['10.9.0.0/16'] }, 'the policy ACL merged with --deny');
    const id = await w.acme.place(w.acl.endpoint, 'C-acl', cpd('pe1:e', 10));
    await w.hub.until('FAIL 4', () => w.acme.state(id) === 'Cancelled');
    assert.equal(w.acl.engine.listOrders().length, 0);
    assert.equal(await w.acl.db.prisma.providerOrder.count(), 0);
    const rejected = w.hub.events.find((e) => e.side === 'server' && e.kind === 'rejected' && e.cause === 'table:access');
    assert.ok(rejected, 'rejected by the access filter');
    assert.match(rejected.detail ?? '', /^FAIL 4/);
  });

  test('no provider reported an engine or storage error', () => {
    const errors = w.hub.events.filter((e) => e.side === 'server' && (e.kind === 'error' || (e.kind === 'send-error' && !/closed/.test(e.detail ?? ''))));
    assert.deepEqual(errors, []);
    assert.deepEqual(w.acme.alarms(), []);
  });
});

describe('two providers side by side, one the partner of the other (Figure 7 over DTLS)', () => {
  const closers: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  });

  test('the customer gets PROCESSING while the child order runs, then the merged OFFER; both providers store their order', { timeout: 30_000 }, async () => {
    const dir = tempDir({ after });
    const hub = new EventHub();
    // Carrier B: examples/partner.yaml, automated for the test.
    const { policy: bPolicy, psk: bPsk } = writeCarrierB(dir, { decisionModes: { QUOTATION: 'automated' }, decisionDelay: 'immediate' });
    const b = await startProvider(parseProviderArgs(['--config', bPolicy, '--listen', '127.0.0.1:0', '--psk-file', bPsk], { cwd: dir }), { logger: silentLogger, onEvent: hub.push });
    closers.push(() => b.close());

    // Example Networks: examples/provider.yaml, its partner pointed at B.
    const aPolicy = writeExampleNetworks(dir, b.endpoint.port);
    const aPsk = writePsk(dir, ['acme'], {}, 'example-networks.psk.json');
    const a = await startProvider(parseProviderArgs(['--config', aPolicy, '--listen', '127.0.0.1:0', '--psk-file', aPsk], { cwd: dir }), { logger: silentLogger, onEvent: hub.push });
    closers.push(() => a.close());

    const customer = new TestClient('acme', hub);
    closers.push(() => customer.close());
    const id = await customer.place(a.endpoint, 'C-cascade', CASCADE_CPD);
    await hub.until('the merged OFFER', () => customer.state(id) === 'OfferReceived', 20_000);
    const processing = customer.events.find((e) => e.kind === 'received' && e.method === 'PROCESSING' && e.orderId === id);
    assert.ok(processing, 'PROCESSING first');
    const offerNodes = customer.engine.order(id)?.offer?.cpd[0]?.nodes?.map((n) => n.id);
    assert.deepEqual(offerNodes, ['ce-paris', 'ce-oslo'], 'the offer covers both providers');
    await customer.run((c) => c.accept(id));
    await hub.until('agreed', () => customer.state(id) === 'Completed', 10_000);

    const parent = a.engine.listOrders().find((o) => o.customerOrderId === 'C-cascade');
    assert.equal(parent?.fsm.state, 'Completed');
    assert.equal(parent?.fsm.agreementHasChildren, true);
    assert.equal(a.decisions.explain(parent?.id ?? '')?.decisions[0]?.outcome, 'partners', 'decided: child order needed');
    const child = b.engine.listOrders()[0];
    assert.equal(child?.fsm.state, 'Completed', 'the child order is agreed at the partner');
    assert.equal(child?.owner, 'example-networks', 'placed under the provider\'s own PSK identity');
    // A stored the cascade: the coordinator and its client engine, and the partner messages.
    const state = await a.db.prisma.engineState.findMany();
    // (The decision engine is stored per order, under decision-order:<id>, beside its pools row.)
    assert.deepEqual(state.map((s) => s.key).filter((k) => !k.startsWith('decision-order:')).sort(), ['decision-engine', 'partner-client-engine', 'partner-coordinator', 'partner-local-ports']);
    assert.ok(state.some((s) => s.key === `decision-order:${parent?.id ?? ''}`), 'the parent order\'s decision state has its own row');
    // The partner transport left from the port stored for carrier-b (kept across restarts, 8.3).
    const ports = JSON.parse(state.find((s) => s.key === 'partner-local-ports')?.json ?? '{}') as { ports?: Record<string, number> };
    assert.equal(typeof ports.ports?.['carrier-b'], 'number');
    const fromA = await b.db.prisma.providerMessage.findFirst({ where: { method: 'QUOTATION' } });
    assert.equal(fromA?.clientPort, ports.ports?.['carrier-b'], 'B saw the child QUOTATION come from that port');
    const toPartner = await a.db.prisma.providerMessage.findMany({ where: { serverPort: b.endpoint.port }, orderBy: { id: 'asc' } });
    assert.deepEqual(toPartner.map((m) => `${m.direction} ${m.method}`), ['out QUOTATION', 'in PROCESSING', 'in OFFER', 'out PROCESSING', 'out ACCEPT', 'in ACK']);
    assert.ok((await a.db.prisma.providerStateChange.findMany({ where: { orderId: parent?.id } })).some((c) => c.to === 'ChildCompleted'));
    assert.equal((await b.db.prisma.providerOrder.findFirst())?.state, 'Completed');
  });
});
