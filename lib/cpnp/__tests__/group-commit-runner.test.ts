/**
 * The group-commit runner (issue 8) with an injected defer and timer API (no real sleeping): the
 * inputs handled within one turn are committed together, nothing is sent before that commit
 * resolved, inputs arriving during a commit form the next group (committed after, sent after),
 * a failed commit sends nothing of its group, a command resolves once its group is out, and one
 * timer is armed at nextDue().
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SimulatedClock } from '../clock';
import { Method } from '../method';
import type { Endpoint, Inbound, InboundHandler, MessageTransport } from '../transport/transport';
import { GroupCommitRunner } from '../engine/group-commit-runner';
import { emptyOutput, type EngineCore, type EngineEvent, type EngineOutput } from '../engine/output';
import type { TimerApi } from '../engine/runner';

const T0 = Date.UTC(2026, 0, 1);
const LOCAL: Endpoint = { address: '198.51.100.7', port: 7777 };
const PEER: Endpoint = { address: '192.0.2.1', port: 40000 };

/** Echoes every datagram back; records the order of inputs. */
class EchoCore implements EngineCore {
  readonly log: string[] = [];
  due: number | undefined;
  receive(inbound: Inbound): EngineOutput {
    this.log.push(`receive ${inbound.bytes[0]}`);
    const out = emptyOutput();
    out.sends.push({ to: inbound.from, bytes: inbound.bytes, message: { version: 1, method: Method.CANCEL, seq: 1, txid: '0'.repeat(32), customerOrderId: 'x' } });
    out.events.push({ kind: 'info', side: 'server', at: 0, cause: `receive ${inbound.bytes[0]}` });
    return out;
  }
  tick(): EngineOutput {
    this.log.push('tick');
    this.due = undefined;
    const out = emptyOutput();
    out.events.push({ kind: 'timer', side: 'server', at: 0, cause: 'tick' });
    return out;
  }
  nextDue(): number | undefined {
    return this.due;
  }
}

class HandTransport implements MessageTransport {
  readonly kind = 'memory' as const;
  readonly sent: number[] = [];
  private handler: InboundHandler | undefined;
  local(): Endpoint {
    return LOCAL;
  }
  send(_to: Endpoint, bytes: Uint8Array): Promise<void> {
    this.sent.push(bytes[0] ?? -1);
    return Promise.resolve();
  }
  onMessage(handler: InboundHandler): () => void {
    this.handler = handler;
    return () => (this.handler = undefined);
  }
  inject(byte: number): void {
    this.handler?.({ from: PEER, to: LOCAL, bytes: new Uint8Array([byte]) });
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** The runner's deferred turns, run by hand. */
class Turns {
  private queue: (() => void)[] = [];
  defer = (fn: () => void): void => {
    this.queue.push(fn);
  };
  /** Runs the turns queued so far (not those they queue). */
  run(): void {
    const now = this.queue;
    this.queue = [];
    for (const fn of now) fn();
  }
}

class FakeTimers implements TimerApi {
  readonly pending = new Map<number, { callback: () => void; delayMs: number }>();
  private next = 1;
  set(callback: () => void, delayMs: number): unknown {
    const handle = this.next++;
    this.pending.set(handle, { callback, delayMs });
    return handle;
  }
  clear(handle: unknown): void {
    this.pending.delete(handle as number);
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
  let resolve = (): void => {};
  let reject: (e: Error) => void = () => {};
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function setup(maxCommitsInFlight?: number) {
  const core = new EchoCore();
  const transport = new HandTransport();
  const turns = new Turns();
  const timers = new FakeTimers();
  const groups: number[][] = [];
  const commits: ReturnType<typeof deferred>[] = [];
  const events: EngineEvent[] = [];
  const runner = new GroupCommitRunner({
    core,
    transport,
    clock: new SimulatedClock(T0),
    side: 'server',
    timers,
    defer: turns.defer,
    // Everything queued is handled in one slice (the slice is tested by time elsewhere: benchmarks).
    sliceMs: Number.POSITIVE_INFINITY,
    ...(maxCommitsInFlight === undefined ? {} : { maxCommitsInFlight }),
    commit: (outputs) => {
      groups.push(outputs.map((o) => o.sends[0]?.bytes[0] ?? -1));
      const d = deferred();
      commits.push(d);
      return d.promise;
    },
    onEvent: (e) => events.push(e),
  });
  runner.start();
  return { core, transport, turns, timers, groups, commits, events, runner };
}

describe('group-commit runner', () => {
  test('one commit per turn; nothing sent before it resolves; the next group waits for it', async () => {
    const { core, transport, turns, groups, commits } = setup();
    transport.inject(1);
    transport.inject(2);
    transport.inject(3);
    assert.deepEqual(core.log, [], 'inputs wait for the turn');
    turns.run();
    assert.deepEqual(core.log, ['receive 1', 'receive 2', 'receive 3']);
    assert.deepEqual(groups, [[1, 2, 3]], 'one group, in arrival order');
    assert.deepEqual(transport.sent, [], 'nothing sent before the commit resolved');

    // Inputs arriving while the commit is in flight are handled, but form the next group.
    transport.inject(4);
    transport.inject(5);
    turns.run();
    assert.deepEqual(core.log.slice(3), ['receive 4', 'receive 5']);
    assert.equal(groups.length, 1, 'one commit at a time');
    commits[0]?.resolve();
    await settle();
    assert.deepEqual(transport.sent, [1, 2, 3], 'the first group goes out once committed');
    turns.run();
    assert.deepEqual(groups, [[1, 2, 3], [4, 5]]);
    assert.deepEqual(transport.sent, [1, 2, 3]);
    commits[1]?.resolve();
    await settle();
    assert.deepEqual(transport.sent, [1, 2, 3, 4, 5]);
  });

  test('a failed commit sends nothing of its group and reports it; the next group goes on', async () => {
    const { transport, turns, commits, events } = setup();
    transport.inject(1);
    transport.inject(2);
    turns.run();
    commits[0]?.reject(new Error('disk full (injected)'));
    await settle();
    assert.deepEqual(transport.sent, []);
    const error = events.find((e) => e.kind === 'error');
    assert.equal(error?.cause, 'beforeSend-failed');
    assert.match(error?.detail ?? '', /disk full.*2 message\(s\) not sent/);
    transport.inject(3);
    turns.run();
    commits[1]?.resolve();
    await settle();
    assert.deepEqual(transport.sent, [3]);
  });

  test('a command resolves with its output once its group is committed and sent; idle() waits for it', async () => {
    const { core, transport, turns, commits, runner } = setup();
    let resolved = false;
    const done = runner.run((c) => c.receive({ from: PEER, to: LOCAL, bytes: new Uint8Array([9]) })).then((out) => {
      resolved = true;
      return out;
    });
    let idle = false;
    void runner.idle().then(() => (idle = true));
    turns.run();
    await settle();
    assert.equal(resolved, false);
    assert.equal(idle, false);
    commits[0]?.resolve();
    const out = await done;
    assert.equal(out.sends[0]?.bytes[0], 9);
    assert.deepEqual(transport.sent, [9]);
    assert.deepEqual(core.log, ['receive 9']);
    await settle();
    assert.equal(idle, true);
  });

  test('one timer, armed at nextDue(); its tick is an input like the others', async () => {
    const { core, transport, turns, timers, groups, commits } = setup();
    core.due = T0 + 500;
    transport.inject(1);
    turns.run();
    assert.equal(timers.pending.size, 1);
    const [timer] = timers.pending.values();
    assert.equal(timer?.delayMs, 500);
    timer?.callback();
    turns.run();
    assert.deepEqual(core.log, ['receive 1', 'tick']);
    commits[0]?.resolve();
    await settle();
    turns.run();
    assert.equal(groups.length, 2, 'the tick commits in the next group');
  });

  // Regression (found under issue 7/8 work): the provider's child-order retransmission is an
  // output that carries only messages for partners; filtered out as empty, it was never sent.
  test('an output that carries only what the core says counts (carries) is committed, not dropped', async () => {
    type Extra = EngineOutput & { extra?: number };
    const core: EngineCore = {
      receive: (inbound): Extra => ({ ...emptyOutput(), extra: inbound.bytes[0] ?? -1 }),
      tick: () => emptyOutput(),
      nextDue: () => undefined,
    };
    const transport = new HandTransport();
    const turns = new Turns();
    const commitWith = (carries?: (o: EngineOutput) => boolean): { committed: number[] } => {
      const committed: number[] = [];
      const runner = new GroupCommitRunner({
        core,
        transport,
        clock: new SimulatedClock(T0),
        side: 'server',
        timers: new FakeTimers(),
        defer: turns.defer,
        sliceMs: Number.POSITIVE_INFINITY,
        ...(carries === undefined ? {} : { carries }),
        commit: (outputs) => {
          committed.push(...outputs.map((o) => (o as Extra).extra ?? -1));
        },
      });
      runner.start();
      transport.inject(7);
      turns.run();
      void runner.stop();
      return { committed };
    };
    assert.deepEqual(commitWith().committed, [], 'by default an output without sends or events has nothing to commit');
    assert.deepEqual(commitWith((o) => (o as Extra).extra !== undefined).committed, [7]);
    await settle();
  });

  test('pipelined: the next group is committed while one is in flight; sends keep commit order; a failure sends nothing of its group', async () => {
    const { transport, turns, groups, commits, events, runner } = setup(2);
    transport.inject(1);
    turns.run();
    transport.inject(2);
    turns.run();
    assert.deepEqual(groups, [[1], [2]], 'the second commit started before the first resolved');
    transport.inject(3);
    turns.run();
    assert.deepEqual(groups, [[1], [2]], 'at most two in flight: the third group waits');

    // The second commit resolves first: its message still waits for the first group's.
    commits[1]?.resolve();
    await settle();
    assert.deepEqual(transport.sent, [], 'nothing overtakes the first group');
    commits[0]?.resolve();
    await settle();
    assert.deepEqual(transport.sent, [1, 2], 'in commit order');
    turns.run();
    assert.deepEqual(groups, [[1], [2], [3]], 'the waiting group is committed once a slot is free');

    // A failed commit sends nothing of its group; the group after it still goes (the store is
    // what refuses a commit planned on top of a failed one).
    transport.inject(4);
    turns.run();
    commits[2]?.reject(new Error('disk full'));
    commits[3]?.resolve();
    await settle();
    assert.deepEqual(transport.sent, [1, 2, 4]);
    assert.ok(events.some((e) => e.kind === 'error' && e.cause === 'beforeSend-failed'));
    await runner.idle();
  });
});
