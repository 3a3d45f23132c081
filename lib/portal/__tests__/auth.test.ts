/**
 * better-auth as configured for the portal, against a real migrated database, through its HTTP
 * handler (the same code /api/auth runs). TEST=1 and NODE_ENV=test are set on purpose: they
 * make better-auth drop its Origin check unless the configuration insists (config.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createWorld, PASSWORD, type TestWorld } from './helpers';

process.env.TEST = '1';
(process.env as Record<string, string>).NODE_ENV = 'test';
const { createPortalAuth } = await import('../auth/config');
type Settings = Parameters<typeof createPortalAuth>[1];

const BASE = 'http://127.0.0.1:3999';
const SETTINGS: Settings = {
  baseURL: BASE,
  trustedOrigins: [BASE],
  secret: 'test-secret-test-secret-test-secret-0123',
  allowSignUp: false,
  signInMax: 10,
  signInWindowSeconds: 60,
  accountMax: 10,
  accountWindowSeconds: 300,
};

let w: TestWorld;
before(async () => {
  w = await createWorld();
});
after(() => w.close());

function post(auth: ReturnType<typeof createPortalAuth>, path: string, body: unknown, headers: Record<string, string> = {}) {
  return auth.handler(
    new Request(`${BASE}/api/auth${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: BASE, 'x-forwarded-for': '10.0.0.1', ...headers },
      body: JSON.stringify(body),
    }),
  );
}

const sessionCookie = (res: Response) => res.headers.getSetCookie().find((c) => /session_token=/.test(c));

describe('portal auth (better-auth)', () => {
  test('signs in with email and password; the cookie is HttpOnly, SameSite=Lax, not Secure over http', async () => {
    const auth = createPortalAuth(w.db, SETTINGS);
    const res = await post(auth, '/sign-in/email', { email: 'alice@a.example', password: PASSWORD });
    assert.equal(res.status, 200);
    const cookie = sessionCookie(res);
    assert.ok(cookie, 'a session cookie');
    assert.match(cookie, /HttpOnly/i);
    assert.match(cookie, /SameSite=Lax/i);
    assert.doesNotMatch(cookie, /Secure/i);
    const body = (await res.json()) as { user: { role: string; organisationId: string } };
    assert.equal(body.user.role, 'customer');
    assert.equal(body.user.organisationId, w.users.customerA.organisationId);
  });

  test('over https the session cookie is Secure', async () => {
    const https = 'https://portal.example';
    const auth = createPortalAuth(w.db, { ...SETTINGS, baseURL: https, trustedOrigins: [https] });
    const res = await auth.handler(
      new Request(`${https}/api/auth/sign-in/email`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: https, 'x-forwarded-for': '10.0.0.2' },
        body: JSON.stringify({ email: 'andy@a.example', password: PASSWORD }),
      }),
    );
    assert.equal(res.status, 200);
    assert.match(sessionCookie(res) ?? '', /;\s*Secure/i);
  });

  test('a foreign Origin gets 403 even with TEST and NODE_ENV=test set', async () => {
    const auth = createPortalAuth(w.db, SETTINGS);
    const res = await post(auth, '/sign-in/email', { email: 'alice@a.example', password: PASSWORD }, { origin: 'http://evil.example', 'x-forwarded-for': '10.0.0.3' });
    assert.equal(res.status, 403);
    assert.equal(sessionCookie(res), undefined);
  });

  test('every sign-in makes a new session token; sign-out deletes it', async () => {
    const auth = createPortalAuth(w.db, SETTINGS);
    const one = await post(auth, '/sign-in/email', { email: 'bob@b.example', password: PASSWORD }, { 'x-forwarded-for': '10.0.0.4' });
    const two = await post(auth, '/sign-in/email', { email: 'bob@b.example', password: PASSWORD }, { 'x-forwarded-for': '10.0.0.4' });
    const t1 = (await one.json()) as { token: string };
    const t2 = (await two.json()) as { token: string };
    assert.notEqual(t1.token, t2.token);
    const cookie = (sessionCookie(two) ?? '').split(';')[0]!;
    const before = await w.db.session.count({ where: { userId: w.users.customerB.id } });
    const out = await post(auth, '/sign-out', {}, { cookie, 'x-forwarded-for': '10.0.0.4' });
    assert.equal(out.status, 200);
    assert.equal(await w.db.session.count({ where: { userId: w.users.customerB.id } }), before - 1);
    const session = await auth.api.getSession({ headers: new Headers({ cookie }) });
    assert.equal(session, null);
  });

  test('wrong password: 401, no session', async () => {
    const auth = createPortalAuth(w.db, SETTINGS);
    const res = await post(auth, '/sign-in/email', { email: 'alice@a.example', password: 'not-the-password' }, { 'x-forwarded-for': '10.0.0.5' });
    assert.equal(res.status, 401);
    assert.equal(sessionCookie(res), undefined);
  });

  test('public sign-up is off by default', async () => {
    const auth = createPortalAuth(w.db, SETTINGS);
    const res = await post(auth, '/sign-up/email', { email: 'new@x.example', password: 'long-enough-pw', name: 'New' }, { 'x-forwarded-for': '10.0.0.6' });
    assert.ok(res.status >= 400, `status ${res.status}`);
    assert.equal(await w.db.user.count({ where: { email: 'new@x.example' } }), 0);
  });

  test('with sign-up on, nobody can give themselves a role or an organisation', async () => {
    const auth = createPortalAuth(w.db, { ...SETTINGS, allowSignUp: true, signUpOrganisationId: w.users.customerB.organisationId });
    const sneaky = await post(
      auth,
      '/sign-up/email',
      { email: 'mallory@x.example', password: 'long-enough-pw', name: 'M', role: 'admin', organisationId: w.users.customerA.organisationId },
      { 'x-forwarded-for': '10.0.0.7' },
    );
    assert.ok(sneaky.status >= 400, 'extra fields with input:false are refused');
    const plain = await post(auth, '/sign-up/email', { email: 'mallory@x.example', password: 'long-enough-pw', name: 'M' }, { 'x-forwarded-for': '10.0.0.7' });
    assert.equal(plain.status, 200);
    const row = await w.db.user.findUniqueOrThrow({ where: { email: 'mallory@x.example' } });
    assert.equal(row.role, 'customer');
    assert.equal(row.organisationId, w.users.customerB.organisationId);
  });

  test('sign-in is rate limited per client address (429 on the 11th attempt within a minute)', async () => {
    const auth = createPortalAuth(w.db, SETTINGS);
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) {
      // Different accounts, so only the per-address limit can trigger.
      const res = await post(auth, '/sign-in/email', { email: `nobody${i}@x.example`, password: 'wrong-password' }, { 'x-forwarded-for': '10.1.1.1' });
      statuses.push(res.status);
    }
    assert.deepEqual(statuses.slice(0, 10), Array(10).fill(401));
    assert.equal(statuses[10], 429);
  });

  test('sign-in is rate limited per account, whatever address the client claims', async () => {
    const auth = createPortalAuth(w.db, SETTINGS);
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) {
      const res = await post(auth, '/sign-in/email', { email: 'staff@op.example', password: 'wrong-password' }, { 'x-forwarded-for': `10.2.0.${i + 1}` });
      statuses.push(res.status);
    }
    assert.equal(statuses[10], 429);
    // Even the right password is refused until the window passes.
    const right = await post(auth, '/sign-in/email', { email: 'staff@op.example', password: PASSWORD }, { 'x-forwarded-for': '10.2.1.1' });
    assert.equal(right.status, 429);
  });
});
