/**
 * Binds an engine core to a transport like EngineRunner (runner.ts), with group commit: the
 * core (synchronous, pure) handles every input the moment it arrives, and the outputs of all
 * inputs handled within one event-loop turn are committed together — one `commit` call, i.e.
 * one database transaction and one fsync — and only then are their messages sent, in order.
 * While a commit is in flight, new inputs keep being handled; their outputs form the next group.
 *
 * Guarantees kept from EngineRunner:
 * - inputs (messages, timer, commands) are handled one at a time, in arrival order;
 * - nothing of an output reaches the wire before the commit that covers it resolved; a rejected
 *   commit sends nothing of its group (an 'error' event says so) and the store writes the same
 *   changes again with the next group (store.ts);
 * - groups are committed and sent in order, so a message never overtakes an earlier one;
 * - ONE timer is armed at core.nextDue().
 * Issue 8: with one commit per input the provider was bound by fsync latency; grouped, one fsync
 * covers every cycle in flight. With `maxCommitsInFlight` > 1 the next group's commit is started
 * (planned, handed to the writer) while the previous one is still being written, so that
 * neither the event loop nor the writer waits for the other; the store must then write commits
 * in the order they were started and fail every commit started on top of a failed one (the
 * provider store does: store.ts). Sends still wait for their own group's commit and for the
 * previous group's sends.
 */
import type { Clock } from '../clock';
import type { MessageTransport } from '../transport/transport';
import { type EngineCore, type EngineEvent, type EngineOutput } from './output';
import { emitEvents, runnerErrorEvent } from './runner-events';
import { MAX_TIMER_DELAY_MS, realTimers, type TimerApi } from './runner';

export interface GroupCommitRunnerOptions<C extends EngineCore> {
  core: C;
  transport: MessageTransport;
  clock: Clock;
  side: 'client' | 'server';
  /** Commit point for a group of outputs, in the order they were produced. A rejection means
   * "not committed": none of their messages is sent. */
  commit?: (outputs: EngineOutput[]) => Promise<void> | void;
  onEvent?: (event: EngineEvent) => void;
  timers?: TimerApi;
  /** Defers the group's flush to the end of the current turn (default setImmediate). */
  defer?: (fn: () => void) => void;
  /** See DEFAULT_SLICE_MS. */
  sliceMs?: number;
  /** How many groups may be committing at once (default 1: the next group waits). */
  maxCommitsInFlight?: number;
  /**
   * Whether an output has anything to commit or send. The default looks at its sends and
   * events; a core whose outputs carry more (the provider's messages to partners, 8.8) must
   * say so, or an output made of that alone (a child order's retransmission) is dropped.
   */
  carries?: (output: EngineOutput) => boolean;
}

const carriesSendsOrEvents = (o: EngineOutput): boolean => o.sends.length > 0 || o.events.length > 0;

interface Pending {
  output: EngineOutput;
  done: (() => void) | undefined;
}

interface Job {
  produce: () => EngineOutput;
  done: (() => void) | undefined;
  fail: ((error: unknown) => void) | undefined;
}

/**
 * How long the core may run before the runner yields to the event loop (timers, I/O): inputs
 * wait in an inbox and are handled in slices of this many milliseconds, so that a burst of
 * datagrams cannot hold the loop for longer (issue 8: event-loop delay).
 */
export const DEFAULT_SLICE_MS = 5;

export class GroupCommitRunner<C extends EngineCore> {
  readonly core: C;
  private readonly options: GroupCommitRunnerOptions<C>;
  private readonly timers: TimerApi;
  private readonly defer: (fn: () => void) => void;
  private pending: Pending[] = [];
  private inbox: Job[] = [];
  private inboxHead = 0;
  private readonly sliceMs: number;
  private scheduled = false;
  /** Groups whose commit was started and whose messages have not been handed to the transport yet. */
  private committing = 0;
  private readonly maxCommitsInFlight: number;
  /** Resolves once the last group started has handed its messages to the transport (send order). */
  private sendTail: Promise<void> = Promise.resolve();
  private idleWaiters: (() => void)[] = [];
  private handle: unknown;
  private armed = false;
  private unsubscribe: (() => void) | undefined;
  private started = false;
  /** The largest group committed so far (tests, logs). */
  largestGroup = 0;

  constructor(options: GroupCommitRunnerOptions<C>) {
    this.options = options;
    this.core = options.core;
    this.timers = options.timers ?? realTimers;
    this.defer = options.defer ?? ((fn) => setImmediate(fn));
    this.sliceMs = options.sliceMs ?? DEFAULT_SLICE_MS;
    this.maxCommitsInFlight = Math.max(1, options.maxCommitsInFlight ?? 1);
  }

  get running(): boolean {
    return this.started;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.unsubscribe = this.options.transport.onMessage((inbound) => {
      this.handle_(() => this.core.receive(inbound), undefined);
    });
    this.arm();
  }

  async stop(): Promise<void> {
    this.started = false;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.disarm();
    await this.idle();
  }

  /** Runs a command on the core in turn with the other inputs (arrival order) and resolves once
   * its output was committed and sent. Rejects only if the core itself threw. */
  run<R extends EngineOutput>(command: (core: C) => R): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      let output: R | undefined;
      this.handle_(
        () => (output = command(this.core)),
        () => resolve(output as R),
        reject,
      );
    });
  }

  /** Resolves once every output produced so far has been committed and sent. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private isIdle(): boolean {
    return this.inboxHead >= this.inbox.length && this.pending.length === 0 && this.committing === 0 && !this.scheduled;
  }

  private handle_(produce: () => EngineOutput, done: (() => void) | undefined, fail?: (error: unknown) => void): void {
    this.inbox.push({ produce, done, fail });
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.defer(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  /** Handles queued inputs for at most one slice, then commits what they produced. */
  private pump(): void {
    const start = performance.now();
    while (this.inboxHead < this.inbox.length) {
      const job = this.inbox[this.inboxHead++] as Job;
      try {
        this.pending.push({ output: job.produce(), done: job.done });
      } catch (error) {
        this.report('error', 'core-threw', error);
        job.fail?.(error);
      }
      if (performance.now() - start >= this.sliceMs) break;
    }
    if (this.inboxHead >= this.inbox.length) {
      this.inbox = [];
      this.inboxHead = 0;
    } else if (this.inboxHead > 1024) {
      this.inbox = this.inbox.slice(this.inboxHead);
      this.inboxHead = 0;
    }
    this.arm();
    void this.flush();
    if (this.inboxHead < this.inbox.length) this.schedule();
  }

  private flush(): void {
    if (this.committing >= this.maxCommitsInFlight) return;
    const group = this.pending;
    this.pending = [];
    if (group.length === 0) {
      this.settleIdle();
      return;
    }
    this.committing++;
    const outputs = group.map((p) => p.output).filter(this.options.carries ?? carriesSendsOrEvents);
    // Started now, synchronously: the store plans the group from the state it has reached.
    const commit = this.options.commit;
    let committed: Promise<unknown> = Promise.resolve();
    if (outputs.length > 0 && commit !== undefined) {
      this.largestGroup = Math.max(this.largestGroup, outputs.length);
      try {
        committed = Promise.resolve(commit(outputs));
      } catch (error) {
        committed = Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
    }
    const previous = this.sendTail;
    const started = this.sendAfter(committed, previous, outputs);
    this.sendTail = started.then(() => undefined);
    void started.then(async (sending) => {
      this.committing--;
      if (this.pending.length > 0) this.schedule();
      await Promise.all(sending);
      for (const p of group) p.done?.();
      this.settleIdle();
    });
  }

  /** Once `committed` resolved and the previous group's messages left, emits and sends these outputs. */
  private async sendAfter(committed: Promise<unknown>, previous: Promise<void>, outputs: EngineOutput[]): Promise<Promise<void>[]> {
    let ok = true;
    let failure: unknown;
    try {
      await committed;
    } catch (error) {
      ok = false;
      failure = error;
    }
    await previous;
    const sending: Promise<void>[] = [];
    if (!ok) {
      for (const o of outputs) this.emitAll(o.events);
      const unsent = outputs.reduce((n, o) => n + o.sends.length, 0);
      this.report('error', 'beforeSend-failed', failure, `${unsent} message(s) not sent`);
      return sending;
    }
    for (const o of outputs) {
      this.emitAll(o.events);
      // Started in order, without waiting for each: the socket keeps their order.
      for (const send of o.sends) {
        sending.push(
          this.options.transport.send(send.to, send.bytes).catch((error: unknown) => {
            this.report('send-error', 'transport-send', error, undefined, send.to);
          }),
        );
      }
    }
    return sending;
  }

  private settleIdle(): void {
    if (!this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private arm(): void {
    this.disarm();
    if (!this.started) return;
    const due = this.core.nextDue();
    if (due === undefined) return;
    const delay = Math.min(Math.max(0, due - this.options.clock.now()), MAX_TIMER_DELAY_MS);
    this.armed = true;
    this.handle = this.timers.set(() => {
      this.armed = false;
      this.handle = undefined;
      if (!this.started) return;
      this.handle_(() => this.core.tick(), undefined);
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
