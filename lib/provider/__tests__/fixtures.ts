import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Cpd, Cpp } from '../../cpnp/cpd/types';
import { loadPolicy, policyFromData, type Policy } from '../policy';

/** Shared helpers of the provider tests. */

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export function examplePolicy(): Policy {
  return loadPolicy(join(REPO_ROOT, 'examples', 'provider.yaml'));
}

/**
 * A 1:1 service from a PE of Example Networks (examples/provider.yaml, pool "west") to an Oslo PE
 * of its partner Carrier B ("carrier-b:*" links): the cascaded order of Figure 7 (RFC 8921 8.8).
 */
export const CASCADE_CPD: Cpd = [
  {
    nodes: [
      { id: 'ce-paris', link: 'pe1:ge-0/0/1' },
      { id: 'ce-oslo', link: 'carrier-b:osl-7' },
    ],
    qos: { kind: 'quantitative', delayMs: { max: 40 } },
    capacity: { inMbps: { min: 50, pref: 100 }, outMbps: 100 },
    conformance: { policing: 'police', outOfProfile: 'drop' },
  },
];

/** A small policy: pool "core" (100/100) for "pe1:*", "edge" (1000/1000) for "pe2:*", partner "pb" for "pb:*". */
export function smallPolicy(overrides: Record<string, unknown> = {}): Policy {
  return policyFromData({
    provider: { name: 'Test Provider', asn: 64496 },
    regions: ['west'],
    links: [
      { match: 'pe1:*', pool: 'core', region: 'west' },
      { match: 'pe2:*', pool: 'edge' },
      { match: 'pb:*', partner: 'pb' },
    ],
    pools: { core: { inMbps: 100, outMbps: 100 }, edge: { inMbps: 1000, outMbps: 1000 } },
    qosClasses: [
      { name: 'gold', delayMs: 10, jitterMs: 2, lossPct: 0.01, qualitative: 'high' },
      { name: 'silver', delayMs: 25, jitterMs: 4, lossPct: 0.05, qualitative: 'medium' },
    ],
    availabilityLevels: [99.9, 99.99],
    activationTypes: ['scheduled'],
    purposes: ['test', 'production'],
    maxTestDuration: '30d',
    pricing: { currency: 'EUR', perMbpsMonth: 2, perCppMonth: 10, availabilityPremiumPct: { '99.99': 20 }, qosPremiumPct: { gold: 50 } },
    offerValidity: '15m',
    customers: { acme: { allowed: true, maxOrders: 2 }, banned: { allowed: false }, lab: { allowed: true, prohibitedPurposes: ['production'] } },
    defaultCustomer: { allowed: true },
    partners: { pb: { server: 'pb.example:8921', transport: 'udp', regions: ['north'] } },
    ...overrides,
  });
}

/** A one-node CPP on `link` asking `capacity` Mbit/s both ways. */
export function cppOn(link: string, capacity: number | { min?: number; max?: number; pref?: number }, extra: Partial<Cpp> = {}): Cpp {
  return {
    nodes: [{ id: 'ce-a', link }],
    capacity: { inMbps: capacity, outMbps: capacity },
    conformance: { policing: 'police', outOfProfile: 'drop' },
    ...extra,
  };
}

interface Vector {
  name: string;
  json: { cpd?: Cpd; ies?: unknown };
}

export function vector(name: string): Vector {
  const all = JSON.parse(readFileSync(join(REPO_ROOT, 'lib/cpnp/vectors/valid.json'), 'utf8')) as Vector[];
  const found = all.find((v) => v.name === name);
  if (!found) throw new Error(`no vector ${name}`);
  return found;
}
