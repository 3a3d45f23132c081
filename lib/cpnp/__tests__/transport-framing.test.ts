import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MAX_MESSAGE_SIZE } from '../message';
import { encodeFrame, FrameDecoder, FramingError, FRAME_HEADER_BYTES } from '../transport/framing';

const RUNS = Number(process.env.CPNP_PROPERTY_RUNS ?? 300);

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Cuts `bytes` at the given offsets (any order, duplicates allowed → empty chunks). */
function cut(bytes: Uint8Array, offsets: readonly number[]): Uint8Array[] {
  const points = [...new Set(offsets.map((o) => o % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const p of points) {
    chunks.push(bytes.slice(from, p));
    from = p;
  }
  chunks.push(bytes.slice(from));
  return chunks;
}

function header(length: number): Uint8Array {
  const h = new Uint8Array(4);
  new DataView(h.buffer).setUint32(0, length, false);
  return h;
}

describe('encodeFrame (wire-format.md section 1)', () => {
  it('prefixes the message with its 4-byte big-endian length', () => {
    assert.deepEqual([...encodeFrame(Uint8Array.of(0xa1, 0x01, 0x01))], [0, 0, 0, 3, 0xa1, 0x01, 0x01]);
    const big = encodeFrame(new Uint8Array(0x1234).fill(7));
    assert.deepEqual([...big.subarray(0, 4)], [0, 0, 0x12, 0x34]);
    assert.equal(big.length, 0x1234 + FRAME_HEADER_BYTES);
  });

  it('accepts exactly MAX_MESSAGE_SIZE and refuses one byte more, and empty messages', () => {
    assert.equal(encodeFrame(new Uint8Array(MAX_MESSAGE_SIZE)).length, MAX_MESSAGE_SIZE + 4);
    assert.throws(() => encodeFrame(new Uint8Array(MAX_MESSAGE_SIZE + 1)), RangeError);
    assert.throws(() => encodeFrame(new Uint8Array(0)), RangeError);
  });
});

describe('FrameDecoder', () => {
  it('returns nothing until a frame is complete, then the frame', () => {
    const d = new FrameDecoder();
    const frame = encodeFrame(Uint8Array.of(1, 2, 3, 4, 5));
    assert.deepEqual(d.push(frame.subarray(0, 2)), []);
    assert.deepEqual(d.push(frame.subarray(2, 6)), []);
    assert.equal(d.pendingBytes, 2);
    const out = d.push(frame.subarray(6));
    assert.deepEqual(out.map((f) => [...f]), [[1, 2, 3, 4, 5]]);
    assert.equal(d.pendingBytes, 0);
  });

  it('returns several frames from one chunk and keeps the tail', () => {
    const d = new FrameDecoder();
    const stream = concat([encodeFrame(Uint8Array.of(9)), encodeFrame(Uint8Array.of(8, 8)), encodeFrame(Uint8Array.of(7, 7, 7))]);
    const out = d.push(stream.subarray(0, stream.length - 1));
    assert.deepEqual(out.map((f) => [...f]), [[9], [8, 8]]);
    assert.deepEqual(d.push(stream.subarray(stream.length - 1)).map((f) => [...f]), [[7, 7, 7]]);
  });

  it('accepts a frame of exactly MAX_MESSAGE_SIZE', () => {
    const d = new FrameDecoder();
    const body = new Uint8Array(MAX_MESSAGE_SIZE).fill(0xaa);
    const out = d.push(encodeFrame(body));
    assert.equal(out.length, 1);
    assert.deepEqual(out[0], body);
  });

  it('rejects a declared length above MAX_MESSAGE_SIZE from the header alone, and stays failed', () => {
    const d = new FrameDecoder();
    assert.throws(
      () => d.push(header(MAX_MESSAGE_SIZE + 1)),
      (e: unknown) => e instanceof FramingError && e.reason === 'oversized',
    );
    assert.throws(
      () => d.push(encodeFrame(Uint8Array.of(1))),
      (e: unknown) => e instanceof FramingError && e.reason === 'failed',
    );
  });

  it('rejects a huge length split across chunks (no buffering of the body first)', () => {
    const d = new FrameDecoder();
    const h = header(0xffffffff);
    assert.deepEqual(d.push(h.subarray(0, 3)), []);
    assert.throws(() => d.push(h.subarray(3)), (e: unknown) => e instanceof FramingError && e.reason === 'oversized');
  });

  it('rejects a zero-length frame', () => {
    assert.throws(
      () => new FrameDecoder().push(header(0)),
      (e: unknown) => e instanceof FramingError && e.reason === 'empty',
    );
  });

  it('honours a smaller configured limit', () => {
    const d = new FrameDecoder(10);
    assert.equal(d.push(encodeFrame(new Uint8Array(10))).length, 1);
    assert.throws(() => d.push(encodeFrame(new Uint8Array(11))), FramingError);
  });

  it('reassembles a stream delivered one byte at a time', () => {
    const frames = Array.from({ length: 50 }, (_, i) => new Uint8Array(300).fill(i));
    const stream = concat(frames.map(encodeFrame));
    const d = new FrameDecoder();
    const got: Uint8Array[] = [];
    for (let i = 0; i < stream.length; i++) got.push(...d.push(stream.subarray(i, i + 1)));
    assert.deepEqual(got, frames);
  });

  it('property: any chunking of any frame sequence gives back the frames, in order', () => {
    const arbFrame = fc.uint8Array({ minLength: 1, maxLength: 600 });
    fc.assert(
      fc.property(fc.array(arbFrame, { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 40 }), (frames, offsets) => {
        const stream = concat(frames.map(encodeFrame));
        const d = new FrameDecoder();
        const got: Uint8Array[] = [];
        for (const chunk of cut(stream, offsets)) got.push(...d.push(chunk));
        assert.deepEqual(got, frames);
        assert.equal(d.pendingBytes, 0);
      }),
      { numRuns: RUNS },
    );
  });

  it('property: an oversized header anywhere fails the stream after the frames before it', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 100 }), { maxLength: 5 }),
        fc.integer({ min: MAX_MESSAGE_SIZE + 1, max: 0xffffffff }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (before, badLength, offsets) => {
          const stream = concat([...before.map(encodeFrame), header(badLength), new Uint8Array(50)]);
          const d = new FrameDecoder();
          const got: Uint8Array[] = [];
          let error: unknown;
          for (const chunk of cut(stream, offsets)) {
            try {
              got.push(...d.push(chunk));
            } catch (e) {
              error = e;
              if (e instanceof FramingError) got.push(...e.framesBefore);
              break;
            }
          }
          assert.ok(error instanceof FramingError && error.reason === 'oversized');
          assert.deepEqual(got, before);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
