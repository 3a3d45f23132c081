/**
 * The generic data model produced by the strict CBOR decoder (cbor/decoder.ts) before the
 * CPNP schema is applied. Maps keep their keys as numbers or text; floats are wrapped so that
 * a float where the contract wants an unsigned integer is a type error, as RFC 8949 says an
 * integer and a float of the same value are different data.
 */

/** A number that arrived as a CBOR float (major type 7, half/single/double precision). */
export class CborFloat {
  constructor(readonly value: number) {}
}

/** A text string wrapped in tag 0 (standard date-time string, RFC 8949 3.4.1). */
export class CborDateTag {
  constructor(readonly text: string) {}
}

export type CborMapKey = number | string;

export type CborValue =
  | number
  | CborFloat
  | string
  | Uint8Array
  | boolean
  | null
  | CborDateTag
  | CborValue[]
  | Map<CborMapKey, CborValue>;
