/**
 * The engine runner with an injected timer API (no real sleeping): serialisation of inputs,
 * the beforeSend commit point, error reporting, and the single timer armed at nextDue().
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SimulatedClock } from '../clock';
import { decodeMessage } from '../codec';
import type { Cpd } from '../cpd/types';
import { toHex } from '../hex';
import { Method } from '../method';
import { seededRandom } from '../random';
import { MemoryNetwork } from '../transport/memory';
import type { Endpoint, Inbound, InboundHandler, MessageTransport } from '../transport/transport';
import { ClientEngine } from '../engine/client-engine';
import { emptyOutput, type EngineCore, type EngineEvent, type EngineOutput } from '../engine/output';
import { EngineRunner, MAX_TIMER_DELAY_MS, type TimerApi } from '../engine/runner';

const T0 = Date.UTC(2026, 0, 1);
const CLIENT: Endpoint = { address: '192.0.2.1', port: 40000 };
const SERVER: Endpoint = { address: '198.51.100.7', port: 7777 };
const CPD: Cpd = [{ nodes: [{ id: 'ce-a', link: 'pe1:ge-0/0/1' }] }];

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
  only(): { callback: () => void; delayMs: number } {
    assert.equal(this.pending.size, 1, 'exactly one timer armed');
    const [entry] = this.pending.values();
    assert.ok(entry);
    return entry;
  }
  fire(): void {
    const [handle, entry] = [...this.pending.entries()][0] ?? [];
    assert.ok(handle !== undefined && entry);
    this.pending.delete(handle);
    entry.callback();
  }
}

/** Lets queued promise jobs run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
  let resolve = () => {};
  let reject: (e: Error) => void = () => {};
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A core that echoes every inbound datagram back and records what it was asked. */
class EchoCore implements EngineCore {
  readonly log: string[] = [];
  due: number | undefined;
  receive(inbound: Inbound): EngineOutput {
    this.log.push(`receive ${inbound.bytes[0]}`);
    const out = emptyOutput();
    out.sends.push({
      to: inbound.from,
      bytes: inbound.bytes,
      message: { version: 1, method: Method.CANCEL, seq: 1, txid: '00000000000000000000000000000000', customerOrderId: 'x' },
    });
    out.events.push({ kind: 'info', side: 'client', at: 0, cause: `receive ${inbound.bytes[0]}` });
    return out;
  }
  tick(): EngineOutput {
    this.log.push('tick');
    this.due = undefined;
    const out = emptyOutput();
    out.events.push({ kind: 'timer', side: 'client', at: 0, cause: 'tick' });
    return out;
  }
  nextDue(): number | undefined {
    return this.due;
  }
}

/** A transport driven by hand; send may be made to fail. */
class HandTransport implements MessageTransport {
  readonly kind = 'memory' as const;
  readonly sent: { to: Endpoint; bytes: Uint8Array }[] = [];
  failSends = false;
  private handler: InboundHandler | undefined;
  local(): Endpoint {
    return CLIENT;
  }
  send(to: Endpoint, bytes: Uint8Array): Promise<void> {
    if (this.failSends) return Promise.reject(new Error('network unreachable'));
    this.sent.push({ to, bytes });
    return Promise.resolve();
  }
  onMessage(handler: InboundHandler): () => void {
    this.handler = handler;
    return () => {
      this.handler = undefined;
    };
  }
  inject(byte: number): void {
    this.handler?.({ from: SERVER, to: CLIENT, bytes: new Uint8Array([byte]) });
  }
  get listening(): boolean {
    return this.handler !== undefined;
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

describe('engine runner', () => {
  test('inputs are processed one at a time; beforeSend commits before anything is sent', async () => {
    const clock = new SimulatedClock(T0);
    const core = new EchoCore();
    const transport = new HandTransport();
    const commits: ReturnType<typeof deferred>[] = [];
    const order: string[] = [];
    const runner = new EngineRunner({
      core,
      transport,
      clock,
      side: 'client',
      timers: new FakeTimers(),
      beforeSend: (output) => {
        order.push(`commit ${output.events[0]?.cause ?? ''}`);
        const d = deferred();
        commits.push(d);
        return d.promise;
      },
      onEvent: (e) => order.push(`event ${e.cause}`),
    });
    runner.start();
    transport.inject(1);
    transport.inject(2);
    await settle();
    assert.deepEqual(core.log, ['receive 1'], 'the second input waits for the first');
    assert.equal(transport.sent.length, 0, 'nothing sent before the commit');
    commits[0]?.resolve();
    await settle();
    assert.deepEqual(core.log, ['receive 1', 'receive 2']);
    assert.deepEqual(transport.sent.map((s) => s.bytes[0]), [1]);
    commits[1]?.resolve();
    await runner.idle();
    assert.deepEqual(transport.sent.map((s) => s.bytes[0]), [1, 2]);
    assert.deepEqual(order, ['commit receive 1', 'event receive 1', 'commit receive 2', 'event receive 2']);
    await runner.stop();
    assert.equal(transport.listening, false);
  });

  test('a failed commit sends nothing and is reported; a failed send is reported; processing goes on', async () => {
    const clock = new SimulatedClock(T0);
    const core = new EchoCore();
    const transport = new HandTransport();
    const events: EngineEvent[] = [];
    let failCommit = true;
    const runner = new EngineRunner({
      core,
      transport,
      clock,
      side: 'client',
      timers: new FakeTimers(),
      beforeSend: () => (failCommit ? Promise.reject(new Error('disk full')) : Promise.resolve()),
      onEvent: (e) => events.push(e),
    });
    runner.start();
    transport.inject(1);
    await runner.idle();
    assert.equal(transport.sent.length, 0);
    const commitError = events.find((e) => e.kind === 'error');
    assert.equal(commitError?.cause, 'beforeSend-failed');
    assert.match(commitError?.detail ?? '', /disk full/);

    failCommit = false;
    transport.failSends = true;
    transport.inject(2);
    await runner.idle();
    const sendError = events.find((e) => e.kind === 'send-error');
    assert.ok(sendError);
    assert.deepEqual(sendError.peer, SERVER);
    assert.match(sendError.detail ?? '', /unreachable/);

    transport.failSends = false;
    transport.inject(3);
    await runner.idle();
    assert.deepEqual(transport.sent.map((s) => s.bytes[0]), [3]);
    assert.deepEqual(core.log, ['receive 1', 'receive 2', 'receive 3']);
    await runner.stop();
  });

  test('one timer, armed at nextDue(); firing ticks the core; stop disarms it', async () => {
    const clock = new SimulatedClock(T0);
    const core = new EchoCore();
    const timers = new FakeTimers();
    const runner = new EngineRunner({ core, transport: new HandTransport(), clock, side: 'server', timers });
    core.due = T0 + 1500;
    runner.start();
    assert.equal(timers.only().delayMs, 1500);
    clock.set(T0 + 1500);
    timers.fire();
    await runner.idle();
    assert.deepEqual(core.log, ['tick']);
    assert.equal(timers.pending.size, 0, 'nothing due any more');

    core.due = T0 - 10; // overdue: fire at once
    await runner.run(() => emptyOutput());
    assert.equal(timers.only().delayMs, 0);
    core.due = T0 + 10 * MAX_TIMER_DELAY_MS; // beyond setTimeout's range: re-armed later
    await runner.run(() => emptyOutput());
    assert.equal(timers.only().delayMs, MAX_TIMER_DELAY_MS);
    await runner.stop();
    assert.equal(timers.pending.size, 0);
  });

  test('run() resolves with the command result after its messages went out; a throwing core rejects', async () => {
    const clock = new SimulatedClock(T0);
    const core = new EchoCore();
    const transport = new HandTransport();
    const events: EngineEvent[] = [];
    const runner = new EngineRunner({ core, transport, clock, side: 'client', timers: new FakeTimers(), onEvent: (e) => events.push(e) });
    runner.start();
    const result = await runner.run((c) => ({ ...c.receive({ from: SERVER, to: CLIENT, bytes: new Uint8Array([9]) }), ok: true }));
    assert.equal(result.ok, true);
    assert.deepEqual(transport.sent.map((s) => s.bytes[0]), [9]);
    await assert.rejects(
      runner.run(() => {
        throw new Error('bug');
      }),
      /bug/,
    );
    assert.equal(events.at(-1)?.cause, 'core-threw');
    transport.inject(4);
    await runner.idle();
    assert.deepEqual(transport.sent.map((s) => s.bytes[0]), [9, 4], 'still running after a failure');
    await runner.stop();
  });

  test('with the client engine over MemoryNetwork: QUOTATION sent, then retransmitted unchanged when the timer fires', async () => {
    const clock = new SimulatedClock(T0);
    const network = new MemoryNetwork(() => clock.now());
    const transport = network.attach(CLIENT);
    network.attach(SERVER);
    const timers = new FakeTimers();
    const engine = new ClientEngine({ clock, random: seededRandom(3), localEndpoint: () => transport.local() });
    const committed: number[] = [];
    const runner = new EngineRunner({
      core: engine,
      transport,
      clock,
      side: 'client',
      timers,
      beforeSend: (output) => {
        committed.push(output.sends.length);
      },
    });
    runner.start();
    const created = await runner.run((c) => c.createOrder({ cpd: CPD, server: SERVER }));
    assert.ok(created.ok);
    await runner.run((c) => c.approve(created.orderId));
    await runner.run((c) => c.sendQuotation(created.orderId));
    assert.equal(network.log.length, 1);
    assert.equal(timers.only().delayMs, 2000);
    clock.set(T0 + 2000);
    timers.fire();
    await runner.idle();
    assert.equal(network.log.length, 2);
    const [first, second] = network.log;
    assert.ok(first && second);
    assert.equal(toHex(first.packet.bytes), toHex(second.packet.bytes));
    const decoded = decodeMessage(first.packet.bytes);
    assert.ok(decoded.ok && decoded.message.method === Method.QUOTATION);
    assert.equal(timers.only().delayMs, 4000, 'backoff');
    assert.deepEqual(committed, [0, 0, 1, 1]);
    await runner.stop();
  });
});
