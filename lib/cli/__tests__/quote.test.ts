/**
 * `cpnp quote` against both reference providers (Example Networks and its partner Carrier B) as
 * real processes over DTLS, set up exactly as `npm start` does from a fresh clone
 * (scripts/dev-providers.mjs: PSK identities, local policies), with `cpnp quote` itself run as
 * the real bin/cpnp.mjs process. Exit statuses: 0 agreement, 1 declined, 2 bad input,
 * 3 unreachable (4, unknown outcome, is covered by the engine's tests: it needs a lossy network).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CPNP_BIN, cpd, killChild, REPO_ROOT, spawnCpnp, tempDir, type SpawnedProvider } from '../../provider/__tests__/provider-harness';

interface DevSetup {
  services: { name: string; command: string; args: string[] }[];
  portal: { identity: string; keyFile: string; providers: { name: string; server: string }[] };
}

async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(resolve));
  return port;
}

/** Runs `bin/cpnp.mjs quote args` to completion. */
function quote(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CPNP_BIN, 'quote', ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`cpnp quote did not exit: ${stdout} ${stderr}`));
    }, 90_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('cpnp quote against the reference providers over DTLS (real processes)', () => {
  const dir = tempDir({ after });
  let setup: DevSetup;
  const running: SpawnedProvider[] = [];
  let example = '';
  let carrierB = '';

  before(async () => {
    const [providerPort, partnerPort, reviewPort] = [await freeUdpPort(), await freeUdpPort(), await freeUdpPort()];
    const saved = { ...process.env };
    process.env.CPNP_DATA_DIR = dir;
    process.env.CPNP_PROVIDER_PORT = String(providerPort);
    process.env.CPNP_PARTNER_PORT = String(partnerPort);
    process.env.CPNP_REVIEW_PORT = String(reviewPort);
    try {
      const dev = (await import(join(REPO_ROOT, 'scripts/dev-providers.mjs'))) as { devProviders: (root: string) => DevSetup };
      setup = dev.devProviders(REPO_ROOT);
    } finally {
      process.env = saved;
    }
    for (const service of setup.services) {
      const spawned = spawnCpnp(service.args.slice(1));
      running.push(spawned);
      await spawned.waitLog(`${service.name} listening`, (r) => r.event === 'listening', 30_000);
    }
    example = setup.portal.providers[0]?.server ?? '';
    carrierB = setup.portal.providers[1]?.server ?? '';
  });

  after(async () => {
    for (const spawned of running) await killChild(spawned);
  });

  const writeCpd = (name: string, link: string): string => {
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify(cpd(link, 100)));
    return file;
  };
  const auth = () => ['--psk-identity', setup.portal.identity, '--psk-file', setup.portal.keyFile];

  it('Example Networks: QUOTATION, OFFER with its diff, ACCEPT, agreement: exit 0', async () => {
    const result = await quote(['--server', example, ...auth(), '--cpd', writeCpd('pe1.json', 'pe1:ge-0/0/1'), '--expected-response', '30s']);
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /→ QUOTATION C-[0-9a-f]+ to 127\.0\.0\.1:\d+ over DTLS/);
    assert.match(result.stdout, /OFFER P-\S+, valid until \S+; against the request: (meets|narrows)/);
    assert.match(result.stdout, /^\s+(meets|narrows)\s+cpd\[0\]\.capacity\.inMbps\s+requested 100\s+offered 100/m);
    assert.match(result.stdout, /→ ACCEPT/);
    assert.match(result.stdout, /agreement concluded: P-\S+ \(exit 0\)/);
    await running[1]?.waitLog('the provider concluded it', (r) => r.event === 'transition' && r.to === 'Completed');
  });

  it('Carrier B, --accept never --json: one JSON event per line, DECLINE with reason 1, exit 1', async () => {
    const result = await quote(['--server', carrierB, ...auth(), '--cpd', writeCpd('osl.json', 'carrier-b:osl-1'), '--accept', 'never', '--json']);
    assert.equal(result.code, 1, `${result.stdout}\n${result.stderr}`);
    const lines = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as { kind: string; method?: string; data?: { declineReasons?: number[] }; exit?: number });
    const decline = lines.find((e) => e.kind === 'sent' && e.method === 'DECLINE');
    assert.deepEqual(decline?.data?.declineReasons, [1]);
    assert.ok(lines.some((e) => e.kind === 'offer'));
    assert.deepEqual(lines.at(-1), { kind: 'result', exit: 1, summary: 'no agreement: declined' });
    await running[0]?.waitLog('Carrier B ended the order', (r) => r.event === 'transition' && r.to === 'Cancelled');
  });

  it('bad input: exit 2 with one line naming the problem', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify([{ nodes: [] }]));
    const invalid = await quote(['--server', example, ...auth(), '--cpd', bad]);
    assert.equal(invalid.code, 2, invalid.stderr);
    assert.match(invalid.stderr, /^cpnp quote: .*bad\.json: invalid order/);
    const udp = await quote(['--server', '192.0.2.1:8921', '--transport', 'udp', '--cpd', bad]);
    assert.equal(udp.code, 2);
    assert.match(udp.stderr, /loopback addresses only/);
  });

  it('nobody listening: the DTLS handshake fails, exit 3', async () => {
    const port = await freeUdpPort();
    const result = await quote(['--server', `127.0.0.1:${port}`, ...auth(), '--cpd', writeCpd('none.json', 'pe1:ge-0/0/1')]);
    assert.equal(result.code, 3, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /unreachable|no answer/);
  });
});
