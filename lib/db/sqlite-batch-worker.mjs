// The worker thread of SqliteBatchWriter (sqlite-direct.ts): owns one better-sqlite3
// connection, prepares the statements it is given once, and runs each batch it receives in ONE
// transaction, then answers. The commit (and its fsync) therefore happens off the event loop
// of the server, which keeps handling messages meanwhile. Plain JavaScript: a worker does not
// inherit the tsx loader the CLI registers programmatically.
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

parentPort.on('message', (message) => {
  if (message.close) {
    db.close();
    parentPort.postMessage({ id: message.id, closed: true });
    return;
  }
  try {
    parentPort.postMessage({ id: message.id, ids: run(message.batch) });
  } catch (error) {
    parentPort.postMessage({ id: message.id, error: error instanceof Error ? error.message : String(error) });
  }
});
