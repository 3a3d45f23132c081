import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { generateSecretKeyText, openSecret, parseSecretKey, PSK_PURPOSE, sealSecret, SecretDecryptError, SecretKeyError, secretKeyFromEnv, TLS_KEY_PURPOSE } from '../secrets/secret-box';

const key = parseSecretKey(generateSecretKeyText());
const other = parseSecretKey(generateSecretKeyText());

test('seal then open gives the plaintext back, for any bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 600 }), (bytes) => {
      const sealed = sealSecret(key, bytes, PSK_PURPOSE);
      assert.deepEqual(new Uint8Array(openSecret(key, sealed, PSK_PURPOSE)), bytes);
    }),
  );
});

test('a sealed value shows nothing of the plaintext and differs every time (fresh IV)', () => {
  const secret = '00112233445566778899aabbccddeeff';
  const a = sealSecret(key, secret, PSK_PURPOSE);
  const b = sealSecret(key, secret, PSK_PURPOSE);
  assert.notEqual(a, b);
  assert.ok(!a.includes(secret) && !a.includes(Buffer.from(secret).toString('base64url')));
});

test('a wrong key is a clear typed error and nothing is decrypted', () => {
  const sealed = sealSecret(key, 'top secret', PSK_PURPOSE);
  assert.throws(
    () => openSecret(other, sealed, PSK_PURPOSE),
    (e: unknown) => e instanceof SecretDecryptError && e.code === 'wrong-key' && /another portal secret key/.test(e.message) && !e.message.includes('top secret'),
  );
  // Even with a forged key id the tag check refuses: nothing comes out.
  const forged = sealed.replace(`.${key.id}.`, `.${other.id}.`);
  assert.throws(() => openSecret(other, forged, PSK_PURPOSE), (e: unknown) => e instanceof SecretDecryptError && e.code === 'tampered');
});

test('any altered byte of IV, ciphertext or tag is refused as tampered', () => {
  const sealed = sealSecret(key, 'a pre-shared key of some length', PSK_PURPOSE);
  const parts = sealed.split('.');
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 4 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (part, at, flip) => {
      const bytes = Buffer.from(parts[part] ?? '', 'base64url');
      const i = at % bytes.length;
      bytes[i] = (bytes[i] ?? 0) ^ flip;
      const altered = [...parts];
      altered[part] = bytes.toString('base64url');
      assert.throws(() => openSecret(key, altered.join('.'), PSK_PURPOSE), (e: unknown) => e instanceof SecretDecryptError && (e.code === 'tampered' || e.code === 'malformed'));
    }),
  );
});

test('a value sealed for one purpose does not open for another', () => {
  const sealed = sealSecret(key, 'psk', PSK_PURPOSE);
  assert.throws(() => openSecret(key, sealed, TLS_KEY_PURPOSE), (e: unknown) => e instanceof SecretDecryptError && e.code === 'tampered');
  assert.throws(() => openSecret(key, 'not sealed', PSK_PURPOSE), (e: unknown) => e instanceof SecretDecryptError && e.code === 'malformed');
});

test('the key comes from PORTAL_SECRET_KEY (hex or base64) or PORTAL_SECRET_KEY_FILE; errors are typed', () => {
  const hex = generateSecretKeyText();
  assert.equal(secretKeyFromEnv({ PORTAL_SECRET_KEY: hex }).id, parseSecretKey(hex).id);
  assert.equal(secretKeyFromEnv({ PORTAL_SECRET_KEY: Buffer.from(hex, 'hex').toString('base64') }).id, parseSecretKey(hex).id);
  const dir = mkdtempSync(join(tmpdir(), 'secret-'));
  try {
    writeFileSync(join(dir, 'k'), `${hex}\n`);
    assert.equal(secretKeyFromEnv({ PORTAL_SECRET_KEY_FILE: join(dir, 'k') }).id, parseSecretKey(hex).id);
    assert.throws(() => secretKeyFromEnv({ PORTAL_SECRET_KEY_FILE: join(dir, 'missing') }), (e: unknown) => e instanceof SecretKeyError && e.code === 'unreadable');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.throws(() => secretKeyFromEnv({}), (e: unknown) => e instanceof SecretKeyError && e.code === 'missing');
  assert.throws(() => secretKeyFromEnv({ PORTAL_SECRET_KEY: 'abc' }), (e: unknown) => e instanceof SecretKeyError && e.code === 'malformed' && !e.message.includes('abc'));
});
