import assert from 'node:assert/strict';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { after, describe, it } from 'node:test';
import { SimulatedClock } from '../clock';
import { decodeMessageOrThrow, encodeMessage } from '../codec';
import { MAX_MESSAGE_SIZE } from '../message';
import {
  DEFAULT_DTLS_RETRY,
  DtlsAlertError,
  DtlsClientTransport,
  DtlsHandshakeError,
  type AssociationEvents,
  type DtlsAssociation,
  type DtlsClientOptions,
  type HandshakeRequest,
  type Scheduler,
} from '../transport/dtls-client';
import { DtlsServer } from '../transport/dtls-server';
import { PskTable } from '../transport/psk';
import type { Endpoint, Inbound } from '../transport/transport';
import { hexToBytes, vectorSets } from './vectors';

// =============================================================================================
// Part 1: the retry / reuse / re-establishment logic, with a scripted connector and simulated
// time (no sockets, no waiting).
// =============================================================================================

/** Yields to pending promise callbacks and I/O callbacks; not a sleep. */
const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

class FakeTime implements Scheduler {
  readonly clock = new SimulatedClock(1_000_000);
  /** Every delay asked for, in order. */
  readonly requested: number[] = [];
  private timers: { id: number; due: number; callback: () => void }[] = [];
  private nextId = 1;

  setTimeout(callback: () => void, ms: number): unknown {
    this.requested.push(ms);
    const id = this.nextId++;
    this.timers.push({ id, due: this.clock.now() + ms, callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }

  get pending(): number {
    return this.timers.length;
  }

  /** Moves time forward, firing due timers in order and letting promises settle after each. */
  async advance(ms: number): Promise<void> {
    const target = this.clock.now() + ms;
    await flush();
    for (;;) {
      const next = [...this.timers].sort((a, b) => a.due - b.due)[0];
      if (!next || next.due > target) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.clock.set(Math.max(this.clock.now(), next.due));
      next.callback();
      await flush();
    }
    this.clock.set(target);
    await flush();
  }
}

type Outcome = 'ok' | 'fail' | 'hang' | 'alert' | 'in-use';

class FakeAssociation implements DtlsAssociation {
  readonly sent: number[][] = [];
  closed = false;
  constructor(
    readonly local: Endpoint,
    readonly events: AssociationEvents,
    readonly remote: Endpoint,
  ) {}
  async send(bytes: Uint8Array): Promise<void> {
    if (this.closed) throw new Error('closed');
    this.sent.push([...bytes]);
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  /** The server answers. */
  reply(bytes: number[]): void {
    this.events.message(Uint8Array.from(bytes), this.remote, this.local);
  }
}

class FakeNet {
  readonly requests: HandshakeRequest[] = [];
  readonly associations: FakeAssociation[] = [];
  aborted = 0;
  private nextPort = 40000;
  constructor(private readonly plan: Outcome[]) {}

  readonly connector = (request: HandshakeRequest, events: AssociationEvents) => {
    this.requests.push(request);
    const outcome = this.plan.shift() ?? 'ok';
    const established = (async () => {
      await Promise.resolve();
      switch (outcome) {
        case 'ok': {
          const a = new FakeAssociation({ address: '127.0.0.1', port: request.localPort ?? this.nextPort++ }, events, request.remote);
          this.associations.push(a);
          return a;
        }
        case 'fail':
          throw new Error('The DTLS handshake timed out');
        case 'alert':
          throw new DtlsAlertError('unknown_psk_identity');
        case 'in-use':
          throw Object.assign(new Error('bind EADDRINUSE 0.0.0.0:40000'), { code: 'EADDRINUSE' });
        case 'hang':
          return new Promise<DtlsAssociation>(() => undefined);
      }
    })();
    return { established, abort: () => void this.aborted++ };
  };

  get last(): FakeAssociation {
    const a = this.associations[this.associations.length - 1];
    if (!a) throw new Error('no association');
    return a;
  }
}

const SERVER: Endpoint = { address: '192.0.2.10', port: 8921 };
const PSK = { identity: 'acme', key: new Uint8Array(16).fill(1) };

function setup(plan: Outcome[], options: Partial<DtlsClientOptions> = {}) {
  const time = new FakeTime();
  const net = new FakeNet(plan);
  const warnings: string[] = [];
  const client = new DtlsClientTransport({
    psk: PSK,
    connector: net.connector,
    scheduler: time,
    clock: time.clock,
    logger: { warn: (m: string) => void warnings.push(m) },
    ...options,
  });
  return { time, net, client, warnings };
}

/** Starts a send and reports its outcome without awaiting it. */
function track(p: Promise<void>) {
  const state: { done: boolean; error: unknown } = { done: false, error: undefined };
  p.then(
    () => (state.done = true),
    (e: unknown) => {
      state.done = true;
      state.error = e;
    },
  );
  return state;
}

describe('DtlsClientTransport logic (scripted connector, simulated time)', () => {
  it('handshakes lazily on the first send, offering only the two AEAD suites, and reuses the association', async () => {
    const { net, client } = setup([]);
    assert.equal(client.kind, 'dtls');
    assert.equal(net.requests.length, 0, 'nothing before the first send');
    for (let i = 0; i < 20; i++) await client.send(SERVER, Uint8Array.of(i));
    assert.equal(net.requests.length, 1);
    assert.deepEqual(net.requests[0]?.ciphers, ['TLS_PSK_WITH_AES_128_GCM_SHA256', 'TLS_PSK_WITH_AES_128_CCM_8']);
    assert.equal(net.requests[0]?.psk.identity, 'acme');
    assert.equal(net.requests[0]?.localPort, undefined, 'first handshake: ephemeral port');
    assert.equal(net.last.sent.length, 20);
    assert.deepEqual(client.local(), { address: '127.0.0.1', port: 40000 });
    assert.equal(client.handshakeCount(SERVER), 1);
  });

  it('retries failed handshakes with backoff 0.5 s, 1 s, then succeeds', async () => {
    const { time, net, client } = setup(['fail', 'fail', 'ok']);
    const send = track(client.send(SERVER, Uint8Array.of(1)));
    await time.advance(499);
    assert.equal(net.requests.length, 1, 'waits 500 ms before attempt 2');
    await time.advance(1);
    assert.equal(net.requests.length, 2);
    await time.advance(999);
    assert.equal(net.requests.length, 2);
    await time.advance(1);
    assert.equal(net.requests.length, 3);
    assert.ok(send.done && send.error === undefined);
    assert.deepEqual(net.last.sent, [[1]]);
  });

  it('aborts an attempt that does not finish within attemptTimeoutMs (a lost flight) and tries again', async () => {
    const { time, net, client } = setup(['hang', 'ok']);
    const send = track(client.send(SERVER, Uint8Array.of(1)));
    await time.advance(DEFAULT_DTLS_RETRY.attemptTimeoutMs - 1);
    assert.equal(net.aborted, 0);
    await time.advance(1);
    assert.equal(net.aborted, 1, 'the hung attempt is aborted at 3 s');
    assert.equal(send.done, false);
    await time.advance(500);
    assert.equal(net.requests.length, 2);
    assert.ok(send.done && send.error === undefined);
  });

  it('rejects with a clear error after every attempt failed', async () => {
    const { time, net, client } = setup(['hang', 'fail', 'hang', 'fail', 'ok']);
    const send = track(client.send(SERVER, Uint8Array.of(1)));
    await time.advance(20_000);
    assert.equal(net.requests.length, 4);
    assert.ok(send.error instanceof DtlsHandshakeError);
    assert.match(send.error.message, /DTLS handshake with 192\.0\.2\.10:8921 failed after 4 attempts: The DTLS handshake timed out/);
    assert.equal(send.error.causes.length, 4);
    assert.match(send.error.causes[0]?.message ?? '', /timed out after 3000 ms/);
    // 3000 (timeout) + 500 + 1000 (fail fast) + 2000 + 3000 (timeout) + 2000 (last pause repeats)
    assert.deepEqual(time.requested, [3000, 500, 3000, 1000, 3000, 2000, 3000]);
    assert.equal(time.pending, 0, 'no timer left behind');
    // The next send starts over (and this time the server answers).
    await client.send(SERVER, Uint8Array.of(2));
    assert.equal(net.requests.length, 5);
  });

  it('does not retry after a fatal alert (e.g. unknown PSK identity)', async () => {
    const { time, net, client } = setup(['alert']);
    const send = track(client.send(SERVER, Uint8Array.of(1)));
    await time.advance(0);
    assert.equal(net.requests.length, 1);
    assert.ok(send.error instanceof DtlsHandshakeError);
    assert.match(send.error.message, /after 1 attempt: server sent a fatal alert: unknown_psk_identity/);
  });

  it('concurrent sends during a handshake wait for it: one handshake, all sent in order', async () => {
    const { time, net, client } = setup(['fail', 'ok']);
    const sends = [1, 2, 3].map((i) => track(client.send(SERVER, Uint8Array.of(i))));
    await time.advance(500);
    assert.equal(net.requests.length, 2);
    assert.ok(sends.every((s) => s.done && s.error === undefined));
    assert.deepEqual(net.last.sent, [[1], [2], [3]]);
  });

  it('re-handshakes from the same local port after the association is lost', async () => {
    const { net, client } = setup([]);
    await client.send(SERVER, Uint8Array.of(1));
    const first = net.last;
    first.events.lost(new Error('received close_notify'));
    await client.send(SERVER, Uint8Array.of(2));
    assert.equal(net.requests.length, 2);
    assert.equal(net.requests[1]?.localPort, first.local.port, 'same client port: same RFC 8.3 transport session');
    assert.deepEqual(net.last.sent, [[2]]);
    assert.equal(client.handshakeCount(SERVER), 2);
  });

  it('falls back to a new port when the previous one is taken', async () => {
    const { time, net, client, warnings } = setup(['ok', 'in-use', 'ok']);
    await client.send(SERVER, Uint8Array.of(1));
    net.last.events.lost(undefined);
    const send = track(client.send(SERVER, Uint8Array.of(2)));
    await time.advance(500);
    assert.ok(send.done && send.error === undefined);
    assert.equal(net.requests[1]?.localPort, 40000);
    assert.equal(net.requests[2]?.localPort, undefined);
    assert.match(warnings.join('\n'), /port 40000 is taken/);
  });

  it('the first handshake binds options.localPort: one port, or one per server (a client restarted on its former port)', async () => {
    const OTHER: Endpoint = { address: '192.0.2.11', port: 8921 };
    const { net, client } = setup([], { localPort: (server) => (server.address === SERVER.address ? 45000 : undefined) });
    await client.send(SERVER, Uint8Array.of(1));
    await client.send(OTHER, Uint8Array.of(2));
    assert.equal(net.requests[0]?.localPort, 45000);
    assert.equal(net.requests[1]?.localPort, undefined, 'undefined: an ephemeral port');
    assert.deepEqual(client.localFor(SERVER), { address: '127.0.0.1', port: 45000 });
    // Later handshakes keep that port, as with any first port.
    net.associations[0]?.events.lost(undefined);
    await client.send(SERVER, Uint8Array.of(3));
    assert.equal(net.requests[2]?.localPort, 45000);
    const fixed = setup([], { localPort: 45001 });
    await fixed.client.send(SERVER, Uint8Array.of(1));
    assert.equal(fixed.net.requests[0]?.localPort, 45001);
  });

  it('a configured local port that is taken: a warning, then an ephemeral port', async () => {
    const { time, net, client, warnings } = setup(['in-use', 'ok'], { localPort: 45000 });
    const send = track(client.send(SERVER, Uint8Array.of(1)));
    await time.advance(500);
    assert.ok(send.done && send.error === undefined);
    assert.deepEqual(net.requests.map((r) => r.localPort), [45000, undefined]);
    assert.match(warnings.join('\n'), /port 45000 is taken/);
  });

  it('connect(): establishes the association without sending anything, once; send() then reuses it', async () => {
    const { net, client } = setup([], { localPort: 45000 });
    assert.deepEqual(await client.connect(SERVER), { address: '127.0.0.1', port: 45000 });
    assert.equal(net.requests.length, 1);
    assert.deepEqual(net.last.sent, [], 'nothing sent');
    assert.deepEqual(await client.connect(SERVER), { address: '127.0.0.1', port: 45000 });
    await client.send(SERVER, Uint8Array.of(7));
    assert.equal(net.requests.length, 1, 'one handshake for both connects and the send');
    assert.deepEqual(net.last.sent, [[7]]);
    // Answers the server sends unasked reach the handlers.
    const got: Inbound[] = [];
    client.onMessage((m) => got.push(m));
    net.last.reply([9]);
    assert.deepEqual(got.map((m) => [...m.bytes]), [[9]]);
  });

  it('connect() rejects like send() when the handshakes fail', async () => {
    const { time, client } = setup(['fail', 'fail', 'fail', 'fail']);
    const result = client.connect(SERVER).then(
      () => undefined,
      (e: unknown) => e,
    );
    await time.advance(10_000);
    assert.ok((await result) instanceof DtlsHandshakeError);
  });

  it('treats silence after a send as a dead association (server restarted without close_notify)', async () => {
    const { time, net, client } = setup([], { deadAfterMs: 1500 });
    await client.send(SERVER, Uint8Array.of(1));
    net.last.reply([9]); // answered: alive
    await time.advance(10_000);
    await client.send(SERVER, Uint8Array.of(2));
    assert.equal(net.requests.length, 1, 'an answered association stays, however old (below idle)');
    await time.advance(1499);
    await client.send(SERVER, Uint8Array.of(3)); // retransmission before deadAfterMs
    assert.equal(net.requests.length, 1);
    await time.advance(1);
    const old = net.last;
    await client.send(SERVER, Uint8Array.of(3)); // 1.5 s without any answer
    assert.equal(net.requests.length, 2, 'a new handshake');
    assert.ok(old.closed, 'the old association is closed first (its port is reused)');
    assert.equal(net.requests[1]?.localPort, old.local.port);
    assert.deepEqual(net.last.sent, [[3]]);
  });

  it('reads what the socket holds before it presumes silence (a busy event loop is not a dead server)', async () => {
    const { time, net, client } = setup([], { deadAfterMs: 1500 });
    await client.send(SERVER, Uint8Array.of(1));
    await time.advance(5000);
    // The server's answer is already queued: it is delivered in the next I/O turn.
    setImmediate(() => net.last.reply([9]));
    await client.send(SERVER, Uint8Array.of(2));
    assert.equal(net.requests.length, 1, 'the answer counted as life: no new handshake');
    assert.deepEqual(net.last.sent, [[1], [2]]);
  });

  it('a message that expects no answer does not start the silence (expectsAnswer)', async () => {
    const { time, net, client } = setup([], { deadAfterMs: 1500, expectsAnswer: (bytes) => bytes[0] !== 0xee });
    await client.send(SERVER, Uint8Array.of(1));
    net.last.reply([9]);
    await client.send(SERVER, Uint8Array.of(0xee)); // e.g. PROCESSING after an OFFER
    await time.advance(10_000);
    await client.send(SERVER, Uint8Array.of(2));
    assert.equal(net.requests.length, 1, 'no re-handshake after a quiet spell that followed an unanswerable message');
    await time.advance(1500);
    await client.send(SERVER, Uint8Array.of(3));
    assert.equal(net.requests.length, 2, 'a request unanswered for deadAfterMs still re-handshakes');
  });

  it('re-handshakes after idleTimeoutMs without traffic', async () => {
    const { time, net, client } = setup([], { idleTimeoutMs: 60_000 });
    await client.send(SERVER, Uint8Array.of(1));
    net.last.reply([1]);
    await time.advance(59_999);
    await client.send(SERVER, Uint8Array.of(2));
    net.last.reply([2]);
    assert.equal(net.requests.length, 1);
    await time.advance(60_000);
    await client.send(SERVER, Uint8Array.of(3));
    assert.equal(net.requests.length, 2);
  });

  it('reports received messages with from / to / identity and drops oversized ones', async () => {
    const { net, client } = setup([], { serverIdentity: 'provider-x' });
    const got: Inbound[] = [];
    client.onMessage((m) => got.push(m));
    await client.send(SERVER, Uint8Array.of(1));
    net.last.reply([0xa0]);
    net.last.events.message(new Uint8Array(MAX_MESSAGE_SIZE + 1), SERVER, net.last.local);
    assert.equal(got.length, 1);
    assert.deepEqual(got[0], { from: SERVER, to: { address: '127.0.0.1', port: 40000 }, identity: 'provider-x', bytes: Uint8Array.of(0xa0) });
    const { net: net2, client: c2 } = setup([]);
    const got2: Inbound[] = [];
    c2.onMessage((m) => got2.push(m));
    await c2.send(SERVER, Uint8Array.of(1));
    net2.last.reply([1]);
    assert.equal(got2[0]?.identity, 'acme', 'default: the configured PSK identity');
  });

  it('keeps one association per server', async () => {
    const { net, client } = setup([]);
    const other = { address: '2001:db8::7', port: 8921 };
    await client.send(SERVER, Uint8Array.of(1));
    await client.send(other, Uint8Array.of(2));
    await client.send({ address: '[2001:DB8::7]', port: 8921 }, Uint8Array.of(3));
    assert.equal(net.requests.length, 2);
    assert.deepEqual(client.localFor(other), net.associations[1]?.local);
  });

  it('localFor(server): undefined before the first association, during the handshake and after a loss', async () => {
    const { time, net, client } = setup(['fail', 'ok']);
    assert.equal(client.localFor(SERVER), undefined, 'no socket before the first send');
    const send = track(client.send(SERVER, Uint8Array.of(1)));
    assert.equal(client.localFor(SERVER), undefined, 'still handshaking');
    await time.advance(500);
    assert.ok(send.done && send.error === undefined);
    assert.deepEqual(client.localFor(SERVER), { address: '127.0.0.1', port: 40000 });
    assert.deepEqual(client.localFor({ address: '192.0.2.10', port: 1 }), undefined, 'another server has no association');
    net.last.events.lost(new Error('received close_notify'));
    assert.equal(client.localFor(SERVER), undefined, 'lost: not known until the next handshake');
    await client.send(SERVER, Uint8Array.of(2));
    assert.deepEqual(client.localFor(SERVER), { address: '127.0.0.1', port: 40000 }, 'same port again');
  });

  it('localFor(server) is undefined for a stale association that keepLocalPort: false will replace from a new port', async () => {
    const { time, net, client } = setup([], { idleTimeoutMs: 60_000, keepLocalPort: false });
    await client.send(SERVER, Uint8Array.of(1));
    net.last.reply([1]);
    assert.deepEqual(client.localFor(SERVER), net.last.local);
    await time.advance(60_000);
    assert.equal(client.localFor(SERVER), undefined);
    const { time: time2, net: net2, client: keeping } = setup([], { idleTimeoutMs: 60_000 });
    await keeping.send(SERVER, Uint8Array.of(1));
    net2.last.reply([1]);
    await time2.advance(60_000);
    assert.deepEqual(keeping.localFor(SERVER), net2.last.local, 'the re-handshake keeps the port');
  });

  it('close() cancels a handshake in progress and closes associations', async () => {
    const { time, net, client } = setup(['ok', 'hang']);
    await client.send(SERVER, Uint8Array.of(1));
    const first = net.last;
    const other = track(client.send({ address: '192.0.2.11', port: 1 }, Uint8Array.of(2)));
    await time.advance(10);
    await client.close();
    await flush();
    assert.ok(first.closed);
    assert.match(String(other.error), /closed/);
    assert.equal(net.aborted, 1);
    assert.equal(time.pending, 0);
    await assert.rejects(client.send(SERVER, Uint8Array.of(3)), /closed/);
  });

  it('validates its input', async () => {
    const { client } = setup([]);
    await assert.rejects(client.send(SERVER, new Uint8Array(0)), RangeError);
    await assert.rejects(client.send(SERVER, new Uint8Array(MAX_MESSAGE_SIZE + 1)), RangeError);
    await assert.rejects(client.send({ address: '127.0.0.1', port: 0 }, Uint8Array.of(1)), RangeError);
    assert.throws(() => new DtlsClientTransport({ psk: PSK, retry: { attempts: 0 } }), RangeError);
    assert.throws(() => new DtlsClientTransport({ psk: PSK, ciphers: [] }), RangeError);
    assert.throws(() => new DtlsClientTransport({ psk: PSK, localPort: 0 }), RangeError);
    assert.throws(() => new DtlsClientTransport({ psk: PSK, localPort: 65536 }), RangeError);
    await assert.rejects(setup([], { localPort: () => 1.5 }).client.send(SERVER, Uint8Array.of(1)), /localPort .* between 1 and 65535/);
    await assert.rejects(client.connect({ address: '127.0.0.1', port: 0 }), RangeError);
  });
});

// =============================================================================================
// Part 2: against the real DTLS server (OpenSSL through lib/dtls-server) on loopback.
// =============================================================================================

const KEY = Uint8Array.from(Buffer.from('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff', 'hex'));
const TABLE = PskTable.from([{ identity: 'acme', key: KEY, customer: 'acme' }]);
const vectors = vectorSets()[0]?.valid ?? [];
const quotation = hexToBytes(vectors.find((v) => v.name === 'quotation-minimal')?.hex ?? '');
const offer = hexToBytes(vectors.find((v) => v.name === 'offer-concrete')?.hex ?? '');

const closers: (() => unknown)[] = [];
after(async () => {
  for (const close of closers.reverse()) await close();
});

const T = { timeout: 20_000 };

async function echoServer(port = 0) {
  const server = await DtlsServer.listen({ host: '127.0.0.1', port, psk: TABLE });
  closers.push(() => server.close());
  const handshakes: string[] = [];
  server.on('handshake', (e) => handshakes.push(e.peer));
  const received: Inbound[] = [];
  server.onMessage((m) => {
    received.push(m);
    // Answers a QUOTATION with an OFFER, anything else with itself.
    void server.send(m.from, m.bytes.length === quotation.length ? offer : m.bytes).catch(() => undefined);
  });
  return { server, handshakes, received };
}

function realClient(options: Partial<DtlsClientOptions> = {}) {
  const warnings: string[] = [];
  const client = new DtlsClientTransport({ psk: { identity: 'acme', key: KEY }, logger: { warn: (m: string) => void warnings.push(m) }, ...options });
  closers.push(() => client.close());
  return { client, warnings };
}

/** Rejects instead of hanging when `p` does not settle in time. */
function within<V>(p: Promise<V>, ms: number): Promise<V> {
  return new Promise<V>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`nothing within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

function nextMessage(t: { onMessage(h: (m: Inbound) => void): () => void }): Promise<Inbound> {
  return new Promise((resolve) => {
    const off = t.onMessage((m) => {
      off();
      resolve(m);
    });
  });
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A UDP relay between client and server on loopback, one upstream socket per client, with a
 * hook deciding which datagrams to drop (to lose a handshake flight or a close_notify).
 */
async function relay(server: Endpoint, drop: (direction: 'up' | 'down', datagram: Buffer, index: number) => boolean) {
  const front = createSocket('udp4');
  await new Promise<void>((resolve) => front.bind(0, '127.0.0.1', resolve));
  const upstreams = new Map<string, Socket>();
  let up = 0;
  let down = 0;
  front.on('message', (datagram: Buffer, rinfo: RemoteInfo) => {
    const key = `${rinfo.address}:${rinfo.port}`;
    let upstream = upstreams.get(key);
    if (!upstream) {
      const socket = createSocket('udp4');
      socket.bind(0, '127.0.0.1');
      socket.on('message', (reply: Buffer) => {
        if (!drop('down', reply, down++)) front.send(reply, rinfo.port, rinfo.address);
      });
      upstreams.set(key, socket);
      upstream = socket;
    }
    if (!drop('up', datagram, up++)) upstream.send(datagram, server.port, server.address);
  });
  const close = () => {
    for (const s of upstreams.values()) s.close();
    front.close();
  };
  closers.push(close);
  return { endpoint: { address: '127.0.0.1', port: front.address().port }, close };
}

const isClientHello = (d: Buffer) => d[0] === 22 && d[13] === 1;

describe('DtlsClientTransport against the real DTLS server (loopback)', () => {
  it('handshakes, then carries CPNP messages both ways', T, async () => {
    const { server, handshakes, received } = await echoServer();
    const { client } = realClient();
    const answer = nextMessage(client);
    await client.send(server.local(), quotation);
    const reply = await within(answer, 2000);
    assert.deepEqual(decodeMessageOrThrow(reply.bytes), decodeMessageOrThrow(offer));
    assert.deepEqual(reply.from, server.local());
    assert.equal(reply.identity, 'acme');
    assert.deepEqual(reply.to, client.local());
    assert.equal(client.local().address, '127.0.0.1');
    assert.equal(received[0]?.identity, 'acme');
    assert.deepEqual(received[0]?.from, client.local(), 'the server sees the client port the client reports');
    assert.equal(handshakes.length, 1);
    const [association] = server.associations();
    assert.equal(association?.cipher, 'TLS_PSK_WITH_AES_128_GCM_SHA256');
  });

  it('works over IPv6 loopback', T, async () => {
    const server = await DtlsServer.listen({ host: '::1', port: 0, psk: TABLE });
    closers.push(() => server.close());
    server.onMessage((m) => void server.send(m.from, m.bytes).catch(() => undefined));
    const { client } = realClient();
    const answer = nextMessage(client);
    await client.send({ address: '[::1]', port: server.local().port }, quotation);
    const reply = await within(answer, 2000);
    assert.deepEqual(reply.from, { address: '::1', port: server.local().port });
    assert.equal(reply.to.address, '::1');
  });

  it('reuses one association for 20 sends (one handshake)', T, async () => {
    const { server, handshakes, received } = await echoServer();
    const { client } = realClient();
    const replies: Inbound[] = [];
    client.onMessage((m) => replies.push(m));
    for (let i = 0; i < 20; i++) await client.send(server.local(), encodeMessage({ ...decodeMessageOrThrow(quotation), seq: i }));
    for (let i = 0; i < 100 && replies.length < 20; i++) await wait(10);
    assert.equal(received.length, 20);
    assert.equal(replies.length, 20);
    assert.equal(handshakes.length, 1);
    assert.equal(client.handshakeCount(server.local()), 1);
    assert.equal(new Set(received.map((m) => m.from.port)).size, 1);
  });

  it('re-handshakes transparently when the server restarts on the same port', T, async () => {
    const first = await echoServer();
    const at = first.server.local();
    const { client } = realClient();
    const a = nextMessage(client);
    await client.send(at, quotation);
    await within(a, 2000);
    const port = client.local().port;
    await first.server.close(); // sends close_notify: the client drops the association
    const second = await echoServer(at.port);
    await wait(50);
    const b = nextMessage(client);
    await client.send(at, quotation);
    await within(b, 2000);
    assert.equal(second.handshakes.length, 1, 'a new handshake with the new server');
    assert.equal(second.received.length, 1, 'the very next send got through');
    assert.equal(client.local().port, port, 'from the same client port');
    assert.equal(client.handshakeCount(at), 2);
  });

  it('survives a crash-restart (close_notify lost): the retransmission re-handshakes', T, async () => {
    const first = await echoServer();
    const at = first.server.local();
    // The server's close_notify never reaches the client: as if the server had crashed.
    let droppedAlerts = 0;
    const ALERT = 21;
    const proxy = await relay(at, (direction, datagram) => direction === 'down' && datagram[0] === ALERT && ++droppedAlerts > 0);
    const clock = new SimulatedClock(0);
    const { client } = realClient({ deadAfterMs: 300, clock });
    const a = nextMessage(client);
    await client.send(proxy.endpoint, quotation);
    await within(a, 2000);
    await first.server.close();
    const second = await echoServer(at.port);
    for (let i = 0; i < 100 && droppedAlerts === 0; i++) await wait(5);
    assert.equal(droppedAlerts, 1, 'the close_notify was dropped');
    await client.send(proxy.endpoint, quotation); // lost: the new server does not know the association
    await wait(50);
    assert.equal(second.received.length, 0);
    clock.advance(300); // CPNP's retransmission timer fires (RFC 8921 11.4): the same message again
    const b = nextMessage(client);
    await client.send(proxy.endpoint, quotation);
    await within(b, 2000);
    assert.equal(second.received.length, 1);
    assert.equal(second.handshakes.length, 1);
  });

  it('a client restarted on its former local port (close_notify lost, as after kill -9) reconnects: the server\'s unasked answer reaches it', T, async () => {
    const { server, received } = await echoServer();
    const closed: string[] = [];
    server.on('association-closed', (e) => closed.push(e.reason));
    // The first client's close_notify never reaches the server: as if the client had crashed.
    const ALERT = 21;
    const proxy = await relay(server.local(), (direction, datagram) => direction === 'up' && datagram[0] === ALERT);
    const probe = createSocket('udp4');
    await new Promise<void>((resolve) => probe.bind(0, resolve));
    const port = probe.address().port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));

    const first = realClient({ localPort: port }).client;
    const a = nextMessage(first);
    await first.send(proxy.endpoint, quotation);
    await within(a, 2000);
    assert.equal(first.localFor(proxy.endpoint)?.port, port);
    await first.close();
    const from = received[0]?.from;
    assert.ok(from);

    const second = realClient({ localPort: port }).client;
    assert.equal((await second.connect(proxy.endpoint)).port, port, 'the same local port, hence the same 4-tuple at the server');
    for (let i = 0; i < 100 && !closed.includes('client-restarted'); i++) await wait(10);
    assert.deepEqual(closed, ['client-restarted'], 'the new handshake replaced the old association (RFC 6347 4.2.8)');
    const pushed = nextMessage(second);
    await server.send(from, offer); // the server answers without having been asked again
    const got = await within(pushed, 2000);
    assert.deepEqual([...got.bytes], [...offer]);
    assert.equal(got.to.port, port);
  });

  it('survives a lost ClientHello thanks to the handshake retry', T, async () => {
    const { server, handshakes, received } = await echoServer();
    let dropped = 0;
    const proxy = await relay(server.local(), (direction, datagram) => {
      if (direction === 'up' && isClientHello(datagram) && dropped === 0) {
        dropped++;
        return true;
      }
      return false;
    });
    const { client } = realClient({ retry: { attemptTimeoutMs: 1000, backoffMs: [100] } });
    const started = Date.now();
    await client.send(proxy.endpoint, quotation);
    assert.equal(dropped, 1);
    assert.ok(Date.now() - started >= 1000, 'the first attempt timed out');
    for (let i = 0; i < 100 && received.length === 0; i++) await wait(10);
    assert.equal(received.length, 1);
    assert.equal(handshakes.length, 1);
  });

  it('wrong PSK: send rejects with a clear error after the attempts', T, async () => {
    const { server, handshakes, received } = await echoServer();
    const { client } = realClient({
      psk: { identity: 'acme', key: new Uint8Array(32).fill(0x55) },
      retry: { attempts: 2, attemptTimeoutMs: 800, backoffMs: [100] },
    });
    await assert.rejects(client.send(server.local(), quotation), (e: unknown) => {
      assert.ok(e instanceof DtlsHandshakeError);
      assert.match(e.message, /DTLS handshake with 127\.0\.0\.1:\d+ failed after 2 attempts/);
      assert.match(e.message, /wrong PSK/);
      return true;
    });
    assert.equal(handshakes.length, 0);
    assert.equal(received.length, 0);
  });

  it('unknown PSK identity: the fatal alert ends the attempts at once', T, async () => {
    const { server } = await echoServer();
    const { client } = realClient({ psk: { identity: 'nobody', key: KEY } });
    const started = Date.now();
    await assert.rejects(client.send(server.local(), quotation), /after 1 attempt: server sent a fatal alert: unknown_psk_identity/);
    assert.ok(Date.now() - started < 2000);
  });
});
