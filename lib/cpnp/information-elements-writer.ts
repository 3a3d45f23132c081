import type { CborWriter } from './cbor/encoder';
import { FixedKeys } from './cbor/fixed-keys';
import {
  NOT_ON_FAST_PATH,
  closeMap,
  dateTime,
  key,
  oneOfText,
  plainObject,
  text,
  textList,
  uint,
} from './schema-writer';

/**
 * The INFORMATION_ELEMENT map (key 16, wire-format.md section 5) checked while it is written,
 * as information-elements-schema.ts reads it: known IEs strictly, unknown IE keys left out
 * (they are the protocol's extension point, RFC 8921 section 1).
 */

const IES = new FixedKeys(['customer', 'provider', 'options']);
const CUSTOMER = new FixedKeys(['name', 'contact']);
const PROVIDER = new FixedKeys(['name', 'contact', 'asn']);
const CONTACT = new FixedKeys(['email', 'postal', 'phones']);
const OPTIONS = new FixedKeys(['purpose', 'testUntil', 'activationType', 'scope']);

export function writeInformationElements(w: CborWriter, value: unknown): void {
  const ies = plainObject(value);
  const at = w.openSmallMap();
  let written = 0;
  const names = IES.names;
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    const v = ies[name];
    if (v === undefined) {
      // Present but undefined: the reader refuses it.
      if (Object.hasOwn(ies, name)) throw NOT_ON_FAST_PATH;
      continue;
    }
    key(w, IES, i);
    written++;
    switch (name) {
      case 'customer': writeParty(w, v, CUSTOMER); break;
      case 'provider': writeParty(w, v, PROVIDER); break;
      default: writeOptions(w, v);
    }
  }
  // Unknown IE keys are not written, so no closeMap (which refuses them).
  w.closeSmallMap(at, written);
}

/** RFC 8921 9.1.10.1 and 9.1.10.2 (AS numbers are 32-bit, RFC 6793). */
function writeParty(w: CborWriter, value: unknown, keys: FixedKeys): void {
  const party = plainObject(value);
  const at = w.openSmallMap();
  let written = 0;
  const names = keys.names;
  for (let i = 0; i < names.length; i++) {
    const v = party[names[i] as string];
    if (v === undefined) continue;
    key(w, keys, i);
    written++;
    switch (names[i]) {
      case 'name': text(w, v); break;
      case 'contact': writeContact(w, v); break;
      default: uint(w, v, 1, 4294967295);
    }
  }
  closeMap(w, at, party, written);
}

function writeContact(w: CborWriter, value: unknown): void {
  const contact = plainObject(value);
  const at = w.openSmallMap();
  let written = 0;
  const names = CONTACT.names;
  for (let i = 0; i < names.length; i++) {
    const v = contact[names[i] as string];
    if (v === undefined) continue;
    key(w, CONTACT, i);
    written++;
    if (names[i] === 'phones') textList(w, v);
    else text(w, v);
  }
  closeMap(w, at, contact, written);
}

/** RFC 8921 9.1.10.3 Negotiation Options. */
function writeOptions(w: CborWriter, value: unknown): void {
  const options = plainObject(value);
  // A test period only makes sense for a test setup (9.1.10.3 "Setup purpose").
  if (options.testUntil !== undefined && options.purpose !== 'test') throw NOT_ON_FAST_PATH;
  const at = w.openSmallMap();
  let written = 0;
  const names = OPTIONS.names;
  for (let i = 0; i < names.length; i++) {
    const v = options[names[i] as string];
    if (v === undefined) continue;
    key(w, OPTIONS, i);
    written++;
    switch (names[i]) {
      case 'purpose': oneOfText(w, v, ['test', 'production']); break;
      case 'testUntil': dateTime(w, v); break;
      case 'activationType': oneOfText(w, v, ['permanent', 'scheduled']); break;
      default: oneOfText(w, v, ['local', 'any']);
    }
  }
  closeMap(w, at, options, written);
}
