/**
 * Delta writes of the order record (issue 8): the `snapshot` column no longer holds the order's
 * history (its entries are ProviderStateChange rows, written once each; the snapshot keeps the
 * count and the retransmission timer's entries). Property: after any run of steps over several
 * orders (quotations, acceptances, declines, retransmission timers, offer expiries), a restart
 * restores exactly the records the engine holds in memory, through either writer, and the
 * snapshot stays the same size whatever the history's length. An order stored by the earlier
 * form (whole history in `snapshot`) still loads and keeps that form.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SimulatedClock } from '../../cpnp/clock';
import { encodeMessage } from '../../cpnp/codec';
import { millisToDateTime } from '../../cpnp/date-time';
import type { ServerOrderRecord } from '../../cpnp/engine/server-engine';
import type { CpnpMessage, OfferMessage } from '../../cpnp/message';
import { Method } from '../../cpnp/method';
import { seededRandom } from '../../cpnp/random';
import type { Endpoint } from '../../cpnp/transport/transport';
import { PrismaPg } from '@prisma/adapter-pg';
import type { Database } from '../../db';
import { openDatabase } from '../../db/client';
import { migratedDatabase } from '../../db/__tests__/helpers';
import { initializePostgres } from '../../db/postgres-init';
import { silentLogger } from '../logger';
import { policyFromData } from '../policy';
import { buildCore, storeViewOf, type ProviderCore } from '../server';
import { ProviderStore, type LoadedState, type StoreView } from '../store';
import { workerSqliteWriter } from '../store-writes';
import { cpd, policyData } from './provider-harness';

const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);
const CLIENT: Endpoint = { address: '192.0.2.10', port: 40000 };
const SERVER: Endpoint = { address: '198.51.100.1', port: 8921 };
const policy = policyFromData(policyData());

function coreOf(loaded: LoadedState, clock: SimulatedClock, seed: number): { core: ProviderCore; view: StoreView } {
  const core = buildCore(loaded, { clock, random: seededRandom(seed), policy, transport: 'udp', logger: silentLogger, timers: { retransTimerMs: 2000, maxRetries: 3 } });
  return { core, view: storeViewOf(core, 'udp', () => SERVER) };
}

const inbound = (message: CpnpMessage) => ({ from: CLIENT, to: SERVER, bytes: encodeMessage(message) });

type Step = { kind: 'quote' } | { kind: 'accept'; pick: number } | { kind: 'decline'; pick: number } | { kind: 'wait'; ms: number } | { kind: 'restart' };

const pgUrl = process.env.CPNP_TEST_PG_URL;

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: 'quote' } as const) },
  { weight: 3, arbitrary: fc.nat(50).map((pick) => ({ kind: 'accept', pick }) as const) },
  { weight: 1, arbitrary: fc.nat(50).map((pick) => ({ kind: 'decline', pick }) as const) },
  { weight: 2, arbitrary: fc.integer({ min: 500, max: 9000 }).map((ms) => ({ kind: 'wait', ms }) as const) },
  { weight: 1, arbitrary: fc.constant({ kind: 'restart' } as const) },
);

const byId = (orders: readonly ServerOrderRecord[]): ServerOrderRecord[] => [...orders].sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));

/** Runs `steps` against a store on `db`, restarting where told and at the end: each restart must restore the in-memory records exactly. */
async function runSteps(db: Database, open: (clock: SimulatedClock) => ProviderStore, steps: readonly Step[], run: number): Promise<void> {
        const clock = new SimulatedClock(T0);
        const open_ = () => open(clock);
        let store = open_();
        let { core, view } = coreOf(await store.load(), clock, run);
        await store.commit({ sends: [], events: [] }, view, { full: true });
        const offers: { offer: OfferMessage; txid: string; customerOrderId: string }[] = [];
        let n = 0;
        const restartAndCompare = async (): Promise<void> => {
          store.close();
          store = open_();
          const loaded = await store.load();
          const next = coreOf(loaded, clock, run + 1000);
          // By id: load lists orders by createdAt, and orders created in the same millisecond come
    // back in any order on PostgreSQL (the engine's behaviour does not depend on that order).
    assert.deepEqual(byId(next.core.engine.listOrders()), byId(core.engine.listOrders()), 'every order record, history included');
          assert.equal(next.core.nextDue(), core.nextDue());
          core = next.core;
          view = next.view;
        };
        try {
          for (const step of steps) {
            if (step.kind === 'quote') {
              n++;
              const txid = (run * 1000 + n).toString(16).padStart(32, 'c');
              const customerOrderId = `C-${run}-${n}`;
              const q: CpnpMessage = { version: 1, method: Method.QUOTATION, seq: 1000, txid, customerOrderId, expectedResponseTime: millisToDateTime(clock.now() + 3600_000), cpd: cpd('pe1:ge-0/0/1', 1) };
              const out = core.receive(inbound(q));
              await store.commit(out, view);
              const offer = out.sends.map((s) => s.message).find((m): m is OfferMessage => m.method === Method.OFFER);
              if (offer !== undefined) offers.push({ offer, txid, customerOrderId });
            } else if (step.kind === 'accept' || step.kind === 'decline') {
              const target = offers[step.pick % Math.max(1, offers.length)];
              if (target === undefined) continue;
              const { offer, txid, customerOrderId } = target;
              const m: CpnpMessage =
                step.kind === 'accept'
                  ? { version: 1, method: Method.ACCEPT, seq: 1001, txid, customerOrderId, providerOrderId: offer.providerOrderId, nonce: offer.nonce, cpd: offer.cpd }
                  : { version: 1, method: Method.DECLINE, seq: 1001, txid, customerOrderId, providerOrderId: offer.providerOrderId, nonce: offer.nonce };
              await store.commit(core.receive(inbound(m)), view);
            } else if (step.kind === 'wait') {
              // Retransmission timers (their history entries are not rows) and offer expiries.
              const until = clock.now() + step.ms;
              for (let due = core.nextDue(); due !== undefined && due <= until; due = core.nextDue()) {
                clock.set(due);
                await store.commit(core.tick(), view);
              }
              clock.set(until);
            } else {
              await restartAndCompare();
            }
          }
          await restartAndCompare();
          // The history is not in the snapshot: its size does not follow the history's length.
          for (const row of await db.prisma.providerOrder.findMany({ select: { snapshot: true } })) {
            const stored = (JSON.parse(row.snapshot) as { history: unknown }).history;
            assert.ok(!Array.isArray(stored), 'the snapshot holds no history array');
          }
        } finally {
          store.close();
        }
}

describe('provider store, delta writes of the order record', () => {
  it('restore after many delta steps equals the in-memory state (both writers)', async (t) => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('prisma' as const, 'sqlite-direct' as const), fc.array(stepArb, { minLength: 10, maxLength: 40 }), async (writerKind, steps) => {
        run++;
        const { db, file } = await migratedDatabase(t);
        await runSteps(db, (clock) => new ProviderStore(db, { clock, ...(writerKind === 'sqlite-direct' ? { writer: workerSqliteWriter(file) } : {}) }), steps, run);
      }),
      { numRuns: 8 },
    );
  });

  it('an order stored with its whole history in the snapshot still loads, and keeps that form', async (t) => {
    const { db } = await migratedDatabase(t);
    const clock = new SimulatedClock(T0);
    let store = new ProviderStore(db, { clock });
    const first = coreOf(await store.load(), clock, 7);
    await store.commit({ sends: [], events: [] }, first.view, { full: true });
    const q: CpnpMessage = { version: 1, method: Method.QUOTATION, seq: 1000, txid: 'd'.repeat(32), customerOrderId: 'C-legacy', expectedResponseTime: millisToDateTime(T0 + 3600_000), cpd: cpd('pe1:ge-0/0/1', 1) };
    const out = first.core.receive(inbound(q));
    await store.commit(out, first.view);
    const offer = out.sends.map((s) => s.message).find((m): m is OfferMessage => m.method === Method.OFFER);
    assert.ok(offer);
    // Make the row look as an earlier version wrote it: the whole record, history included.
    const record = first.core.engine.getOrder(offer.providerOrderId);
    await db.prisma.providerOrder.update({ where: { id: offer.providerOrderId }, data: { snapshot: JSON.stringify(record) } });

    store = new ProviderStore(db, { clock });
    const { core, view } = coreOf(await store.load(), clock, 8);
    assert.deepEqual(core.engine.listOrders(), first.core.engine.listOrders());
    clock.advance(1000);
    const accept: CpnpMessage = { version: 1, method: Method.ACCEPT, seq: 1001, txid: q.txid, customerOrderId: 'C-legacy', providerOrderId: offer.providerOrderId, nonce: offer.nonce, cpd: offer.cpd };
    await store.commit(core.receive(inbound(accept)), view);
    const row = await db.prisma.providerOrder.findUnique({ where: { id: offer.providerOrderId } });
    assert.ok(Array.isArray((JSON.parse(row?.snapshot ?? '{}') as { history: unknown }).history), 'still the earlier form');
    const again = coreOf(await new ProviderStore(db, { clock }).load(), clock, 9);
    assert.deepEqual(again.core.engine.listOrders(), core.engine.listOrders());
    assert.equal(again.core.engine.getOrder(offer.providerOrderId)?.fsm.state, 'Completed');
  });

  it('the same on PostgreSQL (Prisma writer)', { skip: pgUrl === undefined ? 'set CPNP_TEST_PG_URL to a throwaway database to run' : false }, async () => {
    const url = pgUrl ?? '';
    let run = 100;
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 10, maxLength: 40 }), async (steps) => {
        run++;
        // A throwaway database: its public schema is dropped and created again (db-postgres.test.ts).
        const adapter = await new PrismaPg({ connectionString: url }).connect();
        try {
          await adapter.executeScript('DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public');
        } finally {
          await adapter.dispose();
        }
        await initializePostgres(url);
        const db = await openDatabase(url);
        try {
          await runSteps(db, (clock) => new ProviderStore(db, { clock }), steps, run);
        } finally {
          await db.close();
        }
      }),
      { numRuns: 4 },
    );
  });
});
