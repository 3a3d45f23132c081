/**
 * The time source of CPNP logic. Protocol code never reads the system time itself: a Clock is
 * injected so that timers (timers.ts, RFC 8921 8.5 / 11.4) can be tested with simulated time.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

/** The production clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
};

/** A clock that only moves when told to (tests, simulations). */
export class SimulatedClock implements Clock {
  private current: number;

  constructor(start = 0) {
    this.current = SimulatedClock.check(start);
  }

  now(): number {
    return this.current;
  }

  /** Jumps to an absolute time (it may go backwards, to test clock steps). */
  set(millis: number): void {
    this.current = SimulatedClock.check(millis);
  }

  /** Moves forward by `millis` (>= 0) and returns the new time. */
  advance(millis: number): number {
    if (!Number.isFinite(millis) || millis < 0) throw new RangeError('advance() takes a finite, non-negative duration');
    this.current = SimulatedClock.check(this.current + millis);
    return this.current;
  }

  private static check(millis: number): number {
    if (!Number.isFinite(millis)) throw new RangeError('time must be a finite number of milliseconds');
    return millis;
  }
}
