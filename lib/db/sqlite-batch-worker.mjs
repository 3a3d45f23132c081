// The worker thread of SqliteBatchWriter (sqlite-direct.ts): owns one better-sqlite3
// connection, prepares the statements it is given once, and runs each batch it receives in ONE
// transaction, then answers. The commit (and its fsync) therefore happens off the event loop
// of the server, which keeps handling messages meanwhile. Plain JavaScript: a worker does not
// inherit the tsx loader the CLI registers programmatically.
//
// Batches are pipelined (several may be queued here while one commits) and each carries the
// writer's generation: a batch that fails poisons its generation, and every later batch of that
// generation (planned on top of the failed one, before the caller knew) is refused unrun. The
// caller starts a new generation once it has rolled back.
import { parentPort, workerData } from 'node:worker_threads';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const Sqlite = require('better-sqlite3');
const { file, pragmas, busyTimeoutMs, statements } = workerData;
const db = new Sqlite(file, { timeout: busyTimeoutMs });
db.exec(pragmas);
const prepared = statements.map((sql) => db.prepare(sql));
const run = db.transaction((batch) => {
  const ids = [];
  for (const [index, params, wantsId] of batch) {
    const info = prepared[index].run(...params);
    ids.push(wantsId ? Number(info.lastInsertRowid) : null);
  }
  return ids;
});
/** The highest generation one of whose batches failed. */
let poisoned = -1;

parentPort.on('message', (message) => {
  if (message.close) {
    db.close();
    parentPort.postMessage({ id: message.id, closed: true });
    return;
  }
  const generation = message.generation ?? 0;
  if (generation <= poisoned) {
    parentPort.postMessage({ id: message.id, error: `not run: an earlier batch of generation ${generation} failed` });
    return;
  }
  try {
    parentPort.postMessage({ id: message.id, ids: run(message.batch) });
  } catch (error) {
    poisoned = generation;
    parentPort.postMessage({ id: message.id, error: error instanceof Error ? error.message : String(error) });
  }
});
