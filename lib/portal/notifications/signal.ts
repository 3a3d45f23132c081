/**
 * "A mail was queued": producers outside the engine host (order submit, approvals, the deadline
 * sweep) call mailQueued() after their commit so the sender drains the outbox at once; the
 * host's committed steps reach it through onOrderChanged. The sender's slow poll is the
 * backstop (and picks up rows committed by another process). It rides the portal's one
 * in-process signal bus (negotiation/signal.ts). Framework-free.
 */
import { signalBus } from '../negotiation/signal';

export function mailQueued(): void {
  signalBus().emit('mail');
}

export function onMailQueued(listener: () => void): () => void {
  signalBus().on('mail', listener);
  return () => signalBus().off('mail', listener);
}
