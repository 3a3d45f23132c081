/**
 * Why migrating a database was refused or failed. Servers migrate at start-up and must stop
 * with a message an operator can act on, rather than run against a schema they do not know.
 */
export type MigrationErrorKind =
  /** A migration.sql differs from the one applied (checksum in `_prisma_migrations`). */
  | 'edited'
  /** A migration started earlier and did not finish; the database may be half-migrated. */
  | 'failed'
  /** The database has migrations this version does not know: a newer version migrated it. */
  | 'newer-database'
  /** Database and folder agree on a prefix, then each has migrations the other lacks. */
  | 'diverged'
  /** Tables exist but no migration history: the database was not created by these migrations. */
  | 'not-empty'
  /** A migration's SQL failed while being applied. */
  | 'apply-failed'
  /** The migrations folder is unusable (missing lock file provider, unreadable script...). */
  | 'bad-folder'
  /** Another process held the migration lock for too long. */
  | 'lock-timeout'
  /** The database provider has no migrations in this repository (PostgreSQL, for now). */
  | 'unsupported';

export class MigrationError extends Error {
  override readonly name = 'MigrationError';
  readonly kind: MigrationErrorKind;
  /** The migrations concerned, when the error is about particular ones. */
  readonly migrations: readonly string[];

  constructor(kind: MigrationErrorKind, message: string, migrations: readonly string[] = [], options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
    this.migrations = migrations;
  }
}
