/**
 * The provider registry page's service (admin only): list without key material, create, edit,
 * enable/disable, test the connection. Customers and staff get 'forbidden' from every function
 * (the page answers them 404, like /approvals). Keys are sealed before storage (registry.ts) and
 * no function here ever returns one: the view says only whether a key is stored, and where.
 */
import 'server-only';
import type { SessionUser } from '../auth/session';
import { portalDb } from '../db/client';
import { notifyProvidersChanged } from '../negotiation/signal';
import { routeOf, SETTINGS_SELECT } from '../negotiation/providers';
import { fail, ok, type ServiceResult } from '../result';
import { secretKeyFromEnv } from '../secrets/secret-box';
import { checkConnection, type CheckResult } from './check';
import { saveProvider, type ProviderValues } from './registry';

export interface ProviderView {
  id: string;
  name: string;
  endpoint: string;
  transport: string;
  pskIdentity: string | null;
  /** Where the PSK is: sealed in the database, a key file on the portal host (legacy), or none. */
  pskKey: 'sealed' | 'file' | 'none';
  tlsCaFile: string | null;
  tlsCertFile: string | null;
  tlsKey: 'sealed' | 'none';
  /** The provider's admin file on the portal host (reference providers; /provider-queue). */
  adminFile: string | null;
  enabled: boolean;
  revision: number;
  /** Negotiations with this provider that have not ended. */
  openNegotiations: number;
  lastCheck: { ok: boolean; message: string; handshakeMs: number | null; rttMs: number | null; at: string } | null;
}

const FORBIDDEN = fail('forbidden', 'Only administrators manage providers.');
const NOT_FOUND = fail('not-found', 'No such provider.');
const ENDED = ['Cancelled', 'Rejected'];

export async function listRegistry(user: SessionUser): Promise<ServiceResult<ProviderView[]>> {
  if (user.role !== 'admin') return FORBIDDEN;
  const db = portalDb();
  const rows = await db.provider.findMany({
    orderBy: { name: 'asc' },
    // Only whether a key is there; the sealed text itself is never read for the page.
    select: {
      id: true,
      name: true,
      endpoint: true,
      transport: true,
      pskIdentity: true,
      pskKeyFile: true,
      tlsCaFile: true,
      tlsCertFile: true,
      adminFile: true,
      enabled: true,
      revision: true,
      lastCheckAt: true,
      lastCheckOk: true,
      lastCheckMessage: true,
      lastHandshakeMs: true,
      lastRttMs: true,
    },
  });
  const sealed = await db.provider.findMany({ where: { OR: [{ pskKeyEnc: { not: null } }, { tlsKeyEnc: { not: null } }] }, select: { id: true, pskKeyEnc: true, tlsKeyEnc: true } });
  const hasKey = new Map(sealed.map((s) => [s.id, { psk: s.pskKeyEnc !== null, tls: s.tlsKeyEnc !== null }]));
  const open = await db.negotiation.groupBy({ by: ['providerId'], where: { engineRecord: { not: null }, clientState: { notIn: ENDED } }, _count: { _all: true } });
  const openBy = new Map(open.map((o) => [o.providerId, o._count._all]));
  return ok(
    rows.map((r) => ({
      id: r.id,
      name: r.name,
      endpoint: r.endpoint,
      transport: r.transport,
      pskIdentity: r.pskIdentity,
      pskKey: hasKey.get(r.id)?.psk ? 'sealed' : r.pskKeyFile ? 'file' : 'none',
      tlsCaFile: r.tlsCaFile,
      tlsCertFile: r.tlsCertFile,
      tlsKey: hasKey.get(r.id)?.tls ? 'sealed' : 'none',
      adminFile: r.adminFile,
      enabled: r.enabled,
      revision: r.revision,
      openNegotiations: openBy.get(r.id) ?? 0,
      lastCheck:
        r.lastCheckAt && r.lastCheckOk !== null
          ? { ok: r.lastCheckOk, message: r.lastCheckMessage ?? '', handshakeMs: r.lastHandshakeMs, rttMs: r.lastRttMs, at: r.lastCheckAt.toISOString() }
          : null,
    })),
  );
}

/** Creates (no id) or edits a provider; the engine host picks the change up at once. */
export async function saveRegistryProvider(user: SessionUser, id: string | undefined, values: ProviderValues): Promise<ServiceResult<{ id: string; revision: number }>> {
  if (user.role !== 'admin') return FORBIDDEN;
  const saved = await saveProvider(portalDb(), id, values, () => secretKeyFromEnv());
  if (!saved.ok) {
    if (saved.code === 'not-found') return NOT_FOUND;
    return fail(saved.code === 'no-secret-key' ? 'conflict' : saved.code, saved.message, saved.fieldErrors);
  }
  notifyProvidersChanged();
  return ok({ id: saved.id, revision: saved.revision });
}

/**
 * Disabled providers are not offered for new orders (listProviders and createOrder check
 * `enabled`); their open negotiations finish (the host keeps every provider's routes).
 */
export async function setProviderEnabled(user: SessionUser, id: string, enabled: boolean): Promise<ServiceResult<{ id: string; enabled: boolean }>> {
  if (user.role !== 'admin') return FORBIDDEN;
  const updated = await portalDb().provider.updateMany({ where: { id }, data: { enabled } });
  if (updated.count !== 1) return NOT_FOUND;
  notifyProvidersChanged();
  return ok({ id, enabled });
}

/** Runs the ping exchange with the stored credentials and stores the outcome for the status column. */
export async function testProviderConnection(user: SessionUser, id: string): Promise<ServiceResult<CheckResult & { at: string }>> {
  if (user.role !== 'admin') return FORBIDDEN;
  const db = portalDb();
  const row = await db.provider.findUnique({ where: { id }, select: { id: true, name: true, revision: true, ...SETTINGS_SELECT } });
  if (!row) return NOT_FOUND;
  const route = await routeOf(row, { secretKey: () => secretKeyFromEnv() });
  const result: CheckResult = route.ok ? await checkConnection(route.route) : { ok: false, message: route.message, handshakeMs: null, rttMs: null };
  const at = new Date();
  await db.provider.update({
    where: { id },
    data: { lastCheckAt: at, lastCheckOk: result.ok, lastCheckMessage: result.message.slice(0, 500), lastHandshakeMs: result.handshakeMs, lastRttMs: result.rttMs },
  });
  return ok({ ...result, at: at.toISOString() });
}
