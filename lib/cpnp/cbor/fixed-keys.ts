import { compareEncodedKeys, encodeCbor } from './encoder';

/**
 * The text keys of a map whose keys are fixed by the schema (cpp-model.md, wire-format.md
 * section 5), put once in RFC 8949 4.2.1 order and encoded once, so a schema-directed writer
 * (message-writer.ts) writes each key as a few copied bytes, in order, with no sorting per call.
 */
export class FixedKeys<K extends string = string> {
  /** The keys in the order they go on the wire. */
  readonly names: readonly K[];
  /** The encoded key (head and UTF-8) of names[i]. */
  readonly encoded: readonly Uint8Array[];

  constructor(names: readonly K[]) {
    const encoded = names.map((name) => ({ name, bytes: encodeCbor(name) }));
    encoded.sort((a, b) => compareEncodedKeys(a.bytes, b.bytes));
    this.names = encoded.map((e) => e.name);
    this.encoded = encoded.map((e) => e.bytes);
  }
}

