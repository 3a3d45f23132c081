/**
 * "A mail was queued": producers outside the engine host (order submit, approvals, the deadline
 * sweep) call mailQueued() after their commit so the sender drains the outbox at once; the
 * host's committed steps reach it through negotiation/signal.ts onOrderChanged. The sender's
 * slow poll is the backstop (and picks up rows committed by another process). On globalThis
 * like the host's signals, so separately bundled modules share one emitter. Framework-free.
 */
import { EventEmitter } from 'node:events';

const key = Symbol.for('cpnp.portal.notifications.signals');
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

export function mailQueued(): void {
  bus().emit('mail');
}

export function onMailQueued(listener: () => void): () => void {
  bus().on('mail', listener);
  return () => bus().off('mail', listener);
}
