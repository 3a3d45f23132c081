/**
 * Binds an engine core (client or server, see EngineCore in output.ts) to a real
 * MessageTransport and real time. The core stays synchronous and pure; the runner:
 * - serialises every input (received message, timer, command): one at a time, in arrival order;
 * - hands each output to an async `beforeSend` hook first (persistence commits there, so a state
 *   change is acknowledged on the wire only once it is stored) and only then sends its messages;
 * - reports transport errors and hook failures as events instead of losing them;
 * - keeps ONE timer armed at core.nextDue().
 * The timer API is injected (setTimeout by default) so the runner is testable without sleeping.
 */
import type { Clock } from '../clock';
import type { MessageTransport } from '../transport/transport';
import { isJournaled, type EngineCore, type EngineEvent, type EngineOutput, type JournaledCore } from './output';
import { emitEvents, runnerErrorEvent } from './runner-events';

/** What a journaled core's step changed: its `changes()` type (the client engine: ClientChanges). */
export type ChangesOf<C extends EngineCore> = C extends JournaledCore<infer X> ? X : undefined;

/** One step handed to the commit hook: the changed records of the core and the step's output. */
export interface CommitStep<C extends EngineCore> {
  changes: ChangesOf<C>;
  output: EngineOutput;
}

/** run() rejects with this when the step's commit failed: the core was rolled back, nothing was sent. */
export class CommitError extends Error {
  override readonly name = 'CommitError';
}

/** The subset of setTimeout/clearTimeout the runner uses. */
export interface TimerApi {
  set(callback: () => void, delayMs: number): unknown;
  clear(handle: unknown): void;
}

export const realTimers: TimerApi = {
  set: (callback, delayMs) => setTimeout(callback, delayMs),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** setTimeout's largest delay (2^31-1 ms); a later deadline is reached by re-arming. */
export const MAX_TIMER_DELAY_MS = 0x7fffffff;

export interface RunnerOptions<C extends EngineCore> {
  core: C;
  transport: MessageTransport;
  clock: Clock;
  side: 'client' | 'server';
  /** Commit point: awaited before any message of the output is sent. A rejection means
   * "not committed": the messages are not sent and an 'error' event is reported. */
  beforeSend?: (output: EngineOutput) => Promise<void> | void;
  /**
   * Per-step commit (journaled cores such as the client engine): receives the orders the step
   * changed and its output; write them in one transaction. Resolved: the core keeps the step,
   * the events go to onEvent and the messages are sent. Rejected: the core is rolled back to
   * where it was, nothing is sent, an 'error' event (commit-failed) is reported, run() rejects
   * with CommitError, and timers wait `commitRetryMs` before the next attempt.
   */
  commit?: (step: CommitStep<C>) => Promise<void> | void;
  /** Pause after a failed commit before timers are tried again (default 1000 ms). */
  commitRetryMs?: number;
  /** Receives every event: the core's, then the runner's own (send-error, error). */
  onEvent?: (event: EngineEvent) => void;
  timers?: TimerApi;
}

export class EngineRunner<C extends EngineCore> {
  readonly core: C;
  private readonly options: RunnerOptions<C>;
  private readonly timers: TimerApi;
  private tail: Promise<void> = Promise.resolve();
  private handle: unknown;
  private armed = false;
  private unsubscribe: (() => void) | undefined;
  private started = false;
  /** After a failed commit: timers are not retried before this time. */
  private holdUntil = 0;

  constructor(options: RunnerOptions<C>) {
    this.options = options;
    this.core = options.core;
    this.timers = options.timers ?? realTimers;
  }

  get running(): boolean {
    return this.started;
  }

  /** Listens on the transport and arms the timer. Idempotent. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.unsubscribe = this.options.transport.onMessage((inbound) => {
      void this.enqueue(() => this.core.receive(inbound)).catch(() => undefined);
    });
    this.arm();
  }

  /** Stops listening and disarms the timer, then waits for the inputs already queued. The
   * transport itself is left open (its owner closes it). */
  async stop(): Promise<void> {
    this.started = false;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.disarm();
    await this.idle();
  }

  /**
   * Runs a command on the core in turn with the other inputs, performs its output, and
   * resolves with what the command returned (e.g. a CommandResult). Rejects only if the core
   * itself threw.
   */
  run<R extends EngineOutput>(command: (core: C) => R): Promise<R> {
    return this.enqueue(() => command(this.core));
  }

  /** Resolves once every input queued so far has been processed. */
  idle(): Promise<void> {
    return this.tail;
  }

  private enqueue<R extends EngineOutput>(produce: () => R): Promise<R> {
    const job = this.tail.then(async () => {
      const journaled = this.options.commit !== undefined && isJournaled(this.core) ? this.core : undefined;
      journaled?.begin();
      let output: R;
      try {
        output = produce();
      } catch (error) {
        journaled?.rollback();
        this.report('error', 'core-threw', error);
        this.arm();
        throw error;
      }
      if (this.options.commit !== undefined) {
        try {
          const changes = (journaled === undefined ? undefined : journaled.changes()) as ChangesOf<C>;
          await this.options.commit({ changes, output });
          journaled?.settle();
        } catch (error) {
          journaled?.rollback();
          this.holdUntil = this.options.clock.now() + (this.options.commitRetryMs ?? 1000);
          this.report('error', 'commit-failed', error, `${output.sends.length} message(s) not sent; the step was rolled back`);
          this.arm();
          throw new CommitError(error instanceof Error ? error.message : String(error));
        }
      }
      await this.perform(output);
      this.arm();
      return output;
    });
    this.tail = job.then(
      () => undefined,
      () => undefined,
    );
    return job;
  }

  private async perform(output: EngineOutput): Promise<void> {
    if (output.sends.length === 0 && output.events.length === 0) return;
    let committed = true;
    if (this.options.beforeSend) {
      try {
        await this.options.beforeSend(output);
      } catch (error) {
        committed = false;
        this.emitAll(output.events);
        this.report('error', 'beforeSend-failed', error, `${output.sends.length} message(s) not sent`);
      }
    }
    if (!committed) return;
    this.emitAll(output.events);
    for (const send of output.sends) {
      try {
        await this.options.transport.send(send.to, send.bytes);
      } catch (error) {
        this.report('send-error', 'transport-send', error, undefined, send.to);
      }
    }
  }

  private arm(): void {
    this.disarm();
    if (!this.started) return;
    const due = this.core.nextDue();
    if (due === undefined) return;
    const delay = Math.min(Math.max(0, Math.max(due, this.holdUntil) - this.options.clock.now()), MAX_TIMER_DELAY_MS);
    this.armed = true;
    this.handle = this.timers.set(() => {
      this.armed = false;
      this.handle = undefined;
      if (!this.started) return;
      void this.enqueue(() => this.core.tick()).catch(() => undefined);
    }, delay);
  }

  private disarm(): void {
    if (this.armed) this.timers.clear(this.handle);
    this.armed = false;
    this.handle = undefined;
  }

  private emitAll(events: EngineEvent[]): void {
    emitEvents(this.options.onEvent, events);
  }

  private report(kind: 'error' | 'send-error', cause: string, error: unknown, detail?: string, peer?: { address: string; port: number }): void {
    this.emitAll([runnerErrorEvent(this.options.side, this.options.clock.now(), kind, cause, error, detail, peer)]);
  }
}
