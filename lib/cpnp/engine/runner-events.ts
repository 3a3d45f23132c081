/**
 * The events a runner reports itself (EngineRunner, GroupCommitRunner): delivery to the
 * embedding application's sink, and the runner's own 'error' / 'send-error' events.
 */
import type { EngineEvent } from './output';

/** Hands every event to the sink; a failing sink (a log, a UI signal) must not stop the protocol. */
export function emitEvents(sink: ((event: EngineEvent) => void) | undefined, events: readonly EngineEvent[]): void {
  if (!sink) return;
  for (const event of events) {
    try {
      sink(event);
    } catch {
      // A failing log sink must not stop the protocol.
    }
  }
}

/** A runner's own event for a failure it caught: a transport send, a commit, a core that threw. */
export function runnerErrorEvent(
  side: 'client' | 'server',
  at: number,
  kind: 'error' | 'send-error',
  cause: string,
  error: unknown,
  detail?: string,
  peer?: { address: string; port: number },
): EngineEvent {
  const message = error instanceof Error ? error.message : String(error);
  return {
    kind,
    side,
    at,
    cause,
    detail: detail === undefined ? message : `${message}; ${detail}`,
    ...(peer === undefined ? {} : { peer }),
  };
}
