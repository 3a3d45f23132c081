/**
 * The engine host alone in a process (tests: kill -9 it, start it again). Opens the portal
 * database named by PORTAL_DATABASE_URL, starts the host, prints one JSON line per host log
 * line ({"event":"ready"} once started), stops cleanly on SIGTERM.
 */
import { openPortalDb, portalDatabaseFile } from '../../db/client';
import { NegotiationHost } from '../host';

const db = openPortalDb(portalDatabaseFile());
const line = (event: string, message?: string): void => {
  process.stdout.write(`${JSON.stringify({ event, ...(message === undefined ? {} : { message }) })}\n`);
};
const host = new NegotiationHost({
  db,
  pollMs: Number(process.env.HOST_POLL_MS ?? 100),
  ...(process.env.HOST_SEND_WINDOW ? { sendWindow: Number(process.env.HOST_SEND_WINDOW) } : {}),
  logger: { info: (m) => line('info', m), warn: (m) => line('warn', m) },
});
await host.start();
// The host's own timers do not hold the process open (unref); this one does, like a web server.
const keepAlive = setInterval(() => undefined, 60_000);
line('ready');
process.once('SIGTERM', () => {
  clearInterval(keepAlive);
  void host
    .stop()
    .then(() => db.$disconnect())
    .finally(() => {
      line('stopped');
      process.exit(0);
    });
});
