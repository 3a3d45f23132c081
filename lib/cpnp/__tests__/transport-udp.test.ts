import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { after, describe, it } from 'node:test';
import { decodeMessageOrThrow, encodeMessage } from '../codec';
import { MAX_MESSAGE_SIZE } from '../message';
import { isLoopbackAddress, isUnspecifiedAddress } from '../transport/loopback';
import type { Inbound } from '../transport/transport';
import { InsecureTransportError, UdpTransport } from '../transport/udp';
import { hexToBytes, vectorSets } from './vectors';

/** A logger that records instead of printing. */
function recorder(): { warn: (m: string) => void; lines: string[] } {
  const lines: string[] = [];
  return { lines, warn: (m: string) => void lines.push(m) };
}

function nextMessage(t: UdpTransport): Promise<Inbound> {
  return new Promise((resolve) => {
    const off = t.onMessage((m) => {
      off();
      resolve(m);
    });
  });
}

const open: { close(): unknown }[] = [];
after(async () => {
  for (const o of open) await o.close();
});

async function bind(options: Parameters<typeof UdpTransport.bind>[0] = {}) {
  const log = recorder();
  const t = await UdpTransport.bind({ logger: log, ...options });
  open.push(t);
  return { t, log };
}

const sample = vectorSets()[0]?.valid[0];
if (!sample) throw new Error('no test vector');
const sampleBytes = hexToBytes(sample.hex);

describe('loopback addresses', () => {
  it('tells loopback IP literals from everything else', () => {
    for (const a of ['127.0.0.1', '127.255.0.9', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', '::FFFF:7f00:1']) {
      assert.equal(isLoopbackAddress(a), true, a);
    }
    for (const a of ['192.0.2.1', '128.0.0.1', '::', '0.0.0.0', '::2', 'localhost', '', 'example.com', '::ffff:192.0.2.1', '2001:db8::1']) {
      assert.equal(isLoopbackAddress(a), false, a);
    }
    assert.equal(isUnspecifiedAddress('0.0.0.0'), true);
    assert.equal(isUnspecifiedAddress('[::]'), true);
    assert.equal(isUnspecifiedAddress('127.0.0.1'), false);
  });
});

describe('UdpTransport (loopback only)', () => {
  it('round trip both ways on 127.0.0.1, the client using one ephemeral port for both', async () => {
    const { t: server, log } = await bind({ port: 0 });
    const { t: client } = await bind();
    assert.equal(server.kind, 'udp');
    assert.match(log.lines.join('\n'), /insecure|unauthenticated/i);
    const s = server.local();
    const c = client.local();
    assert.equal(s.address, '127.0.0.1');
    assert.ok(c.port > 0 && c.port !== s.port);

    const atServer = nextMessage(server);
    await client.send(s, sampleBytes);
    const request = await atServer;
    assert.deepEqual(request.from, c, 'the request comes from the client port (RFC 8921 8.1)');
    assert.deepEqual(request.to, s);
    assert.equal(request.identity, undefined);
    assert.deepEqual(decodeMessageOrThrow(request.bytes), sample.json);

    const reply = encodeMessage({ ...decodeMessageOrThrow(request.bytes), seq: 8 });
    const atClient = nextMessage(client);
    await server.send(request.from, reply);
    const response = await atClient;
    assert.deepEqual(response.from, s);
    assert.deepEqual(response.to, c);
    assert.equal(decodeMessageOrThrow(response.bytes).seq, 8);
  });

  it('works over IPv6 loopback', async () => {
    const { t: server } = await bind({ host: '::1' });
    const { t: client } = await bind({ host: '[::1]' });
    const got = nextMessage(server);
    await client.send({ address: '::1', port: server.local().port }, Uint8Array.of(0xa0));
    const m = await got;
    assert.equal(m.from.address, '::1');
    assert.equal(m.from.port, client.local().port);
  });

  it('refuses to bind a non-loopback or wildcard address without the override', async () => {
    for (const host of ['192.0.2.1', '0.0.0.0', '::', 'localhost']) {
      await assert.rejects(UdpTransport.bind({ host, logger: recorder() }), InsecureTransportError, host);
    }
  });

  it('refuses to send to a non-loopback address before any packet leaves', async () => {
    const { t: client } = await bind();
    // Spy on the socket: the refusal must come before dgram's send is reached.
    const socket = (client as unknown as { socket: Socket }).socket;
    let sends = 0;
    const original = socket.send.bind(socket);
    (socket as unknown as { send: (...args: unknown[]) => void }).send = (...args: unknown[]) => {
      sends++;
      (original as (...a: unknown[]) => void)(...args);
    };
    for (const address of ['192.0.2.1', '198.51.100.7', '2001:db8::1', '::ffff:192.0.2.1', 'example.com']) {
      await assert.rejects(client.send({ address, port: 9 }, sampleBytes), InsecureTransportError, address);
    }
    assert.equal(sends, 0);
  });

  it('with insecureAllowNonLoopback, binds the wildcard address and shouts about it', async () => {
    const { t, log } = await bind({ host: '0.0.0.0', insecureAllowNonLoopback: true });
    assert.equal(t.local().address, '0.0.0.0');
    assert.match(log.lines.join('\n'), /INSECURE/);
  });

  it('drops datagrams larger than MAX_MESSAGE_SIZE and empty ones, delivers the next', async () => {
    const { t: server } = await bind();
    const raw = createSocket('udp4');
    await new Promise<void>((resolve) => raw.bind(0, '127.0.0.1', resolve));
    try {
      const received: Inbound[] = [];
      server.onMessage((m) => received.push(m));
      const port = server.local().port;
      const sendRaw = (b: Uint8Array) => new Promise<void>((resolve, reject) => raw.send(b, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
      await sendRaw(new Uint8Array(MAX_MESSAGE_SIZE + 1).fill(1));
      await sendRaw(new Uint8Array(0));
      const ok = nextMessage(server);
      await sendRaw(new Uint8Array(MAX_MESSAGE_SIZE).fill(2));
      const m = await ok;
      assert.equal(m.bytes.length, MAX_MESSAGE_SIZE);
      assert.equal(received.length, 1, 'the oversized and the empty datagram were dropped');
    } finally {
      raw.close();
    }
  });

  it('refuses to send a message larger than MAX_MESSAGE_SIZE, and anything after close', async () => {
    const { t: a } = await bind();
    await assert.rejects(a.send({ address: '127.0.0.1', port: 9 }, new Uint8Array(MAX_MESSAGE_SIZE + 1)), RangeError);
    await a.close();
    await a.close();
    await assert.rejects(a.send({ address: '127.0.0.1', port: 9 }, sampleBytes), /closed/);
  });

  it('a throwing handler does not stop the others', async () => {
    const { t: server, log } = await bind();
    const { t: client } = await bind();
    server.onMessage(() => {
      throw new Error('boom');
    });
    const got = nextMessage(server);
    await client.send(server.local(), sampleBytes);
    await got;
    assert.match(log.lines.join('\n'), /boom/);
  });
});
