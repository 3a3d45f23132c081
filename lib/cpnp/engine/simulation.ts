/**
 * A deterministic harness for engine cores over the in-memory network (transport/memory.ts)
 * with a simulated clock: no real time, no sleeps. One step jumps the clock to the earliest
 * thing due (a packet or a timer of any core), delivers due packets (each goes through
 * core.receive) and ticks every core. Every run is bounded by a step count and a span of
 * simulated time, so a livelock ends the run instead of hanging the test.
 */
import type { SimulatedClock } from '../clock';
import type { MemoryNetwork } from '../transport/memory';
import type { Endpoint, MessageTransport } from '../transport/transport';
import type { EngineCore, EngineEvent, EngineOutput, EngineSend } from './output';

export interface SimNode {
  name: string;
  core: EngineCore;
  transport: MessageTransport;
}

/** An event as the simulation logs it: which node produced it. */
export interface SimEvent extends EngineEvent {
  simNode: string;
}

/** A message a node put on the wire (before the network's fault function). */
export interface SimSend extends EngineSend {
  from: Endpoint;
  simNode: string;
  at: number;
}

export interface RunLimits {
  /** Maximum simulated time the run may cover, from its start (default one day). */
  maxTimeMs?: number;
  /** Maximum steps (default 10,000). */
  maxSteps?: number;
}

export interface RunResult {
  /** predicate: it holds; idle: nothing is due anywhere; max-steps / max-time: a limit hit. */
  reason: 'predicate' | 'idle' | 'max-steps' | 'max-time';
  steps: number;
  now: number;
}

export const DEFAULT_MAX_STEPS = 10_000;
export const DEFAULT_MAX_TIME_MS = 24 * 3600 * 1000;

export class Simulation {
  private readonly nodes: SimNode[] = [];
  private readonly unsubscribe: (() => void)[] = [];
  /** Every event of every node, in order. */
  readonly events: SimEvent[] = [];
  /** Every message sent by every node, in order. */
  readonly sends: SimSend[] = [];
  /** Errors thrown by a core or rejected sends (should stay empty). */
  readonly errors: { node: string; error: unknown }[] = [];

  constructor(
    readonly clock: SimulatedClock,
    readonly network: MemoryNetwork,
  ) {}

  /** Adds a core; inbound messages on `transport` go to core.receive. */
  add(name: string, core: EngineCore, transport: MessageTransport): SimNode {
    if (this.nodes.some((n) => n.name === name)) throw new RangeError(`node ${name} already exists`);
    const node: SimNode = { name, core, transport };
    this.nodes.push(node);
    this.unsubscribe.push(
      transport.onMessage((inbound) => {
        let output: EngineOutput;
        try {
          output = core.receive(inbound);
        } catch (error) {
          this.errors.push({ node: name, error });
          return;
        }
        this.apply(name, output);
      }),
    );
    return node;
  }

  node(name: string): SimNode {
    const node = this.nodes.find((n) => n.name === name);
    if (node === undefined) throw new RangeError(`no node ${name}`);
    return node;
  }

  /** Performs an output of node `name` (e.g. what a command returned) and returns it. */
  apply<R extends EngineOutput>(name: string, output: R): R {
    const node = this.node(name);
    for (const event of output.events) this.events.push({ ...event, simNode: name });
    for (const send of output.sends) {
      this.sends.push({ ...send, from: node.transport.local(), simNode: name, at: this.clock.now() });
      node.transport.send(send.to, send.bytes).catch((error: unknown) => this.errors.push({ node: name, error }));
    }
    return output;
  }

  /** The earliest time anything is due: a packet in flight or a timer of a core. */
  nextDue(): number | undefined {
    let next = this.network.nextDue();
    for (const node of this.nodes) {
      const due = node.core.nextDue();
      if (due !== undefined && (next === undefined || due < next)) next = due;
    }
    return next;
  }

  /** Ticks every core at the current time. */
  tickAll(): void {
    for (const node of this.nodes) {
      try {
        this.apply(node.name, node.core.tick());
      } catch (error) {
        this.errors.push({ node: node.name, error });
      }
    }
  }

  /** One step: jump to the next due time (never backwards), deliver, tick. False when idle. */
  step(): boolean {
    const due = this.nextDue();
    if (due === undefined) return false;
    const now = Math.max(due, this.clock.now());
    this.clock.set(now);
    this.network.deliverDue(now);
    this.tickAll();
    return true;
  }

  /** Steps until `predicate` holds, nothing is due, or a limit is hit. */
  runUntil(predicate: () => boolean, limits: RunLimits = {}): RunResult {
    const maxSteps = limits.maxSteps ?? DEFAULT_MAX_STEPS;
    const deadline = this.clock.now() + (limits.maxTimeMs ?? DEFAULT_MAX_TIME_MS);
    let steps = 0;
    for (;;) {
      if (predicate()) return { reason: 'predicate', steps, now: this.clock.now() };
      if (steps >= maxSteps) return { reason: 'max-steps', steps, now: this.clock.now() };
      const due = this.nextDue();
      if (due === undefined) return { reason: 'idle', steps, now: this.clock.now() };
      if (due > deadline) return { reason: 'max-time', steps, now: this.clock.now() };
      this.step();
      steps++;
    }
  }

  /** Steps until nothing is due anywhere (or a limit is hit). */
  runUntilIdle(limits: RunLimits = {}): RunResult {
    return this.runUntil(() => false, limits);
  }

  /**
   * Runs everything due within the next `ms`, then moves the clock to exactly now + ms and
   * ticks once more. Returns 'max-steps' if the step limit cut it short.
   */
  advance(ms: number, limits: Pick<RunLimits, 'maxSteps'> = {}): RunResult {
    const target = this.clock.now() + ms;
    const result = this.runUntil(() => {
      const due = this.nextDue();
      return due === undefined || due > target;
    }, { maxSteps: limits.maxSteps ?? DEFAULT_MAX_STEPS, maxTimeMs: ms });
    if (result.reason === 'max-steps') return result;
    if (this.clock.now() < target) {
      this.clock.set(target);
      this.network.deliverDue(target);
      this.tickAll();
    }
    return { ...result, now: this.clock.now() };
  }

  /** Sends of node `name`, optionally of one method name. */
  sentBy(name: string): SimSend[] {
    return this.sends.filter((s) => s.simNode === name);
  }

  /** Stops listening on every transport. */
  detach(): void {
    for (const off of this.unsubscribe.splice(0)) off();
  }
}
