/**
 * The provider store through the direct SQLite writer the provider uses on SQLite files
 * (store-writes.ts workerSqliteWriter: better-sqlite3 on a worker thread), on a real file: the
 * rows it writes are the rows Prisma reads (a restart through Prisma restores the order, its
 * timers and the cached answer byte for byte), a group of outputs is one transaction, a failed
 * commit leaves no trace and the next one catches up, each transition once; pipelined, a commit
 * planned on top of a failed one is refused and its changes are caught up too.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SimulatedClock } from '../../cpnp/clock';
import { encodeMessage } from '../../cpnp/codec';
import { millisToDateTime } from '../../cpnp/date-time';
import type { CpnpMessage, OfferMessage } from '../../cpnp/message';
import { Method } from '../../cpnp/method';
import { seededRandom } from '../../cpnp/random';
import type { Endpoint } from '../../cpnp/transport/transport';
import { migratedDatabase } from '../../db/__tests__/helpers';
import { silentLogger } from '../logger';
import { policyFromData } from '../policy';
import { buildCore, storeViewOf, type ProviderCore } from '../server';
import { ProviderStore, type LoadedState, type ProviderOutput, type StoreView } from '../store';
import { workerSqliteWriter, type StoreWriter, type WriteOp } from '../store-writes';
import { cpd, policyData } from './provider-harness';

const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);
const CLIENT: Endpoint = { address: '192.0.2.10', port: 40000 };
const SERVER: Endpoint = { address: '198.51.100.1', port: 8921 };
const EMPTY: LoadedState = { orders: [], responseCache: { peers: [] }, activations: [] };
const policy = policyFromData(policyData());

function coreOf(loaded: LoadedState, clock: SimulatedClock, seed: number): { core: ProviderCore; view: StoreView } {
  const core = buildCore(loaded, { clock, random: seededRandom(seed), policy, transport: 'dtls', logger: silentLogger, timers: { retransTimerMs: 2000, maxRetries: 3 } });
  return { core, view: storeViewOf(core, 'dtls', () => SERVER) };
}

const inbound = (message: CpnpMessage) => ({ from: CLIENT, to: SERVER, identity: 'acme', bytes: encodeMessage(message) });

let counter = 0;
function quotation(customerOrderId: string): CpnpMessage {
  counter++;
  return {
    version: 1,
    method: Method.QUOTATION,
    seq: 1000,
    txid: counter.toString(16).padStart(32, 'c'),
    customerOrderId,
    expectedResponseTime: millisToDateTime(T0 + 3600_000),
    cpd: cpd('pe1:ge-0/0/1', 100),
  };
}

function offerIn(output: ProviderOutput): { message: OfferMessage; bytes: Uint8Array } {
  const send = output.sends.find((s) => s.message.method === Method.OFFER);
  assert.ok(send, 'an OFFER was sent');
  return { message: send.message as OfferMessage, bytes: send.bytes };
}

/** The real writer, made to fail on demand (a full disk). */
function failing(writer: StoreWriter): { writer: StoreWriter; state: { fail: boolean; batches: number } } {
  const state = { fail: false, batches: 0 };
  return {
    state,
    writer: {
      kind: writer.kind,
      write: (ops, now) => {
        state.batches++;
        return state.fail ? Promise.reject(new Error('disk full (injected)')) : writer.write(ops, now);
      },
      close: () => writer.close?.(),
    },
  };
}

describe('provider store, direct SQLite writer', () => {
  it('a group is one transaction; failed commit leaves nothing, the next catches up; Prisma restores what it wrote', async (t) => {
    const { db, file } = await migratedDatabase(t);
    const real = workerSqliteWriter(file);
    t.after(async () => {
      await real.close?.();
    });
    const { writer, state } = failing(real);
    const clock = new SimulatedClock(T0);
    const { core, view } = coreOf(EMPTY, clock, 7);
    const store = new ProviderStore(db, { clock, writer });
    await store.load();
    await store.commit({ sends: [], events: [] }, view, { full: true });

    // Two QUOTATIONs in one group: one transaction.
    state.batches = 0;
    const qa = quotation('C-direct-a');
    const qb = quotation('C-direct-b');
    const outA = core.receive(inbound(qa));
    const outB = core.receive(inbound(qb));
    const summary = await store.commitBatch([outA, outB], view);
    assert.equal(state.batches, 1, 'one transaction for the group');
    assert.equal(summary.orders, 2);
    const offerA = offerIn(outA);
    const offerB = offerIn(outB);

    // The ACCEPT of A fails to commit: no trace.
    clock.advance(500);
    const accept: CpnpMessage = { version: 1, method: Method.ACCEPT, seq: 1001, txid: qa.txid, customerOrderId: 'C-direct-a', providerOrderId: offerA.message.providerOrderId, nonce: offerA.message.nonce, cpd: offerA.message.cpd };
    state.fail = true;
    await assert.rejects(store.commit(core.receive(inbound(accept)), view), /disk full/);
    state.fail = false;
    assert.equal(store.failing, true);
    assert.equal((await db.prisma.providerOrder.findUnique({ where: { id: offerA.message.providerOrderId } }))?.state, 'OfferProposed');

    // The next group, about another order, writes what the failed one carried.
    await store.commit(core.receive(inbound(quotation('C-direct-c'))), view);
    assert.equal(store.failing, false);
    assert.equal((await db.prisma.providerOrder.findUnique({ where: { id: offerA.message.providerOrderId } }))?.state, 'Completed', 'caught up');
    const changes = await db.prisma.providerStateChange.findMany({ where: { orderId: offerA.message.providerOrderId }, orderBy: { id: 'asc' } });
    assert.deepEqual(changes.map((c) => c.cause), ['quotationReceived', 'startProcessing', 'makeOffer', 'acceptReceived', 'confirmAccept'], 'each transition once');
    const reservations = await db.prisma.capacityReservation.findMany({ where: { orderId: offerA.message.providerOrderId } });
    assert.deepEqual(reservations.map((r) => r.status), ['committed'], 'one reservation, promoted from held');
    const pool = await db.prisma.capacityPool.findUnique({ where: { id: 'core' } });
    assert.equal(pool?.availableInKbps, 1_000_000 - 3 * 100_000, 'three orders of 100 Mbit/s (one agreed, two held)');

    // Restart through Prisma: B's offer is still retransmitted and its QUOTATION answered from
    // the rebuilt cache, byte for byte; the decision engine's per-order rows come back.
    const restarted = new ProviderStore(db, { clock });
    const loaded = await restarted.load();
    assert.equal(loaded.orders.length, 3);
    assert.equal(loaded.decision?.orders.length, 3);
    const again = coreOf(loaded, clock, 8);
    assert.equal(again.core.engine.getOrder(offerB.message.providerOrderId)?.fsm.state, 'OfferProposed');
    assert.ok(again.core.engine.nextDue() !== undefined, 'B\'s timers are back');
    assert.ok(again.core.decisions.ledger.isNegotiating(offerB.message.providerOrderId), 'B\'s hold is back');
    clock.advance(1500);
    const duplicate = again.core.receive(inbound(qb));
    const answer = duplicate.sends.find((s) => s.message.method === Method.OFFER);
    assert.deepEqual(answer?.bytes, offerB.bytes, 'the cached OFFER, byte for byte');
  });

  it('pipelined: a commit planned while a failing one is written is refused, rolled back, and caught up by the next', async (t) => {
    const { db, file } = await migratedDatabase(t);
    const real = workerSqliteWriter(file);
    t.after(async () => {
      await real.close?.();
    });
    assert.equal(real.pipelined, true);
    // A real failure inside the worker's transaction: a last row SQLite refuses (NOT NULL).
    const broken: WriteOp = { kind: 'engineState', key: 'broken', json: null as unknown as string };
    const state = { fail: false, batches: 0 };
    const writer: StoreWriter = {
      kind: real.kind,
      pipelined: true,
      write: (ops, now, generation) => {
        state.batches++;
        return real.write(state.fail ? [...ops, broken] : ops, now, generation);
      },
      close: () => real.close?.(),
    };
    const clock = new SimulatedClock(T0);
    const { core, view } = coreOf(EMPTY, clock, 11);
    const store = new ProviderStore(db, { clock, writer });
    await store.load();
    assert.equal(store.pipelined, true);
    await store.commit({ sends: [], events: [] }, view, { full: true });
    const qa = quotation('C-pipe-a');
    const outA = core.receive(inbound(qa));
    await store.commit(outA, view);
    const offerA = offerIn(outA);

    // Commit 1 (the ACCEPT of A) fails in the worker; commit 2 (a new order C) is planned and
    // handed over before that is known.
    clock.advance(500);
    const accept: CpnpMessage = { version: 1, method: Method.ACCEPT, seq: 1001, txid: qa.txid, customerOrderId: 'C-pipe-a', providerOrderId: offerA.message.providerOrderId, nonce: offerA.message.nonce, cpd: offerA.message.cpd };
    state.fail = true;
    const first = store.commit(core.receive(inbound(accept)), view);
    state.fail = false;
    const outC = core.receive(inbound(quotation('C-pipe-c')));
    const second = store.commit(outC, view);
    await assert.rejects(first, /NOT NULL/);
    await assert.rejects(second, /earlier batch/, 'refused: it was planned on top of the failed one');
    assert.equal(store.failing, true);
    const orderC = offerIn(outC).message.providerOrderId;
    assert.equal(await db.prisma.providerOrder.count({ where: { id: orderC } }), 0, 'nothing of commit 2');
    assert.equal((await db.prisma.providerOrder.findUnique({ where: { id: offerA.message.providerOrderId } }))?.state, 'OfferProposed', 'nothing of commit 1');

    // Commit 3 (order D) catches up on both, each row once.
    const outD = core.receive(inbound(quotation('C-pipe-d')));
    await store.commit(outD, view);
    assert.equal(store.failing, false);
    assert.equal((await db.prisma.providerOrder.findUnique({ where: { id: offerA.message.providerOrderId } }))?.state, 'Completed');
    assert.equal((await db.prisma.providerOrder.findUnique({ where: { id: orderC } }))?.state, 'OfferProposed');
    const causes = async (orderId: string) => (await db.prisma.providerStateChange.findMany({ where: { orderId }, orderBy: { id: 'asc' } })).map((c) => c.cause);
    assert.deepEqual(await causes(offerA.message.providerOrderId), ['quotationReceived', 'startProcessing', 'makeOffer', 'acceptReceived', 'confirmAccept']);
    assert.deepEqual(await causes(orderC), ['quotationReceived', 'startProcessing', 'makeOffer']);
    const live = await db.prisma.capacityReservation.findMany({ where: { status: { not: 'released' } }, orderBy: { id: 'asc' } });
    assert.deepEqual(live.map((r) => `${r.orderId} ${r.status}`).sort(), [
      `${offerA.message.providerOrderId} committed`,
      `${orderC} held`,
      `${offerIn(outD).message.providerOrderId} held`,
    ].sort(), 'one live reservation per order');
    assert.equal(new Set(live.map((r) => r.id)).size, 3);
    // The CPD columns are written once per CPD (left as they are by later steps), and survive the rollback.
    const rowA = await db.prisma.providerOrder.findUnique({ where: { id: offerA.message.providerOrderId } });
    assert.deepEqual(rowA?.offeredCpd, offerA.message.cpd);
    assert.deepEqual(rowA?.agreementCpd, offerA.message.cpd);
    assert.deepEqual((await db.prisma.providerOrder.findUnique({ where: { id: orderC } }))?.offeredCpd, offerIn(outC).message.cpd);
    const decisionRows = await db.prisma.engineState.count({ where: { key: { startsWith: 'decision-order:' } } });
    assert.equal(decisionRows, 3, 'every decision part written');
    assert.equal((await db.prisma.capacityPool.findUnique({ where: { id: 'core' } }))?.availableInKbps, 1_000_000 - 3 * 100_000);

    // A restart reads it all back; new reservations get fresh ids.
    const restarted = new ProviderStore(db, { clock });
    const loaded = await restarted.load();
    assert.equal(loaded.orders.length, 3);
  });
});
