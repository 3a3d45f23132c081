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

function bus(): EventEmitter {
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
  bus().emit('intent');
}

export function onIntentQueued(listener: () => void): () => void {
  bus().on('intent', listener);
  return () => bus().off('intent', listener);
}

/** Called by the host after a step that changed `orderId` was committed. */
export function notifyOrderChanged(orderId: string): void {
  bus().emit('order', orderId);
}

export function onOrderChanged(listener: (orderId: string) => void): () => void {
  bus().on('order', listener);
  return () => bus().off('order', listener);
}

/** Called after the provider registry changed (add, edit, enable/disable): the host reloads routes. */
export function notifyProvidersChanged(): void {
  bus().emit('providers');
}

export function onProvidersChanged(listener: () => void): () => void {
  bus().on('providers', listener);
  return () => bus().off('providers', listener);
}
