import type { Transport as TransportKind } from '../validation/peer';
import type { Endpoint, Inbound, InboundHandler, MessageTransport } from './transport';

/**
 * An in-memory network for tests: transports attached to it exchange messages through a queue
 * that a test drives with a simulated clock. A fault function decides, per packet, whether it
 * is delivered, dropped, duplicated or delayed (which also reorders), so loss scenarios of
 * RFC 8921 11.4 are reproducible from a seed. Nothing here uses real time.
 */
export interface Packet {
  /** 0-based index of the packet in the order it was sent on this network. */
  index: number;
  from: Endpoint;
  to: Endpoint;
  bytes: Uint8Array;
}

export type FaultDecision = 'deliver' | 'drop' | 'duplicate' | { delayMs: number };
export type FaultFunction = (packet: Packet) => FaultDecision;

interface Queued {
  deliverAt: number;
  order: number;
  packet: Packet;
}

const key = (e: Endpoint) => `${e.address}|${e.port}`;

export class MemoryNetwork {
  private readonly transports = new Map<string, MemoryTransport>();
  private queue: Queued[] = [];
  private sent = 0;
  private order = 0;
  /** Every packet offered to the network, with what happened to it (for assertions). */
  readonly log: { packet: Packet; decision: FaultDecision }[] = [];
  faults: FaultFunction = () => 'deliver';

  constructor(
    private readonly now: () => number,
    private readonly latencyMs = 1,
  ) {}

  attach(endpoint: Endpoint, options: { identity?: string; kind?: TransportKind | 'memory' } = {}): MemoryTransport {
    const transport = new MemoryTransport(this, endpoint, options.identity, options.kind ?? 'memory');
    this.transports.set(key(endpoint), transport);
    return transport;
  }

  detach(endpoint: Endpoint): void {
    this.transports.delete(key(endpoint));
  }

  /** @internal called by MemoryTransport.send */
  enqueue(from: Endpoint, to: Endpoint, bytes: Uint8Array): void {
    const packet: Packet = { index: this.sent++, from, to, bytes: bytes.slice() };
    const decision = this.faults(packet);
    this.log.push({ packet, decision });
    const at = this.now() + this.latencyMs;
    if (decision === 'drop') return;
    if (decision === 'duplicate') {
      this.queue.push({ deliverAt: at, order: this.order++, packet }, { deliverAt: at, order: this.order++, packet });
    } else if (decision === 'deliver') {
      this.queue.push({ deliverAt: at, order: this.order++, packet });
    } else {
      this.queue.push({ deliverAt: at + decision.delayMs, order: this.order++, packet });
    }
  }

  /** When the next queued packet is due, or undefined when nothing is in flight. */
  nextDue(): number | undefined {
    let next: number | undefined;
    for (const q of this.queue) if (next === undefined || q.deliverAt < next) next = q.deliverAt;
    return next;
  }

  /** Delivers, in time order, every packet due at or before `now`; returns how many. */
  deliverDue(now: number): number {
    const due = this.queue.filter((q) => q.deliverAt <= now).sort((a, b) => a.deliverAt - b.deliverAt || a.order - b.order);
    this.queue = this.queue.filter((q) => q.deliverAt > now);
    for (const q of due) {
      const target = this.transports.get(key(q.packet.to));
      const sender = this.transports.get(key(q.packet.from));
      target?.deliver({ from: q.packet.from, to: q.packet.to, identity: sender?.identity, bytes: q.packet.bytes.slice() });
    }
    return due.length;
  }

  inFlight(): number {
    return this.queue.length;
  }
}

export class MemoryTransport implements MessageTransport {
  private readonly handlers = new Set<InboundHandler>();
  private closed = false;

  constructor(
    private readonly network: MemoryNetwork,
    private readonly endpoint: Endpoint,
    readonly identity: string | undefined,
    readonly kind: TransportKind | 'memory',
  ) {}

  local(): Endpoint {
    return this.endpoint;
  }

  send(to: Endpoint, bytes: Uint8Array): Promise<void> {
    if (this.closed) return Promise.reject(new Error('transport closed'));
    this.network.enqueue(this.endpoint, to, bytes);
    return Promise.resolve();
  }

  onMessage(handler: InboundHandler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  /** @internal called by MemoryNetwork */
  deliver(message: Inbound): void {
    if (this.closed) return;
    for (const handler of this.handlers) handler(message);
  }

  close(): Promise<void> {
    this.closed = true;
    this.network.detach(this.endpoint);
    return Promise.resolve();
  }
}
