/**
 * `npm run bench` — speed and memory figures for the protocol core. Results go to stdout as a
 * markdown table; docs/benchmarks.md records them with the command that produced them.
 * Targets live here, never in timed unit tests (DEVELOPERS.md).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { decodeMessage, encodeMessage } from '../lib/cpnp/codec';
import { cpdEquals } from '../lib/cpnp/cpd/equality';
import { diffCpd } from '../lib/cpnp/cpd/diff';
import { FIELD_KEYS, FIELD_NAMES, type CpnpMessage } from '../lib/cpnp/message';
import { fromHex } from '../lib/cpnp/hex';
import { Encoder } from 'cbor-x';

interface Vector {
  name: string;
  hex: string;
}

const root = resolve(import.meta.dirname, '..');
const vectors = JSON.parse(readFileSync(resolve(root, 'lib/cpnp/vectors/valid.json'), 'utf8')) as Vector[];
const pick = (name: string) => {
  const v = vectors.find((x) => x.name === name);
  if (!v) throw new Error(`no vector ${name}`);
  return new Uint8Array(Buffer.from(v.hex, 'hex'));
};

function decodeOk(bytes: Uint8Array): CpnpMessage {
  const r = decodeMessage(bytes);
  if (!r.ok) throw r.error;
  return r.message;
}

interface Row {
  name: string;
  opsPerSec: number;
  usPerOp: number;
}

function bench(name: string, fn: () => unknown, minMs = 1500): Row {
  for (let i = 0; i < 2000; i++) fn(); // warm-up for the JIT
  let ops = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < minMs) {
    for (let i = 0; i < 500; i++) fn();
    ops += 500;
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  }
  return { name, opsPerSec: (ops / elapsed) * 1000, usPerOp: (elapsed * 1000) / ops };
}

const small = pick('quotation-minimal');
const offer = pick('offer-concrete');
const rich = pick('update-rich');
const offerMsg = decodeOk(offer);
const richMsg = decodeOk(rich);
const requested = decodeOk(pick('quotation-loose-with-ies'));
const offeredCpd = 'cpd' in offerMsg && offerMsg.cpd ? offerMsg.cpd : [];
const requestedCpd = 'cpd' in requested && requested.cpd ? requested.cpd : [];

// The same OFFER as the integer-keyed wire tree the codec builds, for raw cbor-x (issue 8:
// encodeMessage against plain cbor-x on the same message; no validation, no canonical ordering).
const offerTree = new Map<number, unknown>();
for (const name of FIELD_NAMES) {
  const value = (offerMsg as unknown as Record<string, unknown>)[name];
  if (value !== undefined) offerTree.set(FIELD_KEYS[name], name === 'txid' || name === 'nonce' ? fromHex(value as string) : value);
}
const rawCborX = new Encoder({ mapsAsObjects: false, useRecords: false });

const rows: Row[] = [
  bench(`decode quotation-minimal (${small.length} B)`, () => decodeMessage(small)),
  bench(`decode offer-concrete (${offer.length} B)`, () => decodeMessage(offer)),
  bench(`decode update-rich (${rich.length} B)`, () => decodeMessage(rich)),
  bench('encode offer-concrete', () => encodeMessage(offerMsg)),
  bench('raw cbor-x encode of the same OFFER wire tree', () => rawCborX.encode(offerTree)),
  bench('encode update-rich', () => encodeMessage(richMsg)),
  bench('cpdEquals offered vs offered', () => cpdEquals(offeredCpd, offeredCpd)),
  bench('diffCpd requested vs offered', () => diffCpd(requestedCpd, offeredCpd)),
];

// Memory: decode 100k messages and keep them, to see the retained size per decoded OFFER.
globalThis.gc?.();
const before = process.memoryUsage().heapUsed;
const kept: unknown[] = [];
for (let i = 0; i < 100_000; i++) kept.push(decodeMessage(offer));
globalThis.gc?.();
const retainedPerMessage = (process.memoryUsage().heapUsed - before) / kept.length;

console.log(`node ${process.version}, ${process.platform}/${process.arch}\n`);
console.log('| operation | ops/s | µs/op |');
console.log('|---|---:|---:|');
for (const r of rows) console.log(`| ${r.name} | ${Math.round(r.opsPerSec).toLocaleString('en-US')} | ${r.usPerOp.toFixed(2)} |`);
const encodeRow = rows.find((r) => r.name === 'encode offer-concrete');
const rawRow = rows.find((r) => r.name.startsWith('raw cbor-x'));
if (encodeRow && rawRow) console.log(`\nencodeMessage / raw cbor-x on the same OFFER: ${((encodeRow.opsPerSec / rawRow.opsPerSec) * 100).toFixed(0)} %`);

// The same ratio measured interleaved: 30 alternating slices of 100 ms each, counted per CPU
// time, so that the machine's load (it is shared) hits both sides alike; median and spread of
// the per-pair ratios.
{
  // Operations per CPU millisecond of this process (not per wall millisecond): time spent
  // descheduled by other work on the machine does not count against either side.
  const slice = (fn: () => unknown): number => {
    let ops = 0;
    const start = performance.now();
    const cpu = process.cpuUsage();
    while (performance.now() - start < 100) {
      for (let i = 0; i < 50; i++) fn();
      ops += 50;
    }
    const used = process.cpuUsage(cpu);
    return ops / (used.user + used.system);
  };
  const ratios: number[] = [];
  for (let i = 0; i < 30; i++) {
    const ours = slice(() => encodeMessage(offerMsg));
    const raw = slice(() => rawCborX.encode(offerTree));
    ratios.push(ours / raw);
  }
  ratios.sort((a, b) => a - b);
  const at = (q: number): string => ((ratios[Math.floor(q * (ratios.length - 1))] ?? NaN) * 100).toFixed(0);
  console.log(`encodeMessage / raw cbor-x, interleaved 100 ms slices per CPU time: median ${at(0.5)} % (quartiles ${at(0.25)}–${at(0.75)} %, min ${at(0)} %, max ${at(1)} %)`);
}
console.log(`\nretained heap per decoded offer-concrete message: ${Math.round(retainedPerMessage)} bytes` +
  (globalThis.gc ? '' : ' (run with --expose-gc for a precise figure)'));

// The provider at load, against the raw UDP echo rate of the same run (bench/provider-cycles.ts).
if (process.env.BENCH_SKIP_PROVIDER === undefined) {
  const { runProviderBench } = await import('./provider-cycles');
  await runProviderBench();
}

// The portal's engine host (bench/portal-host.ts, also `npm run bench:portal-host`): opt-in, it
// starts provider processes and needs the server-only hook, so it runs in its own process.
if (process.env.BENCH_PORTAL_HOST !== undefined) {
  const { spawnSync } = await import('node:child_process');
  spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--import', './scripts/unit-test-hooks.mjs', 'bench/portal-host.ts'], { cwd: root, stdio: 'inherit' });
}
