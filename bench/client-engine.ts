/**
 * `npm run bench:client` — the client engine with many open orders (issue 7): per-input cost
 * and memory with 20,000 open orders, against a baseline of 1,000 orders measured in the same
 * run. The figures go to stdout as markdown; docs/benchmarks.md records them.
 *
 * Each order has sent its QUOTATION and received a PROCESSING (ServerProcessing, an offer
 * deadline pending), spread over 10 servers. Inputs measured:
 * - a retransmitted PROCESSING (decode, lookup by Transaction-ID, Table 5, duplicate answer);
 * - an OFFER moving an order to OfferReceived (a full state change, stored and re-indexed);
 * - tick() and nextDue() with nothing due.
 */
import { SimulatedClock } from '../lib/cpnp/clock';
import { encodeMessage } from '../lib/cpnp/codec';
import type { Cpd } from '../lib/cpnp/cpd/types';
import { millisToDateTime } from '../lib/cpnp/date-time';
import { Method } from '../lib/cpnp/method';
import type { CpnpMessage } from '../lib/cpnp/message';
import { seededRandom } from '../lib/cpnp/random';
import type { Endpoint } from '../lib/cpnp/transport/transport';
import { ClientEngine } from '../lib/cpnp/engine/client-engine';

const T0 = Date.UTC(2026, 0, 1);
const CLIENT: Endpoint = { address: '192.0.2.1', port: 40000 };
const SERVERS: Endpoint[] = Array.from({ length: 10 }, (_, i) => ({ address: `198.51.100.${i + 1}`, port: 4785 }));
const CPD: Cpd = [{ nodes: [{ id: 'ce-a', link: 'pe1:ge-0/0/1' }], scope: { reach: 'global', model: '1:any' } }];

interface Fixture {
  engine: ClientEngine;
  clock: SimulatedClock;
  ids: string[];
  /** The PROCESSING each order received (for retransmitted copies) and the OFFER to deliver. */
  processing: Uint8Array[];
  offers: Uint8Array[];
  servers: Endpoint[];
}

function reply(txid: string, customerOrderId: string, seq: number, body: Record<string, unknown>): Uint8Array {
  return encodeMessage({ version: 1, seq, txid, customerOrderId, ...body } as CpnpMessage);
}

function fixture(count: number): Fixture {
  const clock = new SimulatedClock(T0);
  const engine = new ClientEngine({ clock, random: seededRandom(count), localEndpoint: CLIENT, config: { historyLimit: 20 } });
  const ids: string[] = [];
  const processing: Uint8Array[] = [];
  const offers: Uint8Array[] = [];
  const servers: Endpoint[] = [];
  const deadline = millisToDateTime(T0 + 3_600_000);
  for (let i = 0; i < count; i++) {
    const server = SERVERS[i % SERVERS.length] as Endpoint;
    const id = `C-${i.toString(16).padStart(8, '0')}`;
    const created = engine.createOrder({ cpd: CPD, server, customerOrderId: id, expectedResponseTime: deadline });
    if (!created.ok) throw new Error(created.reason);
    engine.approve(id);
    engine.sendQuotation(id);
    const txid = engine.order(id)?.session?.txid ?? '';
    const p = reply(txid, id, 100, { method: Method.PROCESSING, providerOrderId: `P-${i}`, expectedOfferTime: millisToDateTime(T0 + 1_800_000) });
    engine.receive({ from: server, to: CLIENT, bytes: p });
    ids.push(id);
    processing.push(p);
    offers.push(
      reply(txid, id, 101, {
        method: Method.OFFER,
        providerOrderId: `P-${i}`,
        nonce: '11111111111111111111111111111111',
        validityOfferTime: millisToDateTime(T0 + 7_200_000),
        cpd: CPD,
      }),
    );
    servers.push(server);
  }
  if (engine.state(ids[0] as string) !== 'ServerProcessing') throw new Error(`fixture: ${engine.state(ids[0] as string)}`);
  return { engine, clock, ids, processing, offers, servers };
}

function timeUs(ops: number, fn: (i: number) => void): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) fn(i);
  return Number(process.hrtime.bigint() - start) / 1000 / ops;
}

interface Row {
  orders: number;
  duplicateUs: number;
  offerUs: number;
  tickUs: number;
  nextDueUs: number;
  heapMb: number;
  bytesPerOrder: number;
  recordJsonBytes: number;
}

function measure(count: number): Row {
  globalThis.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const f = fixture(count);
  globalThis.gc?.();
  const heap = process.memoryUsage().heapUsed - heapBefore;
  const { engine } = f;
  // Warm-up, then the measured inputs (the clock moves 1 ms per input, as real time would).
  const copies = 20_000;
  let n = 0;
  const dup = (i: number): void => {
    const k = (i * 7919) % count;
    f.clock.advance(1);
    engine.receive({ from: f.servers[k] as Endpoint, to: CLIENT, bytes: f.processing[k] as Uint8Array });
    n++;
  };
  timeUs(2000, dup);
  const duplicateUs = timeUs(copies, dup);
  const offerOps = 1000; // the same number at every size (each order takes one OFFER)
  const offerUs = timeUs(offerOps, (i) => {
    const k = (i * 7919) % count;
    engine.receive({ from: f.servers[k] as Endpoint, to: CLIENT, bytes: f.offers[k] as Uint8Array });
  });
  const tickUs = timeUs(100_000, () => engine.tick());
  const nextDueUs = timeUs(100_000, () => engine.nextDue());
  const record = engine.order(f.ids[0] as string);
  if (n === 0 || record?.fsm.state !== 'OfferReceived') throw new Error('the measured inputs did not run');
  return {
    orders: count,
    duplicateUs,
    offerUs,
    tickUs,
    nextDueUs,
    heapMb: heap / 1e6,
    bytesPerOrder: heap / count,
    recordJsonBytes: JSON.stringify(record).length,
  };
}

measure(1000); // warm-up for the JIT, discarded
const rows = [measure(1000), measure(20_000)];
const fmt = (x: number, digits = 2) => x.toFixed(digits);
console.log(`node ${process.version}, ${process.platform}/${process.arch}, ${new Date().toISOString().slice(0, 10)}\n`);
console.log('| open orders | retransmitted PROCESSING µs/input | OFFER (state change) µs/input | tick() µs | nextDue() µs | heap MB | heap bytes/order | one order record, JSON bytes |');
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(
    `| ${r.orders.toLocaleString('en')} | ${fmt(r.duplicateUs)} | ${fmt(r.offerUs)} | ${fmt(r.tickUs, 3)} | ${fmt(r.nextDueUs, 3)} | ${fmt(r.heapMb, 1)} | ${Math.round(r.bytesPerOrder)} | ${r.recordJsonBytes} |`,
  );
}
const [base, big] = rows as [Row, Row];
console.log(`\nper-input cost at 20,000 orders relative to 1,000: retransmitted PROCESSING ×${fmt(big.duplicateUs / base.duplicateUs)}, OFFER ×${fmt(big.offerUs / base.offerUs)}`);
