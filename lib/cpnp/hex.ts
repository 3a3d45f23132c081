const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

/** Lowercase hex of a byte string (the JSON form of bstr values, wire-format.md section 6). */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Parses hex (either case); returns undefined when the text is not an even run of hex digits. */
export function fromHex(text: string): Uint8Array | undefined {
  if (!HEX_RE.test(text)) return undefined;
  return new Uint8Array(Buffer.from(text, 'hex'));
}
