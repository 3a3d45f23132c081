/**
 * A time budget for one event-loop turn: code that runs a long chain of synchronous work behind
 * promises asks `pause()` between units of work and gets a real yield (setImmediate) once the
 * current turn has used its budget.
 *
 * Why: better-sqlite3 runs every statement synchronously, and Prisma wraps each in promises that
 * resolve as microtasks. A chain of awaited queries therefore never returns to the event loop:
 * measured on the portal database, 300 sequential reads (118 ms) and 100 transactions (381 ms)
 * let a 1 ms interval fire zero times; 1,000 orders negotiated at once stalled the engine host's
 * loop for 5 s, during which no datagram was read, no timer fired and no page was served
 * (docs/benchmarks.md, issue 9). Yielding between statements bounds a stall to about the budget
 * plus one statement or transaction.
 */

export interface TurnBudgetOptions {
  /** Work allowed in one turn before pause() yields (ms). */
  budgetMs: number;
  /** Monotonic milliseconds (tests inject their own). */
  now?: () => number;
  /** Runs `fn` in a later turn, after I/O (default setImmediate). */
  later?: (fn: () => void) => void;
}

export class TurnBudget {
  private readonly budgetMs: number;
  private readonly now: () => number;
  private readonly later: (fn: () => void) => void;
  /** When the turn we are in started to use the budget; undefined: a new turn has begun. */
  private turnStart: number | undefined;
  /** Yields made (diagnostics, tests). */
  yields = 0;

  constructor(options: TurnBudgetOptions) {
    if (!(options.budgetMs >= 0)) throw new RangeError('budgetMs must be a non-negative number');
    this.budgetMs = options.budgetMs;
    this.now = options.now ?? (() => performance.now());
    this.later = options.later ?? ((fn) => setImmediate(fn));
  }

  /**
   * Resolves at once (undefined: no await needed) while the turn is within its budget, otherwise
   * returns a promise that resolves in a later turn, after the event loop handled pending I/O
   * and timers.
   */
  pause(): Promise<void> | undefined {
    const now = this.now();
    if (this.turnStart === undefined) {
      // First use in this turn: the turn ends when the event loop gets to the check phase.
      this.turnStart = now;
      this.later(() => {
        this.turnStart = undefined;
      });
      return undefined;
    }
    if (now - this.turnStart < this.budgetMs) return undefined;
    this.yields++;
    return new Promise<void>((resolve) => this.later(resolve));
  }
}
