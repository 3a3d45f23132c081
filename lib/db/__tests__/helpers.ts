/**
 * Test fixtures: real SQLite files in a fresh temporary directory, migrated with the repository's
 * migrations, and a way to run a TypeScript child process.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { openDatabase, type Database, type OpenDatabaseOptions } from '../client';
import { applyMigrations } from '../migrate';
import { REPO_ROOT } from '../paths';
import { peerColumns } from '../peer-columns';

export function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'cpnp-db-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A migrated database file in its own temporary directory, opened; closed after the test. */
export async function migratedDatabase(
  t: { after(fn: () => void | Promise<void>): void },
  options: OpenDatabaseOptions = {},
): Promise<{ db: Database; file: string; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'cpnp-db-test-'));
  const file = join(dir, 'provider.db');
  await applyMigrations(file);
  const db = await openDatabase(file, { synchronous: 'NORMAL', ...options });
  t.after(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { db, file, dir };
}

export const PEER = peerColumns({ transport: 'udp', clientAddress: '192.0.2.1', clientPort: 40000, serverAddress: '198.51.100.1', serverPort: 2000 });

/** Inserts an order in state PQOReceived. */
export async function createOrder(db: Database, id: string, customerOrderId = `C-${id}`) {
  return db.prisma.providerOrder.create({
    data: { id, customerOrderId, state: 'PQOReceived', requestedCpd: { objects: [] }, snapshot: JSON.stringify({ id }) },
  });
}

/** Runs `node --import tsx <script> ...args` from the repository root. */
export function spawnTs(script: string, args: string[]): ChildProcessByStdio<null, Readable, Readable> {
  return spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Resolves with the first stdout line matching `pattern`; rejects if the process exits first. */
export function waitForLine(child: ChildProcessByStdio<null, Readable, Readable>, pattern: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      for (const line of out.split('\n')) {
        const match = pattern.exec(line);
        if (match) {
          resolve(match);
          return;
        }
      }
    });
    child.on('exit', (code, signal) => reject(new Error(`child exited (${code ?? signal}) before printing ${pattern}:\n${out}\n${err}`)));
  });
}

/** Resolves with stdout when the process exits with status 0. */
export function runToEnd(child: ChildProcessByStdio<null, Readable, Readable>): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('exit', (code, signal) => (code === 0 ? resolve(out) : reject(new Error(`child exited (${code ?? signal}):\n${out}\n${err}`))));
  });
}
