import type {
  Contact,
  CustomerDescription,
  InformationElements,
  NegotiationOptions,
  ProviderDescription,
} from './information-elements';
import { join, type SchemaReader } from './schema-reader';

/**
 * Reads the INFORMATION_ELEMENT map (key 16, wire-format.md section 5). Known IEs are validated
 * strictly; unknown IE keys are dropped, because they are the protocol's extension point
 * (RFC 8921 section 1) and a receiver that does not know them must still work.
 */
export function readInformationElements(value: unknown, path: string, r: SchemaReader): InformationElements {
  const map = r.map(value, path);
  const out: InformationElements = {};
  const customer = r.optional(map, 'customer', path, (v, p) => readCustomer(v, p, r));
  if (customer) out.customer = customer;
  const provider = r.optional(map, 'provider', path, (v, p) => readProvider(v, p, r));
  if (provider) out.provider = provider;
  const options = r.optional(map, 'options', path, (v, p) => readOptions(v, p, r));
  if (options) out.options = options;
  return out;
}

function readContact(value: unknown, path: string, r: SchemaReader): Contact {
  const map = r.map(value, path);
  r.onlyKeys(map, ['email', 'postal', 'phones'], path);
  const out: Contact = {};
  const email = r.optional(map, 'email', path, (v, p) => r.text(v, p));
  if (email !== undefined) out.email = email;
  const postal = r.optional(map, 'postal', path, (v, p) => r.text(v, p));
  if (postal !== undefined) out.postal = postal;
  const phones = r.optional(map, 'phones', path, (v, p) => r.textList(v, p));
  if (phones !== undefined) out.phones = phones;
  return out;
}

/** RFC 8921 9.1.10.1 */
function readCustomer(value: unknown, path: string, r: SchemaReader): CustomerDescription {
  const map = r.map(value, path);
  r.onlyKeys(map, ['name', 'contact'], path);
  const out: CustomerDescription = {};
  const name = r.optional(map, 'name', path, (v, p) => r.text(v, p));
  if (name !== undefined) out.name = name;
  const contact = r.optional(map, 'contact', path, (v, p) => readContact(v, p, r));
  if (contact) out.contact = contact;
  return out;
}

/** RFC 8921 9.1.10.2 — AS numbers are 32-bit (RFC 6793). */
function readProvider(value: unknown, path: string, r: SchemaReader): ProviderDescription {
  const map = r.map(value, path);
  r.onlyKeys(map, ['name', 'contact', 'asn'], path);
  const out: ProviderDescription = {};
  const name = r.optional(map, 'name', path, (v, p) => r.text(v, p));
  if (name !== undefined) out.name = name;
  const contact = r.optional(map, 'contact', path, (v, p) => readContact(v, p, r));
  if (contact) out.contact = contact;
  const asn = r.optional(map, 'asn', path, (v, p) => r.uint(v, p, 1, 4294967295));
  if (asn !== undefined) out.asn = asn;
  return out;
}

/** RFC 8921 9.1.10.3 Negotiation Options. */
function readOptions(value: unknown, path: string, r: SchemaReader): NegotiationOptions {
  const map = r.map(value, path);
  r.onlyKeys(map, ['purpose', 'testUntil', 'activationType', 'scope'], path);
  const out: NegotiationOptions = {};
  const purpose = r.optional(map, 'purpose', path, (v, p) => r.oneOfText(v, p, ['test', 'production'] as const));
  if (purpose) out.purpose = purpose;
  const testUntil = r.optional(map, 'testUntil', path, (v, p) => r.dateTime(v, p));
  if (testUntil !== undefined) {
    // A test period only makes sense for a test setup (9.1.10.3 "Setup purpose").
    if (purpose !== 'test') r.fail('ie.test-until', join(path, 'testUntil'), 'testUntil is only allowed with purpose "test"');
    out.testUntil = testUntil;
  }
  const activationType = r.optional(map, 'activationType', path, (v, p) =>
    r.oneOfText(v, p, ['permanent', 'scheduled'] as const),
  );
  if (activationType) out.activationType = activationType;
  const scope = r.optional(map, 'scope', path, (v, p) => r.oneOfText(v, p, ['local', 'any'] as const));
  if (scope) out.scope = scope;
  return out;
}
