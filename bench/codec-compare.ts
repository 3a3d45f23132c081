/**
 * Encode before/after in one run (issue 8): this tree's encodeMessage, the encodeMessage of an
 * older lib/cpnp, and raw cbor-x on the same OFFER wire tree, interleaved in 100 ms slices and
 * counted per CPU time (the machine is shared). Not part of `npm run bench`; usage:
 *
 *   mkdir -p .bench-base && git archive <commit> lib/cpnp | tar -x -C .bench-base
 *   BENCH_BASE=.bench-base N=30 node --import tsx bench/codec-compare.ts
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Encoder } from 'cbor-x';
import { decodeMessage, encodeMessage } from '../lib/cpnp/codec';
import { fromHex } from '../lib/cpnp/hex';
import { FIELD_KEYS, FIELD_NAMES, type CpnpMessage } from '../lib/cpnp/message';

const root = resolve(import.meta.dirname, '..');
const base = process.env.BENCH_BASE;
if (!base) throw new Error('set BENCH_BASE to a directory holding an older lib/cpnp');
const older = (await import(pathToFileURL(resolve(root, base, 'lib/cpnp/codec.ts')).href)) as { encodeMessage: (m: CpnpMessage) => Uint8Array };
const baseEncode = older.encodeMessage;

const vectors = JSON.parse(readFileSync(resolve(root, 'lib/cpnp/vectors/valid.json'), 'utf8')) as { name: string; hex: string }[];
function vector(name: string): CpnpMessage {
  const found = vectors.find((v) => v.name === name);
  if (!found) throw new Error(`no vector ${name}`);
  const result = decodeMessage(new Uint8Array(Buffer.from(found.hex, 'hex')));
  if (!result.ok) throw result.error;
  return result.message;
}
const offer = vector('offer-concrete');
const rich = vector('update-rich');
const offerTree = new Map<number, unknown>();
for (const name of FIELD_NAMES) {
  const value = (offer as unknown as Record<string, unknown>)[name];
  if (value !== undefined) offerTree.set(FIELD_KEYS[name], name === 'txid' || name === 'nonce' ? fromHex(value as string) : value);
}
const raw = new Encoder({ mapsAsObjects: false, useRecords: false });
if (Buffer.compare(encodeMessage(offer), baseEncode(offer)) !== 0) throw new Error('the two encoders disagree on the OFFER');

/** Operations per CPU second over a 100 ms slice. */
function slice(fn: () => unknown): number {
  let ops = 0;
  const start = performance.now();
  const cpu = process.cpuUsage();
  while (performance.now() - start < 100) {
    for (let i = 0; i < 50; i++) fn();
    ops += 50;
  }
  const used = process.cpuUsage(cpu);
  return (ops / (used.user + used.system)) * 1e6;
}

for (let i = 0; i < 3000; i++) {
  encodeMessage(offer);
  baseEncode(offer);
  raw.encode(offerTree);
}
const rounds = Number(process.env.N ?? 30);
const series: Record<string, number[]> = { 'after / raw': [], 'before / raw': [], 'after ops/CPU-s': [], 'before ops/CPU-s': [], 'raw ops/CPU-s': [], 'update-rich after ops/CPU-s': [], 'update-rich before ops/CPU-s': [] };
const push = (name: string, value: number): void => void series[name]?.push(value);
for (let i = 0; i < rounds; i++) {
  const after = slice(() => encodeMessage(offer));
  const before = slice(() => baseEncode(offer));
  const rawRate = slice(() => raw.encode(offerTree));
  push('after / raw', after / rawRate);
  push('before / raw', before / rawRate);
  push('after ops/CPU-s', after);
  push('before ops/CPU-s', before);
  push('raw ops/CPU-s', rawRate);
  push('update-rich after ops/CPU-s', slice(() => encodeMessage(rich)));
  push('update-rich before ops/CPU-s', slice(() => baseEncode(rich)));
}
const at = (sorted: number[], q: number): number => sorted[Math.floor(q * (sorted.length - 1))] ?? NaN;
const show = (n: number): string => (n < 10 ? `${(n * 100).toFixed(0)} %` : Math.round(n).toLocaleString('en-US'));
for (const [name, values] of Object.entries(series)) {
  const sorted = [...values].sort((a, b) => a - b);
  console.log(`${name}: median ${show(at(sorted, 0.5))} (quartiles ${show(at(sorted, 0.25))}–${show(at(sorted, 0.75))})`);
}
