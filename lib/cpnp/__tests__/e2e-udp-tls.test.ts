/**
 * End to end over the two other real transports (RFC 8921 8.1): plain UDP on loopback (tests
 * and development only, section 13) and TLS over TCP with mutual certificate authentication.
 * A ServerEngine and a ClientEngine, each bound to its transport through an EngineRunner with
 * the real clock, negotiate a whole order: QUOTATION → PROCESSING, OFFER → PROCESSING → ACCEPT →
 * ACK, then WITHDRAW → ACK. Waiting is event-driven (runner onEvent), never a fixed sleep.
 *
 * TLS note: a TLS client learns its local port only when its connection opens. The order is
 * created and its QUOTATION sent before any connection exists, as a production client does: the
 * engine asks the transport (localFor) when each transaction opens, learns the endpoint from the
 * first valid response, and enforces the whole 4-tuple (8.3) from then on
 * (docs/client-engine.md section 5a).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { systemClock } from '../clock';
import type { Cpd } from '../cpd/types';
import { cryptoRandom } from '../random';
import { ClientEngine, type ClientEngineDeps, type CommandResult } from '../engine/client-engine';
import { concretizeCpd, concretizingDecider } from '../engine/decider';
import type { EngineEvent } from '../engine/output';
import { EngineRunner } from '../engine/runner';
import { ServerEngine } from '../engine/server-engine';
import { TlsClientTransport, TlsServerTransport, type TlsCredentials } from '../transport/tls';
import type { MessageTransport } from '../transport/transport';
import { UdpTransport } from '../transport/udp';
import type { Transport as TransportKind } from '../validation/peer';
import { EventHub } from './helpers/event-hub';

const REQUESTED: Cpd = [{ nodes: [{ id: 'ce-a', link: 'pe1:ge-0/0/1' }] }];
const TIMERS = { retransTimerMs: 400, maxRetries: 3 };
const WAIT_MS = 5000;
const quiet = { warn: () => undefined };

const closers: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
});

/**
 * Runs one order through QUOTATION … ACK and WITHDRAW … ACK between a server and a client
 * transport; returns the server's order for further checks.
 */
async function negotiate(
  kind: TransportKind,
  serverTransport: MessageTransport,
  clientTransport: MessageTransport,
  localEndpoint: ClientEngineDeps['localEndpoint'],
  options: { localKnownAtStart: boolean },
) {
  const log = new EventHub(WAIT_MS);
  const server = new ServerEngine({ clock: systemClock, random: cryptoRandom, decider: concretizingDecider(), config: { transport: kind, timers: TIMERS } });
  const serverRunner = new EngineRunner({ core: server, transport: serverTransport, clock: systemClock, side: 'server', onEvent: log.push });
  const client = new ClientEngine({ clock: systemClock, random: cryptoRandom, localEndpoint, transport: kind, config: { timers: TIMERS } });
  const clientRunner = new EngineRunner({ core: client, transport: clientTransport, clock: systemClock, side: 'client', onEvent: log.push });
  serverRunner.start();
  clientRunner.start();
  closers.push(() => serverRunner.stop(), () => clientRunner.stop());
  const run = async (command: (c: ClientEngine) => CommandResult): Promise<string> => {
    const result = await clientRunner.run(command);
    if (!result.ok) assert.fail(result.reason);
    log.poke();
    return result.orderId;
  };
  const serverOrder = () => server.listOrders()[0];

  const id = await run((c) => c.createOrder({ cpd: REQUESTED, server: serverTransport.local() }));
  await run((c) => c.approve(id));
  await run((c) => c.sendQuotation(id));
  assert.equal(client.order(id)?.local !== undefined, options.localKnownAtStart, 'local endpoint known when the QUOTATION transaction opened');
  await log.until('the OFFER', () => client.state(id) === 'OfferReceived');
  const local = client.order(id)?.local;
  assert.ok(local && local.port > 0, 'known once the first response arrived');
  assert.equal(local.port, clientTransport.local().port, 'the port the transport uses');
  await run((c) => c.processOffer(id));
  await log.until('the server sees PROCESSING', () => serverOrder()?.fsm.state === 'ProcessingReceived');
  await run((c) => c.accept(id));
  await log.until('Completed at both ends', () => client.state(id) === 'Completed' && serverOrder()?.fsm.state === 'Completed');
  assert.deepEqual(client.order(id)?.agreement?.cpd, concretizeCpd(REQUESTED));
  assert.equal(client.order(id)?.agreement?.nonce, serverOrder()?.agreement?.nonce);
  await run((c) => c.withdraw(id));
  await log.until('the WITHDRAW is acknowledged', () => serverOrder()?.fsm.state === 'Cancelled' && client.order(id)?.fsm.outstanding === undefined);
  assert.equal(client.order(id)?.fsm.cancelReason, 'withdrawn');

  const methods = (side: 'client' | 'server', kindOf: EngineEvent['kind']) =>
    [...new Set(log.events.filter((e) => e.side === side && e.kind === kindOf).map((e) => e.method))].sort();
  assert.deepEqual(methods('client', 'sent'), ['ACCEPT', 'PROCESSING', 'QUOTATION', 'WITHDRAW']);
  assert.deepEqual(methods('server', 'sent'), ['ACK', 'OFFER', 'PROCESSING']);
  assert.deepEqual(methods('client', 'received'), ['ACK', 'OFFER', 'PROCESSING']);
  assert.deepEqual(methods('server', 'received'), ['ACCEPT', 'PROCESSING', 'QUOTATION', 'WITHDRAW']);
  assert.deepEqual(
    log.events.filter((e) => e.kind === 'dropped' || e.kind === 'retransmitted' || e.kind === 'send-error' || e.kind === 'error'),
    [],
    'nothing dropped, retransmitted or failed',
  );
  return serverOrder();
}

describe('CPNP end to end over plain UDP (loopback only)', () => {
  test('a whole order; no identity, so the order has no owner', async () => {
    const serverTransport = await UdpTransport.listen({ host: '127.0.0.1', port: 0, logger: quiet });
    const clientTransport = await UdpTransport.bind({ host: '127.0.0.1', port: 0, logger: quiet });
    closers.push(() => serverTransport.close(), () => clientTransport.close());
    const order = await negotiate('udp', serverTransport, clientTransport, () => clientTransport.local(), { localKnownAtStart: true });
    assert.equal(order?.owner, undefined);
  });
});

describe('CPNP end to end over TLS (mutual certificates)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cpnp-e2e-tls-'));
  closers.push(() => Promise.resolve(rmSync(dir, { recursive: true, force: true })));
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('/usr/bin/openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const leaf = (name: string, cn: string, ext: string) => {
    writeFileSync(file(`${name}.ext`), `basicConstraints=CA:FALSE\n${ext}\n`);
    openssl('req', ...ec, '-subj', `/CN=${cn}`, '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`));
    openssl('x509', '-req', '-in', file(`${name}.csr`), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', file(`${name}.ext`), '-out', file(`${name}.crt`));
  };
  const creds = (name: string): TlsCredentials => ({ key: readFileSync(file(`${name}.key`)), cert: readFileSync(file(`${name}.crt`)), ca: readFileSync(file('ca.crt')) });

  test('a whole order; the owner is the client certificate\'s identity', async () => {
    openssl('req', '-x509', ...ec, '-days', '2', '-subj', '/CN=cpnp-e2e-ca', '-keyout', file('ca.key'), '-out', file('ca.crt'));
    leaf('server', 'cpnp-server.test', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth');
    leaf('client', 'acme', 'extendedKeyUsage=clientAuth');
    const serverTransport = await TlsServerTransport.listen({ ...creds('server'), host: '127.0.0.1', port: 0, logger: quiet });
    const clientTransport = new TlsClientTransport({ ...creds('client'), logger: quiet });
    closers.push(() => serverTransport.close(), () => clientTransport.close());

    // No connection yet: the order is created, and its QUOTATION sent, before one exists.
    assert.equal(clientTransport.localFor(serverTransport.local()), undefined);
    const order = await negotiate('tls', serverTransport, clientTransport, (server) => clientTransport.localFor(server), { localKnownAtStart: false });
    assert.equal(order?.owner, 'acme', 'the certificate CN is the authenticated identity');
  });
});
