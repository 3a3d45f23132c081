/**
 * Parallel negotiation groups (RFC 8921 8.10) in Simulation: one client, several real
 * ServerEngines, one group id and one deadline; each selection rule, the manual choice, late
 * offers and the deadline. The servers decide after different delays and offer different CPDs.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SimulatedClock } from '../clock';
import type { Cpd } from '../cpd/types';
import { millisToDateTime } from '../date-time';
import { Method } from '../method';
import { seededRandom } from '../random';
import fc from 'fast-check';
import { MemoryNetwork, type FaultFunction } from '../transport/memory';
import type { Endpoint } from '../transport/transport';
import { ClientEngine } from '../engine/client-engine';
import { ParallelNegotiator, type GroupInput } from '../engine/negotiation-group';
import type { EngineOutput } from '../engine/output';
import { ServerEngine, type ServerDecision } from '../engine/server-engine';
import { lossy } from './divergence-harness';
import { Simulation } from '../engine/simulation';

const T0 = Date.UTC(2026, 0, 1, 8, 0, 0);
const CLIENT: Endpoint = { address: '192.0.2.1', port: 40000 };
const REQUESTED: Cpd = [{ nodes: [{ id: 'ce-a', link: 'pe1:ge-0/0/1' }], scope: { reach: { oneOf: ['global', 'restricted'] }, model: '1:any' } }];
const MEETS: Cpd = [{ nodes: [{ id: 'ce-a', link: 'pe1:ge-0/0/1' }], scope: { reach: 'global', model: '1:any' } }];
const MISSES: Cpd = [{ nodes: [{ id: 'ce-a', link: 'pe1:ge-0/0/1' }], scope: { reach: 'global', model: '1:1' } }];
const WINDOW = 60_000;

interface ServerPlan {
  /** ms after the QUOTATION before the offer (undefined: never offers). */
  delay?: number;
  cpd?: Cpd;
  /** The application's price for this server's offers. */
  price: number;
}

function world(plans: ServerPlan[], faults?: FaultFunction) {
  const clock = new SimulatedClock(T0);
  const network = new MemoryNetwork(() => clock.now(), 5);
  if (faults !== undefined) network.faults = faults;
  const sim = new Simulation(clock, network);
  const later: { at: number; act: () => EngineOutput; node: string }[] = [];
  const servers = plans.map((plan, i) => {
    const endpoint: Endpoint = { address: `198.51.100.${i + 1}`, port: 4785 };
    const engine: ServerEngine = new ServerEngine({
      clock,
      random: seededRandom(100 + i),
      config: { offerValidityMs: 10 * WINDOW },
      decider: {
        decide: (request): ServerDecision => {
          if (plan.delay !== undefined) {
            later.push({
              at: clock.now() + plan.delay,
              node: `S${i}`,
              act: () => engine.completeDecision(engine.listOrders()[0]?.id ?? '', { kind: 'offer', cpd: plan.cpd ?? request.cpd }),
            });
          }
          return { kind: 'pending' };
        },
      },
    });
    sim.add(`S${i}`, engine, network.attach(endpoint, { identity: `provider-${i}` }));
    return { endpoint, engine, plan };
  });
  const client = new ClientEngine({ clock, random: seededRandom(1), localEndpoint: CLIENT });
  const negotiator = new ParallelNegotiator(client, { clock, random: seededRandom(2) });
  sim.add('client', negotiator.core, network.attach(CLIENT, { identity: 'acme' }));
  const run = (maxMs = 10 * WINDOW): void => {
    const end = clock.now() + maxMs;
    for (let i = 0; i < 50_000; i++) {
      later.sort((a, b) => a.at - b.at);
      const due = sim.nextDue();
      const job = later[0];
      if (job !== undefined && (due === undefined || job.at <= due)) {
        clock.set(Math.max(clock.now(), job.at));
        later.shift();
        sim.apply(job.node, job.act());
      } else if (due !== undefined && due <= end) {
        sim.step();
      } else return;
    }
  };
  const start = (select: GroupInput['select'], extra: Partial<GroupInput> = {}) => {
    const result = sim.apply(
      'client',
      negotiator.start({
        groupId: 'G-test',
        cpd: REQUESTED,
        expectedResponseTime: millisToDateTime(T0 + WINDOW),
        servers: servers.map((s) => ({ server: s.endpoint })),
        select,
        price: (_offer, server) => servers.find((s) => s.endpoint.address === server.address)?.plan.price,
        ...extra,
      }),
    );
    assert.ok(result.ok, result.ok ? '' : result.reason);
    return result.orderIds;
  };
  const serverState = (i: number) => servers[i]?.engine.listOrders()[0]?.fsm;
  const declines = () => sim.sends.filter((s) => s.simNode === 'client' && s.message.method === Method.DECLINE);
  const groupEvents = () => sim.events.filter((e) => e.kind === 'group').map((e) => e.cause);
  return { clock, sim, client, negotiator, servers, run, start, serverState, declines, groupEvents };
}

describe('parallel negotiation groups (8.10)', () => {
  test('one group id and one deadline on every QUOTATION; cheapest chosen once all answered, the others declined with reason 2', () => {
    const w = world([
      { delay: 1000, price: 300 },
      { delay: 3000, price: 100 },
      { delay: 2000, price: 200 },
    ]);
    const ids = w.start('cheapest');
    const quotations = w.sim.sends.filter((s) => s.message.method === Method.QUOTATION);
    assert.equal(quotations.length, 3);
    for (const q of quotations) assert.ok(q.message.method === Method.QUOTATION && q.message.expectedResponseTime === millisToDateTime(T0 + WINDOW));
    for (const id of ids) assert.equal(w.client.order(id)?.groupId, 'G-test');
    w.run();
    assert.equal(w.negotiator.group('G-test')?.chosen, ids[1]);
    assert.equal(w.serverState(1)?.state, 'Completed');
    assert.equal(w.serverState(0)?.cancelReason, 'declined');
    assert.equal(w.serverState(2)?.cancelReason, 'declined');
    assert.deepEqual(
      w.declines().map((d) => (d.message.method === Method.DECLINE ? d.message.reasons : undefined)),
      [[2], [2]],
    );
    assert.deepEqual(w.groupEvents(), ['group-started', 'group-offer', 'group-offer', 'group-offer', 'group-offer-declined', 'group-offer-declined', 'group-decided']);
  });

  test('first: decided at the first offer; the servers still working are told at once (CANCEL)', () => {
    const w = world([
      { delay: 5000, price: 1 },
      { delay: 1000, price: 2 },
      { delay: 9000, price: 3 },
    ]);
    const ids = w.start('first');
    w.run();
    assert.equal(w.negotiator.group('G-test')?.chosen, ids[1]);
    assert.equal(w.client.state(ids[1] as string), 'Completed');
    assert.equal(w.serverState(0)?.cancelReason, 'cancelled');
    assert.equal(w.serverState(2)?.cancelReason, 'cancelled');
    assert.equal(w.sim.sends.filter((s) => s.simNode === 'client' && s.message.method === Method.CANCEL).length, 2);
  });

  test('best-diff: the offer that meets the request beats an earlier one that misses a clause', () => {
    const w = world([
      { delay: 1000, cpd: MISSES, price: 1 },
      { delay: 2000, cpd: MEETS, price: 2 },
    ]);
    const ids = w.start('best-diff');
    w.run();
    assert.equal(w.negotiator.group('G-test')?.chosen, ids[1]);
    assert.equal(w.serverState(1)?.state, 'Completed');
    assert.equal(w.serverState(0)?.cancelReason, 'declined');
  });

  test('callback: the application\'s rule; undefined means none is acceptable (group-failed, all declined)', () => {
    const w = world([
      { delay: 1000, price: 5 },
      { delay: 2000, price: 6 },
    ]);
    const ids = w.start('callback', { callback: (offers) => offers.find((o) => o.price === 6)?.orderId });
    w.run();
    assert.equal(w.negotiator.group('G-test')?.chosen, ids[1]);
    const none = world([{ delay: 1000, price: 5 }]);
    none.start('callback', { callback: () => undefined });
    none.run();
    assert.equal(none.negotiator.group('G-test')?.status, 'failed');
    assert.equal(none.serverState(0)?.cancelReason, 'declined');
  });

  test('manual: group-ready at the deadline with the offers so far; the silent server\'s order is cancelled at the same deadline; choose() accepts', () => {
    const w = world([{ delay: 1000, price: 1 }, { price: 2 }, { delay: 2000, price: 3 }]);
    const ids = w.start('manual');
    w.run(WINDOW - 1);
    assert.equal(w.negotiator.group('G-test')?.status, 'collecting', 'one server has not answered: wait for the deadline');
    w.run(WINDOW);
    assert.equal(w.negotiator.group('G-test')?.status, 'choosing');
    assert.ok(w.groupEvents().includes('group-ready'));
    assert.equal(w.client.state(ids[1] as string), 'Cancelled', 'the silent server was cancelled at the deadline (8.5)');
    assert.equal(w.serverState(1)?.state, 'Cancelled');
    assert.deepEqual(w.negotiator.offers('G-test').map((o) => o.orderId), [ids[0], ids[2]]);
    const chosen = w.sim.apply('client', w.negotiator.choose('G-test', ids[2] as string));
    assert.ok(chosen.ok);
    w.run();
    assert.equal(w.serverState(2)?.state, 'Completed');
    assert.equal(w.serverState(0)?.cancelReason, 'declined');
    const again = w.negotiator.choose('G-test', ids[0] as string);
    assert.equal(again.ok ? undefined : again.code, 'wrong-state');
  });

  test('no offer before the deadline: group-failed, every order cancelled; a group survives snapshot/restore', () => {
    const w = world([{ price: 1 }, { price: 2 }]);
    const ids = w.start('cheapest');
    const restored = new ParallelNegotiator(w.client, { clock: w.clock, random: seededRandom(3) }, JSON.parse(JSON.stringify(w.negotiator.snapshot())));
    assert.deepEqual(restored.group('G-test'), w.negotiator.group('G-test'));
    w.run();
    assert.equal(w.negotiator.group('G-test')?.status, 'failed');
    for (const id of ids) assert.equal(w.client.state(id), 'Cancelled');
    assert.equal(w.serverState(0)?.state, 'Cancelled');
  });

  test('under loss (seeded property): at most one agreement per group, and every order agrees with its server or carries an alarm', () => {
    let concluded = 0;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 30 }), fc.constantFrom('first', 'cheapest', 'best-diff') , (seed, select) => {
        const random = seededRandom(seed);
        const w = world(
          [
            { delay: 1000 + (seed % 7) * 1000, price: 3 },
            { delay: 2000 + (seed % 5) * 1000, price: 1, cpd: MEETS },
            { delay: (seed % 3) * 30_000, price: 2 },
          ],
          lossy(random, { drop: 0.15, duplicate: 0.05, delay: 0.05 }),
        );
        const ids = w.start(select);
        w.run(30 * 24 * 3600 * 1000);
        const agreed = ids.filter((id) => w.client.state(id) === 'Completed');
        const alarmed = ids.some((id) => w.client.openAlarms(id).length > 0);
        if (agreed.length === 1) concluded++;
        if (agreed.length > 1 && !alarmed) throw new Error(`seed ${seed}: ${agreed.length} agreements`);
        w.servers.forEach((server, i) => {
          const id = ids[i] as string;
          const serverAgreement = server.engine.listOrders()[0]?.fsm.state === 'Completed';
          const clientAgreement = w.client.state(id) === 'Completed';
          if (serverAgreement !== clientAgreement && w.client.openAlarms(id).length === 0) {
            throw new Error(`seed ${seed}, ${select}, server ${i}: client ${w.client.state(id)}, server ${server.engine.listOrders()[0]?.fsm.state}`);
          }
        });
      }),
      { numRuns: 60, seed: 8100 },
    );
    assert.ok(concluded >= 30, `most groups conclude one agreement despite the loss (${concluded}/60)`);
  });

  test('journaled core: a step hands over its orders and groups; a rollback undoes both', () => {
    const w = world([{ delay: 1000, price: 1 }, { delay: 2000, price: 2 }]);
    const core = w.negotiator.core;
    core.begin();
    const started = w.negotiator.start({
      groupId: 'G-j',
      cpd: REQUESTED,
      expectedResponseTime: millisToDateTime(T0 + WINDOW),
      servers: w.servers.map((s) => ({ server: s.endpoint })),
      select: 'first',
    });
    assert.ok(started.ok);
    const changes = core.changes();
    assert.deepEqual(changes.groups.map((g) => g.groupId), ['G-j']);
    assert.equal(changes.orders.length, 2);
    core.rollback();
    assert.equal(w.negotiator.group('G-j'), undefined);
    assert.equal(w.client.size, 0);
    core.begin();
    const again = w.negotiator.start({ groupId: 'G-j', cpd: REQUESTED, expectedResponseTime: millisToDateTime(T0 + WINDOW), servers: w.servers.map((s) => ({ server: s.endpoint })), select: 'first' });
    assert.ok(again.ok, 'the rolled-back group id is free again');
    core.settle();
    assert.equal(w.negotiator.group('G-j')?.status, 'collecting');
  });
});
