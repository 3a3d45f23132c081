/**
 * Per-order persistence of the client engine (issue 7, docs/client-engine.md sections 7 and 8):
 * the runner's commit hook receives the orders one step changed, a failed commit rolls the
 * core back and sends nothing; orders are restored one by one (also into a process on another
 * local port) and finished orders are evicted and loaded again. The real ServerEngine answers.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SimulatedClock } from '../clock';
import type { Cpd } from '../cpd/types';
import { millisToDateTime } from '../date-time';
import { seededRandom } from '../random';
import { MemoryNetwork } from '../transport/memory';
import type { Endpoint } from '../transport/transport';
import { ClientEngine, type ClientChanges, type CommandResult } from '../engine/client-engine';
import { concretizingDecider } from '../engine/decider';
import type { EngineEvent } from '../engine/output';
import { CommitError, EngineRunner, type TimerApi } from '../engine/runner';
import { ServerEngine } from '../engine/server-engine';
import { Simulation } from '../engine/simulation';

const T0 = Date.UTC(2026, 0, 1, 8, 0, 0);
const CLIENT: Endpoint = { address: '192.0.2.1', port: 40000 };
const CLIENT_AFTER_RESTART: Endpoint = { address: '192.0.2.1', port: 40123 };
const SERVER: Endpoint = { address: '198.51.100.7', port: 4785 };
const CPD: Cpd = [{ nodes: [{ id: 'ce-a', link: 'pe1:ge-0/0/1' }] }];

/** Timers that never fire by themselves (the test steps the clock and ticks explicitly). */
const idleTimers: TimerApi = { set: () => 0, clear: () => undefined };
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

function ok(result: CommandResult): string {
  if (!result.ok) assert.fail(`refused: ${result.code} ${result.reason}`);
  return result.orderId;
}

function newServer(clock: SimulatedClock): ServerEngine {
  return new ServerEngine({ clock, random: seededRandom(99), decider: concretizingDecider(), config: { offerValidityMs: 600_000 } });
}

describe('client engine: the runner\'s per-order commit hook', () => {
  test('each step hands over exactly the orders it changed; a failed commit rolls back and sends nothing', async () => {
    const clock = new SimulatedClock(T0);
    const network = new MemoryNetwork(() => clock.now(), 5);
    const server = newServer(clock);
    const serverSim = new Simulation(clock, network);
    serverSim.add('server', server, network.attach(SERVER, { identity: 'provider' }));
    const transport = network.attach(CLIENT, { identity: 'acme' });
    const client = new ClientEngine({ clock, random: seededRandom(1), localEndpoint: CLIENT });
    const steps: ClientChanges[] = [];
    const events: EngineEvent[] = [];
    let failNext = false;
    let failing = false;
    const runner = new EngineRunner({
      core: client,
      transport,
      clock,
      side: 'client',
      timers: idleTimers,
      commit: ({ changes }) => {
        if (failNext || failing) {
          failNext = false;
          throw new Error('database is locked');
        }
        steps.push(changes);
      },
      onEvent: (e) => events.push(e),
    });
    runner.start();
    const a = ok(await runner.run((c) => c.createOrder({ cpd: CPD, server: SERVER, customerOrderId: 'C-a' })));
    const b = ok(await runner.run((c) => c.createOrder({ cpd: CPD, server: SERVER, customerOrderId: 'C-b' })));
    ok(await runner.run((c) => c.approve(a)));
    ok(await runner.run((c) => c.approve(b)));
    assert.deepEqual(
      steps.map((s) => s.orders.map((o) => `${o.customerOrderId}:${o.fsm.state}`)),
      [['C-a:Created'], ['C-b:Created'], ['C-a:AwaitingProcessing'], ['C-b:AwaitingProcessing']],
    );

    // A failed commit: the core is where it was, nothing left, run() rejects.
    const before = client.order(a);
    failNext = true;
    await assert.rejects(runner.run((c) => c.sendQuotation(a)), CommitError);
    assert.deepEqual(client.order(a), before);
    assert.equal(network.log.length, 0, 'nothing was sent');
    assert.equal(client.nextDue(), undefined, 'no retransmission timer survived the rollback');
    assert.ok(events.some((e) => e.kind === 'error' && e.cause === 'commit-failed'));
    assert.ok(!events.some((e) => e.kind === 'sent'), 'the events of a rolled-back step are not reported');

    // The same command again, committed this time.
    ok(await runner.run((c) => c.sendQuotation(a)));
    assert.deepEqual(steps.at(-1)?.orders.map((o) => o.customerOrderId), ['C-a']);
    assert.equal(network.log.length, 1);

    // An inbound OFFER whose commit fails is as if never received: the server's next copy of it
    // (its retransmission, 11.2.1) is processed as new.
    failing = true;
    serverSim.step(); // QUOTATION reaches the server; its PROCESSING and OFFER go out
    serverSim.step(); // they reach the client: both commits fail
    await runner.idle();
    await flush();
    assert.equal(client.state(a), 'PQOSent');
    assert.equal(client.order(a)?.offer, undefined);
    assert.equal(client.stats().received, 0, 'the statistics roll back too');
    failing = false;
    for (let i = 0; i < 10 && client.state(a) !== 'OfferReceived'; i++) {
      serverSim.step();
      await runner.idle();
      await flush();
    }
    assert.equal(client.state(a), 'OfferReceived');
    assert.equal(steps.at(-1)?.orders[0]?.customerOrderId, 'C-a');
    await runner.stop();
  });
});

describe('client engine: a failed commit of a timer step', () => {
  test('the timer is rolled back and retried after commitRetryMs, not in a hot loop; then it goes out', async () => {
    const clock = new SimulatedClock(T0);
    const network = new MemoryNetwork(() => clock.now(), 5);
    const transport = network.attach(CLIENT);
    const client = new ClientEngine({ clock, random: seededRandom(5), localEndpoint: CLIENT });
    const armed: { callback: () => void; delayMs: number }[] = [];
    const timers: TimerApi = {
      set: (callback, delayMs) => {
        armed.push({ callback, delayMs });
        return armed.length;
      },
      clear: () => undefined,
    };
    let failing = false;
    const runner = new EngineRunner({
      core: client,
      transport,
      clock,
      side: 'client',
      timers,
      commitRetryMs: 1500,
      commit: () => {
        if (failing) throw new Error('disk full');
      },
    });
    runner.start();
    const id = ok(await runner.run((c) => c.createOrder({ cpd: CPD, server: SERVER })));
    ok(await runner.run((c) => c.approve(id)));
    ok(await runner.run((c) => c.sendQuotation(id)));
    assert.equal(armed.at(-1)?.delayMs, 2000, 'RETRANS_TIMER');
    const before = client.order(id);
    failing = true;
    clock.advance(2000);
    armed.at(-1)?.callback();
    await runner.idle();
    await flush();
    assert.deepEqual(client.order(id), before, 'the retransmission step was rolled back');
    assert.equal(network.log.length, 1, 'only the first QUOTATION left');
    assert.equal(armed.at(-1)?.delayMs, 1500, 'retried after commitRetryMs');
    failing = false;
    clock.advance(1500);
    armed.at(-1)?.callback();
    await runner.idle();
    await flush();
    assert.equal(network.log.length, 2, 'the retransmission went out once stored');
    await runner.stop();
  });
});

describe('client engine: restore per order and eviction', () => {
  /** A client and the real server on one network; `place` negotiates an order to Completed. */
  function world(local: Endpoint, clock = new SimulatedClock(T0), network = new MemoryNetwork(() => clock.now(), 5), server = newServer(clock)) {
    const sim = new Simulation(clock, network);
    const client = new ClientEngine({ clock, random: seededRandom(local.port), localEndpoint: local });
    sim.add('client', client, network.attach(local, { identity: 'acme' }));
    sim.add('server', server, network.attach(SERVER, { identity: 'provider' }));
    return { clock, network, server, sim, client };
  }
  function place(w: ReturnType<typeof world>, id: string, until: 'OfferReceived' | 'Completed'): void {
    const apply = (r: CommandResult) => ok(w.sim.apply('client', r));
    apply(w.client.createOrder({ cpd: CPD, server: SERVER, customerOrderId: id, expectedResponseTime: millisToDateTime(w.clock.now() + 60_000) }));
    apply(w.client.approve(id));
    apply(w.client.sendQuotation(id));
    w.sim.runUntil(() => w.client.state(id) === 'OfferReceived');
    if (until === 'Completed') {
      apply(w.client.accept(id));
      w.sim.runUntil(() => w.client.state(id) === 'Completed');
    }
  }

  test('a single order record restored into a process on another local port: its agreement is withdrawn from there', () => {
    const first = world(CLIENT);
    place(first, 'C-r1', 'Completed');
    const record = first.client.order('C-r1');
    assert.ok(record);
    first.sim.detach();
    const second = world(CLIENT_AFTER_RESTART, first.clock, first.network, first.server);
    ok(second.client.load(JSON.parse(JSON.stringify(record))));
    assert.throws(() => second.client.load(record), RangeError, 'loaded twice');
    ok(second.sim.apply('client', second.client.withdraw('C-r1')));
    second.sim.runUntilIdle();
    assert.equal(second.client.order('C-r1')?.fsm.outstanding, undefined, 'the WITHDRAW was answered');
    assert.equal(first.server.listOrders()[0]?.fsm.state, 'Cancelled');
    assert.equal(second.client.order('C-r1')?.local?.port, CLIENT_AFTER_RESTART.port);
  });

  for (const lost of ['the ACCEPT', 'its ACK'] as const) {
  test(`${lost} lost, then restored on another local port: re-pinned; it ends known, or unknown with an alarm`, () => {
    const first = world(CLIENT);
    place(first, 'C-r2', 'OfferReceived');
    // Either nothing reaches the server, or the server concludes and its ACK is lost.
    first.network.faults = (packet) => (lost === 'the ACCEPT' || packet.from.port === SERVER.port ? 'drop' : 'deliver');
    ok(first.sim.apply('client', first.client.accept('C-r2')));
    const record = first.client.order('C-r2');
    assert.ok(record?.local !== undefined);
    first.sim.detach();
    first.network.faults = () => 'deliver';
    const second = world(CLIENT_AFTER_RESTART, first.clock, first.network, first.server);
    const loaded = second.client.load(record);
    assert.ok(loaded.events.some((e) => e.cause === 'local-endpoint'), 'the transaction was re-pinned');
    assert.equal(second.client.order('C-r2')?.local?.port, CLIENT_AFTER_RESTART.port);
    second.sim.runUntilIdle({ maxTimeMs: 7 * 24 * 3600 * 1000 });
    const rec = second.client.order('C-r2');
    const serverState = first.server.listOrders()[0]?.fsm.state;
    const agree = (rec?.fsm.state === 'Completed') === (serverState === 'Completed');
    assert.ok(agree || second.client.openAlarms('C-r2').length > 0, `client ${rec?.fsm.state}, server ${serverState}, no alarm`);
    if (lost === 'its ACK') {
      // The server refuses copies from the new 4-tuple (FAIL 1, 8.3): no answer, so an alarm.
      assert.equal(serverState, 'Completed');
      assert.ok(second.client.openAlarms('C-r2').some((a) => a.kind === 'acceptUnanswered'));
      assert.ok((second.client.stats().dropped.repinned ?? 0) >= 1);
    }
  });
  }

  test('finished orders are evicted, refused while evicted, and loaded again on demand; an eviction rolls back', () => {
    const w = world(CLIENT);
    place(w, 'C-e', 'Completed');
    place(w, 'C-open', 'OfferReceived');
    const refused = w.client.evict('C-open');
    assert.equal(refused.ok ? undefined : refused.code, 'wrong-state');
    const record = w.client.order('C-e');
    assert.ok(record);
    ok(w.client.evict('C-e'));
    assert.equal(w.client.presence('C-e'), 'evicted');
    assert.equal(w.client.order('C-e'), undefined);
    const withdraw = w.client.withdraw('C-e');
    assert.equal(withdraw.ok ? undefined : withdraw.code, 'unknown-order');
    assert.match(withdraw.ok ? '' : withdraw.reason, /evicted/);
    const duplicate = w.client.createOrder({ cpd: CPD, server: SERVER, customerOrderId: 'C-e' });
    assert.equal(duplicate.ok ? undefined : duplicate.code, 'duplicate-order');
    ok(w.client.load(record));
    assert.equal(w.client.presence('C-e'), 'live');
    ok(w.sim.apply('client', w.client.withdraw('C-e')));
    w.sim.runUntilIdle();
    assert.equal(w.client.order('C-e')?.fsm.outstanding, undefined);
    // The journal covers eviction too.
    w.client.begin();
    ok(w.client.evict('C-e'));
    assert.deepEqual(w.client.changes(), { orders: [], evicted: ['C-e'] });
    w.client.rollback();
    assert.equal(w.client.presence('C-e'), 'live');
  });
});
