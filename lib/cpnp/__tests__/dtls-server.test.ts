import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import type { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { dtls } from 'node-dtls-client';
import { SimulatedClock } from '../clock';
import { decodeMessage, encodeMessage, messageFromJson } from '../codec';
import { MAX_MESSAGE_SIZE, type CpnpMessage } from '../message';
import { seededRandom } from '../random';
import {
  DTLS_CIPHER_SUITES,
  DtlsServer,
  epochZeroClientHelloRandom,
  peerKey,
  type DtlsServerEvents,
  type DtlsServerOptions,
} from '../transport/dtls-server';
import type { Inbound } from '../transport/transport';
import { generatePsk, identityFromBytes, loadPskTable, PskTable, PskTableError } from '../transport/psk';

// Real loopback UDP against OpenSSL through the addon; peers are node-dtls-client (the client
// the design uses) and Debian's `openssl s_client` (an independent implementation).

const KEY = Buffer.from('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff', 'hex');
const OTHER_KEY = Buffer.from('ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100', 'hex');
const TABLE = PskTable.from([
  { identity: 'acme', key: KEY, customer: 'acme-corp' },
  { identity: 'globex', key: OTHER_KEY, customer: 'globex' },
]);

function message(json: unknown): CpnpMessage {
  const result = messageFromJson(json);
  assert.ok(result.ok, result.ok ? '' : result.error.message);
  return result.message;
}

const QUOTATION = message({
  version: 1,
  method: 1,
  seq: 7,
  txid: '00112233445566778899aabbccddeeff',
  customerOrderId: 'C-1',
  cpd: [{ nodes: [{ id: 'ce-a', link: 'pe1:ge-0/0/1' }] }],
});
const FAIL = message({
  version: 1,
  method: 10,
  seq: 1001,
  txid: '00112233445566778899aabbccddeeff',
  customerOrderId: 'C-1',
  providerOrderId: 'P-42',
  statusCode: 5,
});

// --- resources, closed after every test ----------------------------------------------------------

const servers: DtlsServer[] = [];
const clients: dtls.Socket[] = [];
const children: ChildProcess[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) closeClient(client);
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const socket of sockets.splice(0)) socket.close();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

function udpOf(client: dtls.Socket): Socket {
  return (client as unknown as { udp: Socket }).udp;
}

function closeClient(client: dtls.Socket): void {
  try {
    client.close();
  } catch {
    try {
      udpOf(client).close();
    } catch {
      // already closed
    }
  }
}

async function startServer(options: Partial<DtlsServerOptions> = {}): Promise<DtlsServer> {
  const server = await DtlsServer.listen({ host: '127.0.0.1', port: 0, psk: TABLE, ...options });
  servers.push(server);
  return server;
}

interface Client {
  socket: dtls.Socket;
  connected: Promise<void>;
  messages: Buffer[];
}

function connect(server: DtlsServer, psk: Record<string, Buffer>, extra: Partial<dtls.Options> = {}): Client {
  const socket = dtls.createSocket({ type: 'udp4', address: '127.0.0.1', port: server.local().port, psk, timeout: 3000, ...extra });
  clients.push(socket);
  const messages: Buffer[] = [];
  socket.on('message', (data) => messages.push(data));
  socket.on('error', () => undefined); // failures are observed through `connected`
  const connected = new Promise<void>((resolve, reject) => {
    socket.once('connected', () => resolve());
    socket.once('error', reject);
  });
  connected.catch(() => undefined);
  return { socket, connected, messages };
}

type Payload<K extends keyof DtlsServerEvents> = DtlsServerEvents[K][0];

/** Every event a server emits, in order. */
function record(server: DtlsServer): { name: string; payload: unknown }[] {
  const log: { name: string; payload: unknown }[] = [];
  const names: (keyof DtlsServerEvents)[] = ['cookie-sent', 'handshake', 'handshake-failed', 'association-closed', 'message-dropped', 'socket-error'];
  for (const name of names) server.on(name, (payload: unknown) => log.push({ name, payload }));
  return log;
}

/** The next `name` event (optionally the first one matching `match`), or a rejection after `ms`. */
function next<K extends keyof DtlsServerEvents>(server: DtlsServer, name: K, match: (p: Payload<K>) => boolean = () => true, ms = 4000): Promise<Payload<K>> {
  const emitter = server as unknown as EventEmitter; // the generic listener type does not narrow per K
  return new Promise((resolve, reject) => {
    const listener = (payload: unknown): void => {
      if (!match(payload as Payload<K>)) return;
      clearTimeout(timer);
      emitter.off(name, listener);
      resolve(payload as Payload<K>);
    };
    const timer = setTimeout(() => {
      emitter.off(name, listener);
      reject(new Error(`no '${name}' event within ${ms} ms`));
    }, ms);
    emitter.on(name, listener);
  });
}

function nextMessage(server: DtlsServer, ms = 3000): Promise<Inbound> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`no message within ${ms} ms`));
    }, ms);
    const stop = server.onMessage((inbound) => {
      clearTimeout(timer);
      stop();
      resolve(inbound);
    });
  });
}

function clientMessage(client: Client, ms = 3000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`client got no message within ${ms} ms`)), ms);
    client.socket.once('message', (data: Buffer) => {
      clearTimeout(timer);
      resolve(data);
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createSocket('udp4');
    probe.bind(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

// --- PSK table -------------------------------------------------------------------------------------

describe('PskTable', () => {
  const good = { identities: [{ identity: 'acme', keyHex: KEY.toString('hex'), customer: 'acme-corp' }] };

  it('loads identities, keys and customers from the JSON form and writes it back', () => {
    const table = PskTable.fromJson(good);
    assert.equal(table.size, 1);
    assert.deepEqual(table.identities(), ['acme']);
    assert.deepEqual(Buffer.from(table.keyFor('acme') ?? []), KEY);
    assert.equal(table.customerOf('acme'), 'acme-corp');
    assert.equal(table.keyFor('nobody'), undefined);
    assert.deepEqual(table.toJson(), good);
  });

  it('hands out copies of keys', () => {
    const table = PskTable.fromJson(good);
    const key = table.keyFor('acme');
    assert.ok(key);
    key.fill(0);
    assert.deepEqual(Buffer.from(table.keyFor('acme') ?? []), KEY);
  });

  const entry = (patch: Record<string, unknown>): unknown => ({ identities: [{ ...good.identities[0], ...patch }] });
  const cases: [string, unknown, string][] = [
    ['a 15-byte key', entry({ keyHex: '00'.repeat(15) }), 'identities[0].keyHex'],
    ['odd hex', entry({ keyHex: '0'.repeat(33) }), 'identities[0].keyHex'],
    ['non-hex key', entry({ keyHex: 'zz'.repeat(16) }), 'identities[0].keyHex'],
    ['an empty identity', entry({ identity: '' }), 'identities[0].identity'],
    ['a 129-byte identity', entry({ identity: 'a'.repeat(129) }), 'identities[0].identity'],
    ['a control character in the identity', entry({ identity: 'ac\nme' }), 'identities[0].identity'],
    ['a non-ASCII identity', entry({ identity: 'acmé' }), 'identities[0].identity'],
    ['an empty customer', entry({ customer: '' }), 'identities[0].customer'],
    ['an unknown field', entry({ extra: 1 }), 'identities[0].extra'],
    ['a duplicate identity', { identities: [good.identities[0], good.identities[0]] }, 'identities[1].identity'],
    ['identities not an array', { identities: {} }, 'identities'],
    ['a non-object', [], ''],
  ];
  for (const [name, json, path] of cases) {
    it(`rejects ${name}`, () => {
      assert.throws(
        () => PskTable.fromJson(json),
        (error: unknown) => error instanceof PskTableError && error.path === path,
      );
    });
  }

  it('accepts a 16-byte key and a 128-byte printable identity', () => {
    const identity = ' ~'.repeat(64);
    const table = PskTable.fromJson(entry({ keyHex: '00'.repeat(16), identity }));
    assert.equal(table.keyFor(identity)?.length, 16);
  });

  it('loads a table file and names the file in errors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cpnp-psk-'));
    try {
      const file = join(dir, 'psk.json');
      await writeFile(file, JSON.stringify(good));
      assert.equal((await loadPskTable(file)).customerOf('acme'), 'acme-corp');
      await writeFile(file, JSON.stringify(entry({ keyHex: 'abcd' })));
      await assert.rejects(loadPskTable(file), (error: unknown) => error instanceof PskTableError && error.message.includes(file));
      await writeFile(file, '{ not json');
      await assert.rejects(loadPskTable(file), PskTableError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('generatePsk returns fresh random keys of the requested length', () => {
    assert.equal(generatePsk().length, 32);
    assert.notDeepEqual(generatePsk(), generatePsk());
    assert.deepEqual(generatePsk(16, seededRandom(1)), generatePsk(16, seededRandom(1)));
    assert.throws(() => generatePsk(8), RangeError);
    assert.throws(() => generatePsk(513), RangeError);
  });

  it('identityFromBytes accepts only 1..128 printable ASCII bytes', () => {
    assert.equal(identityFromBytes(Buffer.from('acme')), 'acme');
    assert.equal(identityFromBytes(Buffer.alloc(0)), undefined);
    assert.equal(identityFromBytes(Buffer.alloc(129, 0x61)), undefined);
    assert.equal(identityFromBytes(Buffer.from([0x61, 0x00])), undefined);
    assert.equal(identityFromBytes(Buffer.from('acmé')), undefined);
  });
});

describe('epochZeroClientHelloRandom', () => {
  const hello = (): Buffer => {
    const datagram = Buffer.alloc(80);
    datagram[0] = 22; // handshake
    datagram.writeUInt16BE(0xfefd, 1);
    datagram[13] = 1; // client_hello
    for (let i = 0; i < 32; i++) datagram[27 + i] = i + 1;
    return datagram;
  };

  it('returns the random of an epoch-0, unfragmented ClientHello', () => {
    assert.deepEqual([...(epochZeroClientHelloRandom(hello()) ?? [])], Array.from({ length: 32 }, (_, i) => i + 1));
  });

  it('ignores other records', () => {
    const epoch1 = hello();
    epoch1[4] = 1;
    const serverHello = hello();
    serverHello[13] = 2;
    const appData = hello();
    appData[0] = 23;
    const fragment = hello();
    fragment[21] = 5;
    for (const datagram of [epoch1, serverHello, appData, fragment, hello().subarray(0, 58)]) {
      assert.equal(epochZeroClientHelloRandom(datagram), undefined);
    }
  });
});

// --- the server with node-dtls-client ---------------------------------------------------------------

describe('DtlsServer with node-dtls-client', () => {
  it('completes a cookie exchange and a GCM handshake, and carries CPNP messages both ways with the identity', async () => {
    const server = await startServer();
    const log = record(server);
    const client = connect(server, { acme: KEY }, { ciphers: ['TLS_PSK_WITH_AES_128_GCM_SHA256'] });
    // Count HelloVerifyRequests on the wire (record type 22, handshake type 3).
    let helloVerifyRequests = 0;
    udpOf(client.socket).prependListener('message', (datagram: Buffer) => {
      if (datagram[0] === 22 && datagram[13] === 3) helloVerifyRequests++;
    });
    const handshake = next(server, 'handshake');
    await client.connected;
    const established = await handshake;
    assert.equal(established.identity, 'acme');
    assert.equal(established.customer, 'acme-corp');
    assert.equal(established.cipher, 'TLS_PSK_WITH_AES_128_GCM_SHA256');
    assert.equal(established.version, 'DTLSv1.2');
    assert.equal(helloVerifyRequests, 1);
    assert.deepEqual(
      log.map((e) => e.name),
      ['cookie-sent', 'handshake'],
    );

    const inbound = nextMessage(server);
    client.socket.send(Buffer.from(encodeMessage(QUOTATION)));
    const received = await inbound;
    assert.equal(received.identity, 'acme');
    assert.deepEqual(received.to, server.local());
    assert.equal(peerKey(received.from), established.peer);
    const decoded = decodeMessage(received.bytes);
    assert.ok(decoded.ok);
    assert.deepEqual(decoded.message, QUOTATION);

    const reply = clientMessage(client);
    await server.send(received.from, encodeMessage(FAIL));
    const answer = decodeMessage(await reply);
    assert.ok(answer.ok);
    assert.deepEqual(answer.message, FAIL);

    const [association] = server.associations();
    assert.equal(server.associations().length, 1);
    assert.equal(association?.state, 'established');
    assert.equal(association?.identity, 'acme');
    assert.equal(association?.customer, 'acme-corp');
  });

  it('negotiates CCM_8 when the client offers only CCM_8', async () => {
    const server = await startServer();
    const client = connect(server, { globex: OTHER_KEY }, { ciphers: ['TLS_PSK_WITH_AES_128_CCM_8'] });
    const handshake = next(server, 'handshake');
    await client.connected;
    const established = await handshake;
    assert.equal(established.cipher, 'TLS_PSK_WITH_AES_128_CCM_8');
    assert.equal(established.identity, 'globex');
    const inbound = nextMessage(server);
    client.socket.send(Buffer.from(encodeMessage(QUOTATION)));
    assert.equal((await inbound).identity, 'globex');
  });

  it('prefers its own AEAD order over a client that lists CBC first', async () => {
    const server = await startServer();
    const client = connect(server, { acme: KEY }, {
      ciphers: ['TLS_PSK_WITH_AES_128_CBC_SHA256', 'TLS_PSK_WITH_AES_128_CCM_8', 'TLS_PSK_WITH_AES_128_GCM_SHA256'],
    });
    const handshake = next(server, 'handshake');
    await client.connected;
    assert.equal((await handshake).cipher, DTLS_CIPHER_SUITES[0]);
  });

  it('refuses a client that offers only CBC suites', async () => {
    const server = await startServer();
    const failed = next(server, 'handshake-failed');
    const client = connect(server, { acme: KEY }, { ciphers: ['TLS_PSK_WITH_AES_128_CBC_SHA256', 'TLS_PSK_WITH_AES_128_CBC_SHA'] });
    assert.equal((await failed).reason, 'no-shared-cipher');
    await assert.rejects(client.connected);
    assert.equal(server.associations().length, 0);
  });

  it('fails the handshake of an unknown identity with unknown_psk_identity', async () => {
    const server = await startServer();
    const failed = next(server, 'handshake-failed');
    let delivered = 0;
    server.onMessage(() => delivered++);
    const client = connect(server, { nobody: KEY });
    assert.equal((await failed).reason, 'unknown-psk-identity');
    await assert.rejects(client.connected, /unknown_psk_identity/);
    assert.equal(server.associations().length, 0);
    assert.equal(delivered, 0);
  });

  it('reports a throwing PSK lookup as psk-lookup-error, and serves keys from a lookup function', async () => {
    const server = await startServer({
      psk: (identity) => {
        if (identity === 'boom') throw new Error('database down');
        return identity === 'fn' ? KEY : undefined;
      },
    });
    const failed = next(server, 'handshake-failed');
    const bad = connect(server, { boom: KEY });
    const failure = await failed;
    assert.equal(failure.reason, 'psk-lookup-error');
    assert.match(failure.detail ?? '', /database down/);
    await assert.rejects(bad.connected);
    const handshake = next(server, 'handshake');
    const good = connect(server, { fn: KEY });
    await good.connected;
    const established = await handshake;
    assert.equal(established.identity, 'fn');
    assert.equal(established.customer, undefined);
  });

  it('never establishes with a wrong PSK: no association, no message, the half-open handshake times out', async () => {
    const clock = new SimulatedClock(1_000_000);
    const server = await startServer({ clock, handshakeTimeoutMs: 10_000 });
    const log = record(server);
    let delivered = 0;
    server.onMessage(() => delivered++);
    const client = connect(server, { acme: OTHER_KEY }, { timeout: 700 });
    await assert.rejects(client.connected, /timed out/);
    assert.equal(log.filter((e) => e.name === 'handshake').length, 0);
    const [halfOpen] = server.associations();
    assert.equal(halfOpen?.state, 'handshaking');
    assert.equal(server.associations().length, 1);
    clock.advance(9_999);
    server.sweep();
    assert.equal(server.associations().length, 1);
    clock.advance(1);
    const failed = next(server, 'handshake-failed');
    server.sweep();
    assert.equal((await failed).reason, 'timeout');
    assert.equal(server.associations().length, 0);
    assert.equal(delivered, 0);
    await assert.rejects(server.send(halfOpen.endpoint, encodeMessage(FAIL)), /no established DTLS association/);
  });

  it('rejects send() to a peer without an established association, and oversized messages', async () => {
    const server = await startServer();
    await assert.rejects(server.send({ address: '127.0.0.1', port: 9 }, encodeMessage(FAIL)), /no established DTLS association with 127\.0\.0\.1:9/);
    const client = connect(server, { acme: KEY });
    const handshake = next(server, 'handshake');
    await client.connected;
    const { peer } = await handshake;
    const [address = '', port = ''] = peer.split(':');
    const to = { address, port: Number(port) };
    await assert.rejects(server.send(to, new Uint8Array(MAX_MESSAGE_SIZE + 1)), RangeError);
    await assert.rejects(server.send(to, new Uint8Array(0)), RangeError);
    const reply = clientMessage(client);
    await server.send(to, new Uint8Array(MAX_MESSAGE_SIZE).fill(7));
    assert.equal((await reply).length, MAX_MESSAGE_SIZE);
  });

  it('never passes up a record larger than MAX_MESSAGE_SIZE', async () => {
    const server = await startServer();
    const sizes: number[] = [];
    server.onMessage((inbound) => sizes.push(inbound.bytes.length));
    const client = connect(server, { acme: KEY });
    await client.connected;
    const first = nextMessage(server);
    client.socket.send(Buffer.alloc(MAX_MESSAGE_SIZE, 1));
    await first;
    // OpenSSL answers a record above 2^14 bytes (= MAX_MESSAGE_SIZE) with a fatal record_overflow.
    const closed = next(server, 'association-closed');
    client.socket.send(Buffer.alloc(MAX_MESSAGE_SIZE + 1, 2));
    assert.equal((await closed).reason, 'error');
    assert.deepEqual(sizes, [MAX_MESSAGE_SIZE]);
  });

  it('closes idle associations with close_notify after idleTimeoutMs', async () => {
    const clock = new SimulatedClock(0);
    const server = await startServer({ clock, idleTimeoutMs: 60_000 });
    const client = connect(server, { acme: KEY });
    await client.connected;
    const inbound = nextMessage(server);
    client.socket.send(Buffer.from(encodeMessage(QUOTATION)));
    const { from } = await inbound;
    clock.advance(59_999);
    server.sweep();
    assert.equal(server.associations().length, 1);
    const clientClosed = new Promise<void>((resolve) => client.socket.once('close', () => resolve()));
    const closed = next(server, 'association-closed');
    clock.advance(1);
    server.sweep();
    const event = await closed;
    assert.equal(event.reason, 'idle');
    assert.equal(event.identity, 'acme');
    assert.equal(server.associations().length, 0);
    await clientClosed; // the client saw our close_notify
    await assert.rejects(server.send(from, encodeMessage(FAIL)), /no established DTLS association/);
  });

  it('refuses handshakes beyond maxAssociations unless an idle association can be evicted', async () => {
    const clock = new SimulatedClock(0);
    const server = await startServer({ clock, maxAssociations: 1, evictIdleAfterMs: 5_000 });
    const first = connect(server, { acme: KEY });
    await first.connected;

    const refused = next(server, 'handshake-failed');
    const second = connect(server, { globex: OTHER_KEY }, { timeout: 800 });
    assert.equal((await refused).reason, 'capacity');
    assert.equal(server.associations().length, 1);
    closeClient(second.socket);

    clock.advance(5_000); // the first association is now idle long enough to be evicted
    const evicted = next(server, 'association-closed');
    const handshake = next(server, 'handshake');
    const third = connect(server, { globex: OTHER_KEY });
    await third.connected;
    assert.equal((await evicted).reason, 'evicted');
    assert.equal((await handshake).identity, 'globex');
    assert.deepEqual(
      server.associations().map((a) => a.identity),
      ['globex'],
    );
  });

  it('lets a client that restarts on the same port handshake again (RFC 6347 4.2.8)', async () => {
    const server = await startServer();
    const port = await freePort();
    const before = connect(server, { acme: KEY }, { listenPort: port });
    await before.connected;
    // The client process "dies": its socket goes away without a close_notify.
    udpOf(before.socket).removeAllListeners('close');
    await new Promise<void>((resolve) => udpOf(before.socket).close(() => resolve()));

    const replaced = next(server, 'association-closed');
    const handshake = next(server, 'handshake');
    const after = connect(server, { globex: OTHER_KEY }, { listenPort: port });
    await after.connected;
    assert.equal((await replaced).reason, 'client-restarted');
    assert.equal((await handshake).identity, 'globex');
    const inbound = nextMessage(server);
    after.socket.send(Buffer.from(encodeMessage(QUOTATION)));
    const received = await inbound;
    assert.equal(received.identity, 'globex');
    assert.equal(received.from.port, port);
  });

  it('ignores a late copy of the ClientHello that opened an established association', async () => {
    const server = await startServer();
    const log = record(server);
    const client = connect(server, { acme: KEY });
    const udp = udpOf(client.socket);
    const hellos: Buffer[] = [];
    const send = udp.send.bind(udp) as (...args: unknown[]) => void;
    (udp as unknown as { send: (...args: unknown[]) => void }).send = (...args: unknown[]) => {
      const datagram = args[0];
      if (Buffer.isBuffer(datagram) && epochZeroClientHelloRandom(datagram)) hellos.push(Buffer.from(datagram));
      send(...args);
    };
    await client.connected;
    assert.equal(hellos.length, 2); // without and with the cookie
    const duplicate = hellos[1] ?? Buffer.alloc(0);
    await new Promise<void>((resolve) => udp.send(duplicate, server.local().port, '127.0.0.1', () => resolve()));
    const inbound = nextMessage(server);
    client.socket.send(Buffer.from(encodeMessage(QUOTATION)));
    assert.equal((await inbound).identity, 'acme');
    assert.deepEqual(
      log.map((e) => e.name),
      ['cookie-sent', 'handshake'],
    );
    assert.equal(server.associations().length, 1);
  });

  it('close() sends close_notify to every association and frees everything', async () => {
    const server = await startServer();
    const a = connect(server, { acme: KEY });
    const b = connect(server, { globex: OTHER_KEY });
    await Promise.all([a.connected, b.connected]);
    const closedByServer = Promise.all([a, b].map((c) => new Promise<void>((resolve) => c.socket.once('close', () => resolve()))));
    const log = record(server);
    await server.close();
    await closedByServer;
    assert.deepEqual(
      log.filter((e) => e.name === 'association-closed').map((e) => (e.payload as Payload<'association-closed'>).reason),
      ['server-closing', 'server-closing'],
    );
    assert.equal(server.associations().length, 0);
    await assert.rejects(server.send({ address: '127.0.0.1', port: 1 }, encodeMessage(FAIL)), /closed/);
    await server.close(); // idempotent
  });

  it('drops datagrams that are not a ClientHello without answering or keeping state', async () => {
    const server = await startServer();
    const log = record(server);
    const probe = createSocket('udp4');
    sockets.push(probe);
    let answers = 0;
    probe.on('message', () => answers++);
    await new Promise<void>((resolve) => probe.bind(0, '127.0.0.1', () => resolve()));
    const sent = new Promise<void>((resolve) => probe.send(Buffer.from('not dtls at all'), server.local().port, '127.0.0.1', () => resolve()));
    await sent;
    // A real client handshakes afterwards: the garbage left nothing behind.
    const client = connect(server, { acme: KEY });
    await client.connected;
    assert.equal(answers, 0);
    assert.deepEqual(
      log.map((e) => e.name),
      ['cookie-sent', 'handshake'],
    );
  });
});

// --- cookie secrets ----------------------------------------------------------------------------------

describe('DtlsServer cookie secret rotation', () => {
  const peer = { address: '192.0.2.7', port: 5000 };

  it('accepts cookies of the current and the previous secret only', async () => {
    const server = await startServer();
    const cookie = server.cookieFor(peer);
    assert.ok(cookie);
    assert.equal(cookie.length, 32);
    assert.equal(server.verifyCookie(peer, cookie), true);
    assert.equal(server.verifyCookie({ ...peer, port: 5001 }, cookie), false, 'bound to the peer address');
    const tampered = Buffer.from(cookie);
    tampered[0] = (tampered[0] ?? 0) ^ 1;
    assert.equal(server.verifyCookie(peer, tampered), false);
    assert.equal(server.verifyCookie(peer, cookie.subarray(0, 31)), false);

    server.rotateCookieSecret();
    assert.notDeepEqual(server.cookieFor(peer), cookie);
    assert.equal(server.verifyCookie(peer, cookie), true, 'previous secret still verifies');
    server.rotateCookieSecret();
    assert.equal(server.verifyCookie(peer, cookie), false, 'two rotations old');
  });

  it('rotates on schedule (cookieRotationMs) from its sweep', async () => {
    const clock = new SimulatedClock(0);
    const server = await startServer({ clock, cookieRotationMs: 300_000 });
    const cookie = server.cookieFor(peer);
    assert.ok(cookie);
    clock.advance(299_999);
    server.sweep();
    assert.deepEqual(server.cookieFor(peer), cookie);
    clock.advance(1);
    server.sweep();
    assert.notDeepEqual(server.cookieFor(peer), cookie);
    assert.equal(server.verifyCookie(peer, cookie), true);
    clock.advance(300_000);
    server.sweep();
    assert.equal(server.verifyCookie(peer, cookie), false);
  });

  it('accepts a cookie issued just before a rotation on the wire', async () => {
    const server = await startServer();
    const log = record(server);
    // Rotate between the HelloVerifyRequest and the client's second ClientHello.
    server.once('cookie-sent', () => server.rotateCookieSecret());
    const client = connect(server, { acme: KEY });
    await client.connected;
    assert.deepEqual(
      log.map((e) => e.name),
      ['cookie-sent', 'handshake'],
    );
  });

  it('answers a cookie two rotations old with a fresh HelloVerifyRequest instead of accepting it', async () => {
    const server = await startServer();
    const log = record(server);
    server.once('cookie-sent', () => {
      server.rotateCookieSecret();
      server.rotateCookieSecret();
    });
    const second = next(server, 'cookie-sent');
    const client = connect(server, { acme: KEY }, { timeout: 500 });
    await second;
    // node-dtls-client does not handle a second HelloVerifyRequest and gives up.
    await assert.rejects(client.connected);
    assert.deepEqual(
      log.map((e) => e.name),
      ['cookie-sent', 'cookie-sent'],
    );
    assert.equal(server.associations().length, 0);
  });
});

// --- interop with openssl s_client ---------------------------------------------------------------------

const OPENSSL = '/usr/bin/openssl';

interface Run {
  code: number | null;
  output: string;
}

/** Runs s_client; writes `line` once connected and ends stdin when `until` appears in stdout. */
function sClient(args: string[], line: string, until: string): Promise<Run> {
  const child = spawn(OPENSSL, ['s_client', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  const onData = (data: Buffer): void => {
    output += data.toString();
    if (output.includes(until)) child.stdin.end();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  child.stdin.on('error', () => undefined);
  child.stdin.write(line);
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 6000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('DtlsServer interop with openssl s_client', { skip: existsSync(OPENSSL) ? false : `${OPENSSL} not installed` }, () => {
  it('completes a DTLS 1.2 PSK handshake and exchanges a line of application data', async () => {
    const server = await startServer();
    const handshake = next(server, 'handshake');
    server.onMessage((inbound) => {
      if (Buffer.from(inbound.bytes).toString() === 'hello from s_client\n') void server.send(inbound.from, Buffer.from('pong from server\n'));
    });
    const inbound = nextMessage(server, 6000);
    const run = sClient(
      ['-dtls1_2', '-psk', KEY.toString('hex'), '-psk_identity', 'acme', '-connect', `127.0.0.1:${server.local().port}`],
      'hello from s_client\n',
      'pong from server',
    );
    const received = await inbound;
    assert.equal(Buffer.from(received.bytes).toString(), 'hello from s_client\n');
    assert.equal(received.identity, 'acme');
    const established = await handshake;
    assert.equal(established.cipher, 'TLS_PSK_WITH_AES_128_GCM_SHA256');
    const { code, output } = await run;
    assert.match(output, /Cipher is PSK-AES128-GCM-SHA256/);
    assert.match(output, /pong from server/);
    assert.equal(code, 0);
  });

  it('refuses a DTLS 1.0 ClientHello', async () => {
    const server = await startServer();
    const failed = next(server, 'handshake-failed');
    const { code, output } = await sClient(
      ['-dtls1', '-psk', KEY.toString('hex'), '-psk_identity', 'acme', '-connect', `127.0.0.1:${server.local().port}`],
      'hello\n',
      'never printed',
    );
    assert.equal((await failed).reason, 'unsupported-version');
    assert.notEqual(code, 0);
    assert.match(output, /alert protocol version/);
    assert.equal(server.associations().length, 0);
  });
});
