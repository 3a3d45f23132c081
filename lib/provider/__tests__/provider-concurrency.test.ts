/**
 * Many customers racing for one capacity pool (RFC 8921 4, 8.2: "no double booking"): twenty
 * real CPNP clients, each with its own PSK identity and DTLS association, send their QUOTATION
 * at the same moment to one provider (in process, real SQLite file). Each asks for 100 Mbit/s,
 * accepting as little as 30; the pool has 1050 Mbit/s. Whatever the arrival order:
 * - the offers made never add up to more than the pool (held capacity counts);
 * - every offer stays within the request's bounds: 100, or a counterproposal of at least 30;
 * - every other order gets FAIL 5 (Out of Resources);
 * - once every offer is accepted, the committed capacity equals the sum of the agreements, in
 *   the ledger and in the database alike, and never exceeds the pool;
 * - after every withdrawal the pool is whole again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Capacity } from '../../cpnp/cpd/types';
import { StatusCode } from '../../cpnp/status-code';
import { parseProviderArgs } from '../config';
import { silentLogger } from '../logger';
import { startProvider, type RunningProvider } from '../server';
import { cpd, EventHub, TestClient, tempDir, writePolicy, writePsk } from './provider-harness';

const CLIENTS = 20;
const POOL_MBPS = 1050;
const ASK = { min: 30, pref: 100 };

describe('concurrency: twenty customers racing for one pool', () => {
  let provider: RunningProvider;
  const hub = new EventHub();
  const clients: TestClient[] = [];

  before(async () => {
    const dir = tempDir({ after });
    const names = Array.from({ length: CLIENTS }, (_, i) => `customer-${String(i).padStart(2, '0')}`);
    const policy = writePolicy(dir, { pools: { core: { inMbps: POOL_MBPS, outMbps: POOL_MBPS }, shared: { inMbps: 10, outMbps: 10 } } });
    const psk = writePsk(dir, names);
    const config = parseProviderArgs(['--config', policy, '--listen', '127.0.0.1:0', '--psk-file', psk, '--retrans-timer', '1s', '--admin', 'off'], { cwd: dir });
    provider = await startProvider(config, { logger: silentLogger, onEvent: hub.push });
    for (const name of names) clients.push(new TestClient(name, hub));
  });

  after(async () => {
    for (const client of clients) await client.close();
    await provider?.close();
  });

  const pool = () => provider.db.prisma.capacityPool.findUnique({ where: { id: 'core' } });
  const liveReservations = () => provider.db.prisma.capacityReservation.findMany({ where: { pool: 'core', status: { in: ['held', 'committed'] } } });
  const offered = (client: TestClient, id: string): number | undefined => {
    const offer = client.engine.order(id)?.offer;
    const capacity = offer?.cpd[0]?.capacity as Capacity | undefined;
    return typeof capacity?.inMbps === 'number' ? capacity.inMbps : undefined;
  };

  test('never overbooked; counterproposals within bounds or FAIL 5; the ledger and the database agree', { timeout: 60_000 }, async () => {
    const ids = await Promise.all(clients.map((client, i) => client.place(provider.endpoint, `C-race-${i}`, cpd('pe1:ge-0/0/1', ASK))));
    await hub.until('every client has an OFFER or a FAIL', () => clients.every((c, i) => ['OfferReceived', 'Cancelled'].includes(c.state(ids[i] ?? '') ?? '')), 30_000);

    const offers = clients.map((c, i) => offered(c, ids[i] ?? '')).filter((o): o is number => o !== undefined);
    const losers = clients.filter((c, i) => c.state(ids[i] ?? '') === 'Cancelled');
    assert.equal(offers.length + losers.length, CLIENTS);
    const total = offers.reduce((a, b) => a + b, 0);
    assert.ok(total <= POOL_MBPS, `offers add up to ${total} Mbit/s, the pool has ${POOL_MBPS}`);
    for (const o of offers) assert.ok(o >= ASK.min && o <= ASK.pref, `offer ${o} within [${ASK.min}, ${ASK.pref}]`);
    assert.equal(offers.filter((o) => o === ASK.pref).length, 10, 'ten get what they asked');
    assert.deepEqual(offers.filter((o) => o !== ASK.pref), [50], 'one counterproposal: the 50 Mbit/s left');
    assert.equal(losers.length, CLIENTS - 11);
    for (const order of provider.engine.listOrders().filter((o) => o.fsm.state === 'Cancelled')) {
      assert.equal(provider.decisions.explain(order.id)?.decisions.at(-1)?.statusCode, StatusCode.OUT_OF_RESOURCES, `${order.id}: FAIL 5`);
    }
    // While the offers are valid, their capacity is held, in the ledger and in the database.
    const held = await liveReservations();
    assert.equal(held.reduce((a, r) => a + r.inKbps, 0), total * 1000);
    assert.equal((await pool())?.availableInKbps, (POOL_MBPS - total) * 1000);

    // Every winner accepts at once.
    const winners = clients.map((c, i) => ({ c, id: ids[i] ?? '' })).filter(({ c, id }) => c.state(id) === 'OfferReceived');
    await Promise.all(winners.map(({ c, id }) => c.run((e) => e.accept(id))));
    await hub.until('every winner Completed', () => winners.every(({ c, id }) => c.state(id) === 'Completed'), 20_000);

    const usage = provider.decisions.ledger.usage('core');
    assert.equal(usage.committed.inMbps, total);
    assert.ok(usage.committed.inMbps + usage.held.inMbps <= POOL_MBPS);
    const committed = await liveReservations();
    assert.ok(committed.every((r) => r.status === 'committed'));
    assert.equal(committed.length, winners.length, 'one reservation per agreement');
    assert.equal(committed.reduce((a, r) => a + r.inKbps, 0), total * 1000);
    const row = await pool();
    assert.equal(row?.capacityInKbps, POOL_MBPS * 1000);
    assert.equal((row?.capacityInKbps ?? 0) - (row?.availableInKbps ?? 0), total * 1000, 'capacity - available = committed');
    assert.deepEqual(
      provider.engine.listOrders().filter((o) => o.fsm.state === 'Completed').map((o) => o.owner).sort(),
      winners.map(({ c }) => c.identity).sort(),
      'each agreement belongs to the identity that placed it',
    );

    // Everyone withdraws: the pool is whole again.
    await Promise.all(winners.map(({ c, id }) => c.run((e) => e.withdraw(id))));
    await hub.until('every agreement withdrawn', () => winners.every(({ c, id }) => c.engine.order(id)?.fsm.cancelReason === 'withdrawn' && c.engine.order(id)?.fsm.outstanding === undefined), 20_000);
    await hub.until('the provider released everything', () => provider.decisions.ledger.usage('core').committed.inMbps === 0);
    assert.deepEqual(await liveReservations(), []);
    assert.equal((await pool())?.availableInKbps, POOL_MBPS * 1000);
    assert.deepEqual(hub.events.filter((e) => e.side === 'server' && e.kind === 'error'), []);
  });
});
