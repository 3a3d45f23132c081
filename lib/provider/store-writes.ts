import type { Database, Prisma } from '../db';
import { writeBatch } from '../db';
import { SqliteBatchWriter, sqliteDate, type SqliteBatchItem, type SqliteConnection, type SqliteStatement } from '../db/sqlite-direct';

/**
 * The rows the provider store writes (store.ts plans them), as plain data, and the two ways of
 * writing one commit's list in ONE transaction: through Prisma (any database, PostgreSQL
 * included), or through prepared statements on a direct SQLite connection (sqlite-direct.ts),
 * which is what the provider uses on SQLite files because Prisma's per-query cost dominated a
 * group commit (docs/benchmarks.md). Both write the same columns in the same formats, so rows
 * written by one are read by the other (the store loads through Prisma).
 *
 * Times are epoch milliseconds; JSON columns take values (serialised here).
 */
export interface OrderColumns {
  customerOrderId: string;
  ownerIdentity: string | null;
  state: string;
  cancelReason: string | null;
  cycle: number;
  cycleTxid: string;
  activationType: string | null;
  scope: string | null;
  requestedCpd: unknown;
  /** Undefined: left as it is (the store omits a CPD it wrote already). */
  offeredCpd?: unknown;
  agreementCpd?: unknown;
  nonce: string | null;
  validityOfferTime: number | null;
  activationStatus: string;
  snapshot: string;
}

export interface TransactionColumns {
  customerOrderId: string;
  method: string;
  transport: string;
  clientAddress: string;
  clientPort: number;
  serverAddress: string;
  serverPort: number;
  inSeq: number | null;
  outSeq: number | null;
  processed: number;
  status: string;
  /** Undefined: left as it is. */
  lastAnswer?: Uint8Array;
  lastAnswerAt?: number;
}

export interface StateChangeRow {
  orderId: string;
  from: string | null;
  to: string;
  cause: string;
  method: string | null;
  txid: string | null;
  at: number;
  detail?: unknown;
}

export interface MessageRow {
  orderId: string | null;
  txid: string;
  direction: 'in' | 'out';
  method: string;
  seq: number;
  digest: string;
  size: number;
  transport: string;
  clientAddress: string;
  clientPort: number;
  serverAddress: string;
  serverPort: number;
  at: number;
}

export type WriteOp =
  | { kind: 'order'; id: string; createdAt: number; cols: OrderColumns }
  | { kind: 'transaction'; orderId: string; txid: string; createdAt: number; cols: TransactionColumns }
  | { kind: 'stateChange'; row: StateChangeRow }
  | { kind: 'message'; row: MessageRow }
  | { kind: 'reservationCreate'; id: number; pool: string; orderId: string; inKbps: number; outKbps: number; status: 'held' | 'committed'; expiresAt: number | null }
  | { kind: 'reservationSet'; id: number; status: 'held' | 'committed'; inKbps: number; outKbps: number; expiresAt: number | null }
  | { kind: 'reservationRelease'; id: number; at: number }
  | { kind: 'poolAvailable'; id: string; availableInKbps: number; availableOutKbps: number }
  | { kind: 'poolUpsert'; id: string; capacityInKbps: number; capacityOutKbps: number; availableInKbps: number; availableOutKbps: number }
  | { kind: 'activationUpsert'; orderId: string; at: number; done: boolean; doneAt: number | null }
  | { kind: 'activationDelete'; orderId: string; at: number }
  | { kind: 'engineState'; key: string; json: string };

/** What a write returned: the id of a reservation it created (the store allocates them: see store.ts). */
export type WriteResult = { id: number } | undefined;

/** Writes a list of rows in one transaction, all or nothing; resolves with one result per op. */
export interface StoreWriter {
  readonly kind: 'prisma' | 'sqlite-direct';
  /**
   * True when writes may be issued before the previous one resolved: they run in call order,
   * and a failed write fails, unrun, every later write of the same `generation`. Otherwise the
   * store issues one write at a time and enforces the same rule itself.
   */
  readonly pipelined?: boolean;
  write(ops: readonly WriteOp[], now: number, generation?: number): Promise<WriteResult[]>;
  close?(): void | Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Prisma.

const json = (value: unknown): Prisma.InputJsonValue => value as Prisma.InputJsonValue;
const date = (ms: number | null): Date | null => (ms === null ? null : new Date(ms));

export function prismaWriter(db: Database): StoreWriter {
  const prisma = db.prisma;
  const statement = (op: WriteOp): Prisma.PrismaPromise<unknown> => {
    switch (op.kind) {
      case 'order': {
        const { offeredCpd, agreementCpd, validityOfferTime, requestedCpd, ...rest } = op.cols;
        const data = {
          ...rest,
          requestedCpd: json(requestedCpd),
          ...(offeredCpd === undefined ? {} : { offeredCpd: json(offeredCpd) }),
          ...(agreementCpd === undefined ? {} : { agreementCpd: json(agreementCpd) }),
          validityOfferTime: date(validityOfferTime),
        };
        return prisma.providerOrder.upsert({ where: { id: op.id }, create: { id: op.id, createdAt: new Date(op.createdAt), ...data }, update: data });
      }
      case 'transaction': {
        const { inSeq, outSeq, lastAnswer, lastAnswerAt, ...rest } = op.cols;
        const data = {
          ...rest,
          inSeq: inSeq === null ? null : BigInt(inSeq),
          outSeq: outSeq === null ? null : BigInt(outSeq),
          ...(lastAnswer === undefined || lastAnswerAt === undefined ? {} : { lastAnswer: new Uint8Array(lastAnswer), lastAnswerAt: new Date(lastAnswerAt) }),
        };
        return prisma.providerTransaction.upsert({
          where: { orderId_txid: { orderId: op.orderId, txid: op.txid } },
          create: { orderId: op.orderId, txid: op.txid, createdAt: new Date(op.createdAt), ...data },
          update: data,
        });
      }
      case 'stateChange': {
        const { detail, at, ...rest } = op.row;
        return prisma.providerStateChange.create({ data: { ...rest, at: new Date(at), ...(detail === undefined ? {} : { detail: json(detail) }) } });
      }
      case 'message': {
        const { seq, at, ...rest } = op.row;
        return prisma.providerMessage.create({ data: { ...rest, seq: BigInt(seq), at: new Date(at) } });
      }
      case 'reservationCreate':
        return prisma.capacityReservation.create({
          data: { id: op.id, pool: op.pool, orderId: op.orderId, inKbps: op.inKbps, outKbps: op.outKbps, status: op.status, expiresAt: date(op.expiresAt) },
        });
      case 'reservationSet':
        return prisma.capacityReservation.update({ where: { id: op.id }, data: { status: op.status, inKbps: op.inKbps, outKbps: op.outKbps, expiresAt: date(op.expiresAt) } });
      case 'reservationRelease':
        return prisma.capacityReservation.update({ where: { id: op.id }, data: { status: 'released', releasedAt: new Date(op.at) } });
      case 'poolAvailable':
        return prisma.capacityPool.update({ where: { id: op.id }, data: { availableInKbps: op.availableInKbps, availableOutKbps: op.availableOutKbps } });
      case 'poolUpsert': {
        const { kind: _kind, id, ...data } = op;
        return prisma.capacityPool.upsert({ where: { id }, create: { id, ...data }, update: data });
      }
      case 'activationUpsert': {
        const at = new Date(op.at);
        return prisma.scheduledActivation.upsert({
          where: { orderId_action_at: { orderId: op.orderId, action: 'activate', at } },
          create: { orderId: op.orderId, action: 'activate', at, done: op.done, doneAt: date(op.doneAt) },
          update: { done: op.done, doneAt: date(op.doneAt) },
        });
      }
      case 'activationDelete':
        return prisma.scheduledActivation.deleteMany({ where: { orderId: op.orderId, action: 'activate', at: new Date(op.at), done: false } });
      case 'engineState':
        return prisma.engineState.upsert({ where: { key: op.key }, create: { key: op.key, json: op.json }, update: { json: op.json } });
    }
  };
  return {
    kind: 'prisma',
    async write(ops) {
      if (ops.length === 0) return [];
      const results = await writeBatch(db, ops.map(statement));
      return results.map((r, i) => (ops[i]?.kind === 'reservationCreate' ? { id: (r as { id: number }).id } : undefined));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Direct SQLite.

const q = (name: string): string => `"${name}"`;

function upsertSql(table: string, columns: readonly string[], conflict: readonly string[], update: Record<string, string>): string {
  const sets = Object.entries(update).map(([column, expr]) => `${q(column)} = ${expr}`);
  return `INSERT INTO ${q(table)} (${columns.map(q).join(', ')}) VALUES (${columns.map(() => '?').join(', ')}) ON CONFLICT (${conflict.map(q).join(', ')}) DO UPDATE SET ${sets.join(', ')}`;
}

const ORDER_COLUMNS = ['id', 'customerOrderId', 'ownerIdentity', 'state', 'cancelReason', 'cycle', 'cycleTxid', 'activationType', 'scope', 'requestedCpd', 'offeredCpd', 'agreementCpd', 'nonce', 'validityOfferTime', 'activationStatus', 'snapshot', 'createdAt', 'updatedAt'] as const;
const TX_COLUMNS = ['txid', 'orderId', 'customerOrderId', 'method', 'transport', 'clientAddress', 'clientPort', 'serverAddress', 'serverPort', 'inSeq', 'outSeq', 'lastAnswer', 'lastAnswerAt', 'processed', 'status', 'createdAt', 'updatedAt'] as const;

const excluded = (columns: readonly string[], keep: Record<string, string> = {}): Record<string, string> =>
  Object.fromEntries(columns.map((c) => [c, keep[c] ?? `excluded.${q(c)}`]));

/** The statements of the direct SQLite writers, in the order SqlItem indexes refer to. */
const STATEMENT_NAMES = [
  'order', 'transaction', 'stateChange', 'message', 'reservationCreate', 'reservationSet', 'reservationRelease',
  'poolAvailable', 'poolUpsert', 'activationUpsert', 'activationDelete', 'engineState',
] as const satisfies readonly WriteOp['kind'][];

const STATEMENTS: Readonly<Record<WriteOp['kind'], string>> = {
  order: upsertSql(
    'ProviderOrder',
    ORDER_COLUMNS,
    ['id'],
    excluded(
      ORDER_COLUMNS.filter((c) => c !== 'id' && c !== 'createdAt'),
      {
        offeredCpd: `COALESCE(excluded."offeredCpd", "offeredCpd")`,
        agreementCpd: `COALESCE(excluded."agreementCpd", "agreementCpd")`,
      },
    ),
  ),
  transaction: upsertSql(
    'ProviderTransaction',
    TX_COLUMNS,
    ['orderId', 'txid'],
    excluded(
      TX_COLUMNS.filter((c) => c !== 'txid' && c !== 'orderId' && c !== 'createdAt'),
      { lastAnswer: `COALESCE(excluded."lastAnswer", "lastAnswer")`, lastAnswerAt: `COALESCE(excluded."lastAnswerAt", "lastAnswerAt")` },
    ),
  ),
  stateChange: `INSERT INTO "ProviderStateChange" ("orderId", "from", "to", "cause", "method", "txid", "at", "detail") VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  message: `INSERT INTO "ProviderMessage" ("orderId", "txid", "direction", "method", "seq", "digest", "size", "transport", "clientAddress", "clientPort", "serverAddress", "serverPort", "at") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  reservationCreate: `INSERT INTO "CapacityReservation" ("id", "pool", "orderId", "inKbps", "outKbps", "status", "expiresAt", "createdAt") VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  reservationSet: `UPDATE "CapacityReservation" SET "status" = ?, "inKbps" = ?, "outKbps" = ?, "expiresAt" = ? WHERE "id" = ?`,
  reservationRelease: `UPDATE "CapacityReservation" SET "status" = 'released', "releasedAt" = ? WHERE "id" = ?`,
  poolAvailable: `UPDATE "CapacityPool" SET "availableInKbps" = ?, "availableOutKbps" = ?, "updatedAt" = ? WHERE "id" = ?`,
  poolUpsert: upsertSql(
    'CapacityPool',
    ['id', 'capacityInKbps', 'capacityOutKbps', 'availableInKbps', 'availableOutKbps', 'updatedAt'],
    ['id'],
    excluded(['capacityInKbps', 'capacityOutKbps', 'availableInKbps', 'availableOutKbps', 'updatedAt']),
  ),
  activationUpsert: upsertSql('ScheduledActivation', ['orderId', 'at', 'action', 'done', 'doneAt', 'createdAt'], ['orderId', 'action', 'at'], excluded(['done', 'doneAt'])),
  activationDelete: `DELETE FROM "ScheduledActivation" WHERE "orderId" = ? AND "action" = 'activate' AND "at" = ? AND "done" = 0`,
  engineState: upsertSql('EngineState', ['key', 'json', 'updatedAt'], ['key'], excluded(['json', 'updatedAt'])),
};

const STATEMENT_LIST: readonly string[] = STATEMENT_NAMES.map((name) => STATEMENTS[name]);
const INDEX = new Map<WriteOp['kind'], number>(STATEMENT_NAMES.map((name, i) => [name, i]));

const d = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : sqliteDate(ms));
const text = (value: unknown): string | null => (value === undefined || value === null ? null : JSON.stringify(value));

/** The parameters of an op's statement (the same columns and formats as Prisma writes). */
function paramsOf(op: WriteOp, nowText: string): unknown[] {
  switch (op.kind) {
    case 'order': {
      const c = op.cols;
      return [op.id, c.customerOrderId, c.ownerIdentity, c.state, c.cancelReason, c.cycle, c.cycleTxid, c.activationType, c.scope, JSON.stringify(c.requestedCpd), text(c.offeredCpd), text(c.agreementCpd), c.nonce, d(c.validityOfferTime), c.activationStatus, c.snapshot, d(op.createdAt), nowText];
    }
    case 'transaction': {
      const c = op.cols;
      const answer = c.lastAnswer === undefined || c.lastAnswerAt === undefined ? undefined : c.lastAnswer;
      return [
        op.txid, op.orderId, c.customerOrderId, c.method, c.transport, c.clientAddress, c.clientPort, c.serverAddress, c.serverPort, c.inSeq, c.outSeq,
        answer === undefined ? null : new Uint8Array(answer),
        answer === undefined ? null : d(c.lastAnswerAt),
        c.processed, c.status, d(op.createdAt), nowText,
      ];
    }
    case 'stateChange': {
      const r = op.row;
      return [r.orderId, r.from, r.to, r.cause, r.method, r.txid, d(r.at), text(r.detail)];
    }
    case 'message': {
      const r = op.row;
      return [r.orderId, r.txid, r.direction, r.method, r.seq, r.digest, r.size, r.transport, r.clientAddress, r.clientPort, r.serverAddress, r.serverPort, d(r.at)];
    }
    case 'reservationCreate':
      return [op.id, op.pool, op.orderId, op.inKbps, op.outKbps, op.status, d(op.expiresAt), nowText];
    case 'reservationSet':
      return [op.status, op.inKbps, op.outKbps, d(op.expiresAt), op.id];
    case 'reservationRelease':
      return [d(op.at), op.id];
    case 'poolAvailable':
      return [op.availableInKbps, op.availableOutKbps, nowText, op.id];
    case 'poolUpsert':
      return [op.id, op.capacityInKbps, op.capacityOutKbps, op.availableInKbps, op.availableOutKbps, nowText];
    case 'activationUpsert':
      return [op.orderId, d(op.at), 'activate', op.done ? 1 : 0, d(op.doneAt), nowText];
    case 'activationDelete':
      return [op.orderId, d(op.at)];
    case 'engineState':
      return [op.key, op.json, nowText];
  }
}

function itemsOf(ops: readonly WriteOp[], now: number): SqliteBatchItem[] {
  const nowText = sqliteDate(now);
  return ops.map((op) => [INDEX.get(op.kind) ?? -1, paramsOf(op, nowText), op.kind === 'reservationCreate']);
}

const resultsOf = (ids: readonly (number | null)[]): WriteResult[] => ids.map((id) => (id === null ? undefined : { id }));

/** Prepared statements on a direct connection of this thread; each write() is one SQLite transaction. */
export function sqliteWriter(connection: SqliteConnection): StoreWriter {
  const prepared = STATEMENT_LIST.map((sql) => connection.prepare(sql));
  const writeAll = connection.transaction((items: readonly SqliteBatchItem[]): (number | null)[] =>
    items.map(([index, params, wantsId]) => {
      const info = (prepared[index] as SqliteStatement).run(...params);
      return wantsId ? Number(info.lastInsertRowid) : null;
    }),
  );
  return {
    kind: 'sqlite-direct',
    write(ops, now) {
      if (ops.length === 0) return Promise.resolve([]);
      try {
        return Promise.resolve(resultsOf(writeAll(itemsOf(ops, now))));
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
    },
    close() {
      if (connection.open) connection.close();
    },
  };
}

/**
 * The same statements run by a worker thread (SqliteBatchWriter): the group commit's transaction
 * and fsync leave the event loop free, and the next group is prepared meanwhile.
 */
export function workerSqliteWriter(file: string): StoreWriter {
  const batches = new SqliteBatchWriter(file, STATEMENT_LIST);
  return {
    kind: 'sqlite-direct',
    pipelined: true,
    async write(ops, now, generation = 0) {
      if (ops.length === 0) return [];
      return resultsOf(await batches.run(itemsOf(ops, now), generation));
    },
    close: () => batches.close(),
  };
}
