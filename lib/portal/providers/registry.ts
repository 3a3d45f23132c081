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
import type { PortalDbClient } from '../db/client';
import { PSK_PURPOSE, sealSecret, TLS_KEY_PURPOSE, type SecretKey } from '../secrets/secret-box';
import { providerInputSchema, type ProviderInput, type ProviderValues } from './schema';

export { providerInputSchema, type ProviderInput, type ProviderValues };
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

  // The admin file is not a connection setting (no new revision): omitted keeps the stored one.
  const adminFile = v.adminFile === undefined ? {} : { adminFile: v.adminFile };
  return db.$transaction(async (tx) => {
    if (!existing) {
      const row = await tx.provider.create({ data: { name: v.name, ...settings, ...adminFile, revision: 1 }, select: { id: true } });
      await tx.providerRevision.create({ data: { providerId: row.id, revision: 1, ...settings } });
      return { ok: true, id: row.id, revision: 1 } as const;
    }
    const changed = SETTINGS_KEYS.some((k) => existing[k] !== settings[k]);
    const revision = changed ? existing.revision + 1 : existing.revision;
    await tx.provider.update({ where: { id: existing.id }, data: { name: v.name, ...settings, ...adminFile, revision } });
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
