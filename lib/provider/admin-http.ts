import { randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from './logger';

/**
 * The administrative endpoint of the reference Provider (RFC 8921 8.2, 12.2: "administrative
 * validation" of orders, chosen per method in the policy). An operator lists the orders and
 * approves or rejects those that wait, with `cpnp provider approve|reject|orders` or any HTTP
 * client:
 *
 *   GET  /v1/health
 *   GET  /v1/orders                      every order, with its state and what it waits for
 *   GET  /v1/orders/<id>                 one order, with the decision engine's explanation
 *   POST /v1/orders/<id>/approve         QUOTATION / UPDATE approval, or a held WITHDRAW / ACTIVATE
 *   POST /v1/orders/<id>/reject          body {"statusCode": N} (optional, default 4)
 *
 * Plain HTTP on a loopback address only (config.ts refuses anything else), and every request
 * must carry `Authorization: Bearer <token>`. The token is random, made at each start, and
 * written with the endpoint's URL into the admin file (mode 0600, next to the database), which
 * the CLI reads: whoever can read that file can administer the server, nobody else.
 */

/** What an approve / reject did. */
export interface AdminResult {
  ok: boolean;
  /** HTTP status: 200 done, 404 unknown order, 409 nothing awaits a decision, 400 bad request. */
  status: number;
  orderId: string;
  /** The order's state afterwards. */
  state?: string;
  /** What was decided: 'approved', 'rejected', 'request-approved', 'request-rejected'. */
  action?: string;
  error?: string;
}

export interface AdminHandlers {
  orders(): unknown[];
  order(orderId: string): unknown;
  approve(orderId: string): Promise<AdminResult>;
  reject(orderId: string, statusCode: number | undefined): Promise<AdminResult>;
}

export interface AdminFile {
  url: string;
  token: string;
  pid: number;
  startedAt: string;
}

export interface AdminServer {
  readonly url: string;
  readonly token: string;
  close(): Promise<void>;
}

const MAX_BODY = 4096;

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function authorized(req: IncomingMessage, token: Buffer): boolean {
  const header = req.headers.authorization ?? '';
  const match = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(header);
  if (!match) return false;
  const given = Buffer.from(match[1] ?? '', 'utf8');
  return given.length === token.length && timingSafeEqual(given, token);
}

async function readBody(req: IncomingMessage): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY) throw new RangeError('request body too large');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Starts the endpoint on host:port (0 = any free port). */
export async function startAdminServer(options: { host: string; port: number; handlers: AdminHandlers; logger: Logger; token?: string }): Promise<AdminServer> {
  const token = options.token ?? randomBytes(32).toString('hex');
  const tokenBytes = Buffer.from(token, 'utf8');
  const { handlers, logger } = options;
  const server = createServer((req, res) => {
    void (async () => {
      const client = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
      if (!authorized(req, tokenBytes)) {
        logger.warn('admin-unauthorized', { client, method: req.method, path: req.url });
        send(res, 401, { error: 'missing or wrong bearer token' });
        return;
      }
      const url = new URL(req.url ?? '/', 'http://admin.invalid');
      const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
      try {
        if (req.method === 'GET' && parts.join('/') === 'v1/health') {
          send(res, 200, { ok: true });
        } else if (req.method === 'GET' && parts.length === 2 && parts[0] === 'v1' && parts[1] === 'orders') {
          send(res, 200, { orders: handlers.orders() });
        } else if (req.method === 'GET' && parts.length === 3 && parts[0] === 'v1' && parts[1] === 'orders') {
          const order = handlers.order(parts[2] ?? '');
          if (order === undefined) send(res, 404, { error: `no order ${parts[2] ?? ''}` });
          else send(res, 200, { order });
        } else if (req.method === 'POST' && parts.length === 4 && parts[0] === 'v1' && parts[1] === 'orders' && (parts[3] === 'approve' || parts[3] === 'reject')) {
          const orderId = parts[2] ?? '';
          const text = await readBody(req);
          let statusCode: number | undefined;
          if (text.trim() !== '') {
            const body = JSON.parse(text) as unknown;
            const given = typeof body === 'object' && body !== null ? (body as { statusCode?: unknown }).statusCode : undefined;
            if (given !== undefined && typeof given !== 'number') {
              send(res, 400, { error: 'statusCode must be a number' });
              return;
            }
            statusCode = given;
          }
          const result = parts[3] === 'approve' ? await handlers.approve(orderId) : await handlers.reject(orderId, statusCode);
          logger.info('admin', { client, action: parts[3], order: orderId, ok: result.ok, ...(result.error === undefined ? {} : { detail: result.error }) });
          send(res, result.status, result);
        } else {
          send(res, 404, { error: `no route ${req.method ?? ''} ${url.pathname}` });
        }
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        send(res, error instanceof SyntaxError || error instanceof RangeError ? 400 : 500, { error: message });
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    token,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Writes the admin file atomically, readable by its owner only (mode 0600). */
export function writeAdminFile(path: string, content: AdminFile): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

export function removeAdminFile(path: string, token: string): void {
  // Only our own: a newer server may have replaced it meanwhile.
  try {
    if (readAdminFile(path).token === token) rmSync(path, { force: true });
  } catch {
    // Already gone or unreadable: nothing to remove.
  }
}

/** Reads an admin file; throws an Error whose message says what is wrong. */
export function readAdminFile(path: string): AdminFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new Error(`${path}: no admin file (is the provider running, with this --db / --config?)`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`${path}: not an admin file (not JSON)`);
  }
  const v = value as Partial<AdminFile>;
  if (typeof v.url !== 'string' || typeof v.token !== 'string') throw new Error(`${path}: not an admin file (url and token missing)`);
  return { url: v.url, token: v.token, pid: typeof v.pid === 'number' ? v.pid : 0, startedAt: typeof v.startedAt === 'string' ? v.startedAt : '' };
}

/** One request to a running provider's admin endpoint. Rejects only when it cannot be reached. */
export async function adminCall(target: { url: string; token: string }, method: 'GET' | 'POST', path: string, body?: unknown, timeoutMs = 10_000): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${target.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${target.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Keep the text.
  }
  return { status: response.status, body: parsed };
}
