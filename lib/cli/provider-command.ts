import { adminCall, readAdminFile, type AdminResult } from '../provider/admin-http';
import { adminFileFrom, ConfigError, parseProviderArgs, UsageError } from '../provider/config';
import { createJsonLogger } from '../provider/logger';
import { faultsFromSpec, startProvider, StartError, type OrderSummary } from '../provider/server';
import { EXIT_OK, EXIT_USAGE, type CliIo } from './io';

/** A configuration value is wrong (one line per problem on stderr). */
export const EXIT_CONFIG = 2;
/** The provider could not start, or (approve, reject, orders) could not be reached. */
export const EXIT_UNAVAILABLE = 3;
/** approve / reject: the provider refused (unknown order, nothing awaits a decision). */
export const EXIT_REFUSED = 4;

export const PROVIDER_USAGE = `usage: cpnp provider --config FILE [options]       run the reference Provider CPNP server
       cpnp provider orders [--json] [WHERE]          list the orders of a running provider
       cpnp provider approve ORDER [WHERE]            approve an order (or a held WITHDRAW / ACTIVATE)
       cpnp provider reject ORDER [--status N] [WHERE]  reject it (FAIL N, default 4)

Running (docs/provider-server.md):
  --config FILE            the policy, JSON or YAML (docs/provider-policy.md); required
  --listen HOST:PORT       where CPNP listens (default 0.0.0.0:8921; udp: 127.0.0.1:8921)
  --transport dtls|udp|tls dtls (default, PSK), tls (certificates), or udp (loopback only,
                           for development and conformance tests: RFC 8921 section 13)
  --db FILE_OR_URL         SQLite file or postgresql:// URL (default data/<policy name>.db);
                           migrations are applied at start-up
  --psk-file FILE          PSK identities, JSON (default data/<policy name>.psk.json)
  --init-psk               create the PSK file with one generated identity if it is missing
  --tls-cert F --tls-key F --tls-ca F   server certificate, key, and CA of client certificates
  --admin HOST:PORT|off    admin HTTP endpoint, loopback only (default 127.0.0.1:0, any port)
  --admin-file FILE        where its URL and token are written (default <db>.admin.json, 0600)
  --allow CIDR, --deny CIDR  address ACL (repeatable); other sources get FAIL 4
  --log-level L            debug, info (default), warn or error; JSON lines on stdout
  --retrans-timer DURATION RETRANS_TIMER (default 2s); --max-retries N (default 3)

WHERE (approve, reject, orders): --admin-file FILE, or the --db / --config the provider was
started with (the admin file is found next to its database).

exit status: 0 ok (the server stopped on SIGINT / SIGTERM), 1 usage error, 2 bad configuration
value (one line each), 3 could not start / provider not reachable, 4 request refused
`;

interface AdminArgs {
  orderId?: string;
  status?: number;
  json: boolean;
  adminFile: string;
}

function parseAdminArgs(sub: 'orders' | 'approve' | 'reject', args: readonly string[]): AdminArgs {
  const where: { adminFile?: string; db?: string; config?: string } = {};
  let orderId: string | undefined;
  let status: number | undefined;
  let json = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    const value = (): string => {
      const v = args[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${arg} needs a value`);
      return v;
    };
    if (arg === '--admin-file') where.adminFile = value();
    else if (arg === '--db') where.db = value();
    else if (arg === '--config') where.config = value();
    else if (arg === '--json' && sub === 'orders') json = true;
    else if (arg === '--status' && sub === 'reject') {
      const text = value();
      if (!/^\d+$/.test(text) || ![1, 2, 3, 4, 5, 6, 8].includes(Number(text))) {
        throw new ConfigError(`--status ${JSON.stringify(text)}: expected a FAIL status code of RFC 8921 Table 4 other than 7 (1-6, 8)`);
      }
      status = Number(text);
    } else if (!arg.startsWith('--') && sub !== 'orders' && orderId === undefined) orderId = arg;
    else throw new UsageError(`unknown option ${JSON.stringify(arg)}`);
  }
  if (sub !== 'orders' && orderId === undefined) throw new UsageError(`${sub} needs the order (its Provider Order Identifier, e.g. P-0123456789ab)`);
  let adminFile: string;
  try {
    adminFile = adminFileFrom(where);
  } catch (error) {
    throw new ConfigError(error instanceof Error ? error.message : String(error));
  }
  return { ...(orderId === undefined ? {} : { orderId }), ...(status === undefined ? {} : { status }), json, adminFile };
}

function table(orders: readonly OrderSummary[]): string {
  const rows = [
    ['ORDER', 'CUSTOMER ORDER', 'OWNER', 'STATE', 'ACTIVATION', 'AWAITING', 'LAST CHANGE'],
    ...orders.map((o) => [
      o.id,
      o.customerOrderId,
      o.owner ?? '-',
      o.cancelReason === undefined ? o.state : `${o.state}(${o.cancelReason})`,
      o.activation,
      o.awaiting ?? '-',
      o.lastChangeAt,
    ]),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return `${rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ')).join('\n')}\n`;
}

async function adminCommand(sub: 'orders' | 'approve' | 'reject', args: readonly string[], io: CliIo): Promise<number> {
  const parsed = parseAdminArgs(sub, args);
  let target;
  try {
    target = readAdminFile(parsed.adminFile);
  } catch (error) {
    io.stderr(`cpnp provider ${sub}: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT_UNAVAILABLE;
  }
  let response: { status: number; body: unknown };
  try {
    if (sub === 'orders') response = await adminCall(target, 'GET', '/v1/orders');
    else {
      const path = `/v1/orders/${encodeURIComponent(parsed.orderId ?? '')}/${sub}`;
      response = await adminCall(target, 'POST', path, sub === 'reject' && parsed.status !== undefined ? { statusCode: parsed.status } : {});
    }
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : error instanceof Error ? error.message : String(error);
    io.stderr(`cpnp provider ${sub}: the provider at ${target.url} cannot be reached (${cause}); is it running?\n`);
    return EXIT_UNAVAILABLE;
  }
  const body = response.body as { error?: string; orders?: OrderSummary[] } & Partial<AdminResult>;
  if (response.status === 401) {
    io.stderr(`cpnp provider ${sub}: the provider refused the admin token of ${parsed.adminFile} (stale file from an earlier run?)\n`);
    return EXIT_UNAVAILABLE;
  }
  if (response.status !== 200) {
    io.stderr(`cpnp provider ${sub}: ${body.error ?? `HTTP ${response.status}`}\n`);
    return EXIT_REFUSED;
  }
  if (sub === 'orders') {
    const orders = body.orders ?? [];
    io.stdout(parsed.json ? `${JSON.stringify(orders, null, 2)}\n` : table(orders));
    return EXIT_OK;
  }
  io.stdout(`${body.orderId ?? parsed.orderId ?? ''}: ${body.action ?? sub} (state ${body.state ?? '?'})\n`);
  return EXIT_OK;
}

export interface ProviderCommandDeps {
  /** Stops a running server (default: SIGINT or SIGTERM). */
  stop?: Promise<void>;
  env?: Record<string, string | undefined>;
}

async function runCommand(args: readonly string[], io: CliIo, deps: ProviderCommandDeps): Promise<number> {
  const config = parseProviderArgs(args);
  const env = deps.env ?? process.env;
  const faultSpec = env.CPNP_PROVIDER_FAULT;
  // Test-only fault injection (provider-restart.test.ts): SIGKILL at a precise point of the commit path.
  const faults = faultSpec === undefined || faultSpec === '' ? undefined : faultsFromSpec(faultSpec, () => process.kill(process.pid, 'SIGKILL'));
  if (faultSpec !== undefined && faultSpec !== '' && faults === undefined) throw new ConfigError(`CPNP_PROVIDER_FAULT ${JSON.stringify(faultSpec)}: expected POINT:in|out:METHOD`);
  const logger = createJsonLogger({ level: config.logLevel, write: io.stdout });
  let provider;
  try {
    provider = await startProvider(config, { logger, ...(faults === undefined ? {} : { faults }) });
  } catch (error) {
    if (error instanceof StartError) {
      io.stderr(`cpnp provider: ${error.message}\n`);
      return EXIT_UNAVAILABLE;
    }
    throw error;
  }
  const where = `${config.transport} ${provider.endpoint.address.includes(':') ? `[${provider.endpoint.address}]` : provider.endpoint.address}:${provider.endpoint.port}`;
  io.stderr(
    `cpnp provider: ${config.policy.provider.name} listening on ${where}` +
      `${provider.adminUrl === undefined ? '' : `; admin ${provider.adminUrl} (token in ${config.adminFile})`}` +
      `; database ${config.databaseFile ?? '(postgresql)'}\n`,
  );
  if (provider.createdIdentity !== undefined) {
    io.stderr(`cpnp provider: created ${config.pskFile ?? ''} with the PSK identity "${provider.createdIdentity}" (its key is in the file, mode 0600)\n`);
  }
  const stop =
    deps.stop ??
    new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
  await stop;
  await provider.close();
  return EXIT_OK;
}

/** `cpnp provider ...` */
export async function providerCommand(args: string[], io: CliIo, deps: ProviderCommandDeps = {}): Promise<number> {
  const [first, ...rest] = args;
  try {
    if (first === '--help' || first === '-h' || first === 'help') {
      io.stdout(PROVIDER_USAGE);
      return EXIT_OK;
    }
    if (first === 'orders' || first === 'approve' || first === 'reject') return await adminCommand(first, rest, io);
    return await runCommand(args, io, deps);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`cpnp provider: ${error.message}\n${PROVIDER_USAGE}`);
      return EXIT_USAGE;
    }
    if (error instanceof ConfigError) {
      io.stderr(`${error.message.split('\n').map((line) => `cpnp provider: ${line}`).join('\n')}\n`);
      return EXIT_CONFIG;
    }
    throw error;
  }
}
