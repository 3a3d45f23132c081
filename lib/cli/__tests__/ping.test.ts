/**
 * `cpnp ping` against a real DtlsServer + ServerEngine (and a plain-UDP one) started in this
 * process on port 0: in-process through main(), and as a real child process (bin/cpnp.mjs).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT } from '../../cpnp/__tests__/vectors';
import { systemClock } from '../../cpnp/clock';
import { decodeMessage, encodeMessage } from '../../cpnp/codec';
import { toHex } from '../../cpnp/hex';
import { Method } from '../../cpnp/method';
import { seededRandom, cryptoRandom } from '../../cpnp/random';
import { concretizingDecider } from '../../cpnp/engine/decider';
import { EngineRunner } from '../../cpnp/engine/runner';
import { ServerEngine, type ServerEngineConfigInput } from '../../cpnp/engine/server-engine';
import { DtlsServer } from '../../cpnp/transport/dtls-server';
import { describePong, isPong, parseServer, pingRequest, PskFileError, pskFromText } from '../../cpnp/transport/ping';
import { PskTable } from '../../cpnp/transport/psk';
import type { MessageTransport } from '../../cpnp/transport/transport';
import { UdpTransport } from '../../cpnp/transport/udp';
import type { CliIo } from '../io';
import { main } from '../main';

const ACME_KEY = new Uint8Array(32).map((_, i) => (i * 29 + 3) & 0xff);
const WRONG_KEY = new Uint8Array(32).fill(0x5a);

function fakeIo() {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    readStdin: () => Promise.resolve(new Uint8Array()),
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
  };
  return { io, out: () => out.join(''), err: () => err.join('') };
}

async function cli(args: string[]) {
  const f = fakeIo();
  const code = await main(['ping', ...args], f.io);
  return { code, stdout: f.out(), stderr: f.err() };
}

/** The real `bin/cpnp.mjs` as a child process (asynchronous: the server runs in this process). */
function child(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['bin/cpnp.mjs', 'ping', ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      proc.kill();
      reject(new Error(`cpnp ping did not exit: ${stdout} ${stderr}`));
    }, 20_000);
    proc.on('error', reject);
    proc.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(resolve));
  return port;
}

interface Served {
  port: number;
  engine: ServerEngine;
  identities: string[];
}

const stoppers: (() => Promise<void>)[] = [];

async function serve(transport: MessageTransport, config: ServerEngineConfigInput = {}): Promise<Served> {
  const engine = new ServerEngine({ clock: systemClock, random: cryptoRandom, decider: concretizingDecider(), config });
  const runner = new EngineRunner({ core: engine, transport, clock: systemClock, side: 'server' });
  runner.start();
  const identities: string[] = [];
  transport.onMessage((m) => identities.push(m.identity ?? '(none)'));
  stoppers.push(async () => {
    await runner.stop();
    await transport.close();
  });
  return { port: transport.local().port, engine, identities };
}

async function serveDtls(config: ServerEngineConfigInput = {}): Promise<Served> {
  const table = PskTable.from([{ identity: 'acme', key: ACME_KEY, customer: 'acme' }]);
  const server = await DtlsServer.listen({ host: '127.0.0.1', port: 0, psk: table });
  return serve(server, { transport: 'dtls', ...config });
}

const lines = (text: string) => text.trimEnd().split('\n');

describe('cpnp ping (DTLS, real server in this process)', () => {
  let dir: string;
  let hexFile: string;
  let wrongFile: string;
  let tableFile: string;
  let dtls: Served;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cpnp-ping-'));
    hexFile = join(dir, 'acme.hex');
    wrongFile = join(dir, 'wrong.hex');
    tableFile = join(dir, 'psk.json');
    await writeFile(hexFile, `  ${toHex(ACME_KEY)}\n`);
    await writeFile(wrongFile, toHex(WRONG_KEY));
    await writeFile(
      tableFile,
      JSON.stringify({
        identities: [
          { identity: 'other', keyHex: toHex(WRONG_KEY), customer: 'other' },
          { identity: 'acme', keyHex: toHex(ACME_KEY), customer: 'acme' },
        ],
      }),
    );
    dtls = await serveDtls();
  });

  after(async () => {
    for (const stop of stoppers.splice(0).reverse()) await stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  const dtlsArgs = (file: string, identity = 'acme') => ['--server', `127.0.0.1:${dtls.port}`, '--psk-identity', identity, '--psk-file', file];

  it('prints the handshake time and one round trip per probe; the server answers FAIL 1 and keeps no order', async () => {
    const r = await cli([...dtlsArgs(hexFile), '--count', '3', '--interval-ms', '0']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const out = lines(r.stdout);
    assert.match(out[0] ?? '', /^PING 127\.0\.0\.1:\d+ over DTLS 1\.2, PSK identity "acme": CANCEL of an unknown order, pong = FAIL$/);
    assert.match(out[1] ?? '', /^handshake: \d+\.\d+ ms$/);
    for (let i = 1; i <= 3; i++) assert.match(out[i + 1] ?? '', new RegExp(`^pong ${i}: FAIL 1 \\(Message Validation Error\\) in \\d+\\.\\d+ ms$`));
    assert.match(out[5] ?? '', /^--- 127\.0\.0\.1:\d+: 3 probes, 3 pongs, 0 lost; rtt min\/avg\/max = [\d.]+\/[\d.]+\/[\d.]+ ms$/);
    assert.equal(out.length, 6);
    assert.deepEqual(dtls.engine.listOrders(), [], 'a ping is harmless: no order exists');
    assert.ok(dtls.identities.length >= 3 && dtls.identities.every((id) => id === 'acme'));
  });

  it('reads the key from a JSON PSK table, picking the entry of --psk-identity', async () => {
    const r = await cli([...dtlsArgs(tableFile), '--count', '1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /pong 1: FAIL 1/);
  });

  it('as a child process (bin/cpnp.mjs): exit 0 and the same report', async () => {
    const r = await child([...dtlsArgs(hexFile), '--count', '2', '--interval-ms', '10']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, /^handshake: \d+\.\d+ ms$/m);
    assert.match(r.stdout, /^pong 1: FAIL 1 \(Message Validation Error\) in \d+\.\d+ ms$/m);
    assert.match(r.stdout, /^pong 2: FAIL 1 /m);
    assert.match(r.stdout, /2 probes, 2 pongs, 0 lost/);
  });

  it('as a child process, a wrong PSK: exit 3 and one clear line', async () => {
    const started = Date.now();
    const r = await child([...dtlsArgs(wrongFile), '--count', '1', '--timeout-ms', '600']);
    assert.equal(r.code, 3);
    assert.equal(lines(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, /^cpnp ping: 127\.0\.0\.1:\d+: DTLS handshake with 127\.0\.0\.1:\d+ failed after 1 attempt: handshake timed out after 600 ms \(wrong PSK, unknown identity, server down or unreachable\?\)\n$/);
    assert.doesNotMatch(r.stdout, /^handshake:|^pong \d/m);
    assert.ok(Date.now() - started < 15_000);
  });

  it('an unknown identity: the server\'s fatal alert ends it at once (exit 3)', async () => {
    const r = await cli([...dtlsArgs(tableFile, 'other'), '--count', '1', '--timeout-ms', '3000']);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /^cpnp ping: .*server sent a fatal alert: unknown_psk_identity.*\n$/);
    assert.equal(lines(r.stderr).length, 1);
  });

  it('no server listening: exit 3 after --timeout-ms', async () => {
    const port = await freeUdpPort();
    const started = Date.now();
    const r = await cli(['--server', `127.0.0.1:${port}`, '--psk-identity', 'acme', '--psk-file', hexFile, '--count', '1', '--timeout-ms', '400']);
    const took = Date.now() - started;
    assert.equal(r.code, 3);
    assert.equal(lines(r.stderr).length, 1);
    assert.match(r.stderr, new RegExp(`^cpnp ping: 127\\.0\\.0\\.1:${port}: DTLS handshake with 127\\.0\\.0\\.1:${port} failed`));
    assert.ok(took >= 350 && took < 3000, `took ${took} ms`);
  });

  it('a server that rate-limits its FAILs (9.2.5): the unanswered probe is reported, exit 3', async () => {
    const limited = await serveDtls({ failRateLimit: { capacity: 2, refillPerSecond: 0.001 } });
    const r = await cli(['--server', `127.0.0.1:${limited.port}`, '--psk-identity', 'acme', '--psk-file', hexFile, '--count', '3', '--interval-ms', '0', '--timeout-ms', '300']);
    assert.equal(r.code, 3);
    assert.match(r.stdout, /^pong 1: FAIL 1/m);
    assert.match(r.stdout, /^pong 2: FAIL 1/m);
    assert.match(r.stdout, /^probe 3: no pong within 300 ms$/m);
    assert.match(r.stdout, /3 probes, 2 pongs, 1 lost/);
    assert.equal(r.stderr, `cpnp ping: 127.0.0.1:${limited.port}: 1 of 3 probes got no pong within 300 ms\n`);
  });

  it('--transport udp (loopback only): no handshake, same pongs', async () => {
    const udp = await serve(await UdpTransport.bind({ host: '127.0.0.1', port: 0, logger: { warn: () => undefined } }));
    const r = await cli(['--server', `127.0.0.1:${udp.port}`, '--transport', 'udp', '--count', '2', '--interval-ms', '0']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /over plain UDP \(unauthenticated, loopback only\)/);
    assert.doesNotMatch(r.stdout, /handshake/);
    assert.match(r.stdout, /2 probes, 2 pongs, 0 lost/);
  });

  describe('usage errors: exit 1', () => {
    const cases: [string, string[], RegExp][] = [
      ['no --server', ['--psk-identity', 'acme'], /--server HOST:PORT is required/],
      ['a server without port', ['--server', '127.0.0.1'], /expected HOST:PORT/],
      ['an IPv6 address without brackets', ['--server', '::1:4785'], /expected HOST:PORT/],
      ['port 0', ['--server', '127.0.0.1:0'], /expected HOST:PORT/],
      ['a bad count', ['--server', '127.0.0.1:4785', '--count', '0'], /--count must be between 1/],
      ['a count that is no integer', ['--server', '127.0.0.1:4785', '--count', 'x'], /--count needs an integer/],
      ['an unknown option', ['--server', '127.0.0.1:4785', '--loud'], /unknown argument --loud/],
      ['an unknown transport', ['--server', '127.0.0.1:4785', '--transport', 'tcp'], /--transport must be dtls or udp/],
      ['dtls without a PSK', ['--server', '127.0.0.1:4785'], /dtls needs --psk-identity and --psk-file/],
      ['plain udp to a non-loopback address', ['--server', '192.0.2.1:4785', '--transport', 'udp'], /loopback addresses only/],
    ];
    for (const [name, args, message] of cases) {
      it(name, async () => {
        const r = await cli(args);
        assert.equal(r.code, 1);
        assert.match(r.stderr, message);
        assert.match(r.stderr, /usage: cpnp ping/);
        assert.equal(r.stdout, '');
      });
    }
    it('an unreadable or unusable PSK file (one line, exit 1)', async () => {
      const missing = await cli(['--server', '127.0.0.1:4785', '--psk-identity', 'acme', '--psk-file', join(dir, 'nope.hex')]);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /^cpnp ping: --psk-file .*nope\.hex: ENOENT/);
      const absent = await cli(['--server', '127.0.0.1:4785', '--psk-identity', 'globex', '--psk-file', tableFile]);
      assert.equal(absent.code, 1);
      assert.equal(absent.stderr, `cpnp ping: --psk-file ${tableFile}: the PSK table has no entry for identity "globex"\n`);
    });
    it('--help prints the usage (exit 0), and the top-level usage lists ping', async () => {
      const r = await cli(['--help']);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /the server answers FAIL 1/);
      assert.match(r.stdout, /3 unreachable/);
      const f = fakeIo();
      assert.equal(await main(['--help'], f.io), 0);
      assert.match(f.out(), /ping --server HOST:PORT/);
    });
  });
});

describe('ping building blocks (transport/ping.ts)', () => {
  it('a probe is a CANCEL of a random order in a random transaction; its pong is a FAIL of the same transaction', () => {
    const random = seededRandom(1);
    const a = pingRequest(random);
    const b = pingRequest(random);
    assert.equal(a.method, Method.CANCEL);
    assert.match(a.customerOrderId, /^ping-[0-9a-f]{24}$/);
    assert.notEqual(a.txid, b.txid);
    assert.notEqual(a.customerOrderId, b.customerOrderId);
    const decoded = decodeMessage(encodeMessage(a));
    assert.ok(decoded.ok, 'the probe is a valid CPNP message');
    const fail = { version: 1, method: Method.FAIL, seq: 5, txid: a.txid.toUpperCase(), customerOrderId: a.customerOrderId, statusCode: 1 } as const;
    assert.ok(isPong(a, fail));
    assert.ok(!isPong(b, fail));
    assert.ok(!isPong(a, { ...fail, customerOrderId: 'C-other' }));
    assert.ok(!isPong(a, { version: 1, method: Method.ACK, seq: 5, txid: a.txid, customerOrderId: a.customerOrderId, providerOrderId: 'P-1' }));
    assert.equal(describePong(1), 'FAIL 1 (Message Validation Error)');
  });

  it('pskFromText: hex with whitespace, or the JSON table; refuses what the server would refuse', () => {
    const hex = toHex(ACME_KEY);
    assert.deepEqual(pskFromText(` ${hex.slice(0, 10)}\n${hex.slice(10)}\n`, 'any'), ACME_KEY);
    const table = JSON.stringify({ identities: [{ identity: 'acme', keyHex: hex, customer: 'acme' }] });
    assert.deepEqual(pskFromText(table, 'acme'), ACME_KEY);
    assert.throws(() => pskFromText(table, 'globex'), PskFileError);
    assert.throws(() => pskFromText('', 'acme'), /empty/);
    assert.throws(() => pskFromText('abc', 'acme'), /even number of hex digits/);
    assert.throws(() => pskFromText('zz'.repeat(16), 'acme'), /hex digits/);
    assert.throws(() => pskFromText('ab'.repeat(8), 'acme'), /16 to 512 bytes, got 8/);
    assert.throws(() => pskFromText('{"identities": 3}', 'acme'), /not a valid PSK table/);
  });

  it('parseServer', () => {
    assert.deepEqual(parseServer('127.0.0.1:4785'), { address: '127.0.0.1', port: 4785 });
    assert.deepEqual(parseServer('[::1]:4785'), { address: '::1', port: 4785 });
    assert.deepEqual(parseServer('cpnp.example.net:1'), { address: 'cpnp.example.net', port: 1 });
    for (const bad of ['', '127.0.0.1', '127.0.0.1:', '::1:4785', '[::1]', 'h:65536', 'h:0', 'h:-1']) assert.equal(parseServer(bad), undefined, bad);
  });
});
