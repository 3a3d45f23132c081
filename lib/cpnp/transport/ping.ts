import type { Clock } from '../clock';
import { decodeMessage, encodeMessage } from '../codec';
import { fromHex, toHex } from '../hex';
import { Method } from '../method';
import type { CancelMessage, CpnpMessage, Hex16 } from '../message';
import { newTransactionId, randomInitialSequence, type RandomSource } from '../random';
import { STATUS_CODE_DESCRIPTIONS, type StatusCodeValue } from '../status-code';
import type { DtlsConnector, Scheduler } from './dtls-client';
import { PSK_MAX_KEY_BYTES, PSK_MIN_KEY_BYTES, PskTable, PskTableError } from './psk';
import type { Endpoint, MessageTransport } from './transport';

/**
 * `cpnp ping`: checks that a CPNP server is reachable and answers, and measures round trips,
 * without touching any order.
 *
 * The probe is a CANCEL (9.2.7) for a Customer Order Identifier nobody ever used, in a fresh
 * random transaction. No order matches, so the server refuses it with FAIL (status 1, Message
 * Validation Error: Table 6, 9.2.7 "the server ... checks whether an order matching the request
 * is found"). That FAIL is the pong. The server changes nothing, and the probe reveals nothing
 * about real orders. Servers rate-limit such FAILs per client (9.2.5; the engine allows a burst
 * of 10, then one per second), so a ping should not probe faster than once a second.
 *
 * Time and timers are injected; this module reads no clock and arms no timer of its own.
 */

/** A probe: a CANCEL no order can match. */
export function pingRequest(random: RandomSource): CancelMessage {
  return {
    version: 1,
    method: Method.CANCEL,
    seq: randomInitialSequence(random),
    txid: newTransactionId(random),
    // 1..64 bytes (wire-format.md key 5): "ping-" and 24 random hex digits.
    customerOrderId: `ping-${toHex(random.bytes(12))}`,
  };
}

/** The server's answer to `request`: a FAIL in the same transaction for the same order id. */
export function isPong(request: CancelMessage, message: CpnpMessage): boolean {
  return message.method === Method.FAIL && message.txid.toLowerCase() === request.txid.toLowerCase() && message.customerOrderId === request.customerOrderId;
}

export interface PingExchange {
  /** 1-based number of the exchange. */
  index: number;
  txid: Hex16;
  /** Round-trip time (ms) from the moment the probe was written to the pong, when answered. */
  rttMs?: number;
  /** The pong's status code (1 = no such order, the expected answer). */
  statusCode?: StatusCodeValue;
  /** Why there is no pong (timeout). */
  lost?: string;
}

export interface PingReport {
  exchanges: PingExchange[];
  answered: number;
  lost: number;
  rtt?: { min: number; avg: number; max: number };
}

/** A probe could not be sent at all (e.g. the DTLS handshake failed): the run stops. */
export class PingSendError extends Error {
  override readonly name = 'PingSendError';
  constructor(
    readonly index: number,
    cause: Error,
  ) {
    super(cause.message, { cause });
  }
}

export interface PingOptions {
  transport: MessageTransport;
  server: Endpoint;
  /** Exchanges to perform (>= 1). */
  count: number;
  /** Gap between the starts of two exchanges. */
  intervalMs: number;
  /** How long to wait for each pong. */
  timeoutMs: number;
  /** A clock with sub-millisecond resolution gives meaningful loopback round trips. */
  clock: Clock;
  random: RandomSource;
  scheduler: Scheduler;
  /** Called after each exchange (answered or lost), for live output. */
  onExchange?: (exchange: PingExchange) => void;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * Performs `count` exchanges, one after the other. Resolves with the report (lost pongs are
 * part of it); rejects with PingSendError when a probe cannot be sent.
 */
export async function ping(options: PingOptions): Promise<PingReport> {
  const { transport, server, clock, scheduler } = options;
  if (!Number.isInteger(options.count) || options.count < 1) throw new RangeError('count must be a positive integer');
  if (!(options.timeoutMs > 0)) throw new RangeError('timeoutMs must be positive');
  if (!(options.intervalMs >= 0)) throw new RangeError('intervalMs must be non-negative');
  const pause = (ms: number): Promise<void> => new Promise((resolve) => scheduler.setTimeout(resolve, Math.max(0, ms)));
  const exchanges: PingExchange[] = [];
  for (let index = 1; index <= options.count; index++) {
    const startedAt = clock.now();
    const request = pingRequest(options.random);
    const exchange: PingExchange = { index, txid: request.txid };
    // Listen before sending, so that even an immediate pong is seen.
    let settle: (answer: { at: number; statusCode: StatusCodeValue } | undefined) => void = () => undefined;
    const pong = new Promise<{ at: number; statusCode: StatusCodeValue } | undefined>((resolve) => {
      settle = resolve;
    });
    const off = transport.onMessage((inbound) => {
      const decoded = decodeMessage(inbound.bytes);
      if (!decoded.ok || decoded.message.method !== Method.FAIL || !isPong(request, decoded.message)) return;
      settle({ at: clock.now(), statusCode: decoded.message.statusCode });
    });
    let sentAt: number;
    try {
      await transport.send(server, encodeMessage(request));
      sentAt = clock.now();
    } catch (error) {
      off();
      throw new PingSendError(index, asError(error));
    }
    // The first send may include the DTLS handshake: the wait and the round trip start once the
    // probe is out.
    const timer = scheduler.setTimeout(() => settle(undefined), options.timeoutMs);
    const answer = await pong;
    scheduler.clearTimeout(timer);
    off();
    if (answer === undefined) {
      exchange.lost = `no pong within ${options.timeoutMs} ms`;
    } else {
      exchange.rttMs = Math.max(0, answer.at - sentAt);
      exchange.statusCode = answer.statusCode;
    }
    exchanges.push(exchange);
    options.onExchange?.(exchange);
    if (index < options.count) await pause(options.intervalMs - (clock.now() - startedAt));
  }
  return summarize(exchanges);
}

export function summarize(exchanges: PingExchange[]): PingReport {
  const rtts = exchanges.flatMap((e) => (e.rttMs === undefined ? [] : [e.rttMs]));
  const report: PingReport = { exchanges, answered: rtts.length, lost: exchanges.length - rtts.length };
  if (rtts.length > 0) {
    report.rtt = { min: Math.min(...rtts), avg: rtts.reduce((a, b) => a + b, 0) / rtts.length, max: Math.max(...rtts) };
  }
  return report;
}

/** "FAIL 1 (Message Validation Error)" for humans. */
export function describePong(statusCode: StatusCodeValue): string {
  const text = STATUS_CODE_DESCRIPTIONS[statusCode].split(':')[0];
  return `FAIL ${statusCode} (${text})`;
}

/**
 * Wraps a DTLS connector to time each handshake attempt: `onEstablished(ms)` once the
 * association is up, `onFailed(ms, error)` when the attempt fails.
 */
export function timedConnector(
  inner: DtlsConnector,
  clock: Clock,
  report: { onEstablished?: (ms: number) => void; onFailed?: (ms: number, error: Error) => void },
): DtlsConnector {
  return (request, events) => {
    const started = clock.now();
    const attempt = inner(request, events);
    attempt.established.then(
      () => report.onEstablished?.(clock.now() - started),
      (error: unknown) => report.onFailed?.(clock.now() - started, asError(error)),
    );
    return attempt;
  };
}

/** Why a PSK file cannot be used. */
export class PskFileError extends Error {
  override readonly name = 'PskFileError';
}

/**
 * The key for `identity` from the text of a PSK file: either the key as hex (whitespace is
 * ignored) or the JSON PSK table of psk.ts ({"identities": [...]}), from which the entry of
 * `identity` is taken. Keys must be 16..512 bytes, as in the server's table.
 */
export function pskFromText(text: string, identity: string): Uint8Array {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let table: PskTable;
    try {
      table = PskTable.parse(trimmed);
    } catch (error) {
      if (error instanceof PskTableError) throw new PskFileError(`not a valid PSK table: ${error.message}`);
      throw error;
    }
    const key = table.keyFor(identity);
    if (key === undefined) throw new PskFileError(`the PSK table has no entry for identity "${identity}"`);
    return key;
  }
  const hex = trimmed.replace(/\s+/g, '');
  if (hex.length === 0) throw new PskFileError('the file is empty');
  if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length % 2 !== 0) throw new PskFileError('expected the key as an even number of hex digits, or a JSON PSK table');
  const bytes = hex.length / 2;
  if (bytes < PSK_MIN_KEY_BYTES || bytes > PSK_MAX_KEY_BYTES) {
    throw new PskFileError(`the key must be ${PSK_MIN_KEY_BYTES} to ${PSK_MAX_KEY_BYTES} bytes, got ${bytes}`);
  }
  const key = fromHex(hex);
  if (key === undefined) throw new PskFileError('expected the key as an even number of hex digits');
  return key;
}

/**
 * "host:port", "[v6]:port" → Endpoint; undefined when malformed. A bare IPv6 address needs the
 * brackets (its colons would be ambiguous).
 */
export function parseServer(text: string): Endpoint | undefined {
  const bracketed = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text);
  const plain = /^([^:[\]]+):(\d{1,5})$/.exec(text);
  const match = bracketed ?? plain;
  if (!match?.[1] || !match[2]) return undefined;
  const port = Number(match[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { address: match[1], port };
}
