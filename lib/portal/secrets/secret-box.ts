/**
 * Keys at rest: the provider registry's PSKs and TLS private keys are sealed with AES-256-GCM
 * (node:crypto) under one 32-byte portal secret key, from PORTAL_SECRET_KEY (64 hex digits or
 * base64) or the file PORTAL_SECRET_KEY_FILE (same text; `npm start` creates one for the demo).
 *
 * A sealed value is text: `v1.<key id>.<iv>.<ciphertext>.<tag>` (base64url parts). The key id
 * (first 8 hex digits of SHA-256 of the key) lets a wrong key be told apart from tampering; GCM's
 * tag catches both anyway, and nothing is returned unless it verifies. The additional data binds
 * a value to its purpose ("provider-psk", "provider-tls-key"), so a sealed PSK cannot be swapped
 * into the TLS key column. Framework-free; errors are typed and never contain key material.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

export type SecretKeyErrorCode = 'missing' | 'malformed' | 'unreadable';

/** The portal secret key is not configured or not usable. */
export class SecretKeyError extends Error {
  override readonly name = 'SecretKeyError';
  constructor(
    readonly code: SecretKeyErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export type SecretDecryptErrorCode = 'wrong-key' | 'tampered' | 'malformed';

/** A sealed value could not be opened; nothing was decrypted. */
export class SecretDecryptError extends Error {
  override readonly name = 'SecretDecryptError';
  constructor(
    readonly code: SecretDecryptErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** The 32-byte key with its id. The raw bytes stay inside this module's functions' reach only. */
export interface SecretKey {
  readonly id: string;
  readonly bytes: Buffer;
}

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

function keyId(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 8);
}

/** Parses the key text: 64 hex digits, or base64/base64url of exactly 32 bytes. */
export function parseSecretKey(text: string, source = 'PORTAL_SECRET_KEY'): SecretKey {
  const t = text.trim();
  let bytes: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(t)) bytes = Buffer.from(t, 'hex');
  else if (/^[A-Za-z0-9+/_-]{42,44}={0,2}$/.test(t)) {
    const b = Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (b.length === 32) bytes = b;
  }
  if (!bytes) throw new SecretKeyError('malformed', `${source} must be 32 bytes as 64 hex digits or base64`);
  return { id: keyId(bytes), bytes };
}

/** A fresh key as 64 hex digits (for `npm start` and operators). */
export function generateSecretKeyText(): string {
  return randomBytes(32).toString('hex');
}

/**
 * The key from the environment: PORTAL_SECRET_KEY, else the file PORTAL_SECRET_KEY_FILE.
 * Throws SecretKeyError ('missing' when neither is set).
 */
export function secretKeyFromEnv(env: Record<string, string | undefined> = process.env): SecretKey {
  if (env.PORTAL_SECRET_KEY) return parseSecretKey(env.PORTAL_SECRET_KEY);
  const file = env.PORTAL_SECRET_KEY_FILE;
  if (!file) throw new SecretKeyError('missing', 'no portal secret key: set PORTAL_SECRET_KEY or PORTAL_SECRET_KEY_FILE');
  let text: string;
  try {
    text = readFileSync(/*turbopackIgnore: true*/ file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new SecretKeyError('unreadable', `PORTAL_SECRET_KEY_FILE ${file} cannot be read (${code})`);
  }
  return parseSecretKey(text, `PORTAL_SECRET_KEY_FILE ${file}`);
}

const b64 = (b: Buffer): string => b.toString('base64url');

/** Seals `plaintext` for `purpose` (bound as GCM additional data). */
export function sealSecret(key: SecretKey, plaintext: string | Uint8Array, purpose: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key.bytes, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(purpose, 'utf8'));
  const data = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : Buffer.from(plaintext);
  const ct = Buffer.concat([cipher.update(data), cipher.final()]);
  return [VERSION, key.id, b64(iv), b64(ct), b64(cipher.getAuthTag())].join('.');
}

/** Opens a sealed value; throws SecretDecryptError (wrong key, tampered, malformed). */
export function openSecret(key: SecretKey, sealed: string, purpose: string): Buffer {
  const parts = sealed.split('.');
  if (parts.length !== 5 || parts[0] !== VERSION) throw new SecretDecryptError('malformed', 'not a sealed secret (v1)');
  const [, id, ivText, ctText, tagText] = parts as [string, string, string, string, string];
  if (id !== key.id) {
    throw new SecretDecryptError('wrong-key', `sealed with another portal secret key (id ${id}; the configured key is ${key.id})`);
  }
  const iv = Buffer.from(ivText, 'base64url');
  const tag = Buffer.from(tagText, 'base64url');
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new SecretDecryptError('malformed', 'a sealed secret has a bad IV or tag length');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.bytes, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(purpose, 'utf8'));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(Buffer.from(ctText, 'base64url')), decipher.final()]);
  } catch {
    throw new SecretDecryptError('tampered', 'a sealed secret failed authentication (altered, or sealed for another purpose)');
  }
}

export const PSK_PURPOSE = 'provider-psk';
export const TLS_KEY_PURPOSE = 'provider-tls-key';
