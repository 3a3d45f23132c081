/**
 * Real parts for the engine host tests: a migrated portal database (SQLite file), reference
 * Provider processes over DTLS (bin/cpnp.mjs provider, as `npm start` runs them), and the host in
 * its own process (host-child.ts) so that a test can kill -9 it and start it again.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Cpd } from '../../../cpnp/cpd/types';
import { toHex } from '../../../cpnp/hex';
import { keyOf, REPO_ROOT, spawnCpnp, writePolicy, writePsk, type SpawnedProvider } from '../../../provider/__tests__/provider-harness';
import { openPortalDb, type PortalDbClient } from '../../db/client';
import { applyPortalMigrations } from '../../db/migrate';
import { upsertProvider } from '../../providers/registry';
import { addUser } from '../../users/accounts';

export { keyOf };

export interface World {
  dir: string;
  file: string;
  db: PortalDbClient;
  customerId: string;
  adminId: string;
  organisationId: string;
}

export async function createWorld(dir: string): Promise<World> {
  const file = join(dir, 'portal.db');
  await applyPortalMigrations(file);
  const db = openPortalDb(file);
  const customer = await addUser(db, { email: 'casey@acme.example', password: 'correct-horse-battery', name: 'Casey', role: 'customer', organisation: 'Acme' });
  const admin = await addUser(db, { email: 'ada@op.example', password: 'correct-horse-battery', name: 'Ada', role: 'admin', organisation: 'Operator' });
  if (!customer.ok || !admin.ok) throw new Error('could not create users');
  return { dir, file, db, customerId: customer.userId, adminId: admin.userId, organisationId: customer.organisationId };
}

/** A reference Provider over DTLS on a free loopback port, knowing the portal's PSK identity. */
export async function startProvider(
  dir: string,
  name: string,
  overrides: Record<string, unknown> = {},
  port = 0,
): Promise<{ spawned: SpawnedProvider; port: number; args: string[] }> {
  const policy = writePolicy(dir, { provider: { name, asn: 64496 }, defaultCustomer: { allowed: true, maxOrders: 5000 }, ...overrides }, `${name}.json`);
  const psk = writePsk(dir, ['portal'], {}, `${name}.psk.json`);
  const args = ['provider', '--config', policy, '--db', join(dir, `${name}.db`), '--psk-file', psk, '--listen', `127.0.0.1:${port}`];
  const spawned = spawnCpnp(args, { env: { CPNP_PROVIDER_FAULT: '' } });
  const listening = await spawned.waitLog('listening', (r) => r.event === 'listening', 30_000);
  return { spawned, port: Number(listening.port), args };
}

/** Registers a provider row for `port` with the portal's PSK (identity "portal"). */
export async function registerProvider(world: World, name: string, port: number): Promise<string> {
  const keyFile = join(world.dir, 'portal.key');
  writeFileSync(keyFile, toHex(keyOf('portal')), { mode: 0o600 });
  return upsertProvider(world.db, { name, endpoint: `127.0.0.1:${port}`, transport: 'dtls', pskIdentity: 'portal', pskKeyFile: keyFile });
}

export type HostProcess = {
  child: ChildProcessByStdio<null, Readable, Readable>;
  lines: Record<string, unknown>[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
};

/** Starts host-child.ts on the world's database and waits for "ready". */
export async function startHost(world: World): Promise<HostProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'lib/portal/negotiation/__tests__/host-child.ts')], {
    cwd: REPO_ROOT,
    env: { ...process.env, PORTAL_DATABASE_URL: world.file, HOST_POLL_MS: '100' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let pending = '';
  let err = '';
  const debug = process.env.HOST_DEBUG === '1';
  child.stdout.on('data', (chunk: Buffer) => {
    if (debug) process.stderr.write(`[host] ${chunk.toString()}`);
    pending += chunk.toString();
    const parts = pending.split('\n');
    pending = parts.pop() ?? '';
    for (const p of parts) {
      try {
        lines.push(JSON.parse(p) as Record<string, unknown>);
      } catch {
        lines.push({ event: 'text', message: p });
      }
    }
  });
  child.stderr.on('data', (chunk: Buffer) => {
    if (debug) process.stderr.write(`[host!] ${chunk.toString()}`);
    err += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const host = { child, lines, exited };
  await waitUntil('the host is ready', async () => {
    if (child.exitCode !== null) throw new Error(`the host exited: ${err}`);
    return lines.some((l) => l.event === 'ready') ? true : undefined;
  }, 60_000);
  return host;
}

export async function killHost(host: HostProcess | undefined, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (!host) return;
  if (host.child.exitCode === null && host.child.signalCode === null) host.child.kill(signal);
  await host.exited;
}

/**
 * Re-checks `probe` until it returns a value (database state written by another process has no
 * in-process signal to wait on); fails after `ms` with the last observation.
 */
export async function waitUntil<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export const CPD: Cpd = [
  {
    nodes: [
      { id: 'ce-paris', link: 'pe1:ge-0/0/1' },
      { id: 'ce-lyon', link: 'pe1:ge-0/0/3' },
    ],
    capacity: { inMbps: { min: 10, max: 200, pref: 100 }, outMbps: 50 },
    conformance: { policing: 'shape', outOfProfile: 'drop' },
  },
];

/** A submitted order with one negotiation per provider, approved by the admin (what approvals/service.ts writes). */
export async function placeApprovedOrder(world: World, providerIds: string[], options: { expectedResponseSeconds?: number; selectionRule?: string; title?: string } = {}): Promise<{ orderId: string; negotiationIds: string[] }> {
  const db = world.db;
  const order = await db.order.create({
    data: {
      organisationId: world.organisationId,
      authorId: world.customerId,
      title: options.title ?? 'test order',
      requestedCpd: JSON.stringify(CPD),
      options: '{}',
      expectedResponseSeconds: options.expectedResponseSeconds ?? 120,
      selectionRule: options.selectionRule ?? 'manual',
      state: 'AwaitingProcessing',
      submittedAt: new Date(),
      negotiations: { create: providerIds.map((providerId) => ({ providerId, customerOrderId: `C-${Math.random().toString(16).slice(2, 14).padEnd(12, '0')}` })) },
      approvals: { create: { approverId: world.adminId, decision: 'approved' } },
      intents: { create: { kind: 'approve', payload: '{}', actorId: world.adminId } },
    },
    select: { id: true, negotiations: { select: { id: true }, orderBy: { createdAt: 'asc' } } },
  });
  return { orderId: order.id, negotiationIds: order.negotiations.map((n) => n.id) };
}

/** What a customer's button queues (intents/service.ts without the session layer). */
export async function queueIntent(world: World, orderId: string, negotiationId: string | null, kind: string, payload: Record<string, unknown> = {}): Promise<string> {
  const row = await world.db.intent.create({ data: { orderId, negotiationId, kind, payload: JSON.stringify(payload), actorId: world.customerId }, select: { id: true } });
  return row.id;
}

export async function pendingOffer(world: World, negotiationId: string): Promise<string | undefined> {
  const offer = await world.db.offer.findFirst({ where: { negotiationId, decision: 'pending' }, select: { id: true } });
  return offer?.id;
}
