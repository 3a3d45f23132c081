/**
 * `npm run bench:dtls` — DTLS 1.2 PSK handshakes per second against our OpenSSL-based server,
 * one at a time, each followed by one CPNP message and its echo. Both ends run in this process
 * on loopback, so the figure includes the pure-JavaScript client's cost (the bottleneck).
 */
import { encodeMessage } from '../lib/cpnp/codec';
import { Method } from '../lib/cpnp/method';
import { DtlsClientTransport } from '../lib/cpnp/transport/dtls-client';
import { DtlsServer } from '../lib/cpnp/transport/dtls-server';
import { PskTable } from '../lib/cpnp/transport/psk';

const KEY = new Uint8Array(32).fill(7);
const DURATION_MS = Number(process.env.BENCH_MS ?? 5000);

const server = await DtlsServer.listen({ host: '127.0.0.1', port: 0, psk: PskTable.from([{ identity: 'bench', key: KEY, customer: 'bench' }]) });
server.onMessage((m) => void server.send(m.from, m.bytes));
const target = server.local();
const bytes = encodeMessage({
  version: 1,
  method: Method.CANCEL,
  seq: 1,
  txid: '00112233445566778899aabbccddeeff',
  customerOrderId: 'bench',
});

const latencies: number[] = [];
const rssBefore = process.memoryUsage().rss;
const start = performance.now();
while (performance.now() - start < DURATION_MS) {
  const t0 = performance.now();
  const client = new DtlsClientTransport({ psk: { identity: 'bench', key: KEY } });
  const echoed = new Promise<void>((resolve) => client.onMessage(() => resolve()));
  await client.send(target, bytes);
  await echoed;
  latencies.push(performance.now() - t0);
  await client.close();
}
const elapsed = performance.now() - start;
await server.close();
latencies.sort((a, b) => a - b);
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
console.log(`node ${process.version}, ${process.platform}/${process.arch}, ${DURATION_MS} ms\n`);
console.log('| measure | value |');
console.log('|---|---:|');
console.log(`| handshakes + echo per second (sequential) | ${((latencies.length / elapsed) * 1000).toFixed(0)} |`);
console.log(`| p50 handshake + echo | ${pct(50).toFixed(2)} ms |`);
console.log(`| p99 handshake + echo | ${pct(99).toFixed(2)} ms |`);
console.log(`| RSS growth over the run | ${((process.memoryUsage().rss - rssBefore) / 1e6).toFixed(1)} MB |`);
