import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  classifyIncoming,
  isSequenceNumber,
  passesSeqRule,
  SEQ_MAX,
  SEQUENCE_HEADROOM,
  SequenceExhaustedError,
  takeOutgoing,
} from '../sequence';
import { cryptoRandom, newNonce, newTransactionId, randomInitialSequence, seededRandom, type RandomSource } from '../random';

const seqArb = fc.integer({ min: 0, max: SEQ_MAX });

describe('classifyIncoming (RFC 8921 11.3, 11.4)', () => {
  it('the first message of a transaction establishes the counter, whatever its value', () => {
    assert.equal(classifyIncoming(0, undefined), 'first');
    assert.equal(classifyIncoming(SEQ_MAX, undefined), 'first');
  });
  it('larger is new, equal is a retransmission, lower is a replay', () => {
    assert.equal(classifyIncoming(11, 10), 'new');
    assert.equal(classifyIncoming(10, 10), 'retransmission');
    assert.equal(classifyIncoming(9, 10), 'replay');
    assert.equal(classifyIncoming(0, SEQ_MAX), 'replay');
    assert.equal(classifyIncoming(SEQ_MAX, 0), 'new');
  });

  it('property: the numbers accepted along any stream strictly increase, and each is above every earlier one', () => {
    fc.assert(
      fc.property(fc.array(seqArb, { maxLength: 60 }), (stream) => {
        let inSeq: number | undefined;
        const accepted: number[] = [];
        for (const seq of stream) {
          const c = classifyIncoming(seq, inSeq);
          if (c === 'first' || c === 'new') {
            for (const earlier of accepted) assert.ok(seq > earlier);
            accepted.push(seq);
            inSeq = seq;
          } else {
            assert.ok(inSeq !== undefined && seq <= inSeq);
            assert.equal(c === 'retransmission', seq === inSeq);
          }
        }
        for (let i = 1; i < accepted.length; i++) assert.ok((accepted[i] ?? 0) > (accepted[i - 1] ?? 0));
      }),
    );
  });

  it('property: once a number is accepted, nothing at or below it is ever accepted again', () => {
    fc.assert(
      fc.property(seqArb, seqArb, (a, b) => {
        const c = classifyIncoming(b, a);
        assert.equal(c === 'new', b > a);
      }),
    );
  });
});

describe('passesSeqRule (Tables 5 and 6 wording)', () => {
  it('greater: strictly above; not-lower: equal allowed; none: anything', () => {
    assert.equal(passesSeqRule('greater', 5, 5), false);
    assert.equal(passesSeqRule('greater', 6, 5), true);
    assert.equal(passesSeqRule('not-lower', 5, 5), true);
    assert.equal(passesSeqRule('not-lower', 4, 5), false);
    assert.equal(passesSeqRule('none', 0, 5), true);
  });
  it('no counter yet: every rule passes', () => {
    for (const rule of ['greater', 'not-lower', 'none'] as const) assert.equal(passesSeqRule(rule, 0, undefined), true);
  });
  it('property: the rules differ only where seq equals the counter', () => {
    fc.assert(
      fc.property(seqArb, seqArb, (seq, inSeq) => {
        if (seq !== inSeq) assert.equal(passesSeqRule('greater', seq, inSeq), passesSeqRule('not-lower', seq, inSeq));
      }),
    );
  });
});

describe('takeOutgoing (11.3: insert, then increase by 1; never wrap)', () => {
  it('returns the number and the next one', () => {
    assert.deepEqual(takeOutgoing(41), { seq: 41, next: 42 });
    assert.deepEqual(takeOutgoing(SEQ_MAX), { seq: SEQ_MAX, next: SEQ_MAX + 1 });
  });
  it('refuses to wrap past 2^32-1', () => {
    assert.throws(() => takeOutgoing(SEQ_MAX + 1), SequenceExhaustedError);
    assert.throws(() => takeOutgoing(-1), SequenceExhaustedError);
    assert.throws(() => takeOutgoing(1.5), SequenceExhaustedError);
  });
  it('isSequenceNumber accepts exactly the uint32 range', () => {
    assert.equal(isSequenceNumber(0), true);
    assert.equal(isSequenceNumber(SEQ_MAX), true);
    assert.equal(isSequenceNumber(SEQ_MAX + 1), false);
    assert.equal(isSequenceNumber(-1), false);
    assert.equal(isSequenceNumber(0.5), false);
  });
});

describe('random values (RFC 8921 8.4, 9.1.5)', () => {
  it('property: txids and nonces are 32 lowercase hex digits', () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const r = seededRandom(seed);
        assert.match(newTransactionId(r), /^[0-9a-f]{32}$/);
        assert.match(newNonce(r), /^[0-9a-f]{32}$/);
      }),
    );
    assert.match(newTransactionId(cryptoRandom), /^[0-9a-f]{32}$/);
    assert.match(newNonce(cryptoRandom), /^[0-9a-f]{32}$/);
  });
  it('the production source gives distinct values', () => {
    const seen = new Set(Array.from({ length: 200 }, () => newTransactionId(cryptoRandom)));
    assert.equal(seen.size, 200);
  });
  it('seededRandom is deterministic per seed and differs between seeds', () => {
    assert.equal(newTransactionId(seededRandom(7)), newTransactionId(seededRandom(7)));
    assert.notEqual(newTransactionId(seededRandom(7)), newTransactionId(seededRandom(8)));
    assert.equal(seededRandom(1).bytes(5).length, 5);
  });
  it('rejects a source that returns the wrong length', () => {
    const short: RandomSource = { bytes: () => new Uint8Array(3) };
    assert.throws(() => newNonce(short), RangeError);
  });
  it('property: the initial sequence number leaves SEQUENCE_HEADROOM numbers before 2^32-1', () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const s = randomInitialSequence(seededRandom(seed));
        assert.ok(Number.isInteger(s) && s >= 0 && s <= SEQ_MAX - SEQUENCE_HEADROOM);
        let out = s;
        for (let i = 0; i < 3; i++) out = takeOutgoing(out).next; // a transaction can always continue
      }),
    );
  });
  it('rejection sampling skips draws in the headroom and is uniform over the rest', () => {
    // A source whose first draw is 0xffffffff (in the headroom) and second is 0x00000005.
    const draws = [
      [0xff, 0xff, 0xff, 0xff],
      [0, 0, 0, 5],
    ];
    const scripted: RandomSource = { bytes: () => Uint8Array.from(draws.shift() ?? [0, 0, 0, 0]) };
    assert.equal(randomInitialSequence(scripted), 5);
    // headroom 0: the whole range, including 2^32-1.
    const max: RandomSource = { bytes: () => Uint8Array.from([0xff, 0xff, 0xff, 0xff]) };
    assert.equal(randomInitialSequence(max, 0), SEQ_MAX);
    assert.throws(() => randomInitialSequence(max, -1), RangeError);
  });
  it('initial sequence numbers spread over the range (not stuck low)', () => {
    const r = seededRandom(42);
    const values = Array.from({ length: 400 }, () => randomInitialSequence(r));
    const high = values.filter((v) => v > 2 ** 31).length;
    assert.ok(high > 120 && high < 280, `high half count ${high}`);
  });
});
