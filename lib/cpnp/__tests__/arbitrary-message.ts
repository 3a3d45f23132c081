import fc from 'fast-check';
import { arbCpd } from '../cpd/arbitrary';
import type { DateTime } from '../date-time';
import type { InformationElements } from '../information-elements';
import { PRESENCE, type CpnpMessage, type FieldName } from '../message';
import { METHOD_CODES, type MethodCode } from '../method';

/** fast-check generators of valid CPNP messages of every method (wire-format.md section 3). */

const hex16 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString('hex'));

// 1..64 UTF-8 bytes, no control characters (wire-format.md key 5).
const identifier = fc
  .string({ unit: fc.constantFrom(...'ABCXYZabcxyz0123456789-_:./é€𝄞'.split(/(?:)/u)), minLength: 1, maxLength: 16 })
  .filter((s) => Buffer.byteLength(s) <= 64);

export const arbDateTime: fc.Arbitrary<DateTime> = fc
  .record({
    ms: fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2099, 11, 31) }),
    precision: fc.constantFrom(0, 3),
  })
  .map(({ ms, precision }) => {
    const iso = new Date(ms).toISOString();
    return (precision === 0 ? `${iso.slice(0, 19)}Z` : iso) as DateTime;
  });

const contact = fc.record(
  {
    email: fc.emailAddress(),
    postal: fc.string({ maxLength: 20 }),
    phones: fc.array(fc.string({ minLength: 1, maxLength: 12 }), { maxLength: 2 }),
  },
  { requiredKeys: [] },
);

const arbIes: fc.Arbitrary<InformationElements> = fc.record(
  {
    customer: fc.record({ name: fc.string({ maxLength: 10 }), contact }, { requiredKeys: [] }),
    provider: fc.record(
      { name: fc.string({ maxLength: 10 }), contact, asn: fc.integer({ min: 1, max: 4294967295 }) },
      { requiredKeys: [] },
    ),
    options: fc.oneof(
      fc.record(
        {
          purpose: fc.constant('test' as const),
          testUntil: arbDateTime,
          activationType: fc.constantFrom('permanent' as const, 'scheduled' as const),
          scope: fc.constantFrom('local' as const, 'any' as const),
        },
        { requiredKeys: ['purpose'] },
      ),
      fc.record(
        {
          purpose: fc.constant('production' as const),
          activationType: fc.constantFrom('permanent' as const, 'scheduled' as const),
          scope: fc.constantFrom('local' as const, 'any' as const),
        },
        { requiredKeys: [] },
      ),
    ),
  },
  { requiredKeys: [] },
);

const FIELD_ARBS: Record<Exclude<FieldName, 'version' | 'method' | 'seq' | 'txid' | 'customerOrderId'>, fc.Arbitrary<unknown>> = {
  providerOrderId: identifier,
  nonce: hex16,
  expectedResponseTime: arbDateTime,
  expectedOfferTime: arbDateTime,
  validityOfferTime: arbDateTime,
  processingSubcode: fc.constantFrom(1, 2),
  statusCode: fc.integer({ min: 1, max: 8 }),
  reasons: fc.uniqueArray(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }),
  activationSchedule: fc.oneof(fc.constant(null), fc.constant(0), arbDateTime),
  cpd: arbCpd(),
  ies: arbIes,
};

export function arbMessageOf(method: MethodCode): fc.Arbitrary<CpnpMessage> {
  const row = PRESENCE[method];
  const optional = Object.keys(row).filter((f) => row[f as FieldName] === 'O') as (keyof typeof FIELD_ARBS)[];
  const mandatory = Object.keys(row).filter((f) => row[f as FieldName] === 'M') as (keyof typeof FIELD_ARBS)[];
  const parts: Record<string, fc.Arbitrary<unknown>> = {
    version: fc.constant(1),
    method: fc.constant(method),
    seq: fc.integer({ min: 0, max: 4294967295 }),
    txid: hex16,
    customerOrderId: identifier,
  };
  for (const f of [...mandatory, ...optional]) parts[f] = FIELD_ARBS[f];
  return fc
    .record(parts, { requiredKeys: ['version', 'method', 'seq', 'txid', 'customerOrderId', ...mandatory] })
    .map((m) => m as unknown as CpnpMessage);
}

export const arbMessage: fc.Arbitrary<CpnpMessage> = fc.oneof(...METHOD_CODES.map(arbMessageOf));
