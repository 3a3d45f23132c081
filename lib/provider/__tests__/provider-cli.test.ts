/**
 * `cpnp provider` as an operator uses it: every bad configuration value is refused with exit
 * status 2 and one line naming it; plain UDP is refused off loopback; `--init-psk` creates a
 * first identity (mode 0600) that a real client can use; `orders`, `approve` and `reject` drive a
 * running provider (the real bin/cpnp.mjs process) through its admin endpoint.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, statSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fromHex } from '../../cpnp/hex';
import { providerCommand } from '../../cli/provider-command';
import type { CliIo } from '../../cli/io';
import { parseProviderArgs } from '../config';
import { CPNP_BIN, cpd, EventHub, killChild, policyData, REPO_ROOT, spawnCpnp, TestClient, tempDir, writePolicy, writePsk, type SpawnedProvider } from './provider-harness';

function capture(): { io: CliIo; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    io: { readStdin: () => Promise.resolve(new Uint8Array()), stdout: (t) => void (out += t), stderr: (t) => void (err += t) },
    out: () => out,
    err: () => err,
  };
}

/** Runs `bin/cpnp.mjs args` to completion. */
function runCli(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CPNP_BIN, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('cpnp provider: configuration errors', () => {
  const dir = tempDir({ after });
  const policy = writePolicy(dir);
  const psk = writePsk(dir, ['acme']);
  const badPolicy = join(dir, 'bad.yaml');
  writeFileSync(badPolicy, 'provider: { name: X }\nregions: []\npools: { core: { inMbps: -5, outMbps: 10 } }\nqosClasses: [{ name: a, delayMs: 1, jitterMs: 1, lossPct: 0, qualitative: low }]\navailabilityLevels: [99.9]\npricing: { currency: EUR, perMbpsMonth: 1 }\ndefaultCustomer: { allowed: true }\n');
  const badPsk = join(dir, 'bad-psk.json');
  writeFileSync(badPsk, '{"identities":[{"identity":"a","keyHex":"00ff","customer":"a"}]}');
  const base = ['--config', policy, '--psk-file', psk, '--db', join(dir, 'p.db')];

  const cases: { name: string; args: string[]; match: RegExp }[] = [
    { name: 'no --config', args: ['--psk-file', psk], match: /--config FILE is required/ },
    { name: 'a policy that does not exist', args: ['--config', join(dir, 'nope.yaml'), '--psk-file', psk], match: /nope\.yaml: cannot be read/ },
    { name: 'a policy with a bad value', args: ['--config', badPolicy, '--psk-file', psk], match: /bad\.yaml: pools\.core\.inMbps: expected a positive number, got -5/ },
    { name: 'an unknown transport', args: [...base, '--transport', 'pigeon'], match: /--transport "pigeon": expected dtls, udp or tls/ },
    { name: 'a listen address without a host', args: [...base, '--listen', 'example.net:8921'], match: /--listen "example\.net:8921": expected an IP address/ },
    { name: 'a port out of range', args: [...base, '--listen', '127.0.0.1:70000'], match: /--listen "127\.0\.0\.1:70000": expected a port between 0 and 65535/ },
    { name: 'plain UDP on every interface', args: ['--config', policy, '--transport', 'udp', '--listen', '0.0.0.0:8921'], match: /plain UDP is only allowed on a loopback address/ },
    { name: 'plain UDP on a routable address', args: ['--config', policy, '--transport', 'udp', '--listen', '192.0.2.1:8921'], match: /plain UDP is only allowed on a loopback address/ },
    { name: 'TLS without certificates', args: ['--config', policy, '--transport', 'tls'], match: /--transport tls needs --tls-cert, --tls-key, --tls-ca/ },
    { name: 'a TLS option with DTLS', args: [...base, '--tls-cert', policy], match: /--tls-cert: only used with --transport tls/ },
    { name: 'a PSK file that does not exist', args: ['--config', policy, '--psk-file', join(dir, 'none.json')], match: /does not exist; .*--init-psk/ },
    { name: 'a PSK file with a short key', args: ['--config', policy, '--psk-file', badPsk], match: /identities\[0\]\.keyHex: key must be at least 16 bytes/ },
    { name: 'a database URL of another kind', args: [...base.slice(0, 4), '--db', 'mysql://db/cpnp'], match: /--db "mysql:\/\/db\/cpnp": unsupported database URL scheme/ },
    { name: 'an admin endpoint off loopback', args: [...base, '--admin', '0.0.0.0:9000'], match: /--admin 0\.0\.0\.0:9000: .*loopback/ },
    { name: 'an unknown log level', args: [...base, '--log-level', 'loud'], match: /--log-level "loud": expected debug, info, warn or error/ },
    { name: 'a bad CIDR', args: [...base, '--allow', '300.1.1.1/8'], match: /--allow "300\.1\.1\.1\/8": expected an address or a CIDR block/ },
    { name: 'a prefix too long', args: [...base, '--deny', '10.0.0.0/40'], match: /--deny "10\.0\.0\.0\/40": expected a prefix length between 0 and 32/ },
    { name: 'a bad RETRANS_TIMER', args: [...base, '--retrans-timer', 'fast'], match: /--retrans-timer "fast": expected a duration/ },
    { name: 'a bad retry count', args: [...base, '--max-retries', 'many'], match: /--max-retries "many": expected a whole number/ },
  ];
  for (const c of cases) {
    it(`${c.name}: exit 2 and one line`, async () => {
      const { io, err, out } = capture();
      const code = await providerCommand(c.args, io);
      assert.equal(code, 2, err());
      const lines = err().trimEnd().split('\n');
      assert.equal(lines.length, 1, `one line: ${err()}`);
      assert.match(lines[0] ?? '', /^cpnp provider: /);
      assert.match(lines[0] ?? '', c.match);
      assert.equal(out(), '');
    });
  }

  it('two bad values: two lines', async () => {
    const { io, err } = capture();
    assert.equal(await providerCommand([...base, '--log-level', 'loud', '--max-retries', 'x'], io), 2);
    assert.equal(err().trimEnd().split('\n').length, 2);
  });

  it('an unknown option is a usage error (exit 1)', async () => {
    const { io, err } = capture();
    assert.equal(await providerCommand([...base, '--frobnicate'], io), 1);
    assert.match(err(), /unknown option "--frobnicate"/);
    assert.match(err(), /usage: cpnp provider/);
  });

  it('the real command exits 2 for plain UDP off loopback, before anything listens', async () => {
    const result = await runCli(['provider', '--config', policy, '--transport', 'udp', '--listen', '0.0.0.0:0', '--db', join(dir, 'never.db')]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^cpnp provider: --listen 0\.0\.0\.0: plain UDP is only allowed on a loopback address/);
    assert.equal(result.stdout, '');
    assert.equal(existsSync(join(dir, 'never.db')), false, 'no database was created');
  });

  it('defaults: dtls on 0.0.0.0:8921, data/<policy>.db, its PSK file and admin file, loopback admin on any port', () => {
    const config = parseProviderArgs(['--config', policy, '--init-psk'], { cwd: dir });
    assert.equal(config.transport, 'dtls');
    assert.deepEqual(config.listen, { host: '0.0.0.0', port: 8921 });
    assert.equal(config.databaseFile, join(dir, 'data', 'policy.db'));
    assert.equal(config.pskFile, join(dir, 'data', 'policy.psk.json'));
    assert.equal(config.adminFile, join(dir, 'data', 'policy.db.admin.json'));
    assert.deepEqual(config.admin, { host: '127.0.0.1', port: 0 });
    assert.deepEqual(config.timers, { retransTimerMs: 2000, maxRetries: 3 });
    // First run without --psk-file: the default PSK file is created, as with --init-psk.
    const firstRun = parseProviderArgs(['--config', policy], { cwd: dir });
    assert.equal(firstRun.initPsk, true);
    assert.equal(firstRun.pskFile, join(dir, 'data', 'policy.psk.json'));
    const udp = parseProviderArgs(['--config', policy, '--transport', 'udp', '--listen', '[::1]:0'], { cwd: dir });
    assert.deepEqual(udp.listen, { host: '::1', port: 0 });
    assert.equal(udp.pskFile, undefined);
  });
});

describe('cpnp provider: --init-psk, orders, approve, reject against the running process', () => {
  let provider: SpawnedProvider | undefined;
  const clients: TestClient[] = [];
  after(async () => {
    for (const c of clients) await c.close();
    await killChild(provider);
  });

  it('creates an identity, serves it, and is administered from the command line', { timeout: 60_000 }, async () => {
    const dir = tempDir({ after });
    const policy = join(dir, 'carrier.json');
    writeFileSync(policy, JSON.stringify(policyData({ decisionModes: { QUOTATION: 'admin' } })));
    const db = join(dir, 'state', 'carrier.db');
    provider = spawnCpnp(['provider', '--config', policy, '--db', db, '--init-psk', '--listen', '127.0.0.1:0']);
    const listening = await provider.waitLog('listening', (r) => r.event === 'listening');
    const created = await provider.waitLog('psk-created', (r) => r.event === 'psk-created');
    const pskFile = join(dir, 'state', 'carrier.psk.json');
    assert.equal(created.file, pskFile);
    assert.equal(statSync(pskFile).mode & 0o777, 0o600, 'the PSK file is readable by its owner only');
    const adminFile = `${db}.admin.json`;
    assert.equal(statSync(adminFile).mode & 0o777, 0o600, 'so is the admin token');
    const table = JSON.parse(readFileSync(pskFile, 'utf8')) as { identities: { identity: string; keyHex: string }[] };
    assert.equal(table.identities.length, 1);
    const entry = table.identities[0];
    assert.ok(entry);
    assert.equal(entry.identity, created.identity);
    await provider.waitStderr('the identity printed', new RegExp(`PSK identity "${entry.identity}"`));
    assert.doesNotMatch(provider.stderr() + provider.logs.map((l) => JSON.stringify(l)).join(''), new RegExp(entry.keyHex), 'the key is never printed');

    // A client with the generated identity places two orders; both wait for an administrator.
    const hub = new EventHub();
    const key = fromHex(entry.keyHex);
    assert.ok(key);
    const client = new TestClient(entry.identity, hub, { key });
    clients.push(client);
    const server = { address: '127.0.0.1', port: Number(listening.port) };
    const a = await client.place(server, 'C-cli-a', cpd('pe1:a', 10));
    const b = await client.place(server, 'C-cli-b', cpd('pe1:b', 10));
    await hub.until('both orders wait (PROCESSING)', () => client.state(a) === 'ServerProcessing' && client.state(b) === 'ServerProcessing');

    const listed = await runCli(['provider', 'orders', '--db', db, '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    const orders = JSON.parse(listed.stdout) as { id: string; customerOrderId: string; state: string; awaiting?: string; owner?: string }[];
    const idOf = (customerOrderId: string): string => orders.find((o) => o.customerOrderId === customerOrderId)?.id ?? '';
    assert.deepEqual(orders.map((o) => [o.customerOrderId, o.state, o.awaiting, o.owner]).sort(), [
      ['C-cli-a', 'AwaitingProcessing', 'approval', entry.identity],
      ['C-cli-b', 'AwaitingProcessing', 'approval', entry.identity],
    ]);
    const table2 = await runCli(['provider', 'orders', '--admin-file', adminFile]);
    assert.equal(table2.code, 0);
    assert.match(table2.stdout, /^ORDER +CUSTOMER ORDER +OWNER +STATE/);
    assert.match(table2.stdout, new RegExp(`${idOf('C-cli-a')} +C-cli-a`));

    const approved = await runCli(['provider', 'approve', idOf('C-cli-a'), '--db', db]);
    assert.equal(approved.code, 0, approved.stderr);
    assert.match(approved.stdout, /approved/);
    await hub.until('the OFFER after approval', () => client.state(a) === 'OfferReceived');

    const badStatus = await runCli(['provider', 'reject', idOf('C-cli-b'), '--status', '7', '--db', db]);
    assert.equal(badStatus.code, 2);
    const rejected = await runCli(['provider', 'reject', idOf('C-cli-b'), '--status', '5', '--db', db]);
    assert.equal(rejected.code, 0, rejected.stderr);
    await hub.until('FAIL after rejection', () => client.state(b) === 'Cancelled');

    const twice = await runCli(['provider', 'approve', idOf('C-cli-b'), '--db', db]);
    assert.equal(twice.code, 4);
    assert.match(twice.stderr, /does not await an administrative decision/);
    const unknown = await runCli(['provider', 'approve', 'P-000000000000', '--db', db]);
    assert.equal(unknown.code, 4);
    const noOrder = await runCli(['provider', 'approve', '--db', db]);
    assert.equal(noOrder.code, 1);

    // A clean stop removes the admin file; the commands then say the provider is not running.
    provider.child.kill('SIGTERM');
    assert.equal((await provider.exited).code, 0);
    assert.equal(existsSync(adminFile), false);
    const down = await runCli(['provider', 'orders', '--db', db]);
    assert.equal(down.code, 3);
    assert.match(down.stderr, /no admin file/);

    // Restarting with --init-psk keeps the existing identity.
    const again = parseProviderArgs(['--config', policy, '--db', db, '--init-psk']);
    assert.deepEqual(again.psk?.identities(), [entry.identity]);
  });
});
