import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { basename, dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { PskTable, PskTableError } from '../cpnp/transport/psk';
import { isLoopbackAddress, unbracket } from '../cpnp/transport/loopback';
import { DatabaseUrlError, parseDatabaseUrl } from '../db/url';
import { isLogLevel, type LogLevel } from './logger';
import { loadPolicy, parseDuration, PolicyError, type Policy } from './policy';

/**
 * The runtime configuration of `cpnp provider` (docs/provider-server.md): the command line and
 * the policy file become one checked ProviderConfig, with defaults for everything optional.
 * Every bad value gives a ConfigError naming the option and what was expected, one line per
 * problem; the command exits with status 2 on it. Options that do not exist, or lack their
 * value, are usage errors (status 1).
 *
 * Reading is allowed here (the policy, the PSK table, the certificate files must be usable);
 * nothing is written: `--init-psk` only records that a missing PSK file may be created at start.
 */

/** CPNP_PORT: RFC 8921 names it but IANA assigned nothing; the project uses 8921 (transports.md). */
export const DEFAULT_CPNP_PORT = 8921;

export type ProviderTransportKind = 'dtls' | 'udp' | 'tls';

export interface ListenAddress {
  host: string;
  port: number;
}

export interface ProviderConfig {
  /** The policy file, absolute. */
  policyFile: string;
  policy: Policy;
  /** The policy file's name without its extension: names the default files (data/<name>.db...). */
  name: string;
  transport: ProviderTransportKind;
  listen: ListenAddress;
  /** A SQLite path (absolute) or a postgresql:// URL. */
  database: string;
  /** The SQLite file, when the database is one. */
  databaseFile?: string;
  /** PSK identities (dtls): the file, and its table when it exists. */
  pskFile?: string;
  psk?: PskTable;
  /** Create `pskFile` with one identity when it does not exist (first-run convenience). */
  initPsk: boolean;
  tls?: { certFile: string; keyFile: string; caFile: string };
  /** The admin HTTP endpoint; undefined when disabled (`--admin off`). Port 0 = any free port. */
  admin?: ListenAddress;
  /** Where the admin endpoint's URL and bearer token are written at start-up (mode 0600). */
  adminFile: string;
  logLevel: LogLevel;
  /** Address ACL (CIDR): a QUOTATION, UPDATE, WITHDRAW or ACTIVATE from elsewhere gets FAIL 4. */
  acl: { allow: string[]; deny: string[] };
  /** RETRANS_TIMER and the maximum retry threshold (RFC 8921 8.5, 11.4). */
  timers: { retransTimerMs: number; maxRetries: number };
}

/** A bad configuration value; `exitCode` 2. The message is one line per problem. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly exitCode = 2;
}

/** An unknown option or an option without its value; `exitCode` 1. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly exitCode = 1;
}

const TRANSPORTS: readonly ProviderTransportKind[] = ['dtls', 'udp', 'tls'];

/** Parses "HOST:PORT", "[IPV6]:PORT", ":PORT" or "PORT"; `localhost` means 127.0.0.1. */
export function parseListen(option: string, text: string, defaultHost: string, defaultPort: number): ListenAddress {
  const bad = (why: string): ConfigError => new ConfigError(`${option} ${JSON.stringify(text)}: ${why}`);
  let host = defaultHost;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (bracketed) {
    host = bracketed[1] ?? '';
    portText = bracketed[2];
  } else if (/^\d+$/.test(text)) {
    portText = text;
  } else {
    const colons = text.split(':').length - 1;
    if (colons === 0) host = text;
    else if (colons === 1) {
      const [h = '', p = ''] = text.split(':');
      if (h !== '') host = h;
      portText = p;
    } else {
      throw bad('write IPv6 addresses in brackets, e.g. [::1]:8921');
    }
  }
  if (host === 'localhost') host = '127.0.0.1';
  if (isIP(host) === 0) throw bad(`expected an IP address as the host, got ${JSON.stringify(host)}`);
  let port = defaultPort;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) throw bad('expected a port between 0 and 65535');
    port = Number(portText);
  }
  return { host, port };
}

/** Checks a CIDR block ("10.0.0.0/8", "2001:db8::/32") or a bare address; returns it normalised. */
export function parseCidr(option: string, text: string): string {
  const [address = '', prefix, extra] = text.split('/');
  const family = isIP(unbracket(address));
  const bad = (why: string): ConfigError => new ConfigError(`${option} ${JSON.stringify(text)}: ${why}`);
  if (extra !== undefined || family === 0) throw bad('expected an address or a CIDR block such as 192.0.2.0/24 or 2001:db8::/32');
  const max = family === 4 ? 32 : 128;
  if (prefix === undefined) return `${unbracket(address)}/${max}`;
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max) throw bad(`expected a prefix length between 0 and ${max}`);
  return `${unbracket(address)}/${Number(prefix)}`;
}

/** A duration such as "2s", "500ms" or "1m30s"; a bare number is milliseconds. */
function parseMs(option: string, text: string): number {
  const ms = /^\d+$/.test(text) ? Number(text) : parseDuration(text);
  if (ms === undefined || ms <= 0) throw new ConfigError(`${option} ${JSON.stringify(text)}: expected a duration such as "2s" or "500ms"`);
  return ms;
}

function readable(option: string, file: string): void {
  try {
    accessSync(file, constants.R_OK);
  } catch {
    throw new ConfigError(`${option} ${file}: cannot be read (missing, or no permission)`);
  }
}

export interface ParseOptions {
  /** Relative paths resolve against it (default: process.cwd()). */
  cwd?: string;
}

/**
 * The configuration of `cpnp provider [options]`. Throws UsageError (unknown option, missing
 * value) or ConfigError (a bad value; the message has one line per problem).
 */
export function parseProviderArgs(args: readonly string[], options: ParseOptions = {}): ProviderConfig {
  const cwd = options.cwd ?? process.cwd();
  const values = new Map<string, string>();
  const lists = { allow: [] as string[], deny: [] as string[] };
  let initPsk = false;
  const valued = ['--config', '--listen', '--transport', '--db', '--psk-file', '--tls-cert', '--tls-key', '--tls-ca', '--admin', '--admin-file', '--log-level', '--retrans-timer', '--max-retries'];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    const value = (): string => {
      const v = inline ?? args[++i];
      if (v === undefined || (inline === undefined && v.startsWith('--'))) throw new UsageError(`${name} needs a value`);
      return v;
    };
    if (name === '--init-psk') {
      if (inline !== undefined) throw new UsageError('--init-psk takes no value');
      initPsk = true;
    } else if (name === '--allow' || name === '--deny') {
      lists[name === '--allow' ? 'allow' : 'deny'].push(value());
    } else if (valued.includes(name)) {
      if (values.has(name)) throw new UsageError(`${name} given twice`);
      values.set(name, value());
    } else {
      throw new UsageError(`unknown option ${JSON.stringify(arg)}`);
    }
  }

  const problems: string[] = [];
  const attempt = <T>(fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (error) {
      if (error instanceof ConfigError) {
        problems.push(error.message);
        return undefined;
      }
      throw error;
    }
  };
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(cwd, p));

  // The policy.
  const configText = values.get('--config');
  let policy: Policy | undefined;
  let policyFile = '';
  if (configText === undefined) problems.push('--config FILE is required: the provider policy (JSON or YAML, see docs/provider-policy.md)');
  else {
    policyFile = abs(configText);
    try {
      policy = loadPolicy(policyFile);
    } catch (error) {
      if (!(error instanceof PolicyError)) throw error;
      if (error.path === '') problems.push(`--config ${error.message.startsWith(policyFile) ? error.message : `${policyFile}: ${error.message}`}`);
      else for (const issue of error.issues) problems.push(`--config ${policyFile}: ${issue.path}: ${issue.message}`);
    }
  }
  const name = configText === undefined ? 'provider' : basename(policyFile, extname(policyFile)) || 'provider';

  // Transport and address.
  const transportText = values.get('--transport') ?? 'dtls';
  const transport = (TRANSPORTS as readonly string[]).includes(transportText) ? (transportText as ProviderTransportKind) : undefined;
  if (transport === undefined) problems.push(`--transport ${JSON.stringify(transportText)}: expected dtls, udp or tls`);
  const defaultHost = transport === 'udp' ? '127.0.0.1' : '0.0.0.0';
  const listen = attempt(() => parseListen('--listen', values.get('--listen') ?? `${defaultHost}:${DEFAULT_CPNP_PORT}`, defaultHost, DEFAULT_CPNP_PORT));
  if (transport === 'udp' && listen !== undefined && !isLoopbackAddress(listen.host)) {
    problems.push(
      `--listen ${listen.host}: plain UDP is only allowed on a loopback address (127.0.0.1, ::1), for development and ` +
        'conformance tests; use --transport dtls or tls on a network (RFC 8921 section 13)',
    );
  }

  // Database and the files kept next to it.
  const dbText = values.get('--db') ?? join('data', `${name}.db`);
  let database = '';
  let databaseFile: string | undefined;
  try {
    const target = parseDatabaseUrl(dbText, cwd);
    if (target.provider === 'sqlite') {
      if (target.file === ':memory:') problems.push('--db :memory:: a provider needs a database that outlives it (a file or a postgresql:// URL)');
      databaseFile = target.file;
      database = target.file;
    } else {
      database = target.url;
    }
  } catch (error) {
    if (!(error instanceof DatabaseUrlError)) throw error;
    problems.push(`--db ${JSON.stringify(dbText)}: ${error.message}`);
  }
  const stateDir = databaseFile !== undefined && databaseFile !== ':memory:' ? dirname(databaseFile) : abs('data');

  // PSK identities (dtls).
  let pskFile: string | undefined;
  let psk: PskTable | undefined;
  const pskText = values.get('--psk-file');
  if (transport === 'dtls') {
    pskFile = abs(pskText ?? join(stateDir, `${name}.psk.json`));
    if (existsSync(pskFile)) {
      try {
        psk = PskTable.parse(readFileSync(pskFile, 'utf8'));
        if (psk.size === 0 && !initPsk) problems.push(`--psk-file ${pskFile}: holds no identity, so no client could connect`);
      } catch (error) {
        if (error instanceof PskTableError) problems.push(`--psk-file ${pskFile}: ${[error.path, error.detail].filter(Boolean).join(': ')}`);
        else problems.push(`--psk-file ${pskFile}: cannot be read (${error instanceof Error ? error.message : String(error)})`);
      }
    } else if (pskText === undefined) {
      // First run with the default file: create it with one generated identity (as --init-psk
      // does). A random key that only this file holds lets no one in until an operator hands it
      // to a client; an explicitly named file that is missing stays an error (a typo must not
      // start a server with keys nobody has).
      initPsk = true;
    } else if (!initPsk) {
      problems.push(
        `--psk-file ${pskFile}: does not exist; write the PSK identities there (docs/dtls.md), or pass --init-psk to create it with one generated identity`,
      );
    }
  } else if (pskText !== undefined && transport !== undefined) {
    problems.push(`--psk-file: only used with --transport dtls (this is ${transport})`);
  } else if (initPsk && transport !== undefined) {
    problems.push(`--init-psk: only used with --transport dtls (this is ${transport})`);
  }

  // TLS certificates.
  let tls: ProviderConfig['tls'];
  const tlsFlags = ['--tls-cert', '--tls-key', '--tls-ca'] as const;
  if (transport === 'tls') {
    const missing = tlsFlags.filter((f) => !values.has(f));
    if (missing.length > 0) problems.push(`--transport tls needs ${missing.join(', ')} (the server certificate, its key, and the CA that signs client certificates)`);
    else {
      const [certFile, keyFile, caFile] = tlsFlags.map((f) => abs(values.get(f) ?? '')) as [string, string, string];
      for (const [flag, file] of [
        ['--tls-cert', certFile],
        ['--tls-key', keyFile],
        ['--tls-ca', caFile],
      ] as const) {
        attempt(() => readable(flag, file));
      }
      tls = { certFile, keyFile, caFile };
    }
  } else if (transport !== undefined) {
    for (const flag of tlsFlags) if (values.has(flag)) problems.push(`${flag}: only used with --transport tls (this is ${transport})`);
  }

  // Admin endpoint.
  const adminText = values.get('--admin') ?? '127.0.0.1:0';
  let admin: ListenAddress | undefined;
  if (adminText !== 'off') {
    admin = attempt(() => parseListen('--admin', adminText, '127.0.0.1', 0));
    if (admin !== undefined && !isLoopbackAddress(admin.host)) {
      problems.push(`--admin ${adminText}: the admin endpoint is plain HTTP and only listens on a loopback address (or "off")`);
      admin = undefined;
    }
  }
  const adminFile = abs(values.get('--admin-file') ?? (databaseFile !== undefined ? `${databaseFile}.admin.json` : join(stateDir, `${name}.admin.json`)));

  // Logging, ACL, timers.
  const logLevelText = values.get('--log-level') ?? 'info';
  if (!isLogLevel(logLevelText)) problems.push(`--log-level ${JSON.stringify(logLevelText)}: expected debug, info, warn or error`);
  const allow = lists.allow.map((c) => attempt(() => parseCidr('--allow', c))).filter((c): c is string => c !== undefined);
  const deny = lists.deny.map((c) => attempt(() => parseCidr('--deny', c))).filter((c): c is string => c !== undefined);
  const retransTimerMs = attempt(() => parseMs('--retrans-timer', values.get('--retrans-timer') ?? '2s'));
  const retriesText = values.get('--max-retries') ?? '3';
  if (!/^\d{1,2}$/.test(retriesText)) problems.push(`--max-retries ${JSON.stringify(retriesText)}: expected a whole number between 0 and 99`);

  if (problems.length > 0 || policy === undefined || transport === undefined || listen === undefined || retransTimerMs === undefined) {
    throw new ConfigError(problems.join('\n') || 'invalid configuration');
  }
  return {
    policyFile,
    policy,
    name,
    transport,
    listen,
    database,
    ...(databaseFile === undefined ? {} : { databaseFile }),
    ...(pskFile === undefined ? {} : { pskFile }),
    ...(psk === undefined ? {} : { psk }),
    initPsk,
    ...(tls === undefined ? {} : { tls }),
    ...(admin === undefined ? {} : { admin }),
    adminFile,
    logLevel: isLogLevel(logLevelText) ? logLevelText : 'info',
    acl: { allow, deny },
    timers: { retransTimerMs, maxRetries: Number(retriesText) },
  };
}

/** Where the admin file of a provider is, from the options `approve`, `reject` and `orders` take. */
export function adminFileFrom(values: { adminFile?: string; db?: string; config?: string }, cwd: string = process.cwd()): string {
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(cwd, p));
  if (values.adminFile !== undefined) return abs(values.adminFile);
  const name = values.config === undefined ? 'provider' : basename(values.config, extname(values.config)) || 'provider';
  const dbText = values.db ?? join('data', `${name}.db`);
  const target = parseDatabaseUrl(dbText, cwd);
  if (target.provider === 'sqlite') return `${target.file}.admin.json`;
  return abs(join('data', `${name}.admin.json`));
}
