import { MAX_MESSAGE_SIZE } from '../message';

/**
 * Length-prefixed framing of stream transports (wire-format.md section 1): every CPNP message
 * on TLS over TCP is preceded by a 4-byte unsigned big-endian length of the CBOR item. A
 * declared length above MAX_MESSAGE_SIZE is a protocol violation that ends the connection
 * ("stream transports: the connection is closed"), so it is detected from the header alone,
 * before any of the body is buffered.
 */

export const FRAME_HEADER_BYTES = 4;

export type FramingErrorReason = 'oversized' | 'empty' | 'failed';

/** Raised by FrameDecoder; the caller must close the connection (the stream is unusable). */
export class FramingError extends Error {
  override readonly name = 'FramingError';
  constructor(
    readonly reason: FramingErrorReason,
    message: string,
    /** Complete frames the failing push() decoded before the bad header: valid messages the
     * caller may still deliver before closing. */
    readonly framesBefore: readonly Uint8Array[] = [],
  ) {
    super(message);
  }
}

/** One frame on the wire: the 4-byte length followed by the message. */
export function encodeFrame(message: Uint8Array): Uint8Array {
  if (message.length === 0) throw new RangeError('a CPNP message is never empty');
  if (message.length > MAX_MESSAGE_SIZE) {
    throw new RangeError(`message is ${message.length} bytes, MAX_MESSAGE_SIZE is ${MAX_MESSAGE_SIZE}`);
  }
  const frame = new Uint8Array(FRAME_HEADER_BYTES + message.length);
  new DataView(frame.buffer).setUint32(0, message.length, false);
  frame.set(message, FRAME_HEADER_BYTES);
  return frame;
}

/**
 * Incremental decoder: push() the chunks a socket delivers, in order, and get back every frame
 * they complete. Chunks may split headers and bodies anywhere. After a FramingError the decoder
 * stays failed (every later push throws), as the byte stream can no longer be resynchronized.
 */
export class FrameDecoder {
  private chunks: Uint8Array[] = [];
  /** Index of the first unconsumed chunk. */
  private head = 0;
  private buffered = 0;
  /** Body length of the frame being read, once its header is complete. */
  private expected: number | undefined;
  private failure: FramingError | undefined;

  constructor(private readonly maxFrameBytes: number = MAX_MESSAGE_SIZE) {
    if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 1) throw new RangeError('maxFrameBytes must be a positive integer');
  }

  /** Bytes received but not yet returned as a frame. */
  get pendingBytes(): number {
    return this.buffered;
  }

  push(chunk: Uint8Array): Uint8Array[] {
    if (this.failure) throw new FramingError('failed', `stream already failed: ${this.failure.message}`);
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const frames: Uint8Array[] = [];
    for (;;) {
      if (this.expected === undefined) {
        if (this.buffered < FRAME_HEADER_BYTES) break;
        const header = this.take(FRAME_HEADER_BYTES);
        const length = new DataView(header.buffer, header.byteOffset, FRAME_HEADER_BYTES).getUint32(0, false);
        if (length > this.maxFrameBytes) {
          return this.fail(new FramingError('oversized', `frame of ${length} bytes exceeds the ${this.maxFrameBytes}-byte limit`, frames));
        }
        // A CBOR item is at least one byte: a zero length can only come from a broken peer.
        if (length === 0) return this.fail(new FramingError('empty', 'zero-length frame', frames));
        this.expected = length;
      }
      if (this.buffered < this.expected) break;
      frames.push(this.take(this.expected));
      this.expected = undefined;
    }
    return frames;
  }

  private fail(error: FramingError): never {
    this.failure = error;
    this.chunks = [];
    this.head = 0;
    this.buffered = 0;
    throw error;
  }

  /** Removes and returns the first n buffered bytes (n <= buffered). A frame that spans
   * chunks is assembled once; consumed chunks are skipped by index (no O(n) shifts when a peer
   * dribbles one byte per segment). */
  private take(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const current = this.chunks[this.head];
      if (current === undefined) throw new Error('FrameDecoder: buffer accounting broken');
      const part = Math.min(current.length, n - filled);
      out.set(current.subarray(0, part), filled);
      filled += part;
      if (part === current.length) this.head++;
      else this.chunks[this.head] = current.subarray(part);
    }
    this.buffered -= n;
    if (this.head === this.chunks.length) {
      this.chunks = [];
      this.head = 0;
    } else if (this.head > 64 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
    return out;
  }
}
