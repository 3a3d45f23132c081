/**
 * A harness for the "no silent divergence" invariant (docs/state-machines.md section 5,
 * docs/client-engine.md section 11): the real ClientEngine against the real ServerEngine over a
 * lossy MemoryNetwork in simulated time, with an application on each side that follows a
 * seeded plan (server decisions pending or immediate, more-time requests, the client accepting,
 * declining, cancelling across the ACK, updating, activating, withdrawing).
 *
 * At quiescence (nothing due anywhere, nothing planned) `divergence()` says whether the two
 * sides disagree about the order's outcome while the client order carries no open alarm.
 */
import { SimulatedClock } from '../clock';
import type { Cpd } from '../cpd/types';
import { millisToDateTime } from '../date-time';
import { methodName, type MethodName } from '../method';
import { seededRandom, type RandomSource } from '../random';
import { decodeMessage } from '../codec';
import { MemoryNetwork, type FaultDecision, type FaultFunction, type Packet } from '../transport/memory';
import type { Endpoint } from '../transport/transport';
import { ClientEngine, type ClientEngineDeps, type CommandResult } from '../engine/client-engine';
import type { AcceptDecision, RequestDecision } from '../engine/decider';
import { ServerEngine, type ServerDecision } from '../engine/server-engine';
import { Simulation } from '../engine/simulation';
import type { EngineOutput } from '../engine/output';

export const T0 = Date.UTC(2026, 0, 1, 8, 0, 0);
export const CLIENT: Endpoint = { address: '192.0.2.1', port: 40000 };
export const SERVER: Endpoint = { address: '198.51.100.7', port: 4785 };
export const REQUESTED: Cpd = [{ nodes: [{ id: 'ce-a', link: 'pe1:ge-0/0/1' }] }];
export const UPDATED: Cpd = [{ nodes: [{ id: 'ce-a', link: 'pe1:ge-0/0/1' }, { id: 'ce-b', link: 'pe2:ge-0/0/3' }] }];
const LATENCY_MS = 5;
const THINK_MS = 200;
export const RESPONSE_WINDOW_MS = 60_000;
const OFFER_VALIDITY_MS = 120_000;

/** What each side's application does in one run. */
export interface Plan {
  /** The server's answer to the QUOTATION: at once, pending (decided `serverDelayMs` later), or FAIL. */
  decide: 'offer' | 'pending' | 'fail';
  /** pending: the EXPECTED_OFFER_TIME of the PROCESSING, relative to the QUOTATION: within the client's window or beyond. */
  offerTime?: 'none' | 'within' | 'beyond';
  /** pending: the server also asks for more time (9.2.2) before deciding. */
  askMoreTime?: boolean;
  serverDelayMs: number;
  /** The client's answer to a more-time request. */
  moreTime: 'grant' | 'refuse' | 'ignore';
  processOffer: boolean;
  offerAction: 'accept' | 'decline' | 'cancel' | 'acceptThenCancel' | 'ignore';
  /** The server's answer to the ACCEPT. */
  confirm: 'confirm' | 'pending' | 'refuse';
  /** What the client does once the agreement exists. */
  after: 'none' | 'update' | 'activate' | 'withdraw';
  /** The server's review of a WITHDRAW / ACTIVATE. */
  review: 'proceed' | 'pending' | 'fail' | 'pendingFail';
}

export interface World {
  clock: SimulatedClock;
  network: MemoryNetwork;
  sim: Simulation;
  client: ClientEngine;
  server: ServerEngine;
  id: string;
}

/** A fault function drawing from `random`: drop, duplicate and delay (which reorders) rates. */
export function lossy(random: RandomSource, rates: { drop: number; duplicate?: number; delay?: number }): FaultFunction {
  const draw = uniform(random);
  return (): FaultDecision => {
    const x = draw();
    if (x < rates.drop) return 'drop';
    if (x < rates.drop + (rates.duplicate ?? 0)) return 'duplicate';
    if (x < rates.drop + (rates.duplicate ?? 0) + (rates.delay ?? 0)) return { delayMs: Math.floor(draw() * 6000) };
    return 'deliver';
  };
}

export function uniform(random: RandomSource): () => number {
  return () => {
    const b = random.bytes(4);
    return (((b[0] ?? 0) | ((b[1] ?? 0) << 8) | ((b[2] ?? 0) << 16) | ((b[3] ?? 0) << 24)) >>> 0) / 2 ** 32;
  };
}

/** The method of a packet (undefined when it does not decode). */
export function methodOf(packet: Packet): MethodName | undefined {
  const decoded = decodeMessage(packet.bytes);
  return decoded.ok ? methodName(decoded.message.method) : undefined;
}

export const fromServer = (packet: Packet): boolean => packet.from.port === SERVER.port;

/** A seeded plan covering every flow. */
export function randomPlan(random: RandomSource): Plan {
  const draw = uniform(random);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(draw() * items.length)] as T;
  return {
    decide: pick(['offer', 'offer', 'pending', 'pending', 'fail'] as const),
    offerTime: pick(['none', 'within', 'beyond'] as const),
    askMoreTime: draw() < 0.3,
    serverDelayMs: Math.floor(draw() * 20_000),
    moreTime: pick(['grant', 'refuse', 'ignore'] as const),
    processOffer: draw() < 0.5,
    offerAction: pick(['accept', 'accept', 'accept', 'decline', 'cancel', 'acceptThenCancel', 'ignore'] as const),
    confirm: pick(['confirm', 'confirm', 'pending', 'refuse'] as const),
    after: pick(['none', 'update', 'activate', 'withdraw', 'withdraw'] as const),
    review: pick(['proceed', 'proceed', 'pending', 'fail', 'pendingFail'] as const),
  };
}

export interface RunOptions {
  plan: Plan;
  faults?: FaultFunction;
  seed?: number;
  clientConfig?: ClientEngineDeps['config'];
  maxSteps?: number;
}

export interface RunResult extends World {
  stop: 'idle' | 'max-steps';
  problems: string[];
}

/** Runs one order's life under `plan` and `faults` until nothing is due anywhere. */
export function runPlan(options: RunOptions): RunResult {
  const { plan } = options;
  const seed = options.seed ?? 1;
  const clock = new SimulatedClock(T0);
  const network = new MemoryNetwork(() => clock.now(), LATENCY_MS);
  if (options.faults !== undefined) network.faults = options.faults;
  const sim = new Simulation(clock, network);
  /** Server-side actions planned for later (the operator deciding, the partner answering). */
  const later: { at: number; act: () => EngineOutput }[] = [];
  const orderId = (): string => server.listOrders()[0]?.id ?? '';
  const schedule = (delay: number, act: () => EngineOutput): void => {
    later.push({ at: clock.now() + delay, act });
  };
  const offerCpd = (cpd: Cpd): ServerDecision => ({ kind: 'offer', cpd, validityOfferTime: millisToDateTime(clock.now() + OFFER_VALIDITY_MS) });
  // The decider's closures run only once the engine exists.
  const server: ServerEngine = new ServerEngine({
    clock,
    random: seededRandom(seed * 2 + 2),
    config: { offerValidityMs: OFFER_VALIDITY_MS },
    decider: {
      decide: (request) => {
        if (request.cycle === 'update') return offerCpd(request.cpd);
        if (plan.decide === 'fail') return { kind: 'fail', statusCode: 5 };
        if (plan.decide === 'offer') return offerCpd(request.cpd);
        const eot =
          plan.offerTime === 'within'
            ? millisToDateTime(clock.now() + RESPONSE_WINDOW_MS / 2)
            : plan.offerTime === 'beyond'
              ? millisToDateTime(clock.now() + 30 * 86_400_000)
              : undefined;
        const cpd = request.cpd;
        if (plan.askMoreTime) {
          schedule(plan.serverDelayMs / 2, () => server.requestMoreTime(orderId(), millisToDateTime(clock.now() + 10 * RESPONSE_WINDOW_MS), 1));
        }
        schedule(plan.serverDelayMs, () => server.completeDecision(orderId(), offerCpd(cpd)));
        return { kind: 'pending', ...(eot === undefined ? {} : { expectedOfferTime: eot }) };
      },
      confirmAccept: (): AcceptDecision => {
        if (plan.confirm === 'refuse') return { kind: 'refuse', statusCode: 5 };
        if (plan.confirm === 'confirm') return { kind: 'confirm' };
        schedule(plan.serverDelayMs, () => server.confirmAccept(orderId()));
        return { kind: 'pending' };
      },
      reviewRequest: (): RequestDecision => {
        if (plan.review === 'proceed') return { kind: 'proceed' };
        if (plan.review === 'fail') return { kind: 'fail', statusCode: 4 };
        const later: RequestDecision = plan.review === 'pendingFail' ? { kind: 'fail', statusCode: 4 } : { kind: 'proceed' };
        schedule(plan.serverDelayMs, () => server.completeRequest(orderId(), later));
        return { kind: 'pending' };
      },
    },
  });
  const client = new ClientEngine({
    clock,
    random: seededRandom(seed * 2 + 1),
    localEndpoint: CLIENT,
    label: 'client',
    ...(options.clientConfig === undefined ? {} : { config: options.clientConfig }),
  });
  sim.add('client', client, network.attach(CLIENT, { identity: 'acme' }));
  sim.add('server', server, network.attach(SERVER, { identity: 'provider' }));

  const problems: string[] = [];
  const must = (result: CommandResult): string => {
    if (!result.ok) throw new Error(`command refused: ${result.code} ${result.reason}`);
    return result.orderId;
  };
  const apply = (result: CommandResult): CommandResult => sim.apply('client', result);
  const id = must(
    apply(
      client.createOrder({
        cpd: REQUESTED,
        server: SERVER,
        customerOrderId: 'C-div',
        expectedResponseTime: millisToDateTime(T0 + RESPONSE_WINDOW_MS),
        ies: { options: { activationType: plan.after === 'activate' ? 'scheduled' : 'permanent' } },
      }),
    ),
  );
  must(apply(client.approve(id)));
  must(apply(client.sendQuotation(id)));

  const done = new Set<string>();
  /** The client application: one action per key, each after THINK_MS. */
  const next = (): { key: string; act: () => CommandResult } | undefined => {
    const rec = client.order(id);
    if (rec === undefined) return undefined;
    const fsm = rec.fsm;
    const cycle = fsm.cycle;
    if (fsm.state === 'ServerProcessing' && fsm.moreTimeRequested !== undefined && plan.moreTime !== 'ignore') {
      return {
        key: `moreTime:${fsm.moreTimeRequested}`,
        act: () => (plan.moreTime === 'grant' ? client.grantMoreTime(id) : client.refuseMoreTime(id)),
      };
    }
    if (fsm.state === 'OfferReceived' && plan.processOffer) return { key: `${cycle}:processOffer`, act: () => client.processOffer(id) };
    if (fsm.state === 'OfferReceived' || fsm.state === 'OfferProcessing') {
      const action = cycle === 'update' ? 'accept' : plan.offerAction;
      if (action === 'ignore') return undefined;
      if (action === 'decline') return { key: `${cycle}:decline`, act: () => client.decline(id, [2]) };
      if (action === 'cancel') return { key: `${cycle}:cancel`, act: () => client.cancel(id) };
      return {
        key: `${cycle}:accept`,
        act: () => {
          const result = client.accept(id);
          // C23: cancel right after the ACCEPT, before any answer can arrive.
          if (result.ok && action === 'acceptThenCancel') {
            sim.apply('client', result);
            return client.cancel(id);
          }
          return result;
        },
      };
    }
    if (fsm.state === 'Completed' && fsm.outstanding === undefined && plan.after !== 'none') {
      if (plan.after === 'update' && !done.has('update')) {
        return {
          key: 'update',
          act: () => {
            done.add('update');
            return client.update(id, { cpd: UPDATED, expectedResponseTime: millisToDateTime(clock.now() + RESPONSE_WINDOW_MS) });
          },
        };
      }
      if (plan.after === 'activate' && !done.has('activate')) {
        return {
          key: 'activate',
          act: () => {
            done.add('activate');
            return client.activate(id, null);
          },
        };
      }
      if (plan.after === 'withdraw' && !done.has('withdraw')) {
        return {
          key: 'withdraw',
          act: () => {
            done.add('withdraw');
            return client.withdraw(id);
          },
        };
      }
    }
    return undefined;
  };

  let pending: { key: string; at: number } | undefined;
  const maxSteps = options.maxSteps ?? 50_000;
  for (let steps = 0; steps < maxSteps; steps++) {
    const want = next();
    if (want === undefined) pending = undefined;
    else if (pending?.key !== want.key) pending = { key: want.key, at: clock.now() + THINK_MS };
    if (want !== undefined && done.has(`key:${want.key}`)) pending = undefined;
    later.sort((a, b) => a.at - b.at);
    const serverAt = later[0]?.at;
    const due = sim.nextDue();
    const appAt = want !== undefined && pending !== undefined ? pending.at : undefined;
    const times = [due, serverAt, appAt].filter((t): t is number => t !== undefined);
    if (times.length === 0) return { clock, network, sim, client, server, id, stop: 'idle', problems };
    const first = Math.min(...times);
    if (appAt !== undefined && appAt === first && want !== undefined) {
      clock.set(Math.max(clock.now(), appAt));
      pending = undefined;
      done.add(`key:${want.key}`);
      apply(want.act());
    } else if (serverAt !== undefined && serverAt === first) {
      clock.set(Math.max(clock.now(), serverAt));
      const job = later.shift();
      if (job !== undefined) sim.apply('server', job.act());
    } else {
      sim.step();
    }
  }
  return { clock, network, sim, client, server, id, stop: 'max-steps', problems };
}

/**
 * The invariant: at quiescence either both sides agree on the order's outcome (agreement or
 * none, the same agreement, the same activation) and the client waits for nothing, or the client
 * order carries an open alarm. Returns the disagreement, or undefined.
 */
export function divergence(world: World): string | undefined {
  const rec = world.client.order(world.id);
  if (rec === undefined) return 'the client lost the order';
  if (world.client.openAlarms(world.id).length > 0) return undefined;
  const fsm = rec.fsm;
  if (fsm.outstanding !== undefined) return `client still waits for the answer to ${fsm.outstanding.method} with nothing due and no alarm`;
  if (['PQOSent', 'ServerProcessing', 'OfferProcessing', 'AcceptSent'].includes(fsm.state)) {
    return `client rests in ${fsm.state} with nothing due and no alarm`;
  }
  const order = world.server.listOrders()[0];
  const serverAgreement = order !== undefined && order.fsm.hasAgreement && order.fsm.state !== 'Cancelled';
  if (fsm.hasAgreement !== serverAgreement) {
    return `client ${fsm.state}${fsm.cancelReason ? `(${fsm.cancelReason})` : ''} agreement=${fsm.hasAgreement}, server ${order?.fsm.state ?? 'none'} agreement=${serverAgreement}`;
  }
  if (fsm.hasAgreement && order !== undefined) {
    if (order.agreement?.nonce !== rec.agreement?.nonce) return 'the client and the server hold different agreements';
    if (order.fsm.activation?.status !== fsm.activation?.status) {
      return `activation differs: client ${fsm.activation?.status ?? '-'}, server ${order.fsm.activation?.status ?? '-'}`;
    }
  }
  return undefined;
}
