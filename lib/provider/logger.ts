import type { Clock } from '../cpnp/clock';
import type { EngineEvent } from '../cpnp/engine/output';
import type { Endpoint } from '../cpnp/transport/transport';

/**
 * Structured logs of the reference Provider: one JSON object per line. RFC 8921 12.1 asks a CPNP
 * server to "log the CPNP client address, event, and timestamp"; every line has `ts` (ISO 8601
 * UTC) and `event`, and every line about a peer has `client` ("address:port", IPv6 in brackets).
 * Engine events (docs/server-engine.md section 1) keep their fields: order, from, to, cause,
 * method, txid, seq, detail.
 */

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type LogFields = Record<string, unknown>;

export interface Logger {
  readonly level: LogLevel;
  log(level: LogLevel, event: string, fields?: LogFields): void;
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

export interface JsonLoggerOptions {
  level?: LogLevel;
  /** Where each line goes (default: process.stdout). The text ends with a newline. */
  write?: (line: string) => void;
  clock?: Clock;
  /** Also receives every record that passes the level, as an object (tests, admin views). */
  onRecord?: (record: LogFields) => void;
}

export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

/** "address:port", with IPv6 addresses in brackets. */
export function formatEndpoint(endpoint: Endpoint): string {
  return endpoint.address.includes(':') ? `[${endpoint.address}]:${endpoint.port}` : `${endpoint.address}:${endpoint.port}`;
}

/** Errors become their message: a log line must stay one line of JSON. */
function jsonReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return value.message;
  if (typeof value === 'bigint') return value.toString();
  return value;
}

export function createJsonLogger(options: JsonLoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  const threshold = LOG_LEVELS.indexOf(level);
  const write = options.write ?? ((line: string) => void process.stdout.write(line));
  const now = (): number => options.clock?.now() ?? Date.now();
  const log = (at: LogLevel, event: string, fields: LogFields = {}): void => {
    if (LOG_LEVELS.indexOf(at) < threshold) return;
    const record: LogFields = { ts: new Date(now()).toISOString(), level: at, event, ...fields };
    options.onRecord?.(record);
    try {
      write(`${JSON.stringify(record, jsonReplacer)}\n`);
    } catch {
      // A broken log sink must not stop the server.
    }
  };
  return {
    level,
    log,
    debug: (event, fields) => log('debug', event, fields),
    info: (event, fields) => log('info', event, fields),
    warn: (event, fields) => log('warn', event, fields),
    error: (event, fields) => log('error', event, fields),
  };
}

/** A logger that drops everything (tests that do not look at logs). */
export const silentLogger: Logger = createJsonLogger({ level: 'error', write: () => undefined });

/** The level an engine event is logged at. */
export function engineEventLevel(event: EngineEvent): LogLevel {
  switch (event.kind) {
    case 'error':
    case 'send-error':
      return 'error';
    case 'alarm':
    case 'command-rejected':
      return 'warn';
    case 'timer':
    case 'info':
      // A scheduled activation firing is a state change worth seeing at the default level.
      return event.from !== undefined && event.to !== undefined && event.from !== event.to ? 'info' : 'debug';
    default:
      return 'info';
  }
}

/** The fields of an engine event in a log line (event = the event kind). */
export function engineEventFields(event: EngineEvent): LogFields {
  return {
    ...(event.peer === undefined ? {} : { client: formatEndpoint(event.peer) }),
    ...(event.orderId === undefined ? {} : { order: event.orderId }),
    ...(event.from === undefined ? {} : { from: event.from }),
    ...(event.to === undefined ? {} : { to: event.to }),
    cause: event.cause,
    ...(event.method === undefined ? {} : { method: event.method }),
    ...(event.txid === undefined ? {} : { txid: event.txid }),
    ...(event.seq === undefined ? {} : { seq: event.seq }),
    ...(event.detail === undefined ? {} : { detail: event.detail }),
    at: new Date(event.at).toISOString(),
  };
}

export function logEngineEvent(logger: Logger, event: EngineEvent): void {
  const level = engineEventLevel(event);
  // Below the threshold the line is dropped anyway: do not build its fields (hot path, issue 8).
  if (LOG_LEVELS.indexOf(level) < LOG_LEVELS.indexOf(logger.level)) return;
  logger.log(level, event.kind, engineEventFields(event));
}
