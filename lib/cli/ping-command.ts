import { readFile } from 'node:fs/promises';
import type { Clock } from '../cpnp/clock';
import { cryptoRandom } from '../cpnp/random';
import { DtlsClientTransport, nodeDtlsConnector, realScheduler, type DtlsRetryPolicy } from '../cpnp/transport/dtls-client';
import { isLoopbackAddress, udpFamilyOf } from '../cpnp/transport/loopback';
import {
  describePong,
  parseServer,
  ping,
  PingSendError,
  PskFileError,
  pskFromText,
  timedConnector,
  type PingExchange,
  type PingReport,
} from '../cpnp/transport/ping';
import type { Endpoint, MessageTransport } from '../cpnp/transport/transport';
import { UdpTransport } from '../cpnp/transport/udp';
import { EXIT_OK, EXIT_USAGE, type CliIo } from './io';

/** The server could not be reached or did not answer: handshake failure, wrong PSK, timeout. */
export const EXIT_UNREACHABLE = 3;

export const PING_USAGE = `usage: cpnp ping --server HOST:PORT [--transport dtls|udp]
                 [--psk-identity ID --psk-file FILE] [--count N] [--interval-ms MS] [--timeout-ms MS]

Checks that a CPNP server answers, and prints the DTLS handshake time and the round-trip time
of each exchange. Each probe is a CANCEL for a random Customer Order Identifier in a fresh
random transaction: no order can match it, so the server answers FAIL 1 (Message Validation
Error) and changes nothing. That FAIL is the pong.

  --server HOST:PORT     the server (IPv6: [addr]:port)
  --transport dtls|udp   dtls (default), or plain udp for loopback tests only (RFC 8921 section 13)
  --psk-identity ID      the PSK identity (dtls)
  --psk-file FILE        the key as hex, or a JSON PSK table ({"identities": [...]}) holding ID
  --count N              probes to send (default 3)
  --interval-ms MS       gap between probes (default 1000; servers rate-limit FAILs to about 1/s)
  --timeout-ms MS        wait for the handshake and for each pong (default 5000)

exit status: 0 every probe answered, 1 usage error (bad option, unreadable or invalid PSK file),
3 unreachable (handshake failed, wrong PSK, unknown identity, a probe got no pong in time)
`;

interface PingArgs {
  server: Endpoint;
  serverText: string;
  transport: 'dtls' | 'udp';
  identity?: string;
  pskFile?: string;
  count: number;
  intervalMs: number;
  timeoutMs: number;
}

/** A clock with sub-millisecond resolution (milliseconds since the epoch, fractional). */
const preciseClock: Clock = { now: () => performance.timeOrigin + performance.now() };

function integerOption(name: string, value: string | undefined, min: number, max: number): number | string {
  if (value === undefined || !/^\d+$/.test(value)) return `${name} needs an integer`;
  const n = Number(value);
  if (n < min || n > max) return `${name} must be between ${min} and ${max}`;
  return n;
}

function parseArgs(args: string[]): PingArgs | 'help' | string {
  let serverText: string | undefined;
  let transport: 'dtls' | 'udp' = 'dtls';
  let identity: string | undefined;
  let pskFile: string | undefined;
  let count = 3;
  let intervalMs = 1000;
  let timeoutMs = 5000;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const value = (): string | undefined => args[++i];
    switch (arg) {
      case '--help':
      case '-h':
        return 'help';
      case '--server':
        serverText = value();
        break;
      case '--transport': {
        const v = value();
        if (v !== 'dtls' && v !== 'udp') return '--transport must be dtls or udp';
        transport = v;
        break;
      }
      case '--psk-identity':
        identity = value();
        if (identity === undefined || identity === '') return '--psk-identity needs a value';
        break;
      case '--psk-file':
        pskFile = value();
        if (pskFile === undefined || pskFile === '') return '--psk-file needs a value';
        break;
      case '--count': {
        const n = integerOption('--count', value(), 1, 1_000_000);
        if (typeof n === 'string') return n;
        count = n;
        break;
      }
      case '--interval-ms': {
        const n = integerOption('--interval-ms', value(), 0, 3_600_000);
        if (typeof n === 'string') return n;
        intervalMs = n;
        break;
      }
      case '--timeout-ms': {
        const n = integerOption('--timeout-ms', value(), 1, 600_000);
        if (typeof n === 'string') return n;
        timeoutMs = n;
        break;
      }
      default:
        return `unknown argument ${String(arg)}`;
    }
  }
  if (serverText === undefined) return '--server HOST:PORT is required';
  const server = parseServer(serverText);
  if (server === undefined) return `--server: expected HOST:PORT (IPv6: [addr]:port), got "${serverText}"`;
  if (transport === 'dtls' && (identity === undefined || pskFile === undefined)) return 'dtls needs --psk-identity and --psk-file';
  if (transport === 'udp' && !isLoopbackAddress(server.address)) {
    return '--transport udp works on loopback addresses only (RFC 8921 section 13 requires DTLS or TLS on a network)';
  }
  return {
    server,
    serverText,
    transport,
    count,
    intervalMs,
    timeoutMs,
    ...(identity === undefined ? {} : { identity }),
    ...(pskFile === undefined ? {} : { pskFile }),
  };
}

/**
 * The handshake budget is --timeout-ms: one attempt, or two when there is room for them
 * (node-dtls-client never retransmits a flight, so a second attempt rescues a lost datagram).
 */
function retryWithin(timeoutMs: number): DtlsRetryPolicy {
  if (timeoutMs < 2000) return { attempts: 1, attemptTimeoutMs: timeoutMs, backoffMs: [0] };
  const backoff = 200;
  return { attempts: 2, attemptTimeoutMs: Math.floor((timeoutMs - backoff) / 2), backoffMs: [backoff] };
}

const ms = (value: number): string => `${value.toFixed(value < 10 ? 2 : 1)} ms`;
const oneLine = (text: string): string => text.replace(/\s*\n\s*/g, ' ');

/**
 * `cpnp ping`: see PING_USAGE. Output goes to stdout; a failure is one line on stderr.
 */
export async function pingCommand(args: string[], io: CliIo): Promise<number> {
  const parsed = parseArgs(args);
  if (parsed === 'help') {
    io.stdout(PING_USAGE);
    return EXIT_OK;
  }
  if (typeof parsed === 'string') {
    io.stderr(`cpnp ping: ${parsed}\n${PING_USAGE}`);
    return EXIT_USAGE;
  }
  const options = parsed;

  let key: Uint8Array | undefined;
  if (options.transport === 'dtls' && options.pskFile !== undefined && options.identity !== undefined) {
    try {
      key = pskFromText(await readFile(options.pskFile, 'utf8'), options.identity);
    } catch (error) {
      const detail = error instanceof PskFileError ? error.message : error instanceof Error ? error.message : String(error);
      io.stderr(`cpnp ping: --psk-file ${options.pskFile}: ${oneLine(detail)}\n`);
      return EXIT_USAGE;
    }
  }

  let transport: MessageTransport;
  let header: string;
  if (options.transport === 'dtls' && key !== undefined && options.identity !== undefined) {
    let attempt = 0;
    transport = new DtlsClientTransport({
      psk: { identity: options.identity, key },
      retry: retryWithin(options.timeoutMs),
      logger: { warn: () => undefined },
      connector: timedConnector(nodeDtlsConnector, preciseClock, {
        onEstablished: (took) => {
          attempt++;
          io.stdout(`${attempt === 1 ? 'handshake' : 're-handshake'}: ${ms(took)}\n`);
        },
      }),
    });
    header = `over DTLS 1.2, PSK identity "${options.identity}"`;
  } else {
    const family = udpFamilyOf(options.server.address);
    try {
      transport = await UdpTransport.bind({ host: family === 'udp6' ? '::1' : '127.0.0.1', port: 0, logger: { warn: () => undefined } });
    } catch (error) {
      io.stderr(`cpnp ping: cannot open a UDP socket: ${oneLine(error instanceof Error ? error.message : String(error))}\n`);
      return EXIT_UNREACHABLE;
    }
    header = 'over plain UDP (unauthenticated, loopback only)';
  }

  io.stdout(`PING ${options.serverText} ${header}: CANCEL of an unknown order, pong = FAIL\n`);
  let report: PingReport;
  try {
    report = await ping({
      transport,
      server: options.server,
      count: options.count,
      intervalMs: options.intervalMs,
      timeoutMs: options.timeoutMs,
      clock: preciseClock,
      random: cryptoRandom,
      scheduler: realScheduler,
      onExchange: (e: PingExchange) => {
        io.stdout(
          e.rttMs !== undefined && e.statusCode !== undefined
            ? `pong ${e.index}: ${describePong(e.statusCode)} in ${ms(e.rttMs)}\n`
            : `probe ${e.index}: ${e.lost ?? 'no pong'}\n`,
        );
      },
    });
  } catch (error) {
    const detail = error instanceof PingSendError || error instanceof Error ? error.message : String(error);
    io.stderr(`cpnp ping: ${options.serverText}: ${oneLine(detail)}\n`);
    return EXIT_UNREACHABLE;
  } finally {
    await transport.close().catch(() => undefined);
  }

  const rtt = report.rtt === undefined ? '' : `; rtt min/avg/max = ${report.rtt.min.toFixed(2)}/${report.rtt.avg.toFixed(2)}/${report.rtt.max.toFixed(2)} ms`;
  io.stdout(`--- ${options.serverText}: ${report.exchanges.length} probes, ${report.answered} pongs, ${report.lost} lost${rtt}\n`);
  if (report.lost > 0) {
    io.stderr(`cpnp ping: ${options.serverText}: ${report.lost} of ${report.exchanges.length} probes got no pong within ${options.timeoutMs} ms\n`);
    return EXIT_UNREACHABLE;
  }
  return EXIT_OK;
}
