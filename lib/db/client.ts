/**
 * Opening the database: the generated Prisma client with the driver adapter the URL calls for.
 * SQLite (`file:` URLs and plain paths) goes through better-sqlite3, PostgreSQL
 * (`postgres://`, `postgresql://`) through node-postgres. Framework-free: servers and the
 * portal both use it. docs/database.md explains the settings.
 */
import { PrismaClient } from './generated/sqlite/client';
import { SqliteAdapterFactory, type SqliteOptions } from './sqlite-adapter';
import { parseDatabaseUrl, type DatabaseTarget } from './url';

/**
 * The client type. Both generated clients (SQLite and PostgreSQL) come from the same models,
 * so they expose the same API; the SQLite one is the reference type.
 */
export type DbClient = PrismaClient;

export interface OpenDatabaseOptions extends SqliteOptions {
  /** Relative SQLite paths resolve against this directory (default: process.cwd()). */
  cwd?: string;
}

export interface Database {
  readonly prisma: DbClient;
  readonly provider: DatabaseTarget['provider'];
  /** The SQLite file (absolute) or ':memory:'; undefined for PostgreSQL. */
  readonly file: string | undefined;
  /** Disconnects; later calls do nothing. */
  close(): Promise<void>;
}

async function postgresClient(url: string): Promise<DbClient> {
  // Loaded on demand, so a SQLite deployment never loads node-postgres.
  const [{ PrismaClient: PgPrismaClient }, { PrismaPg }] = await Promise.all([
    import('./generated/postgresql/client'),
    import('@prisma/adapter-pg'),
  ]);
  const client = new PgPrismaClient({ adapter: new PrismaPg({ connectionString: url }) });
  // The two generated clients differ only in $transaction's `isolationLevel` option, where
  // PostgreSQL accepts more levels than SQLite's 'Serializable'. Every call typed against the
  // SQLite client is therefore valid on this one; TypeScript cannot see that through the
  // contravariant callback overload, hence the cast.
  return client as unknown as DbClient;
}

/**
 * Opens `url` and runs a first query, so that a wrong path or an unreachable server fails here
 * rather than at the first real query. Does not migrate: call applyMigrations (migrate.ts) first.
 */
export async function openDatabase(url: string, options: OpenDatabaseOptions = {}): Promise<Database> {
  const target = parseDatabaseUrl(url, options.cwd);
  const prisma =
    target.provider === 'sqlite'
      ? new PrismaClient({ adapter: new SqliteAdapterFactory(target.file, options) })
      : await postgresClient(target.url);
  try {
    // A query, not only $connect: node-postgres connects lazily, and a wrong URL must fail here.
    await prisma.$queryRawUnsafe('SELECT 1');
  } catch (error) {
    await prisma.$disconnect();
    throw error;
  }
  let closed = false;
  return {
    prisma,
    provider: target.provider,
    file: target.provider === 'sqlite' ? target.file : undefined,
    async close() {
      if (closed) return;
      closed = true;
      await prisma.$disconnect();
    },
  };
}
