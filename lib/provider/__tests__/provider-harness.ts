/**
 * Shared fixtures of the provider process tests: temporary directories, policy and PSK files,
 * an event hub whose waiters are re-checked on every event (no sleeps), and a real CPNP client
 * (ClientEngine over the DTLS client transport) per PSK identity.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { systemClock } from '../../cpnp/clock';
import type { Cpd } from '../../cpnp/cpd/types';
import { millisToDateTime, type DateTime } from '../../cpnp/date-time';
import { ClientEngine, type CommandResult } from '../../cpnp/engine/client-engine';
import type { EngineEvent } from '../../cpnp/engine/output';
import { EngineRunner } from '../../cpnp/engine/runner';
import type { InformationElements } from '../../cpnp/information-elements';
import { cryptoRandom } from '../../cpnp/random';
import { DtlsClientTransport } from '../../cpnp/transport/dtls-client';
import { toHex } from '../../cpnp/hex';
import type { Endpoint } from '../../cpnp/transport/transport';
import { EventHub } from '../../cpnp/__tests__/helpers/event-hub';

export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
export const CPNP_BIN = join(REPO_ROOT, 'bin', 'cpnp.mjs');

/** Client timers: retries that outlast a server restart (1+2+4+8+16 s). */
export const CLIENT_TIMERS = { retransTimerMs: 1000, maxRetries: 5 };

export function tempDir(t: { after(fn: () => void): void }, prefix = 'cpnp-provider-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A date-time `ms` from now, whole seconds (9.1.6). */
export const fromNow = (ms: number): DateTime => millisToDateTime(Math.ceil((Date.now() + ms) / 1000) * 1000);

// --- policy and PSK files --------------------------------------------------------------------

/** A small policy: pool "core" for "pe1:*", default pool "shared"; every field overridable. */
export function policyData(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    provider: { name: 'Test Networks', asn: 64496 },
    regions: ['west'],
    links: [{ match: 'pe1:*', pool: 'core', region: 'west' }],
    defaultPool: 'shared',
    pools: { core: { inMbps: 1000, outMbps: 1000 }, shared: { inMbps: 10000, outMbps: 10000 } },
    qosClasses: [
      { name: 'gold', delayMs: 10, jitterMs: 2, lossPct: 0.01, qualitative: 'high' },
      { name: 'silver', delayMs: 25, jitterMs: 4, lossPct: 0.05, qualitative: 'medium' },
    ],
    availabilityLevels: [99.9, 99.99],
    activationTypes: ['permanent', 'scheduled'],
    pricing: { currency: 'EUR', perMbpsMonth: 2 },
    offerValidity: '15m',
    customers: { suspended: { allowed: false } },
    defaultCustomer: { allowed: true, maxOrders: 50 },
    ...overrides,
  };
}

export function writePolicy(dir: string, overrides: Record<string, unknown> = {}, name = 'policy.json'): string {
  const file = join(dir, name);
  writeFileSync(file, `${JSON.stringify(policyData(overrides), null, 2)}\n`);
  return file;
}

/** A deterministic 32-byte key per identity (tests only). */
export function keyOf(identity: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(`cpnp-test-key:${identity}`).digest());
}

/** A PSK table file; each identity is its own customer unless `customers` says otherwise. */
export function writePsk(dir: string, identities: readonly string[], customers: Record<string, string> = {}, name = 'psk.json'): string {
  const file = join(dir, name);
  const table = { identities: identities.map((identity) => ({ identity, keyHex: toHex(keyOf(identity)), customer: customers[identity] ?? identity })) };
  writeFileSync(file, `${JSON.stringify(table, null, 2)}\n`, { mode: 0o600 });
  return file;
}

// --- Example Networks and its partner Carrier B (examples/*.yaml, RFC 8921 Figure 7) -----------

function readExample(name: string): Record<string, unknown> {
  return parseYaml(readFileSync(join(REPO_ROOT, 'examples', name), 'utf8')) as Record<string, unknown>;
}

/** Carrier B: examples/partner.yaml with `overrides`, and a PSK file that knows Example Networks' identity. */
export function writeCarrierB(dir: string, overrides: Record<string, unknown>): { policy: string; psk: string } {
  const policy = join(dir, 'carrier-b.json');
  writeFileSync(policy, JSON.stringify({ ...readExample('partner.yaml'), ...overrides }));
  return { policy, psk: writePsk(dir, ['example-networks'], {}, 'carrier-b.psk.json') };
}

/** Example Networks: examples/provider.yaml, its partner entry pointed at Carrier B on 127.0.0.1:`bPort` (section 9). */
export function writeExampleNetworks(dir: string, bPort: number): string {
  const data = readExample('provider.yaml') as { partners: Record<string, Record<string, unknown>> } & Record<string, unknown>;
  const keyFile = join(dir, 'carrier-b.key');
  writeFileSync(keyFile, toHex(keyOf('example-networks')), { mode: 0o600 });
  const policy = join(dir, 'example-networks.json');
  writeFileSync(policy, JSON.stringify({ ...data, partners: { 'carrier-b': { ...data.partners['carrier-b'], server: `127.0.0.1:${bPort}`, pskFile: keyFile } } }));
  return policy;
}

// --- waiting on events -----------------------------------------------------------------------

/** Waiters re-checked after every event pushed (from clients, the server, child processes). */
export { EventHub };

// --- a real CPNP client ------------------------------------------------------------------------

export class TestClient {
  readonly transport: DtlsClientTransport;
  readonly engine: ClientEngine;
  readonly runner: EngineRunner<ClientEngine>;
  readonly events: EngineEvent[] = [];

  constructor(
    readonly identity: string,
    private readonly hub: EventHub,
    options: { key?: Uint8Array; timers?: { retransTimerMs: number; maxRetries: number }; deadAfterMs?: number } = {},
  ) {
    this.transport = new DtlsClientTransport({
      psk: { identity, key: options.key ?? keyOf(identity) },
      logger: { warn: () => undefined },
      retry: { attempts: 3, attemptTimeoutMs: 1500, backoffMs: [200, 400] },
      ...(options.deadAfterMs === undefined ? {} : { deadAfterMs: options.deadAfterMs }),
    });
    this.engine = new ClientEngine({
      clock: systemClock,
      random: cryptoRandom,
      localEndpoint: (server) => this.transport.localFor(server),
      transport: 'dtls',
      label: identity,
      config: { timers: options.timers ?? CLIENT_TIMERS },
    });
    this.runner = new EngineRunner({
      core: this.engine,
      transport: this.transport,
      clock: systemClock,
      side: 'client',
      onEvent: (event) => {
        this.events.push(event);
        hub.push(event);
      },
    });
    this.runner.start();
  }

  /** Runs a command; fails the test when the engine refuses it. */
  async run(command: (engine: ClientEngine) => CommandResult): Promise<string> {
    const result = await this.runner.run(command);
    this.hub.poke();
    if (!result.ok) throw new Error(`client ${this.identity}: command refused: ${result.reason}`);
    return result.orderId;
  }

  /** createOrder + approve + sendQuotation. */
  async place(server: Endpoint, customerOrderId: string, cpd: Cpd, ies?: InformationElements): Promise<string> {
    const id = await this.run((c) => c.createOrder({ cpd, server, customerOrderId, expectedResponseTime: fromNow(120_000), ...(ies === undefined ? {} : { ies }) }));
    await this.run((c) => c.approve(id));
    await this.run((c) => c.sendQuotation(id));
    return id;
  }

  state(id: string): string | undefined {
    return this.engine.state(id);
  }

  alarms(): EngineEvent[] {
    return this.events.filter((e) => e.kind === 'alarm' || e.kind === 'error');
  }

  async close(): Promise<void> {
    await this.runner.stop().catch(() => undefined);
    await this.transport.close().catch(() => undefined);
  }
}

/** A one-node CPP on `link` asking `capacity` Mbit/s both ways. */
export function cpd(link: string, capacity: number | { min?: number; max?: number; pref?: number } = 100): Cpd {
  return [{ nodes: [{ id: 'ce-a', link }], capacity: { inMbps: capacity, outMbps: capacity }, conformance: { policing: 'police', outOfProfile: 'drop' } }];
}

// --- child processes ---------------------------------------------------------------------------

export type Child = ChildProcessByStdio<null, Readable, Readable>;

export interface SpawnedProvider {
  child: Child;
  /** Every JSON log line parsed so far. */
  logs: Record<string, unknown>[];
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first log record (past or future) that satisfies `match`. */
  waitLog(what: string, match: (record: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>>;
  /** Resolves once stderr matches `pattern`. */
  waitStderr(what: string, pattern: RegExp, ms?: number): Promise<RegExpExecArray>;
}

/** Runs the real `bin/cpnp.mjs` with `args`; every stdout JSON line goes to `logs` and pokes the hub. */
export function spawnCpnp(args: readonly string[], options: { env?: Record<string, string>; hub?: EventHub; cwd?: string } = {}): SpawnedProvider {
  const child = spawn(process.execPath, [CPNP_BIN, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  const listeners = new Set<() => void>();
  let pending = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ event: 'non-json', line });
      }
    }
    for (const fn of [...listeners]) fn();
    options.hub?.poke();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString();
    for (const fn of [...listeners]) fn();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      for (const fn of [...listeners]) fn();
      resolve({ code, signal });
    });
  });
  let gone = false;
  void exited.then(() => {
    gone = true;
    for (const fn of [...listeners]) fn();
  });
  const waitFor = <T>(what: string, find: () => T | undefined, ms: number): Promise<T> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const found = find();
        if (found !== undefined) {
          done();
          resolve(found);
        } else if (gone) {
          done();
          reject(new Error(`the provider exited while waiting for ${what}; stderr: ${err.trim()}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${ms} ms waiting for ${what}; stderr: ${err.trim()}`));
      }, ms);
      const done = (): void => {
        clearTimeout(timer);
        listeners.delete(check);
      };
      listeners.add(check);
      check();
    });
  const waitLog = (what: string, match: (record: Record<string, unknown>) => boolean, ms = 15_000): Promise<Record<string, unknown>> =>
    waitFor(`log: ${what}`, () => logs.find(match), ms);
  const waitStderr = (what: string, pattern: RegExp, ms = 15_000): Promise<RegExpExecArray> => waitFor(`stderr: ${what}`, () => pattern.exec(err) ?? undefined, ms);
  return { child, logs, stderr: () => err, exited, waitLog, waitStderr };
}

/** Kills a child (SIGKILL) unless it already exited, and waits for its exit. */
export async function killChild(spawned: SpawnedProvider | undefined): Promise<void> {
  if (spawned === undefined) return;
  if (spawned.child.exitCode === null && spawned.child.signalCode === null) spawned.child.kill('SIGKILL');
  await spawned.exited;
}
