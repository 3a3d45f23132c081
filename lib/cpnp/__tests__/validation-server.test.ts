import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Cpd } from '../cpd/types';
import { CHILD_STATES, SERVER_STATES, type ServerState } from '../fsm/states';
import type { CpnpMessage } from '../message';
import { Method, METHOD_CODES, methodName, type MethodCode } from '../method';
import type { SessionEntry } from '../session';
import { StatusCode } from '../status-code';
import { FOUR_TUPLE_PARTS, type PeerTuple } from '../validation/peer';
import { messageFrom, mutate, NONCE, OFFERED, OTHER_HEX, REQUESTED, TXID, type Ids } from './helpers/validation-messages';
import {
  SERVER_TABLE,
  validateOnServer,
  type AccessFilter,
  type ServerCandidate,
  type ServerLookup,
  type ServerRow,
  type ServerVerdict,
} from '../validation/server-table';

const PEER: PeerTuple = {
  transport: 'dtls',
  clientAddress: '192.0.2.10',
  clientPort: 40000,
  serverAddress: '198.51.100.7',
  serverPort: 7777,
  identity: 'customer-a',
};
/** Where an UPDATE / WITHDRAW / ACTIVATE arrives from: another transport session of the same customer. */
const NEW_PEER: PeerTuple = { ...PEER, clientPort: 41234 };
const AGREEMENT_TXID = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const IN_SEQ = 5000;

/** A message the client sends (ACK and FAIL in the client's form). */
function messageFor(method: MethodCode, ids: Ids): CpnpMessage {
  return messageFrom('client', method, ids);
}

function session(overrides: Partial<SessionEntry> = {}): SessionEntry {
  return {
    role: 'server',
    peer: PEER,
    kind: 'quotation',
    txid: TXID,
    customerOrderId: 'C-1',
    providerOrderId: 'P-1',
    nonce: NONCE,
    outSeq: 9,
    inSeq: IN_SEQ,
    lastReceived: { seq: IN_SEQ, method: Method.QUOTATION },
    timers: [],
    ...overrides,
  };
}

function candidate(state: ServerState, overrides: Partial<ServerCandidate> = {}, s: Partial<SessionEntry> = {}): ServerCandidate {
  return { session: session(s), state, owner: 'customer-a', offeredCpd: OFFERED, moreTimeRequested: true, activationType: 'scheduled', ...overrides };
}

/** A store: `txid` maps Transaction-IDs to transactions, `orders` Provider Order Identifiers to orders. */
function store(txids: Record<string, ServerCandidate>, orders: Record<string, ServerCandidate> = {}): ServerLookup {
  return (key) => (key.by === 'txid' ? txids[key.txid] : orders[key.providerOrderId]);
}

interface Case {
  msg: CpnpMessage;
  peer: PeerTuple;
  lookup: ServerLookup;
  entry: ServerCandidate | undefined;
}

/** A message of `row` that must be accepted, with its store. */
function validCase(row: ServerRow, state: ServerState = row.allowedStates[0] ?? 'PQOReceived', c: Partial<ServerCandidate> = {}): Case {
  if (row.lookup === 'none') {
    const msg = messageFor(row.method, { seq: 123, txid: TXID, customerOrderId: 'C-1', nonce: NONCE, cpd: REQUESTED });
    return { msg, peer: PEER, lookup: store({}), entry: undefined };
  }
  if (row.lookup === 'providerOrderId') {
    const order = candidate(state, c, { txid: AGREEMENT_TXID, inSeq: 17, lastReceived: { seq: 17, method: Method.ACCEPT } });
    const msg = messageFor(row.method, { seq: 3, txid: TXID, customerOrderId: 'C-1', providerOrderId: 'P-1', nonce: NONCE });
    return { msg, peer: NEW_PEER, lookup: store({ [AGREEMENT_TXID]: order }, { 'P-1': order }), entry: order };
  }
  const entry = candidate(state, c);
  const msg = messageFor(row.method, { seq: IN_SEQ + 1, txid: TXID, customerOrderId: 'C-1', providerOrderId: 'P-1', nonce: NONCE, cpd: OFFERED });
  return { msg, peer: PEER, lookup: store({ [TXID]: entry }), entry };
}

function run(c: Case, filter?: AccessFilter): ServerVerdict {
  return validateOnServer(c.msg, c.peer, c.lookup, filter === undefined ? {} : { accessFilter: filter });
}

/** The row refuses: FAIL(code) for requests, a silent drop for responses; `check` names the failed check. */
function assertRefused(row: ServerRow, v: ServerVerdict, check: string, code: number, label: string): void {
  if (row.onFailure === 'fail') {
    assert.equal(v.verdict, 'fail', `${label}: expected FAIL ${code}, got ${JSON.stringify(v)}`);
    if (v.verdict === 'fail') {
      assert.equal(v.statusCode, code, `${label}: ${v.reason}`);
      assert.equal(v.check, check, `${label}: ${v.reason}`);
    }
  } else {
    assertDrop(v, check, label);
  }
}

function assertDrop(v: ServerVerdict, check: string, label: string): void {
  assert.equal(v.verdict, 'drop', `${label}: expected drop, got ${JSON.stringify(v)}`);
  if (v.verdict === 'drop') assert.equal(v.check, check, `${label}: ${v.reason}`);
}

const PROHIBIT: AccessFilter = () => 'prohibit';
const DROP: AccessFilter = () => 'drop';
const ALLOW: AccessFilter = () => 'allow';

describe('Table 6 as data (RFC 8921 10.2)', () => {
  it('one row per method a client sends; none for OFFER', () => {
    assert.deepEqual(
      SERVER_TABLE.map((r) => methodName(r.method)).sort(),
      ['ACCEPT', 'ACK', 'ACTIVATE', 'CANCEL', 'DECLINE', 'FAIL', 'PROCESSING', 'QUOTATION', 'UPDATE', 'WITHDRAW'],
    );
  });
  it('encodes the RFC rows exactly where the RFC is followed as written', () => {
    const view = (id: string) => {
      const r = SERVER_TABLE.find((x) => x.id === id);
      assert.ok(r);
      return [r.matchKeys.join(','), r.allowedStates.join('/'), r.seqRule, r.accessFilter, r.requires ?? '-', r.source];
    };
    assert.deepEqual(view('QUOTATION'), ['', '', 'not-lower', true, '-', 'rfc']);
    assert.deepEqual(view('ACCEPT'), ['fourTuple,txid,customerOrderId,providerOrderId,nonce,offeredCpd', 'OfferProposed/ProcessingReceived', 'greater', false, '-', 'rfc']);
    assert.deepEqual(view('DECLINE'), ['fourTuple,txid,customerOrderId,providerOrderId,nonce', 'OfferProposed/ProcessingReceived', 'greater', false, '-', 'rfc']);
    assert.deepEqual(view('UPDATE'), ['customerOrderId,providerOrderId,nonce', 'Completed', 'none', true, '-', 'rfc']);
    assert.deepEqual(view('WITHDRAW'), ['customerOrderId,providerOrderId,nonce', 'Completed', 'none', true, '-', 'rfc']);
    assert.deepEqual(view('ACTIVATE'), ['customerOrderId,providerOrderId,nonce', 'Completed', 'none', true, 'scheduledActivation', 'rfc']);
    // Extended: Table 6 states plus AwaitingProcessing (Figure 9) and the Child* states (8.8), poid checked when present.
    const child = 'ChildCreated/ChildPQOSent/ChildServerProcessing/ChildOfferReceived/ChildOfferProcessing/ChildAcceptSent/ChildCompleted';
    assert.deepEqual(view('CANCEL'), [
      'fourTuple,txid,customerOrderId,providerOrderId?',
      `PQOReceived/AwaitingProcessing/OfferProposed/ProcessingReceived/AcceptReceived/${child}`,
      'greater', false, '-', 'extended',
    ]);
    assert.deepEqual(view('PROCESSING'), ['fourTuple,txid,customerOrderId,providerOrderId', 'OfferProposed/ProcessingReceived', 'greater', false, '-', 'extended']);
    // Table 6's FAIL row (AwaitingProcessing) extended with the Child* states; ACK mirrors it.
    assert.deepEqual(view('FAIL'), ['fourTuple,txid,customerOrderId,providerOrderId', `AwaitingProcessing/${child}`, 'greater', false, 'moreTimeRequested', 'extended']);
    assert.deepEqual(view('ACK'), ['fourTuple,txid,customerOrderId,providerOrderId', `AwaitingProcessing/${child}`, 'greater', false, 'moreTimeRequested', 'extension']);
  });
  it('requests are refused with FAIL, responses dropped; non-RFC rows explain themselves', () => {
    for (const row of SERVER_TABLE) {
      const response = row.method === Method.PROCESSING || row.method === Method.ACK || row.method === Method.FAIL;
      assert.equal(row.onFailure, response ? 'drop' : 'fail', row.id);
      if (row.source !== 'rfc') assert.ok((row.note ?? '').length > 20, row.id);
    }
  });
});

for (const row of SERVER_TABLE) {
  describe(`server row: ${row.id} [${row.source}]`, () => {
    if (row.lookup === 'none') {
      it('accepts a new order (no entry yet)', () => {
        assert.deepEqual(run(validCase(row)), { verdict: 'accept', entry: undefined, row: row.id });
        assert.equal(run(validCase(row), ALLOW).verdict, 'accept');
      });
    } else {
      it('accepts a matching message in every allowed state', () => {
        for (const state of row.allowedStates) {
          const c = validCase(row, state);
          const v = run(c);
          assert.equal(v.verdict, 'accept', `${state}: ${JSON.stringify(v)}`);
          if (v.verdict === 'accept') assert.equal(v.entry, c.entry);
        }
      });
      it('refuses when no order matches (9.2.5, 9.2.7, 9.2.8, 9.2.9, 9.2.11)', () => {
        const c = validCase(row);
        assertRefused(row, run({ ...c, lookup: store({}) }), 'lookup', StatusCode.MESSAGE_VALIDATION_ERROR, 'no order');
      });
      for (const state of SERVER_STATES.filter((s) => !row.allowedStates.includes(s))) {
        it(`refuses in state ${state}`, () => {
          assertRefused(row, run(validCase(row, state)), 'state', StatusCode.MESSAGE_VALIDATION_ERROR, state);
        });
      }
      it('refuses an order of another customer identity with 3, and an unauthenticated peer with 2', () => {
        const c = validCase(row);
        assertRefused(row, run({ ...c, peer: { ...c.peer, identity: 'customer-b' } }), 'identity', StatusCode.AUTHORIZATION_FAILED, 'other customer');
        const { identity: _omit, ...anonymous } = c.peer;
        assertRefused(row, run({ ...c, peer: anonymous }), 'authentication', StatusCode.AUTHENTICATION_REQUIRED, 'anonymous');
        // An order without an owner (no authentication in use) is open to any peer that knows the keys.
        const open = validCase(row, undefined, { owner: undefined });
        assert.equal(run({ ...open, peer: anonymous }).verdict, 'accept');
      });
      it('does not reveal ownership to a peer that does not know the keys (FAIL 1, not 3)', () => {
        const c = validCase(row);
        const key = row.matchKeys.includes('nonce') ? { nonce: OTHER_HEX } : { customerOrderId: 'C-x' };
        const v = run({ ...c, msg: mutate(c.msg, key), peer: { ...c.peer, identity: 'customer-b' } });
        assertRefused(row, v, 'nonce' in key ? 'nonce' : 'customerOrderId', StatusCode.MESSAGE_VALIDATION_ERROR, 'keys first');
      });
    }

    for (const key of row.matchKeys) {
      if (key === 'fourTuple') {
        for (const part of FOUR_TUPLE_PARTS) {
          it(`refuses a message from another 4-tuple (${part})`, () => {
            const c = validCase(row);
            const changed: PeerTuple =
              part === 'transport' ? { ...PEER, transport: 'tls' }
              : part === 'clientPort' || part === 'serverPort' ? { ...PEER, [part]: PEER[part] + 1 }
              : { ...PEER, [part]: '203.0.113.99' };
            assertRefused(row, run({ ...c, peer: changed }), 'fourTuple', 1, part);
          });
        }
      } else if (key === 'txid') {
        it('refuses another Transaction-ID (unknown, or a store that returned the wrong transaction)', () => {
          const c = validCase(row);
          const msg = mutate(c.msg, { txid: OTHER_HEX });
          assertRefused(row, run({ ...c, msg }), 'lookup', 1, 'unknown txid');
          assert.ok(c.entry);
          assertRefused(row, run({ ...c, msg, lookup: store({ [OTHER_HEX]: c.entry }) }), 'txid', 1, 'wrong entry');
        });
      } else if (key === 'customerOrderId') {
        it('refuses another Customer Order Identifier', () => {
          const c = validCase(row);
          assertRefused(row, run({ ...c, msg: mutate(c.msg, { customerOrderId: 'C-2' }) }), key, 1, key);
        });
      } else if (key === 'providerOrderId') {
        it('refuses another Provider Order Identifier', () => {
          const c = validCase(row);
          const msg = mutate(c.msg, { providerOrderId: 'P-2' });
          if (row.lookup === 'providerOrderId') {
            assertRefused(row, run({ ...c, msg }), 'lookup', 1, 'unknown order');
            assert.ok(c.entry);
            assertRefused(row, run({ ...c, msg, lookup: store({}, { 'P-2': c.entry }) }), key, 1, 'wrong entry');
          } else {
            assertRefused(row, run({ ...c, msg }), key, 1, key);
          }
        });
      } else if (key === 'providerOrderId?') {
        it('refuses another Provider Order Identifier when the message names one, accepts none', () => {
          const c = validCase(row);
          assertRefused(row, run({ ...c, msg: mutate(c.msg, { providerOrderId: 'P-2' }) }), key, 1, key);
          const { providerOrderId: _omit, ...without } = c.msg as CpnpMessage & { providerOrderId?: string };
          assert.equal(run({ ...c, msg: without as CpnpMessage }).verdict, 'accept');
        });
      } else if (key === 'nonce') {
        it('refuses another nonce (9.1.5)', () => {
          const c = validCase(row);
          assertRefused(row, run({ ...c, msg: mutate(c.msg, { nonce: OTHER_HEX }) }), key, 1, key);
        });
      } else {
        it('refuses a CPD that differs from the Offered CPD (FAIL 1)', () => {
          const c = validCase(row);
          assertRefused(row, run({ ...c, msg: mutate(c.msg, { cpd: REQUESTED }) }), key, 1, 'other CPD');
          assertRefused(row, run({ ...c, msg: mutate(c.msg, { cpd: [] }) }), key, 1, 'empty CPD');
          const unknown = validCase(row, undefined, { offeredCpd: undefined });
          assertRefused(row, run(unknown), key, 1, 'no offer stored');
          // Equality is on the data, not on key order.
          const reordered: Cpd = [{ conformance: { outOfProfile: 'drop', policing: 'police' }, capacity: { inMbps: 10 }, nodes: [{ link: 'pe1:ge-0/0/1', id: 'ce-a' }] }];
          assert.equal(run({ ...c, msg: mutate(c.msg, { cpd: reordered }) }).verdict, 'accept');
        });
      }
    }

    if (row.lookup === 'providerOrderId') {
      it('does not require the 4-tuple of the original negotiation (new transaction)', () => {
        const c = validCase(row);
        assert.equal(run({ ...c, peer: { ...NEW_PEER, clientAddress: '192.0.2.200', transport: 'tls' } }).verdict, 'accept');
      });
    }

    if (row.requires === 'moreTimeRequested') {
      it('is dropped when no request for more time is pending (in AwaitingProcessing and in every Child* state)', () => {
        for (const state of row.allowedStates) {
          assertDrop(run(validCase(row, state, { moreTimeRequested: false })), 'moreTimeRequested', `${state}: not pending`);
          assertDrop(run(validCase(row, state, { moreTimeRequested: undefined })), 'moreTimeRequested', `${state}: unknown`);
        }
      });
    }
    if (row.requires === 'scheduledActivation') {
      it('refuses with FAIL 8 when activation was not negotiated as scheduled (9.2.11)', () => {
        for (const activationType of [undefined, 'permanent'] as const) {
          assertRefused(row, run(validCase(row, 'Completed', { activationType })), 'scheduledActivation', StatusCode.UNSUPPORTED_ACTIVATION_TYPE, String(activationType));
        }
      });
    }

    if (row.accessFilter) {
      it('applies the access filter first: prohibit → FAIL 4, drop → silence', () => {
        const c = validCase(row);
        const prohibited = run(c, PROHIBIT);
        assert.equal(prohibited.verdict, 'fail');
        if (prohibited.verdict === 'fail') {
          assert.equal(prohibited.statusCode, StatusCode.ADMINISTRATIVELY_PROHIBITED);
          assert.equal(prohibited.check, 'access');
        }
        assertDrop(run(c, DROP), 'access', 'drop');
        // before the order lookup: an unknown order from a prohibited source is still FAIL 4
        const unknown = run({ ...c, lookup: store({}) }, PROHIBIT);
        assert.equal(unknown.verdict === 'fail' && unknown.statusCode, StatusCode.ADMINISTRATIVELY_PROHIBITED);
        // the filter sees the peer and the message
        const seen: string[] = [];
        run(c, (peer, msg) => {
          seen.push(`${peer.clientAddress}/${methodName(msg.method)}`);
          return 'allow';
        });
        assert.deepEqual(seen, [`${c.peer.clientAddress}/${methodName(row.method)}`]);
      });
    } else {
      it('is not subject to the access filter (Table 6 names it only for QUOTATION, UPDATE, WITHDRAW, ACTIVATE)', () => {
        assert.equal(run(validCase(row), PROHIBIT).verdict, 'accept');
      });
    }

    if (row.lookup === 'txid') {
      it('drops an old sequence number (replay, 11.3)', () => {
        const c = validCase(row);
        assertDrop(run({ ...c, msg: mutate(c.msg, { seq: IN_SEQ - 1 }) }), 'seq', 'lower');
      });
      it('an equal sequence number with the same method is a retransmission, in any state (11.4)', () => {
        for (const state of SERVER_STATES) {
          const c = validCase(row, state);
          const entry = candidate(state, {}, { lastReceived: { seq: IN_SEQ, method: row.method } });
          const v = run({ ...c, msg: mutate(c.msg, { seq: IN_SEQ }), lookup: store({ [TXID]: entry }) });
          assert.deepEqual(v, { verdict: 'retransmission', entry, row: row.id }, state);
        }
      });
      it('an equal sequence number on another method is dropped', () => {
        const c = validCase(row);
        const entry = candidate(row.allowedStates[0] ?? 'PQOReceived', {}, { lastReceived: { seq: IN_SEQ, method: Method.OFFER } });
        assertDrop(run({ ...c, msg: mutate(c.msg, { seq: IN_SEQ }), lookup: store({ [TXID]: entry }) }), 'seq', 'reused');
      });
    } else {
      describe('a repeated transaction-opening message (same Transaction-ID)', () => {
        const existing = (lastMethod: MethodCode = row.method, inSeq = 3): ServerCandidate =>
          candidate('AwaitingProcessing', {}, { peer: row.lookup === 'none' ? PEER : NEW_PEER, kind: row.lookup === 'none' ? 'quotation' : 'update', inSeq, lastReceived: { seq: inSeq, method: lastMethod } });
        const repeat = (entry: ServerCandidate, seq: number, peer?: PeerTuple): ServerVerdict => {
          const c = validCase(row);
          return run({ ...c, msg: mutate(c.msg, { seq }), peer: peer ?? c.peer, lookup: store({ [TXID]: entry }, { 'P-1': entry }) });
        };
        it('equal seq → retransmission, whatever the order state now is', () => {
          const entry = existing();
          assert.deepEqual(repeat(entry, 3), { verdict: 'retransmission', entry, row: row.id });
        });
        it('lower seq → replay, dropped', () => {
          assertDrop(repeat(existing(row.method, 9), 3), 'seq', 'lower');
        });
        it('higher seq → dropped: a new request needs a new Transaction-ID', () => {
          assertDrop(repeat(existing(), 4), 'repeat', 'higher');
        });
        it('equal seq on another method → dropped', () => {
          assertDrop(repeat(existing(Method.PROCESSING), 3), 'seq', 'other method');
        });
        it('from another transport session or customer → dropped', () => {
          const base = validCase(row).peer;
          assertDrop(repeat(existing(), 3, { ...base, clientPort: 1 }), 'repeat', '4-tuple');
          assertDrop(repeat(existing(), 3, { ...base, identity: 'customer-b' }), 'repeat', 'identity');
        });
        it('is checked after the access filter', () => {
          const c = validCase(row);
          const v = run({ ...c, msg: mutate(c.msg, { seq: 3 }), lookup: store({ [TXID]: existing() }) }, PROHIBIT);
          assert.equal(v.verdict === 'fail' && v.statusCode, StatusCode.ADMINISTRATIVELY_PROHIBITED);
        });
      });
    }
  });
}

describe('Child* states (8.8): the customer sees an order still awaiting processing', () => {
  const childStates = SERVER_STATES.filter((s) => s.startsWith('Child'));
  const rowOf = (id: string): ServerRow => {
    const row = SERVER_TABLE.find((r) => r.id === id);
    assert.ok(row);
    return row;
  };
  it('CHILD_STATES names every Child* state of the server machine', () => {
    assert.deepEqual([...CHILD_STATES].sort(), [...childStates].sort());
    assert.equal(childStates.length, 7);
  });
  it('a CANCEL during a child negotiation is accepted in every Child* state (9.2.7)', () => {
    for (const state of childStates) {
      const c = validCase(rowOf('CANCEL'), state);
      assert.deepEqual(run(c), { verdict: 'accept', entry: c.entry, row: 'CANCEL' }, state);
      // ...and still refused with FAIL 1 when it names another order, or 3 for another customer.
      assertRefused(rowOf('CANCEL'), run({ ...c, msg: mutate(c.msg, { providerOrderId: 'P-2' }) }), 'providerOrderId?', 1, `${state}: other poid`);
      assertRefused(rowOf('CANCEL'), run({ ...c, peer: { ...c.peer, identity: 'customer-b' } }), 'identity', StatusCode.AUTHORIZATION_FAILED, `${state}: other customer`);
    }
  });
  it('an ACK granting, or a FAIL 7 refusing, more time asked with subcode 2 is accepted in every Child* state (9.2.2)', () => {
    for (const state of childStates) {
      for (const id of ['ACK', 'FAIL']) {
        const c = validCase(rowOf(id), state, { moreTimeRequested: true });
        assert.equal(run(c).verdict, 'accept', `${id} in ${state}`);
        assertDrop(run(validCase(rowOf(id), state, { moreTimeRequested: false })), 'moreTimeRequested', `${id} in ${state}, nothing asked`);
        assertDrop(run({ ...c, msg: mutate(c.msg, { providerOrderId: 'P-2' }) }), 'providerOrderId', `${id} in ${state}, other poid`);
      }
    }
  });
  it('what belongs to an offer (PROCESSING, ACCEPT, DECLINE) or an agreement (UPDATE, WITHDRAW, ACTIVATE) is refused in every Child* state', () => {
    for (const state of childStates) {
      for (const id of ['PROCESSING', 'ACCEPT', 'DECLINE', 'UPDATE', 'WITHDRAW', 'ACTIVATE']) {
        const row = rowOf(id);
        assert.ok(!row.allowedStates.includes(state), `${id} lists ${state}`);
        assertRefused(row, run(validCase(row, state)), 'state', StatusCode.MESSAGE_VALIDATION_ERROR, `${id} in ${state}`);
      }
    }
  });
});

describe('server validation: cases outside the rows', () => {
  it('drops an OFFER (a client never sends one)', () => {
    const msg = messageFor(Method.OFFER, { seq: IN_SEQ + 1, txid: TXID, customerOrderId: 'C-1', nonce: NONCE });
    assertDrop(validateOnServer(msg, PEER, store({ [TXID]: candidate('OfferProposed') })), 'method', 'offer');
  });
  it('a retransmitted ACCEPT after the order completed is a retransmission (8.11.2 Completed)', () => {
    const row = SERVER_TABLE.find((r) => r.id === 'ACCEPT');
    assert.ok(row);
    const entry = candidate('Completed', {}, { lastReceived: { seq: IN_SEQ + 1, method: Method.ACCEPT }, inSeq: IN_SEQ + 1 });
    const c = validCase(row);
    assert.equal(run({ ...c, lookup: store({ [TXID]: entry }) }).verdict, 'retransmission');
  });
  it('a retransmitted UPDATE is recognised by its Transaction-ID although the order left Completed', () => {
    const row = SERVER_TABLE.find((r) => r.id === 'UPDATE');
    assert.ok(row);
    const c = validCase(row);
    const update = candidate('PQOReceived', {}, { peer: NEW_PEER, kind: 'update', inSeq: 3, lastReceived: { seq: 3, method: Method.UPDATE } });
    assert.equal(run({ ...c, lookup: store({ [TXID]: update }, { 'P-1': update }) }).verdict, 'retransmission');
  });
  it('property: only requests are ever answered with FAIL, and only with codes 1, 2, 3, 4 or 8', () => {
    const requests: MethodCode[] = [Method.QUOTATION, Method.ACCEPT, Method.DECLINE, Method.CANCEL, Method.UPDATE, Method.WITHDRAW, Method.ACTIVATE];
    fc.assert(
      fc.property(
        fc.constantFrom(...METHOD_CODES),
        fc.constantFrom(...SERVER_STATES),
        fc.integer({ min: IN_SEQ - 2, max: IN_SEQ + 2 }),
        fc.constantFrom('allow', 'prohibit', 'drop') as fc.Arbitrary<'allow' | 'prohibit' | 'drop'>,
        fc.constantFrom('customer-a', 'customer-b', undefined),
        fc.boolean(),
        (method, state, seq, decision, identity, sameNonce) => {
          const entry = candidate(state);
          const msg = messageFor(method, { seq, txid: TXID, customerOrderId: 'C-1', providerOrderId: 'P-1', nonce: sameNonce ? NONCE : OTHER_HEX });
          const peer: PeerTuple = identity === undefined ? { ...PEER, identity: undefined } : { ...PEER, identity };
          const v = validateOnServer(msg, peer, store({ [TXID]: entry }, { 'P-1': entry }), { accessFilter: () => decision });
          if (v.verdict === 'fail') {
            assert.ok(requests.includes(method), methodName(method));
            assert.ok(([1, 2, 3, 4, 8] as number[]).includes(v.statusCode));
          }
          if (v.verdict === 'accept') assert.ok(identity === 'customer-a');
        },
      ),
    );
  });
});
