/**
 * `npm run bench:provider` (also the second part of `npm run bench`) — the reference provider
 * at load, side by side with the raw UDP echo rate of the same machine, in one run (issue 8):
 *
 * 1. raw Node UDP echo round trips/s against a separate echo process, 1 and 64 in flight;
 * 2. full negotiation cycles/s against `cpnp provider` in a separate process with its SQLite
 *    database (synchronous = FULL, the default): QUOTATION → (PROCESSING) → OFFER →
 *    PROCESSING → ACCEPT → ACK, over plain UDP and over DTLS (one association, reused), at 1,
 *    8 and 64 cycles in flight, with p50/p99 cycle latency and the provider's event-loop delay;
 * 3. 10,000 open negotiations (QUOTATION answered, offer valid, not accepted) held by one
 *    provider process: its RSS, then all of them accepted.
 *
 * The client is this process: it speaks CPNP with the codec directly (no client engine), one
 * fresh transaction per cycle, and retransmits after 2 s without an answer. The provider runs
 * with `--log-level warn` (one JSON line per event at `info` would measure the log pipe).
 * BENCH_MS (default 5000) is the measuring time per row; BENCH_CPU_PROF=dir writes a CPU profile
 * of each provider (`node --cpu-prof`, one subdirectory per transport: the DTLS provider is
 * profiled separately) there and prints its top functions by self time;
 * BENCH_OPEN (default 10000, 0 = skip) the open negotiations; BENCH_TRANSPORTS (default
 * "udp,dtls"); BENCH_KEEP=1 keeps the databases.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { decodeMessage, encodeMessage } from '../lib/cpnp/codec';
import type { Cpd } from '../lib/cpnp/cpd/types';
import { Method } from '../lib/cpnp/method';
import type { CpnpMessage } from '../lib/cpnp/message';
import { DtlsClientTransport } from '../lib/cpnp/transport/dtls-client';
import type { Endpoint, Inbound } from '../lib/cpnp/transport/transport';

const root = resolve(import.meta.dirname, '..');
const MEASURE_MS = Number(process.env.BENCH_MS ?? 5000);
const WARMUP_MS = Math.min(1000, MEASURE_MS / 2);
const OPEN_TARGET = Number(process.env.BENCH_OPEN ?? 10_000);
/** The open-negotiations phase gives up after this long (the BEFORE provider needed ~15 min). */
const OPEN_MAX_MS = Number(process.env.BENCH_OPEN_MAX_MS ?? 120_000);
const RESEND_MS = 2000;
const PSK_KEY = randomBytes(32);

// ---------------------------------------------------------------------------------------------
// Small helpers.

function pct(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

const fmt = (n: number, digits = 0): string => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '—');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function spawnChild(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill(signal);
  await Promise.race([exited, sleep(15_000)]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

// ---------------------------------------------------------------------------------------------
// 1. Raw UDP echo.

interface EchoRow {
  inFlight: number;
  perSec: number;
  p50: number;
  p99: number;
}

async function echoBench(port: number, inFlight: number): Promise<EchoRow> {
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  const payload = Buffer.alloc(120, 7); // a QUOTATION-sized datagram
  const sentAt = new Map<number, number>();
  const latencies: number[] = [];
  let next = 0;
  let measuring = false;
  let done = 0;
  let stop = false;
  const fire = (): void => {
    const id = next++;
    payload.writeUInt32BE(id, 0);
    sentAt.set(id, performance.now());
    socket.send(payload, port, '127.0.0.1');
  };
  socket.on('message', (msg) => {
    const id = msg.readUInt32BE(0);
    const t0 = sentAt.get(id);
    if (t0 === undefined) return;
    sentAt.delete(id);
    if (measuring) {
      done++;
      latencies.push(performance.now() - t0);
    }
    if (!stop) fire();
  });
  // A lost datagram would shrink the window: top it up every 50 ms.
  const refill = setInterval(() => {
    const now = performance.now();
    for (const [id, t0] of sentAt) if (now - t0 > 200) sentAt.delete(id);
    while (!stop && sentAt.size < inFlight) fire();
  }, 50);
  for (let i = 0; i < inFlight; i++) fire();
  await sleep(WARMUP_MS);
  measuring = true;
  const start = performance.now();
  await sleep(MEASURE_MS);
  const elapsed = performance.now() - start;
  measuring = false;
  stop = true;
  clearInterval(refill);
  socket.close();
  latencies.sort((a, b) => a - b);
  return { inFlight, perSec: (done / elapsed) * 1000, p50: pct(latencies, 50), p99: pct(latencies, 99) };
}

// ---------------------------------------------------------------------------------------------
// 2. The provider process and a CPNP client that drives whole cycles.

interface ProbeSample {
  seq: number;
  eld: { p50: number; p99: number; max: number };
  rss: number;
  heapUsed: number;
  /** CPU time of the provider process so far (all threads), µs. */
  cpuUs: number;
  /** Bytes written through write()/pwrite() so far (Linux: /proc/self/io wchar), null elsewhere. */
  wchar: number | null;
}

class ProviderProcess {
  private constructor(
    readonly child: ChildProcess,
    readonly endpoint: Endpoint,
    private readonly probeFile: string,
    private readonly output: () => string,
  ) {}

  static async start(dir: string, transport: 'udp' | 'dtls', cpuProfDir?: string): Promise<ProviderProcess> {
    const example = parseYaml(readFileSync(join(root, 'examples', 'provider.yaml'), 'utf8')) as Record<string, unknown>;
    // The example policy with the order caps lifted and pools that 10k orders cannot exhaust.
    const policy = {
      ...example,
      partners: {},
      links: (example.links as { partner?: string }[]).filter((l) => l.partner === undefined),
      pools: { west: { inMbps: 10_000_000, outMbps: 10_000_000 }, south: { inMbps: 10_000_000, outMbps: 10_000_000 }, shared: { inMbps: 10_000_000, outMbps: 10_000_000 } },
      customers: {},
      defaultCustomer: { allowed: true },
    };
    const policyFile = join(dir, `policy-${transport}.json`);
    writeFileSync(policyFile, JSON.stringify(policy));
    const port = await freePort();
    const probeFile = join(dir, `probe-${transport}.json`);
    const args = [
      '--import',
      join(root, 'bench', 'provider-probe.mjs'),
      ...(cpuProfDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`]),
      join(root, 'bin', 'cpnp.mjs'),
      'provider',
      '--config',
      policyFile,
      '--transport',
      transport,
      '--listen',
      `127.0.0.1:${port}`,
      '--db',
      join(dir, `provider-${transport}.db`),
      '--log-level',
      'warn',
    ];
    if (transport === 'dtls') {
      const pskFile = join(dir, 'psk.json');
      writeFileSync(pskFile, JSON.stringify({ identities: [{ identity: 'bench', keyHex: PSK_KEY.toString('hex'), customer: 'bench' }] }), { mode: 0o600 });
      args.push('--psk-file', pskFile);
    }
    const child = spawnChild(args, { BENCH_PROBE_FILE: probeFile });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    return new ProviderProcess(child, { address: '127.0.0.1', port }, probeFile, () => out);
  }

  /** What the probe saw since the last call (event-loop delay, RSS). */
  async probe(): Promise<ProbeSample> {
    let before = 0;
    try {
      before = (JSON.parse(readFileSync(this.probeFile, 'utf8')) as ProbeSample).seq;
    } catch {
      before = 0;
    }
    this.child.kill('SIGUSR2');
    // A provider whose event loop is blocked answers late: wait up to a minute.
    for (let i = 0; i < 6000; i++) {
      await sleep(10);
      try {
        const sample = JSON.parse(readFileSync(this.probeFile, 'utf8')) as ProbeSample;
        if (sample.seq > before) return sample;
      } catch {
        // not written yet
      }
    }
    throw new Error('the provider probe did not answer');
  }

  logs(): string {
    return this.output();
  }

  stop(): Promise<void> {
    return stopChild(this.child, 'SIGINT');
  }
}

/** Sends and receives raw CPNP bytes: a plain UDP socket, or one reused DTLS association. */
interface Wire {
  send(bytes: Uint8Array): void;
  onMessage(handler: (bytes: Uint8Array) => void): void;
  close(): Promise<void>;
}

async function udpWire(server: Endpoint): Promise<Wire> {
  const socket: Socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  return {
    send: (bytes) => socket.send(bytes, server.port, server.address),
    onMessage: (handler) => socket.on('message', (msg) => handler(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength))),
    close: () => new Promise<void>((r) => socket.close(() => r())),
  };
}

function dtlsWire(server: Endpoint): Wire {
  const transport = new DtlsClientTransport({
    psk: { identity: 'bench', key: new Uint8Array(PSK_KEY) },
    logger: { warn: () => undefined },
    retry: { attempts: 20, attemptTimeoutMs: 2000, backoffMs: [200, 400, 800] },
    // The BEFORE provider answers seconds late at 64 in flight: silence is not death here.
    deadAfterMs: 120_000,
  });
  return {
    send: (bytes) => void transport.send(server, bytes).catch(() => undefined),
    onMessage: (handler) => transport.onMessage((m: Inbound) => handler(m.bytes)),
    close: () => transport.close(),
  };
}

const CPD: Cpd = [
  {
    nodes: [{ id: 'ce-a', link: 'pe1:ge-0/0/1' }],
    capacity: { inMbps: 1, outMbps: 1 },
    conformance: { policing: 'police', outOfProfile: 'drop' },
  },
];

interface Cycle {
  txid: string;
  customerOrderId: string;
  startedAt: number;
  /** What was sent last and when (resent after RESEND_MS without progress). */
  last: Uint8Array;
  lastSentAt: number;
  phase: 'quotation' | 'offered' | 'accepting' | 'done';
  seq: number;
  providerOrderId?: string;
  offerAt?: number;
  resolve: () => void;
  /** Stop after the OFFER (open negotiations) instead of accepting. */
  holdOffer: boolean;
  offer?: Extract<CpnpMessage, { method: typeof Method.OFFER }>;
}

class CycleClient {
  private readonly cycles = new Map<string, Cycle>();
  private counter = 0;
  retransmissions = 0;
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(private readonly wire: Wire) {
    wire.onMessage((bytes) => this.receive(bytes));
    this.timer = setInterval(() => this.resend(), 250);
  }

  /** One whole cycle; resolves with its latency (ms). */
  cycle(holdOffer = false): Promise<Cycle> {
    const txid = randomBytes(16).toString('hex');
    const customerOrderId = `bench-${process.pid}-${++this.counter}`;
    const quotation = encodeMessage({ version: 1, method: Method.QUOTATION, seq: 1, txid, customerOrderId, cpd: CPD });
    return new Promise<Cycle>((resolveCycle) => {
      const now = performance.now();
      const c: Cycle = { txid, customerOrderId, startedAt: now, last: quotation, lastSentAt: now, phase: 'quotation', seq: 1, holdOffer, resolve: () => resolveCycle(c) };
      this.cycles.set(txid, c);
      this.wire.send(quotation);
    });
  }

  /** Accepts an offer held by cycle(true); resolves at the ACK. */
  accept(c: Cycle): Promise<Cycle> {
    return new Promise<Cycle>((resolveCycle) => {
      c.holdOffer = false;
      c.resolve = () => resolveCycle(c);
      this.cycles.set(c.txid, c);
      this.sendAccept(c);
    });
  }

  private sendAccept(c: Cycle): void {
    const offer = c.offer;
    if (offer === undefined) return;
    c.seq += 1;
    const accept = encodeMessage({ version: 1, method: Method.ACCEPT, seq: c.seq, txid: c.txid, customerOrderId: c.customerOrderId, providerOrderId: offer.providerOrderId, nonce: offer.nonce, cpd: offer.cpd });
    c.phase = 'accepting';
    c.last = accept;
    c.lastSentAt = performance.now();
    this.wire.send(accept);
  }

  private receive(bytes: Uint8Array): void {
    const decoded = decodeMessage(bytes);
    if (!decoded.ok) return;
    const msg = decoded.message;
    const c = this.cycles.get(msg.txid);
    if (c === undefined) return;
    if (msg.method === Method.OFFER && c.phase === 'quotation') {
      c.offer = msg;
      c.offerAt = performance.now();
      // Figure 6: the client's PROCESSING stops the OFFER's retransmission, then ACCEPT.
      c.seq += 1;
      const processing = encodeMessage({ version: 1, method: Method.PROCESSING, seq: c.seq, txid: c.txid, customerOrderId: c.customerOrderId, providerOrderId: msg.providerOrderId });
      this.wire.send(processing);
      c.phase = 'offered';
      if (c.holdOffer) {
        this.cycles.delete(c.txid);
        c.resolve();
        return;
      }
      this.sendAccept(c);
    } else if (msg.method === Method.ACK && c.phase === 'accepting') {
      c.phase = 'done';
      this.cycles.delete(c.txid);
      c.resolve();
    } else if (msg.method === Method.FAIL) {
      throw new Error(`FAIL ${msg.statusCode} for ${c.customerOrderId} in phase ${c.phase}`);
    }
  }

  private resend(): void {
    const now = performance.now();
    for (const c of this.cycles.values()) {
      if (now - c.lastSentAt < RESEND_MS) continue;
      c.lastSentAt = now;
      this.retransmissions++;
      this.wire.send(c.last);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.wire.close();
  }
}

interface CycleRow {
  transport: string;
  inFlight: number;
  cycles: number;
  perSec: number;
  p50: number;
  p99: number;
  offerP50: number;
  eldP99: number;
  eldMax: number;
  rssMiB: number;
  /** Provider CPU time (all threads) per completed cycle, ms: less sensitive to the machine's load than cycles/s. */
  cpuMsPerCycle: number;
  /** Provider CPU time over wall time: cores the provider kept busy. */
  cores: number;
  /** Bytes the provider wrote (SQLite WAL and checkpoints) per completed cycle. */
  bytesPerCycle: number;
}

/** Keeps `inFlight` cycles running for WARMUP_MS + MEASURE_MS; counts those completed in the window. */
async function cyclesBench(client: CycleClient, provider: ProviderProcess, transport: string, inFlight: number): Promise<CycleRow> {
  let measuring = false;
  let stop = false;
  const latencies: number[] = [];
  const offerLatencies: number[] = [];
  let count = 0;
  const lane = async (): Promise<void> => {
    while (!stop) {
      const c = await client.cycle();
      if (measuring) {
        count++;
        latencies.push(performance.now() - c.startedAt);
        if (c.offerAt !== undefined) offerLatencies.push(c.offerAt - c.startedAt);
      }
    }
  };
  const lanes = Array.from({ length: inFlight }, () => lane());
  await sleep(WARMUP_MS);
  const before = await provider.probe();
  measuring = true;
  const start = performance.now();
  await sleep(MEASURE_MS);
  const elapsed = performance.now() - start;
  measuring = false;
  const sample = await provider.probe();
  stop = true;
  await Promise.all(lanes);
  latencies.sort((a, b) => a - b);
  offerLatencies.sort((a, b) => a - b);
  return {
    transport,
    inFlight,
    cycles: count,
    perSec: (count / elapsed) * 1000,
    p50: pct(latencies, 50),
    p99: pct(latencies, 99),
    offerP50: pct(offerLatencies, 50),
    eldP99: sample.eld.p99,
    eldMax: sample.eld.max,
    rssMiB: sample.rss / 2 ** 20,
    cpuMsPerCycle: (sample.cpuUs - before.cpuUs) / 1000 / count,
    cores: (sample.cpuUs - before.cpuUs) / 1000 / elapsed,
    bytesPerCycle: sample.wchar === null || before.wchar === null ? NaN : (sample.wchar - before.wchar) / count,
  };
}

/** Waits until the provider completes a cycle (it is listening and its database is open). */
async function ready(client: CycleClient, provider: ProviderProcess): Promise<void> {
  const first = client.cycle();
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the provider did not answer within 60 s')), 60_000).unref());
  const exited = new Promise<never>((_, reject) => provider.child.once('exit', () => reject(new Error(`the provider exited: ${provider.logs()}`))));
  await Promise.race([first, timeout, exited]);
}

interface OpenRow {
  reached: number;
  openSeconds: number;
  rssMiB: number;
  heapMiB: number;
  acceptSeconds: number;
  accepted: number;
}

/** 10k open negotiations in one provider, then all accepted. */
async function openNegotiations(client: CycleClient, provider: ProviderProcess): Promise<OpenRow> {
  const held: Cycle[] = [];
  const start = performance.now();
  let issued = 0;
  const lane = async (): Promise<void> => {
    while (issued < OPEN_TARGET && performance.now() - start < OPEN_MAX_MS) {
      issued++;
      held.push(await client.cycle(true));
    }
  };
  await Promise.all(Array.from({ length: 64 }, () => lane()));
  const openSeconds = (performance.now() - start) / 1000;
  await sleep(500); // let the last PROCESSING messages land
  const sample = await provider.probe();
  const acceptStart = performance.now();
  let next = 0;
  let accepted = 0;
  const acceptLane = async (): Promise<void> => {
    while (next < held.length && performance.now() - acceptStart < OPEN_MAX_MS) {
      const c = held[next++];
      if (c === undefined) break;
      await client.accept(c);
      accepted++;
    }
  };
  await Promise.all(Array.from({ length: 64 }, () => acceptLane()));
  return {
    reached: held.length,
    openSeconds,
    rssMiB: sample.rss / 2 ** 20,
    heapMiB: sample.heapUsed / 2 ** 20,
    acceptSeconds: (performance.now() - acceptStart) / 1000,
    accepted,
  };
}

// ---------------------------------------------------------------------------------------------
// CPU profile summary (BENCH_CPU_PROF).

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

export function summarizeProfile(file: string, top = 15): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    const dt = profile.timeDeltas[i] ?? 0;
    total += dt;
    if (node === undefined) return;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url === '' ? '' : ` ${url.replace(/^file:\/\//, '').replace(root + '/', '')}:${lineNumber + 1}`;
    const key = `${functionName || '(anonymous)'}${where}`;
    self.set(key, (self.get(key) ?? 0) + dt);
  });
  const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, top);
  const lines = ['| self time | share | function |', '|---:|---:|---|'];
  for (const [key, us] of rows) lines.push(`| ${fmt(us / 1000)} ms | ${fmt((us / total) * 100, 1)} % | \`${key}\` |`);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------

export async function runProviderBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'cpnp-bench-'));
  const startLoad = loadavg().map((l) => l.toFixed(1)).join(' / ');
  const cpuProfDir = process.env.BENCH_CPU_PROF;
  const echo = spawnChild(['--import', 'tsx', join(root, 'bench', 'udp-echo-server.ts')]);
  const cleanups: (() => Promise<void>)[] = [() => stopChild(echo)];
  try {
    const echoPort = await new Promise<number>((r, reject) => {
      echo.stdout?.once('data', (d: Buffer) => r(Number(d.toString().trim())));
      echo.once('exit', () => reject(new Error('echo server exited')));
    });
    const echoRows = [await echoBench(echoPort, 1), await echoBench(echoPort, 64)];

    const rows: CycleRow[] = [];
    let open: OpenRow | undefined;
    const profileTexts: string[] = [];
    const transports = (process.env.BENCH_TRANSPORTS ?? 'udp,dtls').split(',').filter((t): t is 'udp' | 'dtls' => t === 'udp' || t === 'dtls');
    for (const transport of transports) {
      const profDir = cpuProfDir === undefined ? undefined : join(cpuProfDir, transport);
      if (profDir !== undefined) mkdirSync(profDir, { recursive: true });
      const provider = await ProviderProcess.start(dir, transport, profDir);
      const wire = transport === 'udp' ? await udpWire(provider.endpoint) : dtlsWire(provider.endpoint);
      const client = new CycleClient(wire);
      try {
        await ready(client, provider);
        for (const inFlight of [1, 8, 64]) rows.push(await cyclesBench(client, provider, transport, inFlight));
        if (transport === 'udp' && OPEN_TARGET > 0) open = await openNegotiations(client, provider);
      } catch (error) {
        console.error(provider.logs().slice(-4000));
        throw error;
      } finally {
        await client.close();
        await provider.stop();
      }
      if (profDir !== undefined) {
        const files = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(profDir, f));
        files.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
        if (files[0] !== undefined) profileTexts.push(`CPU profile of the ${transport.toUpperCase()} provider, top self time:\n\n${summarizeProfile(files[0])}`);
      }
    }

    const echo64 = echoRows[1]?.perSec ?? NaN;
    console.log(`\n## Provider at load — node ${process.version}, ${process.platform}/${process.arch}, ${cpus().length} CPU (${cpus()[0]?.model ?? '?'}), ${new Date().toISOString()}\n`);
    console.log(`Measuring ${MEASURE_MS} ms per row after ${WARMUP_MS} ms of warm-up; load average at the start ${startLoad}, at the end ${loadavg().map((l) => l.toFixed(1)).join(' / ')}.\n`);
    console.log('| raw UDP echo (separate process) | round trips/s | p50 ms | p99 ms |');
    console.log('|---|---:|---:|---:|');
    for (const r of echoRows) console.log(`| ${r.inFlight} in flight | ${fmt(r.perSec)} | ${fmt(r.p50, 3)} | ${fmt(r.p99, 3)} |`);
    console.log('\n| transport | in flight | cycles/s | % of echo (64) | cycle p50 ms | cycle p99 ms | QUOTATION→OFFER p50 ms | event loop p99 / max ms | RSS MiB | provider CPU ms/cycle | provider cores busy | provider bytes written/cycle |');
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of rows) {
      console.log(
        `| ${r.transport} | ${r.inFlight} | ${fmt(r.perSec, 1)} | ${fmt((r.perSec / echo64) * 100, 2)} % | ${fmt(r.p50, 1)} | ${fmt(r.p99, 1)} | ${fmt(r.offerP50, 1)} | ${fmt(r.eldP99, 1)} / ${fmt(r.eldMax, 1)} | ${fmt(r.rssMiB)} | ${fmt(r.cpuMsPerCycle, 2)} | ${fmt(r.cores, 2)} | ${fmt(r.bytesPerCycle)} |`,
      );
    }
    if (open !== undefined) {
      console.log(`\nOpen negotiations (UDP, 64 in flight): ${fmt(open.reached)} of ${fmt(OPEN_TARGET)} opened in ${fmt(open.openSeconds, 1)} s; provider RSS ${fmt(open.rssMiB)} MiB (heap ${fmt(open.heapMiB)} MiB) while they were open; ${fmt(open.accepted)} accepted in ${fmt(open.acceptSeconds, 1)} s.`);
    }
    for (const text of profileTexts) console.log(`\n${text}`);
  } finally {
    for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
    if (process.env.BENCH_KEEP === undefined) rmSync(dir, { recursive: true, force: true });
    else console.log(`\n(kept ${dir})`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await runProviderBench();
}
