/**
 * A lock that lets only one process at a time migrate a given SQLite database. Two servers
 * started together would otherwise both find a migration pending and both run it; the second
 * run fails and leaves a "failed" row in `_prisma_migrations` that blocks every later start.
 *
 * The lock is an exclusive SQLite transaction on a companion file `<db>-migrate.lock`. The
 * operating system releases SQLite's file locks when a process dies, so a crashed migration
 * never leaves a stale lock behind. The lock cannot live in the database file itself: the
 * schema engine writes through its own connection, which the lock would block. The companion
 * file is never deleted, since a waiter could otherwise lock a file that no longer exists.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { isDriverAdapterError } from '@prisma/driver-adapter-utils';
import { MigrationError } from './migration-error';

export const DEFAULT_LOCK_TIMEOUT_MS = 60_000;
const POLL_MS = 25;

export function migrationLockPath(dbFile: string): string {
  return `${dbFile}-migrate.lock`;
}

/** The adapter reports SQLITE_BUSY as a 'SocketTimeout'. */
function isBusy(error: unknown): boolean {
  return error instanceof Error && isDriverAdapterError(error) && error.cause.kind === 'SocketTimeout';
}

/**
 * Runs `fn` while holding the migration lock of `dbFile`. Waits by polling (the event loop keeps
 * running), and gives up after `timeoutMs` with a 'lock-timeout' MigrationError.
 */
export async function withMigrationLock<T>(dbFile: string, fn: () => Promise<T>, timeoutMs = DEFAULT_LOCK_TIMEOUT_MS): Promise<T> {
  const path = migrationLockPath(dbFile);
  // busy timeout 0: a held lock is reported at once, and the wait below polls.
  const lock = await new PrismaBetterSqlite3({ url: path, timeout: 0 }).connect();
  try {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      try {
        await lock.executeScript('BEGIN EXCLUSIVE');
        break;
      } catch (error) {
        if (!isBusy(error)) throw error;
        if (performance.now() >= deadline) {
          throw new MigrationError('lock-timeout', `another process has been migrating ${dbFile} for over ${timeoutMs} ms (lock ${path})`);
        }
        await sleep(POLL_MS);
      }
    }
    try {
      return await fn();
    } finally {
      await lock.executeScript('ROLLBACK');
    }
  } finally {
    await lock.dispose();
  }
}
