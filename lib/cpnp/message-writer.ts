import type { CborWriter } from './cbor/encoder';
import { writeCpd } from './cpd/write';
import { isDeclineReason } from './decline-reason';
import { writeInformationElements } from './information-elements-writer';
import { COMMON_FIELDS, CPNP_VERSION, FIELD_KEYS, FIELD_NAMES, PRESENCE, type FieldName } from './message';
import { isMethodCode, type MethodCode } from './method';
import {
  NOT_ON_FAST_PATH,
  closeMap,
  dateTime,
  hex16,
  identifier,
  plainObject,
  uint,
} from './schema-writer';

/**
 * A CPNP message in the JSON form (the typed model) checked against wire-format.md sections 2-5
 * while its deterministic CBOR is written, in one pass: no typed copy, no Map, no sorting (the
 * keys 1..16 are one byte each, so key order is numeric order). It accepts exactly what
 * readMessage accepts on the paths it knows and throws NOT_ON_FAST_PATH on anything else;
 * codec.ts then lets readMessage name the failure (schema-writer.ts).
 */

/** The top-level fields in key order (RFC 8949 4.2.1 order too). */
const FIELDS_BY_KEY: readonly FieldName[] = [...FIELD_NAMES].sort((a, b) => FIELD_KEYS[a] - FIELD_KEYS[b]);

/** Per method, bit k set when key k may be present / must be present (presence table, section 3). */
const ALLOWED: number[] = [];
const MANDATORY: number[] = [];
for (const code of Object.keys(PRESENCE).map(Number) as MethodCode[]) {
  let allowed = 0;
  let mandatory = 0;
  for (const field of FIELD_NAMES) {
    const rule = (COMMON_FIELDS as readonly string[]).includes(field) ? 'M' : PRESENCE[code][field];
    if (rule !== undefined) allowed |= 1 << FIELD_KEYS[field];
    if (rule === 'M') mandatory |= 1 << FIELD_KEYS[field];
  }
  ALLOWED[code] = allowed;
  MANDATORY[code] = mandatory;
}

export function writeMessage(w: CborWriter, value: unknown): void {
  const message = plainObject(value);
  const method = message.method;
  if (typeof method !== 'number' || !isMethodCode(method)) throw NOT_ON_FAST_PATH;
  const allowed = ALLOWED[method] as number;
  const at = w.openSmallMap();
  let present = 0;
  let written = 0;
  for (let i = 0; i < FIELDS_BY_KEY.length; i++) {
    const name = FIELDS_BY_KEY[i] as FieldName;
    const v = message[name];
    if (v === undefined) continue;
    const k = FIELD_KEYS[name];
    if ((allowed & (1 << k)) === 0) throw NOT_ON_FAST_PATH;
    present |= 1 << k;
    written++;
    w.head(0, k);
    switch (k) {
      case 1:
        if (v !== CPNP_VERSION) throw NOT_ON_FAST_PATH;
        w.head(0, CPNP_VERSION);
        break;
      case 2: w.head(0, method); break;
      case 3: uint(w, v, 0, 4294967295); break;
      case 4:
      case 7: hex16(w, v); break;
      case 5:
      case 6: identifier(w, v); break;
      case 8:
      case 9:
      case 10: dateTime(w, v); break;
      case 11: uint(w, v, 1, 2); break;
      case 12: uint(w, v, 1, 8); break;
      case 13: writeReasons(w, v); break;
      case 14: writeActivationSchedule(w, v); break;
      case 15: writeCpd(w, v); break;
      case 16: writeInformationElements(w, v); break;
      default: throw NOT_ON_FAST_PATH;
    }
  }
  if ((present & (MANDATORY[method] as number)) !== MANDATORY[method]) throw NOT_ON_FAST_PATH;
  closeMap(w, at, message, written);
}

/** REASON (RFC 8921 Table 3): 1..3 distinct codes. */
function writeReasons(w: CborWriter, value: unknown): void {
  if (!Array.isArray(value) || value.length < 1 || value.length > 3) throw NOT_ON_FAST_PATH;
  const items = value as readonly unknown[];
  w.head(4, items.length);
  for (let i = 0; i < items.length; i++) {
    const code = uint(w, items[i]);
    if (!isDeclineReason(code)) throw NOT_ON_FAST_PATH;
    for (let j = 0; j < i; j++) if (items[j] === code) throw NOT_ON_FAST_PATH;
  }
}

/** ACTIVATION_SCHEDULE (RFC 8921 9.2.11): null, the integer 0, or a date-time. */
function writeActivationSchedule(w: CborWriter, value: unknown): void {
  if (value === null) w.value(null);
  else if (typeof value === 'number') uint(w, value, 0, 0);
  else dateTime(w, value);
}
