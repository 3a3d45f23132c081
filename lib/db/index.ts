/**
 * The database layer of the Provider server and the portal (docs/database.md). Framework-free.
 */
export { openDatabase, type Database, type DbClient, type OpenDatabaseOptions } from './client';
export { withTransaction, writeBatch, type TxClient, type TransactionOptions } from './transaction';
export {
  applyMigrations,
  createMigration,
  markRolledBack,
  migrationStatus,
  schemaDrift,
  type ApplyResult,
  type CreatedMigration,
  type MigrateOptions,
  type MigrationStatus,
  type SchemaComparison,
} from './migrate';
export { MigrationError, type MigrationErrorKind } from './migration-error';
export {
  CapacityError,
  commitReservation,
  ensureCapacityPool,
  mbpsToKbps,
  poolUsage,
  releaseExpired,
  releaseOrderReservations,
  releaseReservation,
  releaseReservationTx,
  reserveCapacity,
  reserveCapacityTx,
  type PoolSpec,
  type PoolUsage,
  type ReserveRequest,
  type ReserveResult,
} from './capacity';
export { messageDigest } from './digest';
export { peerColumns, peerFromColumns, type PeerColumns } from './peer-columns';
export { parseDatabaseUrl, DatabaseUrlError, type DatabaseTarget } from './url';
export type { SqliteOptions, SqliteSynchronous } from './sqlite-adapter';
export * from './types';
export type {
  ProviderOrder,
  ProviderTransaction,
  ProviderStateChange,
  ProviderMessage,
  CapacityPool,
  CapacityReservation,
  ScheduledActivation,
  EngineState,
  Prisma,
} from './generated/sqlite/client';
