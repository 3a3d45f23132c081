/**
 * The Provider servers the portal knows. Rows are written by the demo seed and by operators
 * (CLI); the engine host reads endpoint, transport and PSK from here. Framework-free.
 */
import { z } from 'zod';
import type { PortalDbClient } from '../db/client';
import { TRANSPORTS } from '../db/types';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|\[?::1\]?|localhost)(:\d+)?$/;

export const providerSchema = z
  .object({
    name: z.string().trim().min(1).max(80),
    endpoint: z.string().trim().min(1).max(255),
    transport: z.enum(TRANSPORTS).default('dtls'),
    pskIdentity: z.string().min(1).max(128).optional(),
    pskKeyFile: z.string().min(1).optional(),
    /** The provider's admin file (`<db>.admin.json`): lets staff decide its held orders (lib/portal/provider-queue). */
    adminFile: z.string().trim().min(1).max(1024).optional(),
  })
  // Plain UDP carries orders unprotected: allowed for loopback providers (tests, development) only.
  .refine((p) => p.transport !== 'udp' || LOOPBACK.test(p.endpoint.replace(/:\d+$/, '')) || LOOPBACK.test(p.endpoint), {
    message: 'plain UDP is allowed for loopback providers only',
    path: ['transport'],
  })
  .refine((p) => p.transport !== 'dtls' || (p.pskIdentity && p.pskKeyFile), {
    message: 'DTLS needs a PSK identity and key file',
    path: ['pskIdentity'],
  });
export type ProviderInput = z.input<typeof providerSchema>;

/** Creates or updates the provider called `name`. */
export async function upsertProvider(db: PortalDbClient, input: ProviderInput): Promise<string> {
  const v = providerSchema.parse(input);
  // adminFile: omitted leaves the stored one as it is (it is optional, set by the seed or an operator).
  const data = { endpoint: v.endpoint, transport: v.transport, pskIdentity: v.pskIdentity ?? null, pskKeyFile: v.pskKeyFile ?? null, enabled: true, ...(v.adminFile === undefined ? {} : { adminFile: v.adminFile }) };
  const row = await db.provider.upsert({ where: { name: v.name }, update: data, create: { name: v.name, ...data }, select: { id: true } });
  return row.id;
}
