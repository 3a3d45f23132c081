import { checkDeterministic } from '../cpnp/cbor/deterministic';
import { decodeMessage, encodeMessage, messageFromJson } from '../cpnp/codec';
import type { CpnpDecodeError } from '../cpnp/errors';
import { fromHex, toHex } from '../cpnp/hex';
import { EXIT_INVALID, EXIT_OK, EXIT_USAGE, type CliIo } from './io';

const HEX_INPUT = /^[0-9a-fA-F\s]*$/;

function oneLine(error: CpnpDecodeError): string {
  return `cpnp: invalid message (${error.rule}): ${error.message}\n`;
}

/**
 * Input of `cpnp decode`: hex text (whitespace ignored, e.g. copied from a capture) or raw
 * CBOR bytes. A CPNP message starts with a map header (0xa0-0xbf), never a hex digit, so the
 * two cannot be confused.
 */
function bytesFromInput(input: Uint8Array): Uint8Array | string {
  const text = Buffer.from(input).toString('latin1');
  if (input.length > 0 && HEX_INPUT.test(text)) {
    const compact = text.replace(/\s+/g, '');
    const bytes = fromHex(compact);
    return bytes ?? 'hex input has an odd number of digits';
  }
  return input;
}

function decodeOne(bytes: Uint8Array, io: CliIo, compact: boolean): number {
  const result = decodeMessage(bytes);
  if (!result.ok) {
    io.stderr(oneLine(result.error));
    return EXIT_INVALID;
  }
  io.stdout(`${JSON.stringify(result.message, null, compact ? undefined : 2)}\n`);
  const det = checkDeterministic(bytes);
  if (!det.ok) io.stderr(`cpnp: note: valid, but not in deterministic form (${det.reason})\n`);
  return EXIT_OK;
}

/** `cpnp decode [--hex HEX] [--lines]` — prints the JSON form (wire-format.md section 6). */
export async function decodeCommand(args: string[], io: CliIo): Promise<number> {
  let hex: string | undefined;
  let lines = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--hex') {
      hex = args[++i];
      if (hex === undefined) {
        io.stderr('cpnp decode: --hex needs a value\n');
        return EXIT_USAGE;
      }
    } else if (arg === '--lines') {
      lines = true;
    } else {
      io.stderr(`cpnp decode: unknown argument ${arg}\n`);
      return EXIT_USAGE;
    }
  }
  if (lines) {
    // One hex message per line (e.g. a log or a capture export): one JSON line each.
    const text = Buffer.from(await io.readStdin()).toString('utf8');
    let status = EXIT_OK;
    for (const line of text.split('\n').map((l) => l.trim()).filter(Boolean)) {
      const bytes = fromHex(line);
      if (!bytes) {
        io.stderr('cpnp: invalid message (hex): a line is not an even run of hex digits\n');
        status = EXIT_INVALID;
        continue;
      }
      if (decodeOne(bytes, io, true) !== EXIT_OK) status = EXIT_INVALID;
    }
    return status;
  }
  const input = hex !== undefined ? Buffer.from(hex, 'latin1') : await io.readStdin();
  if (input.length === 0) {
    io.stderr('cpnp: invalid message (empty): no input (pass --hex HEX or pipe bytes or hex on stdin)\n');
    return EXIT_INVALID;
  }
  const bytes = bytesFromInput(input);
  if (typeof bytes === 'string') {
    io.stderr(`cpnp: invalid message (hex): ${bytes}\n`);
    return EXIT_INVALID;
  }
  return decodeOne(bytes, io, false);
}

/** `cpnp encode` — reads the JSON form on stdin, prints the deterministic hex. */
export async function encodeCommand(args: string[], io: CliIo): Promise<number> {
  if (args.length > 0) {
    io.stderr(`cpnp encode: unknown argument ${args[0]}\n`);
    return EXIT_USAGE;
  }
  const text = Buffer.from(await io.readStdin()).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    io.stderr(`cpnp: invalid message (json): ${error instanceof Error ? error.message : 'not JSON'}\n`);
    return EXIT_INVALID;
  }
  const result = messageFromJson(json);
  if (!result.ok) {
    io.stderr(oneLine(result.error));
    return EXIT_INVALID;
  }
  io.stdout(`${toHex(encodeMessage(result.message))}\n`);
  return EXIT_OK;
}
