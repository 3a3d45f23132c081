/**
 * The provider registry and the engine host (issue 10 item 3, issue 9 "TLS where configured"),
 * with real reference Providers and the host in its own process:
 * - a provider added while the host runs is used by the next approval (no restart);
 * - editing a provider (new endpoint, key now sealed in the database) moves new orders to the
 *   new settings while an open order finishes with the endpoint it started with; disabling it
 *   does not stop its open orders;
 * - a TLS provider (certificates, the portal's private key sealed) negotiates to Completed;
 * - "test connection" against DTLS and TLS providers reports handshake and round trip.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { toHex } from '../../../cpnp/hex';
import { killChild, spawnCpnp, tempDir, writePolicy, type SpawnedProvider } from '../../../provider/__tests__/provider-harness';
import { checkConnection } from '../../providers/check';
import { saveProvider, providerInputSchema, type ProviderInput } from '../../providers/registry';
import { parseSecretKey } from '../../secrets/secret-box';
import { routeOf, SETTINGS_SELECT } from '../providers';
import { createWorld, keyOf, killHost, pendingOffer, placeApprovedOrder, queueIntent, registerProvider, startHost, startProvider, waitUntil, type HostProcess, type World } from './host-harness';

const SECRET = 'ab'.repeat(32);
const secretKey = () => parseSecretKey(SECRET);

async function save(world: World, id: string | undefined, input: ProviderInput): Promise<{ id: string; revision: number }> {
  const saved = await saveProvider(world.db, id, providerInputSchema.parse(input), secretKey);
  if (!saved.ok) throw new Error(saved.message);
  return saved;
}

async function stateOf(world: World, negotiationId: string): Promise<string | undefined> {
  return (await world.db.negotiation.findUnique({ where: { id: negotiationId }, select: { clientState: true } }))?.clientState;
}

const whenState = (world: World, nid: string, state: string, ms = 40_000) =>
  waitUntil(`negotiation ${nid} in ${state}`, async () => ((await stateOf(world, nid)) === state ? true : undefined), ms);

async function serverPortOf(world: World, nid: string): Promise<number | undefined> {
  const n = await world.db.negotiation.findUniqueOrThrow({ where: { id: nid }, select: { engineRecord: true } });
  return n.engineRecord ? (JSON.parse(n.engineRecord) as { server?: { port: number } }).server?.port : undefined;
}

describe('provider registry with the engine host', () => {
  const children: SpawnedProvider[] = [];
  const hosts: HostProcess[] = [];
  const previous = process.env.PORTAL_SECRET_KEY;
  before(() => {
    // The host child inherits it: it opens the keys sealed by saveProvider.
    process.env.PORTAL_SECRET_KEY = SECRET;
  });
  after(async () => {
    for (const h of hosts) await killHost(h, 'SIGTERM');
    for (const c of children) await killChild(c);
    if (previous === undefined) delete process.env.PORTAL_SECRET_KEY;
    else process.env.PORTAL_SECRET_KEY = previous;
  });

  test('added while the host runs, edited while an order is open, disabled: every order finishes where it started', { timeout: 150_000 }, async (t) => {
    const dir = tempDir(t, 'cpnp-registry-');
    const world = await createWorld(dir);
    t.after(() => world.db.$disconnect());
    const first = await startProvider(dir, 'first');
    const second = await startProvider(dir, 'second');
    children.push(first.spawned, second.spawned);
    const host = await startHost(world);
    hosts.push(host);

    // Added after the host started (legacy key file, as the demo seed writes it).
    const providerId = await registerProvider(world, 'Moving Networks', first.port);
    const one = await placeApprovedOrder(world, [providerId], { title: 'before the edit' });
    const n1 = one.negotiationIds[0] ?? '';
    const offer1 = await waitUntil('offer 1', () => pendingOffer(world, n1));
    assert.equal(await serverPortOf(world, n1), first.port);

    // The provider moves to another server; its key is now stored sealed in the database.
    const edited = await save(world, providerId, { name: 'Moving Networks', endpoint: `127.0.0.1:${second.port}`, transport: 'dtls', pskIdentity: 'portal', pskKey: toHex(keyOf('portal')) });
    assert.equal(edited.revision, 2);
    const row = await world.db.provider.findUniqueOrThrow({ where: { id: providerId } });
    assert.equal(row.pskKeyFile, null);
    assert.ok(row.pskKeyEnc && !row.pskKeyEnc.includes(toHex(keyOf('portal'))));

    const two = await placeApprovedOrder(world, [providerId], { title: 'after the edit' });
    const n2 = two.negotiationIds[0] ?? '';
    const offer2 = await waitUntil('offer 2', () => pendingOffer(world, n2));
    assert.equal(await serverPortOf(world, n2), second.port, 'a new order uses the new endpoint');
    assert.equal(await serverPortOf(world, n1), first.port, 'the open order keeps its endpoint');
    const pinned = await world.db.negotiation.findMany({ where: { id: { in: [n1, n2] } }, select: { id: true, providerRevision: true } });
    assert.deepEqual(Object.fromEntries(pinned.map((p) => [p.id, p.providerRevision])), { [n1]: 1, [n2]: 2 });

    // A restart (kill -9) after the edit: the open order is restored with the settings revision
    // it was approved with (the old endpoint and its key file), not the provider's current ones.
    await killHost(host);
    const restarted = await startHost(world);
    hosts.push(restarted);

    // Disabled: not offered for new orders, but its open orders finish.
    await world.db.provider.update({ where: { id: providerId }, data: { enabled: false } });
    await queueIntent(world, one.orderId, n1, 'accept', { offerId: offer1 });
    await queueIntent(world, two.orderId, n2, 'accept', { offerId: offer2 });
    await whenState(world, n1, 'Completed');
    await whenState(world, n2, 'Completed');
    for (const nid of [n1, n2]) {
      const n = await world.db.negotiation.findUniqueOrThrow({ where: { id: nid }, select: { agreed: true, reachability: true } });
      assert.equal(n.agreed, true);
      assert.equal(n.reachability, 'ok');
    }
    // The key never reaches the host's log (loading, restoring, handshakes).
    const keyHex = toHex(keyOf('portal'));
    for (const h of [host, restarted]) assert.ok(!JSON.stringify(h.lines).toLowerCase().includes(keyHex), 'no key in the host log');
    // Each provider process saw exactly its own order.
    const inbound = await world.db.message.findMany({ where: { negotiationId: { in: [n1, n2] }, method: 'ACK' }, select: { negotiationId: true } });
    assert.equal(inbound.length, 2);
  });

  describe('over TLS', () => {
    let dir = '';
    const file = (name: string) => join(dir, name);
    const openssl = (...args: string[]) => execFileSync('/usr/bin/openssl', args, { cwd: dir, stdio: 'pipe' });
    function leaf(name: string, cn: string, ext: string): void {
      writeFileSync(file(`${name}.ext`), `basicConstraints=CA:FALSE\n${ext}\n`);
      openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${cn}`, '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`));
      openssl('x509', '-req', '-in', file(`${name}.csr`), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', file(`${name}.ext`), '-out', file(`${name}.crt`));
    }
    let provider: { spawned: SpawnedProvider; port: number };

    before(async () => {
      dir = execFileSync('mktemp', ['-d', '/tmp/cpnp-registry-tls-XXXXXX']).toString().trim();
      // One CA signs the provider's server certificate (IP SAN 127.0.0.1) and the portal's client certificate.
      openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=Registry test CA', '-keyout', file('ca.key'), '-out', file('ca.crt'));
      leaf('server', 'cpnp-provider.test', 'extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1');
      leaf('portal', 'portal', 'extendedKeyUsage=clientAuth');
      const policy = writePolicy(dir, { provider: { name: 'tls-networks', asn: 64496 }, defaultCustomer: { allowed: true, maxOrders: 100 } }, 'tls.json');
      const spawned = spawnCpnp(
        ['provider', '--config', policy, '--db', file('tls.db'), '--transport', 'tls', '--tls-cert', file('server.crt'), '--tls-key', file('server.key'), '--tls-ca', file('ca.crt'), '--listen', '127.0.0.1:0'],
        { env: { CPNP_PROVIDER_FAULT: '' } },
      );
      children.push(spawned);
      const listening = await spawned.waitLog('listening', (r) => r.event === 'listening', 30_000);
      provider = { spawned, port: Number(listening.port) };
    });
    after(() => {
      execFileSync('rm', ['-rf', dir]);
    });

    test('a TLS provider from the registry: test connection, then approve → offer → accept → Completed', { timeout: 120_000 }, async (t) => {
      const world = await createWorld(tempDir(t, 'cpnp-registry-'));
      t.after(() => world.db.$disconnect());
      const { id } = await save(world, undefined, {
        name: 'TLS Networks',
        endpoint: `127.0.0.1:${provider.port}`,
        transport: 'tls',
        tlsCaFile: file('ca.crt'),
        tlsCertFile: file('portal.crt'),
        tlsKey: readFileSync(file('portal.key'), 'utf8'),
      });
      const row = await world.db.provider.findUniqueOrThrow({ where: { id }, select: { id: true, name: true, revision: true, ...SETTINGS_SELECT } });
      assert.ok(row.tlsKeyEnc && !row.tlsKeyEnc.includes('PRIVATE KEY'), 'the private key is stored sealed');
      const route = await routeOf(row, { secretKey });
      assert.ok(route.ok, route.ok ? '' : route.message);
      const check = await checkConnection(route.route);
      assert.ok(check.ok, check.message);
      assert.ok(check.handshakeMs !== null && check.handshakeMs > 0 && check.rttMs !== null && check.rttMs >= 0, JSON.stringify(check));

      const host = await startHost(world);
      hosts.push(host);
      const { orderId, negotiationIds } = await placeApprovedOrder(world, [id], { title: 'over TLS' });
      const nid = negotiationIds[0] ?? '';
      const offerId = await waitUntil('an offer over TLS', () => pendingOffer(world, nid), 40_000);
      await queueIntent(world, orderId, nid, 'accept', { offerId });
      await whenState(world, nid, 'Completed');
      const methods = await world.db.message.findMany({ where: { negotiationId: nid }, orderBy: [{ at: 'asc' }, { id: 'asc' }], select: { direction: true, method: true } });
      assert.deepEqual(
        methods.map((m) => `${m.direction} ${m.method}`),
        ['out QUOTATION', 'in PROCESSING', 'in OFFER', 'out PROCESSING', 'out ACCEPT', 'in ACK'],
      );
      const rec = JSON.parse((await world.db.negotiation.findUniqueOrThrow({ where: { id: nid } })).engineRecord ?? '{}') as { transport?: string };
      assert.ok(rec.transport === undefined || rec.transport === 'tls', JSON.stringify(rec.transport));
    });

    test('a wrong portal secret key: the route says so clearly, nothing is decrypted', async (t) => {
      const world = await createWorld(tempDir(t, 'cpnp-registry-'));
      t.after(() => world.db.$disconnect());
      const { id } = await save(world, undefined, { name: 'TLS Again', endpoint: `127.0.0.1:${provider.port}`, transport: 'tls', tlsCaFile: file('ca.crt'), tlsCertFile: file('portal.crt'), tlsKey: readFileSync(file('portal.key'), 'utf8') });
      const row = await world.db.provider.findUniqueOrThrow({ where: { id }, select: { id: true, name: true, revision: true, ...SETTINGS_SELECT } });
      const route = await routeOf(row, { secretKey: () => parseSecretKey('cd'.repeat(32)) });
      assert.equal(route.ok, false);
      assert.match(route.ok ? '' : route.message, /TLS Again: cannot load its credentials: sealed with another portal secret key/);
    });
  });

  test('test connection over DTLS with a sealed key reports handshake and round trip; a dead endpoint fails within the bound', { timeout: 60_000 }, async (t) => {
    const dir = tempDir(t, 'cpnp-registry-');
    const world = await createWorld(dir);
    t.after(() => world.db.$disconnect());
    const p = await startProvider(dir, 'pinged');
    children.push(p.spawned);
    const { id } = await save(world, undefined, { name: 'Pinged', endpoint: `127.0.0.1:${p.port}`, transport: 'dtls', pskIdentity: 'portal', pskKey: toHex(keyOf('portal')) });
    const row = await world.db.provider.findUniqueOrThrow({ where: { id }, select: { id: true, name: true, revision: true, ...SETTINGS_SELECT } });
    const route = await routeOf(row, { secretKey });
    assert.ok(route.ok);
    const check = await checkConnection(route.route);
    assert.ok(check.ok, check.message);
    assert.match(check.message, /FAIL 1/);
    assert.ok(check.handshakeMs !== null && check.rttMs !== null, JSON.stringify(check));

    await killChild(p.spawned);
    const started = Date.now();
    const dead = await checkConnection(route.route, 1500);
    assert.equal(dead.ok, false);
    assert.ok(Date.now() - started < 10_000, 'bounded');
  });
});
