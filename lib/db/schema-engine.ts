/**
 * Prisma's schema engine (the part of `prisma migrate` that diffs schemas and applies
 * migrations), run from @prisma/schema-engine-wasm. The native engine binary cannot be
 * downloaded on our machines; the Wasm build does the same work through a driver adapter.
 *
 * @prisma/schema-engine-wasm is an internal Prisma package: package.json pins it to an exact
 * version, and this file is the only place that touches it. Its ESM entry imports the .wasm
 * file directly, which Node 20 cannot do, so the glue module is loaded and the module
 * instantiated by hand (docs/database.md).
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  bindMigrationAwareSqlAdapterFactory,
  isDriverAdapterError,
  type IsolationLevel,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
  type SqlQuery,
  type Transaction,
} from '@prisma/driver-adapter-utils';
import type * as Glue from '@prisma/schema-engine-wasm/schema_engine_bg';
import type { SchemaEngine, SchemaFilter } from '@prisma/schema-engine-wasm/schema_engine_bg';

export type { MigrationList, SchemaEngine } from '@prisma/schema-engine-wasm/schema_engine_bg';

type GlueModule = typeof Glue;

/** No external tables or enums: every table of the schema is Prisma's to migrate. */
export const NO_FILTER: SchemaFilter = { externalTables: [], externalEnums: [] };

let glue: Promise<GlueModule> | undefined;

/** Instantiates the Wasm module once per process (the glue module holds it globally). */
function loadGlue(): Promise<GlueModule> {
  glue ??= (async () => {
    const require = createRequire(import.meta.url);
    const gluePath = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
    const mod = (await import('@prisma/schema-engine-wasm/schema_engine_bg')) as GlueModule;
    const bytes = await readFile(join(dirname(gluePath), 'schema_engine_bg.wasm'));
    const { instance } = await WebAssembly.instantiate(bytes, { './schema_engine_bg.js': mod });
    mod.__wbg_set_wasm(instance.exports);
    const start = instance.exports.__wbindgen_start;
    if (typeof start === 'function') start();
    return mod;
  })();
  glue.catch(() => {
    glue = undefined; // let a later call retry instead of caching the failure
  });
  return glue;
}

/**
 * Two adaptations between the driver adapter and this engine build:
 *
 * - The Wasm engine sends a whole migration script (several statements) through `executeRaw`,
 *   where the native engine would use a raw multi-statement command. better-sqlite3 prepares one
 *   statement at a time and refuses it, so such a script goes to `executeScript` of the same
 *   connection instead (inside the engine's transaction, if one is open).
 * - The adapter reports SQLITE_BUSY as an error kind ('SocketTimeout') this engine build does not
 *   know, which it turns into an unreadable deserialisation error. It is rethrown as a plain
 *   error with a message that says what happened.
 */
function isMultiStatementError(error: unknown, query: SqlQuery): boolean {
  return query.args.length === 0 && error instanceof RangeError && /more than one statement/.test(error.message);
}

async function readable<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof Error && isDriverAdapterError(error) && error.cause.kind === 'SocketTimeout') {
      throw new Error('the database is locked by another connection (SQLITE_BUSY); stop the processes using it, then migrate', { cause: error });
    }
    throw error;
  }
}

function executeRawOrScript(target: { executeRaw(q: SqlQuery): Promise<number> }, connection: SqlDriverAdapter, query: SqlQuery): Promise<number> {
  return readable(async () => {
    try {
      return await target.executeRaw(query);
    } catch (error) {
      if (!isMultiStatementError(error, query)) throw error;
      await connection.executeScript(query.sql);
      return 0;
    }
  });
}

class EngineAdapter implements SqlDriverAdapter {
  readonly provider;
  readonly adapterName;
  readonly #inner: SqlDriverAdapter;

  constructor(inner: SqlDriverAdapter) {
    this.#inner = inner;
    this.provider = inner.provider;
    this.adapterName = inner.adapterName;
  }
  queryRaw(query: SqlQuery) {
    return readable(() => this.#inner.queryRaw(query));
  }
  executeRaw(query: SqlQuery): Promise<number> {
    return executeRawOrScript(this.#inner, this.#inner, query);
  }
  executeScript(script: string): Promise<void> {
    return readable(() => this.#inner.executeScript(script));
  }
  async startTransaction(isolationLevel?: IsolationLevel): Promise<Transaction> {
    const tx = await readable(() => this.#inner.startTransaction(isolationLevel));
    const inner = this.#inner;
    return {
      provider: tx.provider,
      adapterName: tx.adapterName,
      options: tx.options,
      queryRaw: (query) => readable(() => tx.queryRaw(query)),
      executeRaw: (query) => executeRawOrScript(tx, inner, query),
      commit: () => readable(() => tx.commit()),
      rollback: () => tx.rollback(),
      ...(tx.createSavepoint ? { createSavepoint: tx.createSavepoint.bind(tx) } : {}),
      ...(tx.rollbackToSavepoint ? { rollbackToSavepoint: tx.rollbackToSavepoint.bind(tx) } : {}),
      ...(tx.releaseSavepoint ? { releaseSavepoint: tx.releaseSavepoint.bind(tx) } : {}),
    };
  }
  dispose(): Promise<void> {
    return this.#inner.dispose();
  }
}

/** The factory the engine gets: adapted connections, remembered so that close() can end them. */
function forEngine(factory: SqlMigrationAwareDriverAdapterFactory, opened: SqlDriverAdapter[]): SqlMigrationAwareDriverAdapterFactory {
  const track = (adapter: SqlDriverAdapter) => {
    opened.push(adapter);
    return new EngineAdapter(adapter);
  };
  return {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: async () => track(await factory.connect()),
    connectToShadowDb: async () => track(await factory.connectToShadowDb()),
  };
}

export interface SchemaEngineOptions {
  /** The Prisma schema the engine works against (path, content), if the command needs one. */
  schema?: { path: string; content: string };
  /** Receives the engine's JSON log lines (tracing output); dropped by default. */
  log?: (line: string) => void;
}

export interface EngineHandle {
  engine: SchemaEngine;
  /**
   * The message of an engine error, with the adapter's own error filled in: the engine reports
   * a failing JavaScript call only as "External error id#N".
   */
  describe(error: unknown): string;
  /** Frees the engine and closes the connections it opened (the engine itself does not). */
  close(): Promise<void>;
}

/**
 * Starts a schema engine on a database reached through `adapterFactory`. Its shadow database
 * (used to replay a migrations folder) comes from the factory's `connectToShadowDb()`; for
 * SQLite that is an in-memory database. Call `close()` when done.
 */
export async function startSchemaEngine(
  adapterFactory: SqlMigrationAwareDriverAdapterFactory,
  options: SchemaEngineOptions = {},
): Promise<EngineHandle> {
  const mod = await loadGlue();
  const datamodels: [string, string][] | undefined = options.schema ? [[options.schema.path, options.schema.content]] : undefined;
  const log = options.log ?? (() => undefined);
  const opened: SqlDriverAdapter[] = [];
  const bound = bindMigrationAwareSqlAdapterFactory(forEngine(adapterFactory, opened));
  const engine = await mod.SchemaEngine.new({ datamodels }, log, bound);
  const close = async () => {
    engine.free();
    for (const adapter of opened.splice(0)) {
      try {
        await adapter.dispose();
      } catch {
        // already closed
      }
    }
  };
  const describe = (error: unknown): string => {
    const text = error instanceof Error ? error.message : String(error);
    return text.replace(/External error id#(\d+)/g, (whole, id: string) => {
      const registered: unknown = bound.errorRegistry.consumeError(Number(id))?.error;
      return registered instanceof Error ? registered.message : whole;
    });
  };
  return { engine, describe, close };
}

/** The version string of the loaded engine build, for diagnostics. */
export async function schemaEngineVersion(): Promise<string> {
  return (await loadGlue()).version();
}
