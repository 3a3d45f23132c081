// Preloaded into the provider process by bench/provider-cycles.ts (node --import): event-loop
// delay and memory, measured inside the provider without touching its code. On SIGUSR2 it
// writes what it saw since the last signal to $BENCH_PROBE_FILE (JSON) and starts afresh.
// The delay is measured as the lateness of a 2 ms timer chain (how long a due timer waits).
// `cpuUs` is the process's CPU time so far (all threads, the SQLite writer included): the bench
// divides its growth by the cycles completed, a figure the machine's load moves much less than
// a rate. `wchar` is the bytes written so far (per cycle: what the database writes).
import { readFileSync, writeFileSync } from 'node:fs';

const file = process.env.BENCH_PROBE_FILE;
if (file) {
  const PERIOD = 2;
  let delays = [];
  let expected = performance.now() + PERIOD;
  const tick = () => {
    const now = performance.now();
    delays.push(Math.max(0, now - expected));
    if (delays.length > 1_000_000) delays = delays.slice(-500_000);
    expected = now + PERIOD;
    setTimeout(tick, PERIOD).unref();
  };
  setTimeout(tick, PERIOD).unref();
  let seq = 0;
  process.on('SIGUSR2', () => {
    const mem = process.memoryUsage();
    const cpu = process.cpuUsage();
    const sorted = delays.sort((a, b) => a - b);
    const at = (p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
    seq += 1;
    // Bytes the process passed to write()/pwrite() so far (Linux /proc/self/io `wchar`): with the
    // provider at `--log-level warn` that is SQLite (WAL appends and checkpoints), not UDP sends.
    let wchar = null;
    try {
      wchar = Number(/^wchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'))?.[1] ?? NaN);
    } catch {
      wchar = null;
    }
    writeFileSync(file, JSON.stringify({ seq, eld: { p50: at(50), p99: at(99), max: sorted[sorted.length - 1] ?? 0 }, rss: mem.rss, heapUsed: mem.heapUsed, cpuUs: cpu.user + cpu.system, wchar }));
    delays = [];
  });
}
