/**
 * Which database a URL (or plain path) names. Servers take one setting, `DATABASE_URL`, and the
 * scheme picks the driver adapter: SQLite for `file:` URLs and plain paths, PostgreSQL for
 * `postgres://` / `postgresql://` (docs/database.md).
 */
import { isAbsolute, resolve } from 'node:path';

export type DatabaseTarget =
  | { provider: 'sqlite'; /** Absolute file path, or ':memory:'. */ file: string }
  | { provider: 'postgresql'; url: string };

export class DatabaseUrlError extends Error {
  override readonly name = 'DatabaseUrlError';
}

/**
 * Parses `file:./data/provider.db`, `file:/abs/path.db`, `./data/provider.db`, `:memory:` or
 * `postgresql://user@host/db`. Relative SQLite paths resolve against `cwd`, so that two
 * processes given the same URL from the same directory open the same file.
 */
export function parseDatabaseUrl(url: string, cwd: string = process.cwd()): DatabaseTarget {
  const trimmed = url.trim();
  if (trimmed === '') throw new DatabaseUrlError('database URL is empty');
  if (/^postgres(ql)?:\/\//i.test(trimmed)) return { provider: 'postgresql', url: trimmed };
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(trimmed)?.[1];
  let path = trimmed;
  if (scheme !== undefined && scheme.toLowerCase() === 'file') {
    // Prisma's SQLite URLs are `file:<path>`; a `file://` URL carries an absolute path. Query
    // parameters (Prisma 6 `?connection_limit=`) have no meaning for the driver adapter.
    path = trimmed.slice('file:'.length).replace(/^\/\/(?=\/)/, '').replace(/\?.*$/, '');
  } else if (scheme !== undefined && scheme.length > 1) {
    throw new DatabaseUrlError(`unsupported database URL scheme "${scheme}:" (use file:, a path, or postgresql://)`);
  }
  if (path === '') throw new DatabaseUrlError(`database URL "${url}" names no file`);
  if (path === ':memory:') return { provider: 'sqlite', file: ':memory:' };
  return { provider: 'sqlite', file: isAbsolute(path) ? path : resolve(cwd, path) };
}
