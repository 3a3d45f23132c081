/**
 * Event-driven waiting for tests that run engines over real transports and clocks: every
 * engine event is pushed here, and each waiter's condition is re-checked after every event
 * (and after every `poke`), so tests wait for a state, never for a fixed sleep.
 */
import type { EngineEvent } from '../../engine/output';

export class EventHub {
  readonly events: EngineEvent[] = [];
  private waiters: { check: () => boolean; resolve: () => void }[] = [];

  /** `timeoutMs`: how long `until` waits unless told otherwise. */
  constructor(private readonly timeoutMs = 10_000) {}

  /** Records an event and re-checks the waiters (pass it as a runner's onEvent). */
  push = (event: EngineEvent): void => {
    this.events.push(event);
    this.poke();
  };

  /** Re-checks every waiter (after anything that may change state); a check that throws does not hold yet. */
  poke(): void {
    for (const waiter of [...this.waiters]) {
      let done = false;
      try {
        done = waiter.check();
      } catch {
        done = false;
      }
      if (done) {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        waiter.resolve();
      }
    }
  }

  /** Resolves as soon as `check()` holds (now, or after any later event or poke); rejects after `ms`. */
  until(what: string, check: () => boolean, ms = this.timeoutMs): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter = {
        check,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out after ${ms} ms waiting for: ${what}`));
      }, ms);
      this.waiters.push(waiter);
    });
  }
}
