/**
 * The provider form's schema (browser and server action, seed and CLI): zod only, no Node
 * module, so the client bundle can run it. Keys are write-only: left out on an edit, the stored
 * one is kept (registry.ts).
 */
import { z } from 'zod';
import { TRANSPORTS } from '../db/types';

const HOST_PORT = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/;
/** RFC 8921 8.1 SRV owner names: _cpnp._udp.<domain> (DTLS, UDP), _cpnp._tcp.<domain> (TLS). */
export const SRV_NAME = /^_cpnp\._(udp|tcp)\.([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)\.?$/i;

function hostPort(text: string): { host: string; port: number } | undefined {
  const m = HOST_PORT.exec(text);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  return host && Number.isInteger(port) && port >= 1 && port <= 65535 ? { host, port } : undefined;
}

/** 127.0.0.0/8, ::1 (also as ::ffff:127.x) or localhost: where plain UDP is allowed. */
export function isLoopbackEndpoint(endpoint: string): boolean {
  const hp = hostPort(endpoint.trim());
  if (!hp) return false;
  const h = hp.host.toLowerCase();
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h === '::1' || h === 'localhost' || /^::ffff:127\./.test(h);
}

const optionalText = (max: number) =>
  z
    .string()
    .trim()
    .max(max)
    .optional()
    .transform((v) => (v === '' ? undefined : v));

export const providerInputSchema = z
  .object({
    name: z.string().trim().min(1, 'Give the provider a name.').max(80),
    endpoint: z
      .string()
      .trim()
      .min(1, 'Enter host:port or an SRV name.')
      .max(255)
      .refine((v) => hostPort(v) !== undefined || SRV_NAME.test(v), 'Enter host:port (e.g. 192.0.2.7:8921) or an SRV name (_cpnp._udp.example.net).'),
    transport: z.enum(TRANSPORTS, { message: 'Choose DTLS, TLS or UDP.' }).default('dtls'),
    pskIdentity: optionalText(128),
    /** The PSK as hex (16..512 bytes), sealed before storage. */
    pskKey: optionalText(1100).refine((v) => v === undefined || /^([0-9a-fA-F]{2}){16,512}$/.test(v.replace(/\s+/g, '')), 'The key is 16 to 512 bytes written as hex digits.'),
    /** Legacy: a file on the portal host holding the PSK (demo seed, CLI). */
    pskKeyFile: optionalText(1024),
    tlsCaFile: optionalText(1024),
    tlsCertFile: optionalText(1024),
    /** The portal's TLS private key (PEM), sealed before storage. */
    /** The provider's admin file (`<db>.admin.json`, reference providers): lets staff decide its held orders (lib/portal/provider-queue). */
    adminFile: optionalText(1024),
    tlsKey: optionalText(20_000).refine((v) => v === undefined || /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(v), 'Paste the private key in PEM form (-----BEGIN … PRIVATE KEY-----).'),
  })
  // Plain UDP carries orders unprotected: allowed for loopback providers (tests, development) only.
  .refine((p) => p.transport !== 'udp' || isLoopbackEndpoint(p.endpoint), { message: 'Plain UDP is allowed for loopback providers only (127.0.0.1, ::1).', path: ['transport'] })
  .refine((p) => p.transport !== 'dtls' || p.pskIdentity !== undefined, { message: 'DTLS needs a PSK identity.', path: ['pskIdentity'] })
  .refine((p) => p.transport !== 'tls' || p.tlsCaFile !== undefined, { message: 'TLS needs the CA file that signs the provider certificate.', path: ['tlsCaFile'] })
  .refine((p) => p.transport !== 'tls' || p.tlsCertFile !== undefined, { message: 'TLS needs the portal client certificate file.', path: ['tlsCertFile'] });
export type ProviderInput = z.input<typeof providerInputSchema>;
export type ProviderValues = z.output<typeof providerInputSchema>;
