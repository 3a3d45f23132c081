import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { decodeMessageOrThrow, encodeMessage } from '../codec';
import { MAX_MESSAGE_SIZE, type CpnpMessage } from '../message';
import { encodeFrame } from '../transport/framing';
import { certificateIdentity, TlsClientTransport, TlsServerTransport, type TlsCredentials } from '../transport/tls';
import type { Inbound, MessageTransport } from '../transport/transport';
import { hexToBytes, vectorSets } from './vectors';

// --- certificates, generated for this run only (never committed) ------------------------------

const dir = mkdtempSync(join(tmpdir(), 'cpnp-tls-test-'));
const file = (name: string) => join(dir, name);

function openssl(...args: string[]): void {
  execFileSync('/usr/bin/openssl', args, { cwd: dir, stdio: 'pipe' });
}

function newCa(name: string, cn: string): void {
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', `/CN=${cn}`, '-keyout', file(`${name}.key`), '-out', file(`${name}.crt`));
}

function newLeaf(name: string, ca: string, cn: string, extensions: string): void {
  writeFileSync(file(`${name}.ext`), `basicConstraints=CA:FALSE\n${extensions}\n`);
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${cn}`, '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`));
  openssl('x509', '-req', '-in', file(`${name}.csr`), '-CA', file(`${ca}.crt`), '-CAkey', file(`${ca}.key`), '-CAcreateserial', '-days', '2', '-extfile', file(`${name}.ext`), '-out', file(`${name}.crt`));
}

function creds(name: string, ca = 'ca'): TlsCredentials {
  return { key: readFileSync(file(`${name}.key`)), cert: readFileSync(file(`${name}.crt`)), ca: readFileSync(file(`${ca}.crt`)) };
}

const SERVER_CN = 'cpnp-server.test';
const CLIENT_CN = 'customer-42';

// --- helpers ---------------------------------------------------------------------------------

function recorder() {
  const lines: string[] = [];
  return { lines, warn: (m: string) => void lines.push(m) };
}

function nextMessage(t: MessageTransport): Promise<Inbound> {
  return new Promise((resolve) => {
    const off = t.onMessage((m) => {
      off();
      resolve(m);
    });
  });
}

/** Every test is bounded: a broken transport fails instead of hanging the run. */
const T = { timeout: 10_000 };

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const vectors = vectorSets()[0]?.valid ?? [];
function vector(name: string): CpnpMessage {
  const v = vectors.find((x) => x.name === name);
  if (!v) throw new Error(`no vector ${name}`);
  return decodeMessageOrThrow(hexToBytes(v.hex));
}

const closers: (() => unknown)[] = [];
after(async () => {
  for (const close of closers.reverse()) await close();
  rmSync(dir, { recursive: true, force: true });
});

async function server(options: Partial<Parameters<typeof TlsServerTransport.listen>[0]> = {}) {
  const log = recorder();
  const t = await TlsServerTransport.listen({ host: '127.0.0.1', port: 0, ...creds('server'), logger: log, ...options });
  closers.push(() => t.close());
  return { t, log, at: t.local() };
}

function client(name = 'client', ca = 'ca', extra: Partial<ConstructorParameters<typeof TlsClientTransport>[0]> = {}) {
  const log = recorder();
  const t = new TlsClientTransport({ ...creds(name, ca), logger: log, ...extra });
  closers.push(() => t.close());
  return { t, log };
}

function rawConnect(port: number, options: ConnectionOptions): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, ...options });
    closers.push(() => s.destroy());
    s.once('secureConnect', () => resolve(s));
    s.once('error', reject);
  });
}

function closedOrFailed(s: TLSSocket): Promise<void> {
  return new Promise((resolve) => {
    if (s.destroyed) resolve();
    s.once('close', () => resolve());
    s.on('error', () => undefined);
  });
}

before(() => {
  newCa('ca', 'CPNP test CA');
  newCa('rogue-ca', 'Rogue CA');
  newLeaf('server', 'ca', SERVER_CN, 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth');
  newLeaf('client', 'ca', CLIENT_CN, 'extendedKeyUsage=clientAuth');
  newLeaf('untrusted', 'rogue-ca', 'mallory', 'extendedKeyUsage=clientAuth');
  newLeaf('rogue-server', 'rogue-ca', SERVER_CN, 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth');
});

describe('TLS transport (mutual certificate authentication)', () => {
  it('round-trips real CPNP messages both ways; identities are the certificate CNs', T, async () => {
    const { t: srv, at } = await server();
    const { t: cli } = client();
    assert.equal(srv.kind, 'tls');
    assert.equal(cli.kind, 'tls');

    const quotation = vector('quotation-minimal');
    const atServer = nextMessage(srv);
    await cli.send(at, encodeMessage(quotation));
    const request = await atServer;
    assert.deepEqual(decodeMessageOrThrow(request.bytes), quotation);
    assert.equal(request.identity, CLIENT_CN);
    assert.deepEqual(request.to, at);
    assert.deepEqual(request.from, cli.local(), 'the request comes from the client connection');

    const offer = vector('offer-concrete');
    const atClient = nextMessage(cli);
    await srv.send(request.from, encodeMessage(offer));
    const response = await atClient;
    assert.deepEqual(decodeMessageOrThrow(response.bytes), offer);
    assert.equal(response.identity, SERVER_CN);
    assert.deepEqual(response.from, at);
  });

  it('reuses one connection per server across messages, large ones included', T, async () => {
    const { t: srv, at } = await server();
    const { t: cli } = client();
    const got: Inbound[] = [];
    srv.onMessage((m) => got.push(m));
    const update = encodeMessage(vector('update-rich'));
    const big = new Uint8Array(MAX_MESSAGE_SIZE).fill(0x41);
    for (let i = 0; i < 10; i++) await cli.send(at, i === 5 ? big : update);
    while (got.length < 10) await tick(5);
    assert.equal(new Set(got.map((m) => m.from.port)).size, 1);
    assert.equal(srv.connectedPeers().length, 1);
    assert.equal(got[5]?.bytes.length, MAX_MESSAGE_SIZE);
    await assert.rejects(cli.send(at, new Uint8Array(MAX_MESSAGE_SIZE + 1)), RangeError);
  });

  it('works over IPv6 loopback', T, async () => {
    const { t: srv } = await server({ host: '::1' });
    const { t: cli } = client();
    const got = nextMessage(srv);
    await cli.send({ address: '::1', port: srv.local().port }, encodeMessage(vector('accept')));
    assert.equal((await got).identity, CLIENT_CN);
  });

  it('reconnects transparently after the connection is lost', T, async () => {
    const { t: srv, at } = await server();
    const { t: cli } = client();
    assert.equal(cli.localFor(at), undefined, 'no connection before the first send (RFC 8.3 client port unknown)');
    const first = nextMessage(srv);
    const sending = cli.send(at, encodeMessage(vector('accept')));
    assert.equal(cli.localFor(at), undefined, 'still connecting');
    await sending;
    const m1 = await first;
    assert.deepEqual(cli.localFor(at), m1.from, 'the connection\'s local endpoint is where the server sees it come from');
    assert.equal(cli.localFor({ address: '127.0.0.1', port: at.port + 1 }), undefined, 'another server');
    // The server drops the connection (e.g. restart, idle timeout).
    const sockets = (srv as unknown as { connections: Map<string, { socket: TLSSocket }> }).connections;
    for (const c of sockets.values()) c.socket.destroy();
    await tick(50);
    for (let i = 0; i < 100 && cli.localFor(at) !== undefined; i++) await tick(10);
    assert.equal(cli.localFor(at), undefined, 'closed: the next connection gets a new port');
    await assert.rejects(srv.send(m1.from, encodeMessage(vector('ack-accepted-cpd'))), /no TLS connection/);
    const second = nextMessage(srv);
    await cli.send(at, encodeMessage(vector('accept')));
    const m2 = await second;
    assert.notEqual(m2.from.port, m1.from.port, 'a new connection');
    assert.deepEqual(cli.localFor(at), m2.from);
  });

  it('negotiates TLS 1.3 by default, accepts a TLS 1.2 client, refuses TLS 1.1', T, async () => {
    const { at } = await server();
    const base = { ...creds('client'), servername: 'localhost' };
    const v13 = await rawConnect(at.port, base);
    assert.equal(v13.getProtocol(), 'TLSv1.3');
    const v12 = await rawConnect(at.port, { ...base, maxVersion: 'TLSv1.2' });
    assert.equal(v12.getProtocol(), 'TLSv1.2');
    assert.match(String(v12.getCipher().name), /GCM|CHACHA20/);
    await assert.rejects(rawConnect(at.port, { ...base, minVersion: 'TLSv1', maxVersion: 'TLSv1.1' }));
  });

  it('rejects a client whose certificate is not from the configured CA, and one without a certificate', T, async () => {
    const { t: srv, at, log } = await server();
    const received: Inbound[] = [];
    srv.onMessage((m) => received.push(m));

    const { t: mallory } = client('untrusted', 'ca');
    // With TLS 1.3 the client may finish first and learn of the rejection right after.
    await mallory.send(at, encodeMessage(vector('accept'))).catch(() => undefined);
    const anonymous = tlsConnect({ host: '127.0.0.1', port: at.port, ca: creds('ca').ca, servername: 'localhost' });
    closers.push(() => anonymous.destroy());
    anonymous.on('secureConnect', () => anonymous.write(encodeFrame(encodeMessage(vector('accept')))));
    await closedOrFailed(anonymous);
    await tick(100);
    assert.equal(received.length, 0, 'nothing from an unauthenticated client reaches the handler');
    assert.equal(srv.connectedPeers().length, 0);
    assert.ok(log.lines.filter((l) => /handshake .* failed/.test(l)).length >= 2, log.lines.join('\n'));
  });

  it('refuses a server whose certificate is not from the configured CA, or has another name', T, async () => {
    const rogue = await TlsServerTransport.listen({ host: '127.0.0.1', port: 0, ...creds('rogue-server', 'ca'), logger: recorder() });
    closers.push(() => rogue.close());
    const { t: cli } = client();
    await assert.rejects(cli.send(rogue.local(), encodeMessage(vector('accept'))), /TLS connection to 127\.0\.0\.1:\d+ failed/);

    const { at } = await server();
    const { t: named } = client('client', 'ca', { serverName: 'other.test' });
    await assert.rejects(named.send(at, encodeMessage(vector('accept'))), /failed/);
    const { t: good } = client('client', 'ca', { serverName: 'localhost' });
    await good.send(at, encodeMessage(vector('accept')));
  });

  it('closes the connection on an oversized frame, after delivering the valid frames before it', T, async () => {
    const { t: srv, at, log } = await server();
    const received: Inbound[] = [];
    srv.onMessage((m) => received.push(m));
    const raw = await rawConnect(at.port, { ...creds('client'), servername: 'localhost' });
    const closed = closedOrFailed(raw);
    const header = new Uint8Array(4);
    new DataView(header.buffer).setUint32(0, MAX_MESSAGE_SIZE + 1);
    const good = encodeMessage(vector('accept'));
    raw.write(Buffer.concat([encodeFrame(good), header, new Uint8Array(100)]));
    await closed;
    assert.equal(received.length, 1);
    assert.deepEqual(received[0]?.bytes, good);
    assert.match(log.lines.join('\n'), /exceeds the 16384-byte limit/);
  });

  it('certificateIdentity: CN first, else the first subjectAltName value', T, () => {
    const base = { subject: { CN: 'a' }, subjectaltname: 'DNS:b.example' };
    assert.equal(certificateIdentity(base as never), 'a');
    assert.equal(certificateIdentity({ subject: {}, subjectaltname: 'DNS:b.example, IP Address:192.0.2.1' } as never), 'b.example');
    assert.equal(certificateIdentity({ subject: {} } as never), undefined);
    assert.equal(certificateIdentity({} as never), undefined);
  });
});
