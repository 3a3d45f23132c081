/**
 * In-process signals between the web layer and the engine host (one Node process):
 * "an intent was queued" wakes the host at once (the slow poll is only a backstop), and
 * "an order changed" lets anything in the process react to a committed engine step.
 * Kept on globalThis so that modules re-evaluated by Next.js (dev reloads, separate bundles for
 * routes and instrumentation) share one emitter. Framework-free.
 */
import { EventEmitter } from 'node:events';

const key = Symbol.for('cpnp.portal.negotiation.signals');
type Holder = { [key]?: EventEmitter };

/** The portal's one in-process signal bus (also carries notifications' "mail queued"). */
export function signalBus(): EventEmitter {
  const holder = globalThis as Holder;
  if (holder[key] === undefined) {
    const emitter = new EventEmitter();
    emitter.setMaxListeners(0);
    holder[key] = emitter;
  }
  return holder[key];
}

/** Called after an Intent row was committed: the host claims it now instead of at the next poll. */
export function notifyIntentQueued(): void {
  signalBus().emit('intent');
}

export function onIntentQueued(listener: () => void): () => void {
  signalBus().on('intent', listener);
  return () => signalBus().off('intent', listener);
}

/** Called by the host after a step that changed `orderId` was committed. */
export function notifyOrderChanged(orderId: string): void {
  signalBus().emit('order', orderId);
}

export function onOrderChanged(listener: (orderId: string) => void): () => void {
  signalBus().on('order', listener);
  return () => signalBus().off('order', listener);
}

/** Called after the provider registry changed (add, edit, enable/disable): the host reloads routes. */
export function notifyProvidersChanged(): void {
  signalBus().emit('providers');
}

export function onProvidersChanged(listener: () => void): () => void {
  signalBus().on('providers', listener);
  return () => signalBus().off('providers', listener);
}
