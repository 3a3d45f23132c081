/**
 * Persistence and recovery of the REAL provider process (RFC 8921 8.11): `bin/cpnp.mjs provider`
 * is spawned as a child and killed with SIGKILL at each step of a negotiation, then restarted on
 * the same port and database. A real CPNP client (DTLS, PSK identity "acme") runs the negotiation
 * from the test process; its own retransmissions (11.4) carry it across every restart.
 *
 * The crash points are exact: the provider's test-only fault hook (CPNP_PROVIDER_FAULT) kills it
 *   1. before the QUOTATION's step is committed (the step is lost, the QUOTATION is processed
 *      again after restart),
 *   2. after it is committed but before PROCESSING and OFFER leave (the restarted server answers
 *      the retransmitted QUOTATION from its rebuilt answer cache, without processing it twice),
 *   3. right after that OFFER left,
 *   4. after the ACCEPT's step (Completed) is committed but before the ACK leaves,
 *   5. right after the ACK left;
 * then the test itself kills it right after an ACTIVATE with a date was acknowledged, restarts
 * it only once that date has passed, and the activation fires after the restart.
 *
 * At the end: one order, one state change per transition, one reservation row, one row per
 * transaction, the client never alarmed nor saw a FAIL, and both ends agree.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { join } from 'node:path';
import { openDatabase } from '../../db';
import type { Endpoint } from '../../cpnp/transport/transport';
import { cpd, EventHub, fromNow, killChild, spawnCpnp, TestClient, tempDir, writePolicy, writePsk, type SpawnedProvider } from './provider-harness';

describe('provider restart: kill -9 at each step, restart, the negotiation completes', () => {
  const children: SpawnedProvider[] = [];
  const closers: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const child of children) await killChild(child);
    for (const close of closers.reverse()) await close().catch(() => undefined);
  });

  test('a whole negotiation across seven provider processes', { timeout: 85_000 }, async () => {
    const dir = tempDir({ after });
    const policy = writePolicy(dir);
    const psk = writePsk(dir, ['acme']);
    const db = join(dir, 'provider.db');
    const hub = new EventHub();
    let port = 0;
    const start = async (fault?: string): Promise<SpawnedProvider> => {
      const spawned = spawnCpnp(
        ['provider', '--config', policy, '--db', db, '--psk-file', psk, '--listen', `127.0.0.1:${port}`, '--retrans-timer', '1s', '--log-level', 'debug'],
        { hub, env: fault === undefined ? { CPNP_PROVIDER_FAULT: '' } : { CPNP_PROVIDER_FAULT: fault } },
      );
      children.push(spawned);
      const listening = await spawned.waitLog('listening', (r) => r.event === 'listening');
      port = Number(listening.port);
      return spawned;
    };
    const crashed = async (spawned: SpawnedProvider, what: string): Promise<void> => {
      const exit = await Promise.race([spawned.exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`the provider did not crash ${what}`)), 20_000))]);
      assert.equal(exit.signal, 'SIGKILL', `killed ${what}`);
    };
    const rows = async () => {
      const database = await openDatabase(db);
      try {
        const prisma = database.prisma;
        return {
          orders: await prisma.providerOrder.findMany(),
          changes: await prisma.providerStateChange.findMany({ orderBy: { id: 'asc' } }),
          transactions: await prisma.providerTransaction.findMany({ orderBy: { id: 'asc' } }),
          reservations: await prisma.capacityReservation.findMany({ orderBy: { id: 'asc' } }),
          activations: await prisma.scheduledActivation.findMany(),
        };
      } finally {
        await database.close();
      }
    };

    // Learn the port from a first clean start, then keep it.
    const first = await start();
    first.child.kill('SIGKILL');
    await first.exited;
    const server: Endpoint = { address: '127.0.0.1', port };

    const client = new TestClient('acme', hub, { deadAfterMs: 600 });
    closers.push(() => client.close());

    // 1. Killed before the QUOTATION's step is committed: nothing of it survives.
    let provider = await start('before-commit:in:QUOTATION');
    const id = await client.place(server, 'C-restart', cpd('pe1:ge-0/0/1', { min: 50, pref: 100 }), { options: { activationType: 'scheduled' } });
    await crashed(provider, 'before committing the QUOTATION');
    assert.equal((await rows()).orders.length, 0, 'nothing was committed');

    // 2. Killed after the commit, before PROCESSING and OFFER left.
    provider = await start('after-commit:in:QUOTATION');
    await crashed(provider, 'after committing the QUOTATION');
    let stored = await rows();
    assert.equal(stored.orders.length, 1);
    assert.equal(stored.orders[0]?.state, 'OfferProposed');
    assert.equal(client.state(id), 'PQOSent', 'the client saw nothing yet');

    // 3. The retransmitted QUOTATION gets the committed OFFER from the rebuilt answer cache; the
    //    process dies right after sending it.
    provider = await start('after-send:out:OFFER');
    await hub.until('the client has the OFFER', () => client.state(id) === 'OfferReceived', 20_000);
    await crashed(provider, 'after sending the OFFER');
    const duplicate = provider.logs.find((r) => r.event === 'duplicate' && r.method === 'QUOTATION');
    assert.ok(duplicate, 'the QUOTATION was recognised as a retransmission, not processed again');

    // 4. ACCEPT: killed after Completed is committed, before the ACK left.
    provider = await start('after-commit:in:ACCEPT');
    await client.run((c) => c.accept(id));
    await crashed(provider, 'after committing the ACCEPT');
    stored = await rows();
    assert.equal(stored.orders[0]?.state, 'Completed');
    assert.equal(client.state(id), 'AcceptSent');

    // 5. The retransmitted ACCEPT gets the cached ACK; killed right after it left.
    provider = await start('after-send:out:ACK');
    await hub.until('the client is Completed', () => client.state(id) === 'Completed', 20_000);
    await crashed(provider, 'after sending the ACK');

    // 6. ACTIVATE with a date; killed (by the test) right after the ACK, restarted after the date.
    provider = await start();
    const at = fromNow(8000);
    await client.run((c) => c.activate(id, at));
    await hub.until('the ACTIVATE is acknowledged', () => client.engine.order(id)?.fsm.outstanding === undefined && client.engine.activation(id)?.status === 'scheduled', 20_000);
    provider.child.kill('SIGKILL');
    await provider.exited;
    stored = await rows();
    assert.deepEqual(stored.activations.map((a) => [a.at.toISOString(), a.done]), [[new Date(at).toISOString(), false]]);
    const due = Date.parse(at);
    // Nothing happens while the provider is down: the test waits for the clock to pass the date.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - Date.now() + 100)));

    // 7. Restarted after the date: the activation fires at once; then WITHDRAW → ACK.
    provider = await start();
    const fired = await provider.waitLog('the scheduled activation fired', (r) => r.cause === 'scheduled-activation');
    assert.ok(Date.parse(String(fired.ts)) > due);
    await client.run((c) => c.withdraw(id));
    await hub.until('withdrawn', () => client.engine.order(id)?.fsm.cancelReason === 'withdrawn' && client.engine.order(id)?.fsm.outstanding === undefined, 20_000);
    provider.child.kill('SIGTERM');
    assert.equal((await provider.exited).code, 0, 'a clean stop on SIGTERM');

    // Nothing duplicated, nothing contradictory.
    stored = await rows();
    assert.equal(stored.orders.length, 1, 'one order');
    const order = stored.orders[0];
    assert.equal(order?.state, 'Cancelled');
    assert.equal(order?.cancelReason, 'withdrawn');
    assert.deepEqual(
      stored.changes.map((c) => `${c.from ?? ''}→${c.to} ${c.cause}`),
      [
        '→PQOReceived quotationReceived',
        'PQOReceived→AwaitingProcessing startProcessing',
        'AwaitingProcessing→OfferProposed makeOffer',
        'OfferProposed→AcceptReceived acceptReceived',
        'AcceptReceived→Completed confirmAccept',
        'Completed→Completed activateReceived',
        'Completed→Completed scheduledActivation',
        'Completed→Cancelled withdrawReceived',
      ],
      'one state change per transition',
    );
    assert.deepEqual(stored.transactions.map((t) => [t.method, t.processed]), [['QUOTATION', 2], ['ACTIVATE', 1], ['WITHDRAW', 1]], 'each message processed once');
    assert.deepEqual(stored.reservations.map((r) => [r.pool, r.status, r.inKbps]), [['core', 'released', 100_000]], 'one reservation: held, committed, released');
    assert.deepEqual(stored.activations.map((a) => a.done), [true]);
    assert.deepEqual(client.alarms(), [], 'the client never alarmed');
    assert.equal(client.events.filter((e) => e.kind === 'received' && e.method === 'FAIL').length, 0, 'and never got a FAIL');
    const record = JSON.parse(order?.snapshot ?? '{}') as { agreement?: { nonce: string } };
    assert.equal(record.agreement?.nonce, client.engine.order(id)?.nonce, 'both ends agree on the agreement');
  });

  test('a test agreement (purpose "test", testUntil) ends at testUntil, also when that time passed during a kill -9 (9.1.10.3)', { timeout: 60_000 }, async () => {
    const dir = tempDir({ after });
    const policy = writePolicy(dir);
    const psk = writePsk(dir, ['acme']);
    const db = join(dir, 'provider.db');
    const hub = new EventHub();
    let port = 0;
    const start = async (): Promise<SpawnedProvider> => {
      const spawned = spawnCpnp(['provider', '--config', policy, '--db', db, '--psk-file', psk, '--listen', `127.0.0.1:${port}`, '--retrans-timer', '1s', '--log-level', 'debug'], {
        hub,
        env: { CPNP_PROVIDER_FAULT: '' },
      });
      children.push(spawned);
      port = Number((await spawned.waitLog('listening', (r) => r.event === 'listening')).port);
      return spawned;
    };
    let provider = await start();
    const server: Endpoint = { address: '127.0.0.1', port };
    const client = new TestClient('acme', hub, { deadAfterMs: 600 });
    closers.push(() => client.close());
    const testUntil = fromNow(6000);
    const id = await client.place(server, 'C-test-period', cpd('pe1:ge-0/0/1', 100), { options: { purpose: 'test', testUntil } });
    await hub.until('the client has the OFFER', () => client.state(id) === 'OfferReceived', 20_000);
    await client.run((c) => c.accept(id));
    await hub.until('agreed', () => client.state(id) === 'Completed', 20_000);
    provider.child.kill('SIGKILL');
    await provider.exited;
    // The end falls while the provider is down.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Date.parse(testUntil) - Date.now() + 100)));
    provider = await start();
    const ended = await provider.waitLog('the test agreement ended', (r) => r.event === 'transition' && r.cause === 'testPeriodEnded');
    assert.equal(ended.to, 'Cancelled');
    provider.child.kill('SIGTERM');
    assert.equal((await provider.exited).code, 0);
    const database = await openDatabase(db);
    try {
      const order = await database.prisma.providerOrder.findFirst();
      assert.equal(order?.state, 'Cancelled');
      assert.equal(order?.cancelReason, 'withdrawn');
      const record = JSON.parse(order?.snapshot ?? '{}') as { agreement?: { testUntil?: string; testEndedAt?: number } };
      assert.equal(record.agreement?.testUntil, testUntil);
      assert.ok((record.agreement?.testEndedAt ?? 0) >= Date.parse(testUntil));
      const changes = await database.prisma.providerStateChange.findMany({ orderBy: { id: 'asc' } });
      assert.equal(changes.map((c) => `${c.from ?? ''}→${c.to} ${c.cause}`).at(-1), 'Completed→Cancelled testPeriodEnded');
      const reservations = await database.prisma.capacityReservation.findMany();
      assert.deepEqual(reservations.map((r) => r.status), ['released'], 'the capacity is free again');
    } finally {
      await database.close();
    }
  });
});
