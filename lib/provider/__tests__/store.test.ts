/**
 * The provider store (RFC 8921 8.11) on a real SQLite file: what one engine output writes, that
 * it is one transaction, that a failed commit leaves nothing behind and is caught up by the next
 * one, that a restart restores every order, timer, cached answer, capacity hold and scheduled
 * activation exactly, and that the runner sends nothing a commit did not cover.
 *
 * The server core is driven directly with crafted messages and a simulated clock: no network,
 * no sleeps.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SimulatedClock } from '../../cpnp/clock';
import { encodeMessage } from '../../cpnp/codec';
import { millisToDateTime } from '../../cpnp/date-time';
import type { EngineEvent } from '../../cpnp/engine/output';
import { EngineRunner, type TimerApi } from '../../cpnp/engine/runner';
import type { CpnpMessage, OfferMessage } from '../../cpnp/message';
import { Method } from '../../cpnp/method';
import { seededRandom } from '../../cpnp/random';
import type { Endpoint, InboundHandler, MessageTransport } from '../../cpnp/transport/transport';
import type { Database } from '../../db';
import { migratedDatabase } from '../../db/__tests__/helpers';
import { silentLogger } from '../logger';
import { policyFromData } from '../policy';
import { buildCore, partnerPortsFrom, storeViewOf, type ProviderCore } from '../server';
import { ProviderStore, type LoadedState, type ProviderOutput, type StoreView } from '../store';
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

function inbound(message: CpnpMessage, identity = 'acme') {
  return { from: CLIENT, to: SERVER, identity, bytes: encodeMessage(message) };
}

let txCounter = 0;
function quotation(customerOrderId: string, scheduled = false): CpnpMessage {
  txCounter++;
  return {
    version: 1,
    method: Method.QUOTATION,
    seq: 1000,
    txid: txCounter.toString(16).padStart(32, 'a'),
    customerOrderId,
    expectedResponseTime: millisToDateTime(T0 + 3600_000),
    cpd: cpd('pe1:ge-0/0/1', 100),
    ...(scheduled ? { ies: { options: { activationType: 'scheduled' as const } } } : {}),
  };
}

function offerIn(output: ProviderOutput): OfferMessage {
  const offer = output.sends.map((s) => s.message).find((m): m is OfferMessage => m.method === Method.OFFER);
  assert.ok(offer, 'an OFFER was sent');
  return offer;
}

/** A Database whose $transaction calls are counted, logged and can be made to fail. */
function instrumented(db: Database) {
  const state = { calls: 0, statements: [] as number[], fail: false, log: [] as string[] };
  const prisma = new Proxy(db.prisma, {
    get(target, prop) {
      if (prop === '$transaction') {
        return async (arg: unknown) => {
          state.calls++;
          if (Array.isArray(arg)) state.statements.push(arg.length);
          state.log.push('commit');
          if (state.fail) throw new Error('disk full (injected)');
          const result = await (target.$transaction as (a: unknown) => Promise<unknown>)(arg);
          state.log.push('committed');
          return result;
        };
      }
      const value = Reflect.get(target, prop) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { db: { ...db, prisma } as Database, state };
}

describe('provider store', () => {
  it('round trip: a restart restores every order, timer, cached answer, hold and scheduled activation', async (t) => {
    const { db } = await migratedDatabase(t);
    const clock = new SimulatedClock(T0);
    const { core, view } = coreOf(EMPTY, clock, 1);
    const store = new ProviderStore(db, { clock });
    await store.load();
    await store.commit({ sends: [], events: [] }, view, { full: true });

    // Order A: QUOTATION → PROCESSING + OFFER; ACCEPT → ACK; ACTIVATE at T0 + 10 min → ACK.
    const qa = quotation('C-A', true);
    const outA = core.receive(inbound(qa));
    await store.commit(outA, view);
    const offerA = offerIn(outA);
    clock.advance(1000);
    const accept: CpnpMessage = { version: 1, method: Method.ACCEPT, seq: 1001, txid: qa.txid, customerOrderId: 'C-A', providerOrderId: offerA.providerOrderId, nonce: offerA.nonce, cpd: offerA.cpd };
    const outAccept = core.receive(inbound(accept));
    await store.commit(outAccept, view);
    const ack = outAccept.sends.find((s) => s.message.method === Method.ACK);
    assert.ok(ack);
    clock.advance(1000);
    const at = millisToDateTime(T0 + 600_000);
    const activate: CpnpMessage = { version: 1, method: Method.ACTIVATE, seq: 7, txid: 'b'.repeat(32), customerOrderId: 'C-A', providerOrderId: offerA.providerOrderId, nonce: offerA.nonce, activationSchedule: at };
    await store.commit(core.receive(inbound(activate)), view);
    assert.deepEqual(core.engine.getOrder(offerA.providerOrderId)?.fsm.activation, { status: 'scheduled', at });

    // Order B: an offer still being retransmitted, its hold running.
    const outB = core.receive(inbound(quotation('C-B')));
    await store.commit(outB, view);
    const offerB = offerIn(outB);

    // --- restart ---
    const store2 = new ProviderStore(db, { clock });
    const loaded = await store2.load();
    const { core: core2, view: view2 } = coreOf(loaded, clock, 2);
    assert.deepEqual(core2.engine.listOrders(), core.engine.listOrders(), 'every order record, transactions and timers included');
    assert.deepEqual(core2.decisions.snapshot(), core.decisions.snapshot(), 'decision state and capacity ledger');
    assert.deepEqual(core2.activations.list(), core.activations.list());
    assert.equal(core2.nextDue(), core.nextDue());

    // 11.4: the ACCEPT retransmitted across the restart gets the same ACK bytes, unprocessed.
    clock.advance(1500);
    const processed = core2.engine.processedCount(qa.txid);
    const again = core2.receive(inbound(accept));
    assert.equal(again.sends.length, 1);
    assert.deepEqual(again.sends[0]?.bytes, ack.bytes, 'the cached ACK, byte for byte');
    assert.equal(core2.engine.processedCount(qa.txid), processed, 'not processed again');
    await store2.commit(again, view2);

    // The OFFER of B is retransmitted at the same time, with the same bytes, by both cores.
    const due = core.engine.nextDue();
    assert.ok(due !== undefined);
    clock.set(due);
    const original = core.tick().sends.map((s) => s.bytes);
    const restored = core2.tick();
    assert.deepEqual(restored.sends.map((s) => s.bytes), original);
    assert.deepEqual(restored.sends.map((s) => s.message.method), [Method.OFFER]);
    assert.equal(restored.sends[0]?.message.seq, offerB.seq);
    await store2.commit(restored, view2);

    // The scheduled activation fires at its time, from the restored schedule.
    clock.set(T0 + 600_000);
    const fired = core2.tick();
    assert.ok(fired.events.some((e) => e.cause === 'scheduled-activation' && e.orderId === offerA.providerOrderId));
    await store2.commit(fired, view2);

    const pidA = offerA.providerOrderId;
    const row = await db.prisma.providerOrder.findUnique({ where: { id: pidA } });
    assert.equal(row?.state, 'Completed');
    assert.equal(row?.activationStatus, 'active');
    assert.equal(row?.activationType, 'scheduled');
    assert.deepEqual(
      (await db.prisma.providerStateChange.findMany({ where: { orderId: pidA }, orderBy: { id: 'asc' } })).map((c) => c.cause),
      ['quotationReceived', 'startProcessing', 'makeOffer', 'acceptReceived', 'confirmAccept', 'activateReceived', 'scheduledActivation'],
    );
    const activation = await db.prisma.scheduledActivation.findMany({ where: { orderId: pidA } });
    assert.deepEqual(activation.map((a) => [a.at.getTime(), a.done]), [[T0 + 600_000, true]]);
    const txs = await db.prisma.providerTransaction.findMany({ where: { orderId: pidA }, orderBy: { id: 'asc' } });
    assert.deepEqual(txs.map((x) => [x.method, x.status, x.processed]), [['QUOTATION', 'closed', 2], ['ACTIVATE', 'closed', 1]]);
    const messages = await db.prisma.providerMessage.findMany({ where: { orderId: pidA }, orderBy: { id: 'asc' } });
    assert.deepEqual(
      messages.map((m) => `${m.direction} ${m.method}`),
      ['in QUOTATION', 'out PROCESSING', 'out OFFER', 'in ACCEPT', 'out ACK', 'in ACTIVATE', 'out ACK', 'in ACCEPT', 'out ACK'],
    );
    // Capacity: A committed, B held until its validity, in both the ledger and the database.
    const reservations = await db.prisma.capacityReservation.findMany({ where: { status: { in: ['held', 'committed'] } }, orderBy: { id: 'asc' } });
    assert.deepEqual(reservations.map((r) => [r.orderId, r.pool, r.status, r.inKbps]), [
      [pidA, 'core', 'committed', 100_000],
      [offerB.providerOrderId, 'core', 'held', 100_000],
    ]);
    assert.equal(reservations[1]?.expiresAt?.getTime(), Date.parse(offerB.validityOfferTime));
    const pool = await db.prisma.capacityPool.findUnique({ where: { id: 'core' } });
    assert.equal(pool?.availableInKbps, 800_000);
    assert.deepEqual(core2.decisions.ledger.usage('core').available, { inMbps: 800, outMbps: 800 });

    // B's offer expires (9.1.8): silently removed, hold released, row and pool follow.
    clock.set(Date.parse(offerB.validityOfferTime));
    await store2.commit(core2.tick(), view2);
    assert.equal((await db.prisma.providerOrder.findUnique({ where: { id: offerB.providerOrderId } }))?.cancelReason, 'expired');
    assert.equal((await db.prisma.capacityPool.findUnique({ where: { id: 'core' } }))?.availableInKbps, 900_000);
  });

  it('one transaction per output; a failed commit writes nothing and the next one catches up, without duplicates', async (t) => {
    const { db: raw } = await migratedDatabase(t);
    const { db, state } = instrumented(raw);
    const clock = new SimulatedClock(T0);
    const { core, view } = coreOf(EMPTY, clock, 3);
    const store = new ProviderStore(db, { clock });
    await store.load();
    await store.commit({ sends: [], events: [] }, view, { full: true });
    Object.assign(state, { calls: 0, statements: [], log: [] });

    const q = quotation('C-batch');
    const out = core.receive(inbound(q));
    const summary = await store.commit(out, view);
    assert.equal(state.calls, 1, 'one transaction');
    assert.equal(state.statements[0], summary.statements);
    assert.ok(summary.statements >= 8, `order, transaction, 3 state changes, 3 digests, engine state, capacity... (${summary.statements})`);
    const offer = offerIn(out);

    // Nothing worth writing: a replay is dropped, no transaction at all.
    const before = state.calls;
    const replay = core.receive(inbound({ ...q, seq: 999 }));
    assert.ok(replay.events.every((e) => e.kind === 'dropped'));
    await store.commit(replay, view);
    assert.equal(state.calls, before, 'a dropped message writes nothing');

    // The ACCEPT's commit fails: nothing of it is stored.
    clock.advance(500);
    const accept: CpnpMessage = { version: 1, method: Method.ACCEPT, seq: 1001, txid: q.txid, customerOrderId: 'C-batch', providerOrderId: offer.providerOrderId, nonce: offer.nonce, cpd: offer.cpd };
    state.fail = true;
    await assert.rejects(store.commit(core.receive(inbound(accept)), view), /disk full/);
    state.fail = false;
    const stored = await raw.prisma.providerOrder.findUnique({ where: { id: offer.providerOrderId } });
    assert.equal(stored?.state, 'OfferProposed', 'the failed commit left no trace');
    assert.equal(await raw.prisma.providerStateChange.count({ where: { orderId: offer.providerOrderId } }), 3);

    // The next commit, about another order, writes the state the failed one did not.
    await store.commit(core.receive(inbound(quotation('C-other'))), view);
    assert.equal((await raw.prisma.providerOrder.findUnique({ where: { id: offer.providerOrderId } }))?.state, 'Completed', 'caught up by the next commit');

    // The client retransmits the ACCEPT: answered from the cache, nothing written twice.
    clock.advance(1500);
    const retransmitted = core.receive(inbound(accept));
    assert.deepEqual(retransmitted.sends.map((s) => s.message.method), [Method.ACK]);
    await store.commit(retransmitted, view);
    const caught = await raw.prisma.providerOrder.findUnique({ where: { id: offer.providerOrderId } });
    assert.equal(caught?.state, 'Completed');
    const changes = await raw.prisma.providerStateChange.findMany({ where: { orderId: offer.providerOrderId }, orderBy: { id: 'asc' } });
    assert.deepEqual(changes.map((c) => c.cause), ['quotationReceived', 'startProcessing', 'makeOffer', 'acceptReceived', 'confirmAccept'], 'each transition once');
    const reservations = await raw.prisma.capacityReservation.findMany({ where: { orderId: offer.providerOrderId } });
    assert.deepEqual(reservations.map((r) => r.status), ['committed'], 'one reservation, promoted from held');
  });

  it('commit before send: the runner sends only what was committed; a failed commit sends nothing', async (t) => {
    const { db: raw } = await migratedDatabase(t);
    const { db, state } = instrumented(raw);
    const clock = new SimulatedClock(T0);
    const { core, view } = coreOf(EMPTY, clock, 4);
    const store = new ProviderStore(db, { clock });
    await store.load();
    await store.commit({ sends: [], events: [] }, view, { full: true });
    Object.assign(state, { calls: 0, statements: [], log: [] });
    let deliver: InboundHandler = () => undefined;
    const wire: MessageTransport = {
      kind: 'dtls',
      local: () => SERVER,
      onMessage: (handler) => {
        deliver = handler;
        return () => undefined;
      },
      send: (_to, bytes) => {
        state.log.push(`send ${bytes.length}`);
        return Promise.resolve();
      },
      close: () => Promise.resolve(),
    };
    const timers: TimerApi = { set: () => 0, clear: () => undefined };
    const events: EngineEvent[] = [];
    const runner = new EngineRunner<ProviderCore>({
      core,
      transport: wire,
      clock,
      side: 'server',
      timers,
      beforeSend: async (output) => {
        await store.commit(output as ProviderOutput, view);
      },
      onEvent: (e) => events.push(e),
    });
    runner.start();
    t.after(() => runner.stop());

    const q = quotation('C-runner');
    state.fail = true;
    deliver(inbound(q));
    await runner.idle();
    assert.deepEqual(state.log, ['commit'], 'the commit was tried, nothing was sent');
    assert.ok(events.some((e) => e.kind === 'error' && e.cause === 'beforeSend-failed'));
    assert.equal(await raw.prisma.providerOrder.count(), 0);

    state.fail = false;
    state.log.length = 0;
    clock.advance(2000);
    deliver(inbound(q)); // the client's retransmission: the cached answer, now committed first
    await runner.idle();
    assert.equal(state.log[0], 'commit');
    assert.equal(state.log[1], 'committed');
    assert.ok(state.log.length >= 3 && state.log.slice(2).every((l) => l.startsWith('send ')), `sends only after the commit: ${state.log.join(', ')}`);
    assert.equal(await raw.prisma.providerOrder.count(), 1);
    assert.equal(await raw.prisma.providerStateChange.count(), 3, 'the state the unsent output reached is stored once');
  });
  it('partner transport ports: written once at start, read back by the next start, not rewritten unchanged', async (t) => {
    const { db } = await migratedDatabase(t);
    const clock = new SimulatedClock(T0);
    const { core } = coreOf(EMPTY, clock, 5);
    const ports = { 'carrier-b': 45123 };
    const view = storeViewOf(core, 'dtls', () => SERVER, { kind: 'dtls', local: () => ({ address: '127.0.0.1', port: 45123 }), ports });
    const store = new ProviderStore(db, { clock });
    await store.load();
    const first = await store.commit({ sends: [], events: [] }, view, { full: true });
    assert.ok(first.engineState >= 1);
    const again = await store.commit({ sends: [], events: [] }, view, { full: true });
    const row = await db.prisma.engineState.findUnique({ where: { key: 'partner-local-ports' } });
    assert.deepEqual(JSON.parse(row?.json ?? 'null'), { ports });
    const loaded = await new ProviderStore(db, { clock }).load();
    assert.deepEqual(partnerPortsFrom(loaded.partnerPorts), ports);
    assert.equal(again.engineState, 0, 'unchanged: not written again');
    // Whatever is not a port is ignored on reading.
    assert.deepEqual(partnerPortsFrom({ ports: { a: 0, b: 70000, c: '1', d: 1.5, e: 8 } }), { e: 8 });
    assert.deepEqual(partnerPortsFrom('nonsense'), {});
  });
});
