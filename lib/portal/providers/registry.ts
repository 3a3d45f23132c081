/**
 * The Provider servers the portal knows (issue 10 item 3). Rows are written by the demo seed,
 * operators (CLI) and the registry page; the engine host reads them (negotiation/providers.ts).
 *
 * Keys at rest: a PSK (hex) and a TLS client private key (PEM) are sealed with the portal secret
 * key (secrets/secret-box.ts) before they reach the database; CA and certificate files are public
 * material and stored as paths on the portal's host. Rows written before the registry name a PSK
 * key *file* instead (pskKeyFile, still read). Every change of endpoint, transport or credentials
 * bumps Provider.revision and keeps a copy in ProviderRevision: open negotiations finish with
 * the settings they were approved with. Framework-free.
 */
import { z } from 'zod';
import type { PortalDbClient } from '../db/client';
import { TRANSPORTS } from '../db/types';
import { isSrvName } from '../negotiation/providers';
import { PSK_PURPOSE, sealSecret, TLS_KEY_PURPOSE, type SecretKey } from '../secrets/secret-box';
import { parseServer } from '../../cpnp/transport/ping';
import { isLoopbackAddress, unbracket } from '../../cpnp/transport/loopback';

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;

function isLoopbackEndpoint(endpoint: string): boolean {
  const e = parseServer(endpoint.trim());
  return e !== undefined && (isLoopbackAddress(unbracket(e.address)) || e.address === 'localhost');
}

const optionalText = (max: number) =>
  z
    .string()
    .trim()
    .max(max)
    .optional()
    .transform((v) => (v === '' ? undefined : v));

/** One form / CLI input. Keys are write-only: left out on an edit, the stored one is kept. */
export const providerInputSchema = z
  .object({
    name: z.string().trim().min(1, 'Give the provider a name.').max(80),
    endpoint: z
      .string()
      .trim()
      .min(1, 'Enter host:port or an SRV name.')
      .max(255)
      .refine((v) => (HOST_PORT.test(v) && parseServer(v) !== undefined) || isSrvName(v), 'Enter host:port (e.g. 192.0.2.7:8921) or an SRV name (_cpnp._udp.example.net).'),
    transport: z.enum(TRANSPORTS, { message: 'Choose DTLS, TLS or UDP.' }).default('dtls'),
    pskIdentity: optionalText(128),
    /** The PSK as hex (16..512 bytes), sealed before storage. */
    pskKey: optionalText(1024).refine((v) => v === undefined || (/^([0-9a-fA-F]{2}){16,512}$/.test(v.replace(/\s+/g, ''))), 'The key is 16 to 512 bytes written as hex digits.'),
    /** Legacy: a file holding the PSK (seed, CLI). */
    pskKeyFile: optionalText(1024),
    tlsCaFile: optionalText(1024),
    tlsCertFile: optionalText(1024),
    /** The portal's TLS private key (PEM), sealed before storage. */
    tlsKey: optionalText(20_000).refine((v) => v === undefined || /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(v), 'Paste the private key in PEM form (-----BEGIN … PRIVATE KEY-----).'),
  })
  // Plain UDP carries orders unprotected: allowed for loopback providers (tests, development) only.
  .refine((p) => p.transport !== 'udp' || isLoopbackEndpoint(p.endpoint), { message: 'Plain UDP is allowed for loopback providers only (127.0.0.1, ::1).', path: ['transport'] })
  .refine((p) => p.transport !== 'dtls' || p.pskIdentity !== undefined, { message: 'DTLS needs a PSK identity.', path: ['pskIdentity'] })
  .refine((p) => p.transport !== 'tls' || p.tlsCaFile !== undefined, { message: 'TLS needs the CA file that signs the provider certificate.', path: ['tlsCaFile'] })
  .refine((p) => p.transport !== 'tls' || p.tlsCertFile !== undefined, { message: 'TLS needs the portal client certificate file.', path: ['tlsCertFile'] });
export type ProviderInput = z.input<typeof providerInputSchema>;
export type ProviderValues = z.output<typeof providerInputSchema>;

/** Kept for the seed and the CLI: the same schema. */
export const providerSchema = providerInputSchema;

/** The settings columns a revision holds. */
interface Settings {
  endpoint: string;
  transport: string;
  pskIdentity: string | null;
  pskKeyFile: string | null;
  pskKeyEnc: string | null;
  tlsCaFile: string | null;
  tlsCertFile: string | null;
  tlsKeyEnc: string | null;
}

const SETTINGS_KEYS = ['endpoint', 'transport', 'pskIdentity', 'pskKeyFile', 'pskKeyEnc', 'tlsCaFile', 'tlsCertFile', 'tlsKeyEnc'] as const;

export type SaveError = { ok: false; code: 'invalid' | 'not-found' | 'conflict' | 'no-secret-key'; message: string; fieldErrors?: Record<string, string[]> };
export type SaveResult = { ok: true; id: string; revision: number } | SaveError;

/**
 * Creates (no `id`) or updates the provider `id` from validated values. A key left blank keeps
 * the stored one (an edit never needs the key re-typed); a new key replaces it. `secretKey` is
 * asked for only when a key must be sealed.
 */
export async function saveProvider(db: PortalDbClient, id: string | undefined, v: ProviderValues, secretKey: () => SecretKey): Promise<SaveResult> {
  const existing = id
    ? await db.provider.findUnique({ where: { id }, select: { id: true, revision: true, endpoint: true, transport: true, pskIdentity: true, pskKeyFile: true, pskKeyEnc: true, tlsCaFile: true, tlsCertFile: true, tlsKeyEnc: true } })
    : null;
  if (id && !existing) return { ok: false, code: 'not-found', message: 'No such provider.' };
  const clash = await db.provider.findFirst({ where: { name: v.name, ...(id ? { NOT: { id } } : {}) }, select: { id: true } });
  if (clash) return { ok: false, code: 'conflict', message: 'Another provider has that name.', fieldErrors: { name: ['Another provider has that name.'] } };

  let pskKeyEnc = existing?.pskKeyEnc ?? null;
  let tlsKeyEnc = existing?.tlsKeyEnc ?? null;
  try {
    if (v.pskKey !== undefined) pskKeyEnc = sealSecret(secretKey(), Buffer.from(v.pskKey.replace(/\s+/g, ''), 'hex'), PSK_PURPOSE);
    if (v.tlsKey !== undefined) tlsKeyEnc = sealSecret(secretKey(), v.tlsKey, TLS_KEY_PURPOSE);
  } catch (error) {
    return { ok: false, code: 'no-secret-key', message: `Keys cannot be stored: ${error instanceof Error ? error.message : String(error)}` };
  }
  const settings: Settings = {
    endpoint: v.endpoint,
    transport: v.transport,
    pskIdentity: v.transport === 'dtls' ? (v.pskIdentity ?? null) : (v.pskIdentity ?? existing?.pskIdentity ?? null),
    // A sealed key replaces a key file; a key file given explicitly (seed, CLI) replaces a sealed key.
    pskKeyFile: v.pskKeyFile ?? (v.pskKey !== undefined ? null : (existing?.pskKeyFile ?? null)),
    pskKeyEnc: v.pskKeyFile !== undefined && v.pskKey === undefined ? null : pskKeyEnc,
    tlsCaFile: v.tlsCaFile ?? null,
    tlsCertFile: v.tlsCertFile ?? null,
    tlsKeyEnc,
  };
  const fieldErrors: Record<string, string[]> = {};
  if (settings.transport === 'dtls' && !settings.pskKeyEnc && !settings.pskKeyFile) fieldErrors.pskKey = ['DTLS needs the pre-shared key.'];
  if (settings.transport === 'tls' && !settings.tlsKeyEnc) fieldErrors.tlsKey = ['TLS needs the portal private key.'];
  if (Object.keys(fieldErrors).length > 0) return { ok: false, code: 'invalid', message: 'Some fields need attention.', fieldErrors };

  return db.$transaction(async (tx) => {
    if (!existing) {
      const row = await tx.provider.create({ data: { name: v.name, ...settings, revision: 1 }, select: { id: true } });
      await tx.providerRevision.create({ data: { providerId: row.id, revision: 1, ...settings } });
      return { ok: true, id: row.id, revision: 1 } as const;
    }
    const changed = SETTINGS_KEYS.some((k) => existing[k] !== settings[k]);
    const revision = changed ? existing.revision + 1 : existing.revision;
    await tx.provider.update({ where: { id: existing.id }, data: { name: v.name, ...settings, revision } });
    if (changed) await tx.providerRevision.create({ data: { providerId: existing.id, revision, ...settings } });
    return { ok: true, id: existing.id, revision } as const;
  });
}

/** Creates or updates the provider called `name` (demo seed, CLI, tests); throws on bad input. */
export async function upsertProvider(db: PortalDbClient, input: ProviderInput, secretKey?: () => SecretKey): Promise<string> {
  const v = providerInputSchema.parse(input);
  const existing = await db.provider.findUnique({ where: { name: v.name }, select: { id: true, enabled: true } });
  const saved = await saveProvider(db, existing?.id, v, secretKey ?? (() => { throw new Error('no portal secret key given'); }));
  if (!saved.ok) throw new Error(`provider ${v.name}: ${saved.message}${saved.fieldErrors ? ` ${JSON.stringify(saved.fieldErrors)}` : ''}`);
  if (existing && !existing.enabled) await db.provider.update({ where: { id: saved.id }, data: { enabled: true } });
  return saved.id;
}
