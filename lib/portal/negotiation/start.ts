/**
 * One engine host per process: instrumentation.ts calls startNegotiationHost() from Next.js's
 * register(). The host lives on globalThis so that a second register() call or a dev reload
 * (which re-evaluates modules) finds the running one instead of binding a second set of sockets.
 * SIGTERM/SIGINT stop it cleanly (the step in progress commits, sockets close).
 */
import { portalDb } from '../db/client';
import { NegotiationHost, type NegotiationHostOptions } from './host';

const key = Symbol.for('cpnp.portal.negotiation.host');
type Holder = { [key]?: { host: NegotiationHost; ready: Promise<void> } };

export function runningHost(): NegotiationHost | undefined {
  return (globalThis as Holder)[key]?.host;
}

export function startNegotiationHost(options: Partial<NegotiationHostOptions> = {}): Promise<void> {
  const holder = globalThis as Holder;
  const existing = holder[key];
  if (existing) return existing.ready;
  const host = new NegotiationHost({ db: portalDb(), ...options });
  const ready = host.start();
  holder[key] = { host, ready };
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    void host.stop().finally(() => {
      // Next.js installs its own handlers too; exit only when nobody else will.
      if (process.listenerCount(signal) === 0) process.exit(0);
    });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  return ready;
}
