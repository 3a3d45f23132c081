import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SimulatedClock, systemClock } from '../clock';
import type { Cpd } from '../cpd/types';
import { asDateTime } from '../date-time';
import type { CpnpMessage, QuotationMessage, UpdateMessage } from '../message';
import { Method } from '../method';
import { seededRandom } from '../random';
import { SEQ_MAX, SequenceExhaustedError } from '../sequence';
import {
  acceptIncoming,
  ANSWER_RESEND_INTERVAL_MS,
  answerRetransmission,
  identifierMismatch,
  learnIdentifiers,
  messageIdentifiers,
  openClientSession,
  openServerSession,
  recordRetransmission,
  recordSent,
  transactionKindOf,
  withTimers,
  type SessionEntry,
} from '../session';
import { scheduleRetransmit } from '../timers';
import { describePeer, fourTupleKey, fourTupleMismatch, normalizeAddress, sameFourTuple, type PeerTuple } from '../validation/peer';

const PEER: PeerTuple = {
  transport: 'dtls',
  clientAddress: '192.0.2.10',
  clientPort: 40000,
  serverAddress: '2001:db8::7',
  serverPort: 7777,
  identity: 'customer-a',
};
const CPD: Cpd = [{ nodes: [{ id: 'ce-a', link: 'pe1:ge-0/0/1' }] }];
const TXID = '00112233445566778899aabbccddeeff';
const NONCE = 'ffeeddccbbaa99887766554433221100';

function quotation(seq: number): QuotationMessage {
  return { version: 1, method: Method.QUOTATION, seq, txid: TXID, customerOrderId: 'C-1', cpd: CPD };
}

function update(seq: number): UpdateMessage {
  return {
    version: 1,
    method: Method.UPDATE,
    seq,
    txid: TXID,
    customerOrderId: 'C-1',
    providerOrderId: 'P-1',
    nonce: NONCE,
    expectedResponseTime: asDateTime('2030-01-01T00:00:00Z'),
    cpd: CPD,
  };
}

describe('clock', () => {
  it('SimulatedClock moves only when told to', () => {
    const clock = new SimulatedClock(1000);
    assert.equal(clock.now(), 1000);
    assert.equal(clock.advance(500), 1500);
    assert.equal(clock.now(), 1500);
    clock.set(10);
    assert.equal(clock.now(), 10);
    assert.throws(() => clock.advance(-1), RangeError);
    assert.throws(() => clock.set(Number.NaN), RangeError);
    assert.throws(() => new SimulatedClock(Number.POSITIVE_INFINITY), RangeError);
  });
  it('systemClock reads epoch milliseconds', () => {
    const now = systemClock.now();
    assert.ok(Number.isInteger(now) && now > Date.UTC(2020, 0, 1));
  });
});

describe('peer tuple (8.3 transport session)', () => {
  it('normalizes addresses so equal addresses compare equal', () => {
    assert.equal(normalizeAddress('2001:DB8:0:0::7'), '2001:db8::7');
    assert.equal(normalizeAddress('[2001:db8::7]'), '2001:db8::7');
    assert.equal(normalizeAddress('::ffff:192.0.2.10'), '192.0.2.10');
    assert.equal(normalizeAddress('192.0.2.10'), '192.0.2.10');
    assert.equal(normalizeAddress('Server.Example'), 'server.example');
    assert.equal(normalizeAddress('fe80::1%eth0'), 'fe80::1%eth0');
  });
  it('names the first differing part; identity is not part of the tuple', () => {
    assert.equal(fourTupleMismatch(PEER, { ...PEER, identity: 'someone-else' }), undefined);
    assert.equal(fourTupleMismatch(PEER, { ...PEER, clientAddress: '::ffff:192.0.2.10', serverAddress: '2001:DB8::7' }), undefined);
    assert.equal(fourTupleMismatch(PEER, { ...PEER, transport: 'udp' }), 'transport');
    assert.equal(fourTupleMismatch(PEER, { ...PEER, clientAddress: '192.0.2.11' }), 'clientAddress');
    assert.equal(fourTupleMismatch(PEER, { ...PEER, clientPort: 40001 }), 'clientPort');
    assert.equal(fourTupleMismatch(PEER, { ...PEER, serverAddress: '2001:db8::8' }), 'serverAddress');
    assert.equal(fourTupleMismatch(PEER, { ...PEER, serverPort: 7778 }), 'serverPort');
    assert.equal(sameFourTuple(PEER, { ...PEER }), true);
  });
  it('keys and descriptions', () => {
    assert.equal(fourTupleKey(PEER), 'dtls 192.0.2.10:40000>[2001:db8::7]:7777');
    assert.equal(fourTupleKey({ ...PEER, clientAddress: '::FFFF:192.0.2.10' }), fourTupleKey(PEER));
    assert.match(describePeer(PEER), /customer-a/);
  });
});

describe('session entries (8.3, 8.4)', () => {
  it('a client session gets a fresh txid and a random first seq, and no incoming counter', () => {
    const a = openClientSession({ peer: PEER, kind: 'quotation', customerOrderId: 'C-1' }, seededRandom(1));
    const b = openClientSession({ peer: PEER, kind: 'quotation', customerOrderId: 'C-1' }, seededRandom(2));
    assert.match(a.txid, /^[0-9a-f]{32}$/);
    assert.notEqual(a.txid, b.txid);
    assert.notEqual(a.outSeq, b.outSeq);
    assert.equal(a.inSeq, undefined);
    assert.equal(a.role, 'client');
    assert.deepEqual(a.timers, []);
    assert.equal('providerOrderId' in a, false);
    const u = openClientSession({ peer: PEER, kind: 'update', customerOrderId: 'C-1', providerOrderId: 'P-1', nonce: NONCE }, seededRandom(3));
    assert.equal(u.providerOrderId, 'P-1');
    assert.equal(u.nonce, NONCE);
  });

  it('a server session starts from the opening message', () => {
    const s = openServerSession({ peer: PEER, opening: quotation(77), providerOrderId: 'P-9' }, seededRandom(1));
    assert.equal(s.kind, 'quotation');
    assert.equal(s.txid, TXID);
    assert.equal(s.inSeq, 77);
    assert.deepEqual(s.lastReceived, { seq: 77, method: Method.QUOTATION });
    assert.equal(s.providerOrderId, 'P-9');
    const u = openServerSession({ peer: PEER, opening: update(5) }, seededRandom(1));
    assert.equal(u.kind, 'update');
    assert.equal(u.providerOrderId, 'P-1');
    assert.equal(u.nonce, NONCE);
    const offer: CpnpMessage = { ...update(5), method: Method.ACCEPT } as CpnpMessage;
    assert.throws(() => openServerSession({ peer: PEER, opening: offer }, seededRandom(1)), RangeError);
  });

  it('transactionKindOf names the four opening methods only', () => {
    assert.equal(transactionKindOf(Method.QUOTATION), 'quotation');
    assert.equal(transactionKindOf(Method.UPDATE), 'update');
    assert.equal(transactionKindOf(Method.WITHDRAW), 'withdraw');
    assert.equal(transactionKindOf(Method.ACTIVATE), 'activate');
    for (const m of [Method.PROCESSING, Method.OFFER, Method.ACCEPT, Method.DECLINE, Method.ACK, Method.CANCEL, Method.FAIL]) {
      assert.equal(transactionKindOf(m), undefined);
    }
  });
});

describe('send and retransmit are distinct (11.3, 11.4)', () => {
  const clock = new SimulatedClock(0);
  const fresh = (): SessionEntry => ({ ...openClientSession({ peer: PEER, kind: 'quotation', customerOrderId: 'C-1' }, seededRandom(9)), outSeq: 100 });

  it('send takes the next number; retransmit reuses it and leaves outSeq alone', () => {
    const first = recordSent(fresh(), { method: Method.QUOTATION, ref: 'q', now: clock.now() });
    assert.equal(first.seq, 100);
    assert.equal(first.entry.outSeq, 101);
    clock.advance(2000);
    const again = recordRetransmission(first.entry, clock.now());
    assert.equal(again.sent.seq, 100);
    assert.equal(again.sent.ref, 'q');
    assert.equal(again.sent.transmissions, 2);
    assert.equal(again.sent.transmittedAt, 2000);
    assert.equal(again.entry.outSeq, 101);
    const second = recordSent(again.entry, { method: Method.ACCEPT, ref: 'a', now: clock.now() });
    assert.equal(second.seq, 101);
    assert.equal(second.entry.lastSent?.transmissions, 1);
  });
  it('retransmitting before anything was sent is an error', () => {
    assert.throws(() => recordRetransmission(fresh(), 0), RangeError);
  });
  it('refuses to wrap the outgoing counter', () => {
    const last = recordSent({ ...fresh(), outSeq: SEQ_MAX }, { method: Method.QUOTATION, ref: 'q', now: 0 });
    assert.equal(last.seq, SEQ_MAX);
    assert.throws(() => recordSent(last.entry, { method: Method.CANCEL, ref: 'c', now: 0 }), SequenceExhaustedError);
  });
  it('property: any mix of sends and retransmissions — sends use consecutive numbers, retransmissions repeat the last', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 40 }), (ops) => {
        let entry = fresh();
        let expected = 100;
        let last: number | undefined;
        for (const send of ops) {
          if (send || last === undefined) {
            const r = recordSent(entry, { method: Method.QUOTATION, ref: `m${expected}`, now: 0 });
            assert.equal(r.seq, expected);
            last = expected;
            expected += 1;
            entry = r.entry;
          } else {
            const r = recordRetransmission(entry, 0);
            assert.equal(r.sent.seq, last);
            entry = r.entry;
          }
          assert.equal(entry.outSeq, expected);
        }
      }),
    );
  });
});

describe('incoming messages and cached answers (11.3, 11.4)', () => {
  const base = openClientSession({ peer: PEER, kind: 'quotation', customerOrderId: 'C-1' }, seededRandom(4));

  it('the first incoming message sets the counter; later ones must be larger', () => {
    const a = acceptIncoming(base, { seq: 500, method: Method.PROCESSING });
    assert.equal(a.inSeq, 500);
    const b = acceptIncoming(a, { seq: 501, method: Method.OFFER });
    assert.deepEqual(b.lastReceived, { seq: 501, method: Method.OFFER });
    assert.throws(() => acceptIncoming(b, { seq: 501, method: Method.OFFER }), RangeError);
    assert.throws(() => acceptIncoming(b, { seq: 3, method: Method.OFFER }), RangeError);
    assert.throws(() => acceptIncoming(b, { seq: SEQ_MAX + 1, method: Method.OFFER }), RangeError);
  });

  it('answers a retransmission with the cached answer, at a limited rate, or with PROCESSING', () => {
    const clock = new SimulatedClock(10_000);
    let entry = acceptIncoming(base, { seq: 500, method: Method.OFFER });
    assert.deepEqual(answerRetransmission(entry, 500, clock.now()), { action: 'processing' });
    entry = recordSent(entry, { method: Method.PROCESSING, ref: 'p', now: clock.now(), inReplyTo: 500 }).entry;
    assert.deepEqual(answerRetransmission(entry, 500, clock.now()), { action: 'wait' });
    clock.advance(ANSWER_RESEND_INTERVAL_MS);
    const answer = answerRetransmission(entry, 500, clock.now());
    assert.equal(answer.action, 'resend');
    assert.equal(answer.action === 'resend' ? answer.sent.ref : '', 'p');
    // the cached answer belongs to 500 only
    assert.deepEqual(answerRetransmission(entry, 499, clock.now()), { action: 'processing' });
  });

  it('learns identifiers and carries timers', () => {
    const e = learnIdentifiers(base, { providerOrderId: 'P-1' });
    assert.equal(e.providerOrderId, 'P-1');
    assert.equal(e.nonce, undefined);
    const f = learnIdentifiers(e, { nonce: NONCE });
    assert.equal(f.providerOrderId, 'P-1');
    assert.equal(f.nonce, NONCE);
    const g = withTimers(f, scheduleRetransmit([], 1, 0));
    assert.equal(g.timers.length, 1);
  });
});

describe('identifierMismatch', () => {
  const session: SessionEntry = {
    ...openServerSession({ peer: PEER, opening: update(5) }, seededRandom(1)),
  };
  const msg = update(6);
  it('matches the same identifiers, hex case-insensitively', () => {
    assert.equal(identifierMismatch(session, msg, PEER, ['fourTuple', 'txid', 'customerOrderId', 'providerOrderId', 'nonce']), undefined);
    assert.equal(identifierMismatch(session, { ...msg, txid: TXID.toUpperCase(), nonce: NONCE.toUpperCase() }, PEER, ['txid', 'nonce']), undefined);
  });
  it('names each key that differs', () => {
    assert.equal(identifierMismatch(session, msg, { ...PEER, clientPort: 1 }, ['fourTuple']), 'fourTuple');
    assert.equal(identifierMismatch(session, { ...msg, txid: NONCE }, PEER, ['txid']), 'txid');
    assert.equal(identifierMismatch(session, { ...msg, customerOrderId: 'C-2' }, PEER, ['customerOrderId']), 'customerOrderId');
    assert.equal(identifierMismatch(session, { ...msg, providerOrderId: 'P-2' }, PEER, ['providerOrderId']), 'providerOrderId');
    assert.equal(identifierMismatch(session, { ...msg, nonce: TXID }, PEER, ['nonce']), 'nonce');
  });
  it("'providerOrderId?' compares only when both sides have one; 'providerOrderId' needs both", () => {
    const noPoid = { ...session, providerOrderId: undefined };
    assert.equal(identifierMismatch(noPoid, msg, PEER, ['providerOrderId?']), undefined);
    assert.equal(identifierMismatch(noPoid, msg, PEER, ['providerOrderId']), 'providerOrderId');
    const cancel: CpnpMessage = { version: 1, method: Method.CANCEL, seq: 1, txid: TXID, customerOrderId: 'C-1' };
    assert.equal(identifierMismatch(session, cancel, PEER, ['providerOrderId?']), undefined);
    assert.equal(identifierMismatch(session, { ...cancel, providerOrderId: 'P-2' }, PEER, ['providerOrderId?']), 'providerOrderId?');
    assert.deepEqual(messageIdentifiers(cancel), { txid: TXID, customerOrderId: 'C-1' });
  });
});
