import { readCpd } from './cpd/validate';
import { isDeclineReason, type DeclineReasonValue } from './decline-reason';
import { readInformationElements } from './information-elements-schema';
import {
  COMMON_FIELDS,
  CPNP_VERSION,
  FIELD_BY_KEY,
  FIELD_KEYS,
  FIELD_NAMES,
  PRESENCE,
  type ActivationSchedule,
  type CpnpMessage,
  type FieldName,
} from './message';
import { isMethodCode, methodName, type MethodCode } from './method';
import { CborFloat } from './cbor/values';
import { join, type SchemaReader } from './schema-reader';

/** RFC attribute names, for error messages users can look up in RFC 8921 section 9.1. */
const RFC_NAMES: Readonly<Record<FieldName, string>> = {
  version: 'VERSION',
  method: 'METHOD_CODE',
  seq: 'SEQUENCE_NUMBER',
  txid: 'TRANSACTION_ID',
  customerOrderId: 'CUSTOMER_ORDER_IDENTIFIER',
  providerOrderId: 'PROVIDER_ORDER_IDENTIFIER',
  nonce: 'NONCE',
  expectedResponseTime: 'EXPECTED_RESPONSE_TIME',
  expectedOfferTime: 'EXPECTED_OFFER_TIME',
  validityOfferTime: 'VALIDITY_OFFER_TIME',
  processingSubcode: 'PROCESSING_SUBCODE',
  statusCode: 'STATUS_CODE',
  reasons: 'REASON',
  activationSchedule: 'ACTIVATION_SCHEDULE',
  cpd: 'CPD',
  ies: 'INFORMATION_ELEMENT',
};

/**
 * Collects the top-level fields by JSON name. On the wire the keys are unsigned integers
 * 1..16 (wire-format.md section 2); in the JSON form they are the names of section 6.
 */
function topLevelFields(value: unknown, r: SchemaReader): Map<FieldName, unknown> {
  const fields = new Map<FieldName, unknown>();
  if (r.form === 'cbor') {
    if (!(value instanceof Map)) r.fail('not-a-map', '', 'a CPNP message must be a CBOR map');
    for (const [key, item] of value as Map<unknown, unknown>) {
      const name = typeof key === 'number' ? FIELD_BY_KEY.get(key) : undefined;
      if (!name) r.fail('unknown-key', '', `top-level key ${typeof key === 'string' ? JSON.stringify(key) : String(key)} is not defined`);
      fields.set(name, item);
    }
    return fields;
  }
  const map = r.map(value, '');
  for (const [key, item] of map) {
    if (!(FIELD_NAMES as readonly string[]).includes(key)) r.fail('unknown-key', key, `"${key}" is not a CPNP message field`);
    fields.set(key as FieldName, item);
  }
  return fields;
}

function readActivationSchedule(value: unknown, path: string, r: SchemaReader): ActivationSchedule {
  if (value === null) return null;
  // 0 must be the integer 0 (deactivate, RFC 8921 9.2.11); any other number is invalid.
  if (typeof value === 'number' || value instanceof CborFloat) {
    r.uint(value, path, 0, 0);
    return 0;
  }
  return r.dateTime(value, path);
}

function readReasons(value: unknown, path: string, r: SchemaReader): DeclineReasonValue[] {
  const items = r.array(value, path, 1, 3);
  const seen = new Set<number>();
  return items.map((item, i) => {
    const code = r.uint(item, join(path, i), 0, Number.MAX_SAFE_INTEGER);
    if (!isDeclineReason(code)) r.fail('reason', join(path, i), `reason codes are 1..3 (RFC 8921 Table 3), got ${code}`);
    if (seen.has(code)) r.fail('reason', join(path, i), `reason ${code} is repeated`);
    seen.add(code);
    return code;
  });
}

/**
 * Applies wire-format.md sections 2-5 to a decoded tree (CBOR form) or a JSON-form value and
 * returns the typed message. Throws only CpnpDecodeError (FAIL status code 1).
 */
export function readMessage(value: unknown, r: SchemaReader): CpnpMessage {
  const fields = topLevelFields(value, r);
  const get = (name: FieldName) => fields.get(name);

  if (!fields.has('version')) r.fail('presence', 'version', 'VERSION is mandatory');
  const version = r.uint(get('version'), 'version');
  if (version !== CPNP_VERSION) r.fail('version', 'version', `VERSION must be ${CPNP_VERSION}, got ${version}`);

  if (!fields.has('method')) r.fail('presence', 'method', 'METHOD_CODE is mandatory');
  const code = r.uint(get('method'), 'method');
  if (!isMethodCode(code)) r.fail('method', 'method', `unknown METHOD_CODE ${code} (RFC 8921 Table 1 defines 1..11)`);
  const method: MethodCode = code;
  const name = methodName(method);

  // Presence table of wire-format.md section 3.
  for (const field of FIELD_NAMES) {
    const rule = (COMMON_FIELDS as readonly string[]).includes(field) ? 'M' : PRESENCE[method][field];
    if (rule === 'M' && !fields.has(field)) {
      r.fail('presence', field, `${RFC_NAMES[field]} is mandatory in ${name}`);
    }
    if (rule === undefined && fields.has(field)) {
      r.fail('presence', field, `${name} must not carry ${RFC_NAMES[field]} (key ${FIELD_KEYS[field]})`);
    }
  }

  const out: Record<string, unknown> = {
    version: CPNP_VERSION,
    method,
    seq: r.uint(get('seq'), 'seq', 0, 4294967295),
    txid: r.bytes16(get('txid'), 'txid'),
    customerOrderId: r.identifier(get('customerOrderId'), 'customerOrderId'),
  };
  if (fields.has('providerOrderId')) out.providerOrderId = r.identifier(get('providerOrderId'), 'providerOrderId');
  if (fields.has('nonce')) out.nonce = r.bytes16(get('nonce'), 'nonce');
  for (const t of ['expectedResponseTime', 'expectedOfferTime', 'validityOfferTime'] as const) {
    if (fields.has(t)) out[t] = r.dateTime(get(t), t);
  }
  if (fields.has('processingSubcode')) {
    out.processingSubcode = r.uint(get('processingSubcode'), 'processingSubcode', 1, 2);
  }
  if (fields.has('statusCode')) out.statusCode = r.uint(get('statusCode'), 'statusCode', 1, 8);
  if (fields.has('reasons')) out.reasons = readReasons(get('reasons'), 'reasons', r);
  if (fields.has('activationSchedule')) {
    out.activationSchedule = readActivationSchedule(get('activationSchedule'), 'activationSchedule', r);
  }
  if (fields.has('cpd')) out.cpd = readCpd(get('cpd'), 'cpd', r);
  if (fields.has('ies')) out.ies = readInformationElements(get('ies'), 'ies', r);
  // Every field was checked against the method's row above, so the shape matches the union member.
  return out as unknown as CpnpMessage;
}
