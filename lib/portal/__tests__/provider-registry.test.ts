/**
 * The registry's storage rules (registry.ts, schema.ts): keys sealed and write-only, a revision
 * per change of settings, plain UDP for loopback only, SRV names accepted.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { routeOf, SETTINGS_SELECT } from '../negotiation/providers';
import { saveProvider } from '../providers/registry';
import { providerInputSchema, type ProviderInput } from '../providers/schema';
import { parseSecretKey, SecretKeyError } from '../secrets/secret-box';
import { createWorld, type TestWorld } from './helpers';

const key = parseSecretKey('22'.repeat(32));
const secretKey = () => key;
const PSK = '0123456789abcdef'.repeat(2);

let w: TestWorld;
before(async () => {
  w = await createWorld();
});
after(() => w.close());

const values = (input: ProviderInput) => providerInputSchema.parse(input);

test('the schema: host:port or SRV name; UDP for loopback only; DTLS needs an identity; TLS needs its files', () => {
  const ok = (input: ProviderInput) => providerInputSchema.safeParse(input).success;
  assert.ok(ok({ name: 'a', endpoint: '192.0.2.1:8921', transport: 'dtls', pskIdentity: 'p' }));
  assert.ok(ok({ name: 'a', endpoint: '[2001:db8::1]:8921', transport: 'dtls', pskIdentity: 'p' }));
  assert.ok(ok({ name: 'a', endpoint: '_cpnp._udp.provider.example', transport: 'dtls', pskIdentity: 'p' }));
  assert.ok(ok({ name: 'a', endpoint: '127.0.0.1:9', transport: 'udp' }));
  assert.ok(!ok({ name: 'a', endpoint: '192.0.2.1:9', transport: 'udp' }));
  assert.ok(!ok({ name: 'a', endpoint: 'provider.example', transport: 'dtls', pskIdentity: 'p' }));
  assert.ok(!ok({ name: 'a', endpoint: '192.0.2.1:70000', transport: 'dtls', pskIdentity: 'p' }));
  assert.ok(!ok({ name: 'a', endpoint: '192.0.2.1:8921', transport: 'dtls' }));
  assert.ok(!ok({ name: 'a', endpoint: '192.0.2.1:8921', transport: 'dtls', pskIdentity: 'p', pskKey: 'xyz' }));
  assert.ok(!ok({ name: 'a', endpoint: '192.0.2.1:8921', transport: 'tls', tlsCaFile: '/ca' }));
});

test('a key is sealed, never stored in clear, and a blank key on an edit keeps it; revisions follow changes', async () => {
  const created = await saveProvider(w.db, undefined, values({ name: 'Sealed Networks', endpoint: '192.0.2.10:8921', transport: 'dtls', pskIdentity: 'portal', pskKey: PSK }), secretKey);
  assert.ok(created.ok);
  const row = await w.db.provider.findUniqueOrThrow({ where: { id: created.id } });
  assert.ok(row.pskKeyEnc?.startsWith('v1.'));
  assert.ok(!JSON.stringify(row).includes(PSK));
  assert.equal(row.revision, 1);

  // Rename only: same settings, same revision; the key stays.
  const renamed = await saveProvider(w.db, created.id, values({ name: 'Sealed Networks 2', endpoint: '192.0.2.10:8921', transport: 'dtls', pskIdentity: 'portal' }), secretKey);
  assert.ok(renamed.ok && renamed.revision === 1);
  assert.equal((await w.db.provider.findUniqueOrThrow({ where: { id: created.id } })).pskKeyEnc, row.pskKeyEnc);

  // A new endpoint: revision 2, kept beside revision 1.
  const moved = await saveProvider(w.db, created.id, values({ name: 'Sealed Networks 2', endpoint: '192.0.2.11:8921', transport: 'dtls', pskIdentity: 'portal' }), secretKey);
  assert.ok(moved.ok && moved.revision === 2);
  const revisions = await w.db.providerRevision.findMany({ where: { providerId: created.id }, orderBy: { revision: 'asc' } });
  assert.deepEqual(revisions.map((r) => [r.revision, r.endpoint]), [[1, '192.0.2.10:8921'], [2, '192.0.2.11:8921']]);

  const current = await w.db.provider.findUniqueOrThrow({ where: { id: created.id }, select: { id: true, name: true, revision: true, ...SETTINGS_SELECT } });
  const route = await routeOf(current, { secretKey });
  assert.ok(route.ok && route.route.psk && Buffer.from(route.route.psk.key).toString('hex') === PSK);
});

test('without a portal secret key a key cannot be stored: a clear error, nothing written', async () => {
  const before = await w.db.provider.count();
  const saved = await saveProvider(w.db, undefined, values({ name: 'No Key', endpoint: '192.0.2.12:8921', transport: 'dtls', pskIdentity: 'portal', pskKey: PSK }), () => {
    throw new SecretKeyError('missing', 'no portal secret key: set PORTAL_SECRET_KEY or PORTAL_SECRET_KEY_FILE');
  });
  assert.equal(saved.ok, false);
  assert.match(saved.ok ? '' : saved.message, /Keys cannot be stored: no portal secret key/);
  assert.equal(await w.db.provider.count(), before);
});

test('DTLS without any key, TLS without a private key: field errors', async () => {
  const dtls = await saveProvider(w.db, undefined, values({ name: 'Keyless', endpoint: '192.0.2.13:8921', transport: 'dtls', pskIdentity: 'portal' }), secretKey);
  assert.ok(!dtls.ok && dtls.fieldErrors?.pskKey);
  const tls = await saveProvider(w.db, undefined, values({ name: 'Keyless TLS', endpoint: '192.0.2.13:8921', transport: 'tls', tlsCaFile: '/ca.crt', tlsCertFile: '/portal.crt' }), secretKey);
  assert.ok(!tls.ok && tls.fieldErrors?.tlsKey);
});

test('a tampered sealed key gives a route error naming the provider, not the key', async () => {
  const created = await saveProvider(w.db, undefined, values({ name: 'Tampered', endpoint: '192.0.2.14:8921', transport: 'dtls', pskIdentity: 'portal', pskKey: PSK }), secretKey);
  assert.ok(created.ok);
  const row = await w.db.provider.findUniqueOrThrow({ where: { id: created.id }, select: { id: true, name: true, revision: true, ...SETTINGS_SELECT } });
  const parts = (row.pskKeyEnc ?? '').split('.');
  parts[3] = Buffer.from(Buffer.from(parts[3] ?? '', 'base64url').map((b, i) => (i === 0 ? b ^ 1 : b))).toString('base64url');
  const route = await routeOf({ ...row, pskKeyEnc: parts.join('.') }, { secretKey });
  assert.equal(route.ok, false);
  assert.match(route.ok ? '' : route.message, /^Tampered: cannot load its credentials: a sealed secret failed authentication/);
  assert.ok(!(route.ok ? '' : route.message).includes(PSK));
});
