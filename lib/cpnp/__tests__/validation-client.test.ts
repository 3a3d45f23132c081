import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Cpd } from '../cpd/types';
import { CLIENT_STATES, type ClientState } from '../fsm/states';
import type { CpnpMessage } from '../message';
import { Method, METHOD_CODES, methodName, type MethodCode } from '../method';
import { TRANSACTION_KINDS, type SessionEntry, type TransactionKind } from '../session';
import {
  CLIENT_TABLE,
  clientRowsFor,
  validateOnClient,
  type ClientCandidate,
  type ClientLookup,
  type ClientRow,
  type ClientVerdict,
} from '../validation/client-table';
import { FOUR_TUPLE_PARTS, type PeerTuple } from '../validation/peer';
import { messageFrom, mutate, NONCE, OFFERED, OTHER_HEX, REQUESTED, TXID, type Ids } from './helpers/validation-messages';

const PEER: PeerTuple = {
  transport: 'dtls',
  clientAddress: '192.0.2.10',
  clientPort: 40000,
  serverAddress: '198.51.100.7',
  serverPort: 7777,
  identity: 'provider-x',
};
const IN_SEQ = 1000;

/** A message the server sends (ACK and FAIL in the server's form). */
function messageFor(method: MethodCode, ids: Ids): CpnpMessage {
  return messageFrom('server', method, ids);
}

function sessionFor(kind: TransactionKind, overrides: Partial<SessionEntry> = {}): SessionEntry {
  return {
    role: 'client',
    peer: PEER,
    kind,
    txid: TXID,
    customerOrderId: 'C-1',
    providerOrderId: 'P-1',
    nonce: NONCE,
    outSeq: 77,
    inSeq: IN_SEQ,
    lastReceived: { seq: IN_SEQ, method: Method.PROCESSING },
    timers: [],
    ...overrides,
  };
}

function kindOf(row: ClientRow): TransactionKind {
  return row.kinds?.[0] ?? 'quotation';
}

/** The CPD an accepted message of this row carries. */
function cpdFor(row: ClientRow): Cpd | undefined {
  if (row.matchKeys.includes('emptyCpd')) return [];
  if (row.matchKeys.includes('offeredCpd') || row.matchKeys.includes('updatedCpd')) return OFFERED;
  return row.method === Method.ACK ? OFFERED : undefined;
}

interface Case {
  msg: CpnpMessage;
  peer: PeerTuple;
  candidate: ClientCandidate;
}

function validCase(row: ClientRow, state: ClientState = row.allowedStates[0] ?? 'PQOSent'): Case {
  const cpd = cpdFor(row);
  const msg = messageFor(row.method, {
    seq: IN_SEQ + 1,
    txid: TXID,
    customerOrderId: 'C-1',
    providerOrderId: 'P-1',
    nonce: NONCE,
    ...(cpd === undefined ? {} : { cpd }),
  });
  return { msg, peer: PEER, candidate: { session: sessionFor(kindOf(row)), state, offeredCpd: OFFERED } };
}

/** A store that finds the transaction by Transaction-ID, as a real one does. */
function byTxid(candidate: ClientCandidate): ClientLookup {
  return ({ txid }) => (txid === candidate.session.txid ? candidate : undefined);
}

/** A store that returns the candidate whatever the key, to reach the validator's own checks. */
function always(candidate: ClientCandidate): ClientLookup {
  return () => candidate;
}

function run(c: Case, lookup: ClientLookup = byTxid(c.candidate)): ClientVerdict {
  return validateOnClient(c.msg, c.peer, lookup);
}

function assertDrop(v: ClientVerdict, check: string, label: string): void {
  assert.equal(v.verdict, 'drop', `${label}: expected drop, got ${JSON.stringify(v)}`);
  if (v.verdict === 'drop') assert.equal(v.check, check, `${label}: ${v.reason}`);
}

describe('Table 5 as data (RFC 8921 10.1)', () => {
  it('holds the five RFC rows with their exact keys and states', () => {
    const rfc = CLIENT_TABLE.filter((r) => r.source === 'rfc').map((r) => [methodName(r.method), r.kinds?.join('/') ?? '*', r.matchKeys.join(','), r.allowedStates.join('/'), r.seqRule]);
    assert.deepEqual(rfc, [
      ['PROCESSING', 'quotation/update', 'fourTuple,txid,customerOrderId', 'PQOSent', 'greater'],
      ['OFFER', 'quotation/update', 'fourTuple,txid,customerOrderId', 'PQOSent', 'greater'],
      ['OFFER', 'quotation/update', 'fourTuple,txid,customerOrderId,providerOrderId', 'ServerProcessing', 'greater'],
      ['ACK', 'quotation', 'fourTuple,txid,customerOrderId,providerOrderId,offeredCpd', 'AcceptSent', 'greater'],
      ['ACK', 'update', 'fourTuple,txid,customerOrderId,providerOrderId,updatedCpd', 'AcceptSent', 'greater'],
      ['ACK', 'withdraw', 'fourTuple,txid,customerOrderId,providerOrderId,emptyCpd', 'Cancelled', 'greater'],
    ]);
  });
  it('holds the documented extension rows (docs/validation-and-timers.md)', () => {
    const ext = CLIENT_TABLE.filter((r) => r.source === 'extension').map((r) => [r.id, r.kinds?.join('/') ?? '*', r.matchKeys.join(','), r.allowedStates.join('/'), r.seqRule]);
    assert.deepEqual(ext, [
      ['PROCESSING (later answer)', '*', 'fourTuple,txid,customerOrderId,providerOrderId', 'ServerProcessing/AcceptSent/Cancelled', 'greater'],
      ['PROCESSING (UPDATE ended by CANCEL or DECLINE)', 'update', 'fourTuple,txid,customerOrderId,providerOrderId', 'Completed', 'greater'],
      ['PROCESSING (ACTIVATE transaction)', 'activate', 'fourTuple,txid,customerOrderId,providerOrderId', 'Completed', 'greater'],
      ['ACK (CANCEL or DECLINE)', 'quotation/update', 'fourTuple,txid,customerOrderId,providerOrderId?', 'Cancelled', 'greater'],
      ['ACK (CANCEL or DECLINE of an UPDATE)', 'update', 'fourTuple,txid,customerOrderId,providerOrderId', 'Completed', 'greater'],
      ['ACK (ACTIVATE transaction)', 'activate', 'fourTuple,txid,customerOrderId,providerOrderId', 'Completed', 'greater'],
      ['FAIL', 'quotation/update/withdraw', 'fourTuple,txid,customerOrderId,providerOrderId?', 'PQOSent/ServerProcessing/OfferProcessing/AcceptSent/Cancelled', 'greater'],
      ['FAIL (UPDATE ended by CANCEL or DECLINE)', 'update', 'fourTuple,txid,customerOrderId,providerOrderId?', 'Completed', 'greater'],
      ['FAIL (ACTIVATE transaction)', 'activate', 'fourTuple,txid,customerOrderId,providerOrderId?', 'Completed', 'greater'],
    ]);
  });
  it('every row is a client-side check without access filter, and extension rows say why', () => {
    for (const row of CLIENT_TABLE) {
      assert.equal(row.accessFilter, false);
      if (row.source === 'extension') assert.ok((row.note ?? '').length > 20, row.id);
    }
  });
  it('at most one row accepts any (method, kind, state)', () => {
    for (const method of METHOD_CODES) {
      for (const kind of TRANSACTION_KINDS) {
        for (const state of CLIENT_STATES) {
          const n = clientRowsFor(method, kind).filter((r) => r.allowedStates.includes(state)).length;
          assert.ok(n <= 1, `${methodName(method)} ${kind} ${state}`);
        }
      }
    }
  });
});

for (const row of CLIENT_TABLE) {
  describe(`client row: ${row.id} [${row.source}]`, () => {
    it('accepts a matching message in every allowed state', () => {
      for (const state of row.allowedStates) {
        const v = run(validCase(row, state));
        assert.equal(v.verdict, 'accept', `${state}: ${JSON.stringify(v)}`);
        if (v.verdict === 'accept') assert.equal(v.row, row.id);
      }
    });

    it('accepts the first message of the transaction (no incoming counter yet)', () => {
      const c = validCase(row);
      c.candidate.session = sessionFor(kindOf(row), { inSeq: undefined, lastReceived: undefined });
      assert.equal(run(c).verdict, 'accept');
    });

    for (const key of row.matchKeys) {
      if (key === 'fourTuple') {
        for (const part of FOUR_TUPLE_PARTS) {
          it(`drops a message from another 4-tuple (${part})`, () => {
            const c = validCase(row);
            const changed: PeerTuple =
              part === 'transport' ? { ...PEER, transport: 'udp' }
              : part === 'clientPort' || part === 'serverPort' ? { ...PEER, [part]: PEER[part] + 1 }
              : { ...PEER, [part]: '203.0.113.99' };
            assertDrop(run({ ...c, peer: changed }), 'fourTuple', part);
          });
        }
      } else if (key === 'txid') {
        it('drops a message with another Transaction-ID (unknown transaction, or a store that returned the wrong one)', () => {
          const c = validCase(row);
          const wrong = { ...c, msg: mutate(c.msg, { txid: OTHER_HEX }) };
          assertDrop(run(wrong), 'lookup', 'by txid');
          assertDrop(run(wrong, always(c.candidate)), 'txid', 'loose store');
        });
      } else if (key === 'customerOrderId') {
        it('drops a message with another Customer Order Identifier', () => {
          const c = validCase(row);
          assertDrop(run({ ...c, msg: mutate(c.msg, { customerOrderId: 'C-2' }) }), 'customerOrderId', key);
        });
      } else if (key === 'providerOrderId') {
        it('drops a message with another Provider Order Identifier, or when the session does not know one', () => {
          const c = validCase(row);
          assertDrop(run({ ...c, msg: mutate(c.msg, { providerOrderId: 'P-2' }) }), 'providerOrderId', 'other');
          c.candidate.session = { ...c.candidate.session, providerOrderId: undefined };
          assertDrop(run(c), 'providerOrderId', 'unknown');
        });
      } else if (key === 'providerOrderId?') {
        it('drops another Provider Order Identifier, but accepts when either side lacks one', () => {
          const c = validCase(row);
          assertDrop(run({ ...c, msg: mutate(c.msg, { providerOrderId: 'P-2' }) }), 'providerOrderId?', 'other');
          const noSessionPoid = validCase(row);
          noSessionPoid.candidate.session = { ...noSessionPoid.candidate.session, providerOrderId: undefined };
          assert.equal(run(noSessionPoid).verdict, 'accept');
          if (row.method === Method.FAIL) {
            const { providerOrderId: _omit, ...withoutPoid } = c.msg as CpnpMessage & { providerOrderId?: string };
            assert.equal(run({ ...c, msg: withoutPoid as CpnpMessage }).verdict, 'accept');
          }
        });
      } else if (key === 'nonce') {
        it('has no nonce check in Table 5', () => assert.fail('unexpected nonce key in a client row'));
      } else {
        it(`drops a message whose CPD is not the ${key}, or that has none`, () => {
          const c = validCase(row);
          const wrong: Cpd = key === 'emptyCpd' ? OFFERED : REQUESTED;
          assertDrop(run({ ...c, msg: mutate(c.msg, { cpd: wrong }) }), key, 'wrong CPD');
          const { cpd: _omit, ...noCpd } = c.msg as CpnpMessage & { cpd?: Cpd };
          assertDrop(run({ ...c, msg: noCpd as CpnpMessage }), key, 'no CPD');
          if (key !== 'emptyCpd') {
            const unknown = validCase(row);
            delete unknown.candidate.offeredCpd;
            assertDrop(run(unknown), key, 'no offer stored');
          }
        });
      }
    }

    for (const state of CLIENT_STATES.filter((s) => !row.allowedStates.includes(s))) {
      it(`state ${state} is not accepted by this row`, () => {
        const c = validCase(row, state);
        const v = run(c);
        const sibling = clientRowsFor(row.method, kindOf(row)).find((r) => r.allowedStates.includes(state));
        if (sibling === undefined) {
          assertDrop(v, 'state', state);
        } else {
          // Another row of the table covers this state; it must be that row that accepts.
          assert.notEqual(sibling.id, row.id);
          assert.ok(v.verdict === 'accept' && v.row === sibling.id, JSON.stringify(v));
        }
      });
    }

    it('drops an old sequence number (replay, 11.3)', () => {
      const c = validCase(row);
      assertDrop(run({ ...c, msg: mutate(c.msg, { seq: IN_SEQ - 1 }) }), 'seq', 'lower');
      assertDrop(run({ ...c, msg: mutate(c.msg, { seq: 0 }) }), 'seq', 'zero');
    });

    it('an equal sequence number with the same method is a retransmission, in any state (11.4)', () => {
      for (const state of CLIENT_STATES) {
        const c = validCase(row, state);
        c.candidate.session = sessionFor(kindOf(row), { lastReceived: { seq: IN_SEQ, method: row.method } });
        const v = run({ ...c, msg: mutate(c.msg, { seq: IN_SEQ }) });
        assert.equal(v.verdict, 'retransmission', `${state}: ${JSON.stringify(v)}`);
        if (v.verdict === 'retransmission') assert.equal(v.entry, c.candidate);
      }
    });

    it('an equal sequence number on a different method is dropped', () => {
      const c = validCase(row);
      const other = row.method === Method.OFFER ? Method.PROCESSING : Method.OFFER;
      c.candidate.session = sessionFor(kindOf(row), { lastReceived: { seq: IN_SEQ, method: other } });
      assertDrop(run({ ...c, msg: mutate(c.msg, { seq: IN_SEQ }) }), 'seq', 'reused seq');
    });

    it('a retransmission must still come from the same transport session', () => {
      const c = validCase(row);
      c.candidate.session = sessionFor(kindOf(row), { lastReceived: { seq: IN_SEQ, method: row.method } });
      assertDrop(run({ ...c, peer: { ...PEER, clientPort: 1 }, msg: mutate(c.msg, { seq: IN_SEQ }) }), 'fourTuple', 'retransmission');
    });

    it('drops a message from another server identity (RFC 13: unknown servers)', () => {
      const c = validCase(row);
      c.candidate.serverIdentity = 'provider-x';
      assert.equal(run(c).verdict, 'accept');
      assertDrop(run({ ...c, peer: { ...PEER, identity: 'provider-y' } }), 'identity', 'other');
      const { identity: _omit, ...anonymous } = PEER;
      assertDrop(run({ ...c, peer: anonymous }), 'identity', 'unauthenticated');
    });

    it('does not apply to other transaction kinds', () => {
      if (row.kinds === undefined) return;
      for (const kind of TRANSACTION_KINDS.filter((k) => !row.kinds?.includes(k))) {
        const c = validCase(row);
        c.candidate.session = sessionFor(kind);
        const v = run(c);
        assert.ok(v.verdict === 'drop' || (v.verdict === 'accept' && v.row !== row.id), `${kind}: ${JSON.stringify(v)}`);
      }
    });
  });
}

describe('client validation: the rows that replace the engine\'s state aliases (extensions)', () => {
  const completedUpdate = (method: MethodCode, extra: Partial<Ids> = {}): Case => ({
    msg: messageFor(method, { seq: IN_SEQ + 1, txid: TXID, customerOrderId: 'C-1', providerOrderId: 'P-1', nonce: NONCE, ...extra }),
    peer: PEER,
    candidate: { session: sessionFor('update'), state: 'Completed', offeredCpd: OFFERED },
  });

  it('an UPDATE ended by CANCEL or DECLINE: its ACK (any CPD), FAIL and interim PROCESSING are accepted in Completed', () => {
    for (const [method, row, cpd] of [
      [Method.ACK, 'ACK (CANCEL or DECLINE of an UPDATE)', REQUESTED],
      [Method.ACK, 'ACK (CANCEL or DECLINE of an UPDATE)', []],
      [Method.FAIL, 'FAIL (UPDATE ended by CANCEL or DECLINE)', undefined],
      [Method.PROCESSING, 'PROCESSING (UPDATE ended by CANCEL or DECLINE)', undefined],
    ] as const) {
      const v = run(completedUpdate(method, cpd === undefined ? {} : { cpd: [...cpd] }));
      assert.ok(v.verdict === 'accept' && v.row === row, `${methodName(method)}: ${JSON.stringify(v)}`);
    }
  });

  it('... but not in a QUOTATION transaction that ended Completed (an agreement, nothing outstanding)', () => {
    for (const method of [Method.ACK, Method.FAIL, Method.PROCESSING]) {
      const c = completedUpdate(method, method === Method.ACK ? { cpd: OFFERED } : {});
      c.candidate.session = sessionFor('quotation');
      assertDrop(run(c), 'state', methodName(method));
    }
  });

  it('... nor with another Provider Order Identifier, another 4-tuple, or an old sequence number', () => {
    for (const method of [Method.ACK, Method.FAIL, Method.PROCESSING]) {
      const check = method === Method.FAIL ? 'providerOrderId?' : 'providerOrderId';
      assertDrop(run(completedUpdate(method, { providerOrderId: 'P-2' })), check, methodName(method));
      assertDrop(run({ ...completedUpdate(method), peer: { ...PEER, clientPort: PEER.clientPort + 1 } }), 'fourTuple', methodName(method));
      assertDrop(run(completedUpdate(method, { seq: IN_SEQ - 1 })), 'seq', methodName(method));
    }
  });

  it('an ACK in an UPDATE transaction without a Provider Order Identifier in the session is dropped (it always has one)', () => {
    const c = completedUpdate(Method.ACK);
    c.candidate.session = { ...c.candidate.session, providerOrderId: undefined };
    assertDrop(run(c), 'providerOrderId', 'no poid');
  });

  it('a FAIL in OfferProcessing (after the client\'s PROCESSING) is accepted; in OfferReceived it is dropped (C4)', () => {
    for (const kind of ['quotation', 'update'] as const) {
      const msg = messageFor(Method.FAIL, { seq: IN_SEQ + 1, txid: TXID, customerOrderId: 'C-1', nonce: NONCE });
      const ok = validateOnClient(msg, PEER, byTxid({ session: sessionFor(kind), state: 'OfferProcessing' }));
      assert.ok(ok.verdict === 'accept' && ok.row === 'FAIL', `${kind}: ${JSON.stringify(ok)}`);
      assertDrop(validateOnClient(msg, PEER, byTxid({ session: sessionFor(kind), state: 'OfferReceived' })), 'state', kind);
      assertDrop(validateOnClient(mutate(msg, { providerOrderId: 'P-2' }), PEER, byTxid({ session: sessionFor(kind), state: 'OfferProcessing' })), 'providerOrderId?', kind);
    }
  });
});

describe('client validation: local endpoint not known yet (ClientCandidate.localUnknown)', () => {
  const PLACEHOLDER = { clientAddress: 'unknown', clientPort: 0 };
  const unknownLocal = (): Case => {
    const row = CLIENT_TABLE.find((r) => r.id === 'PROCESSING');
    assert.ok(row);
    const c = validCase(row, 'PQOSent');
    c.candidate.session = sessionFor('quotation', { peer: { ...PEER, ...PLACEHOLDER }, inSeq: undefined, lastReceived: undefined, providerOrderId: undefined });
    c.candidate.localUnknown = true;
    return c;
  };

  it('accepts a valid first response on any local endpoint and reports that endpoint', () => {
    for (const local of [
      { clientAddress: PEER.clientAddress, clientPort: PEER.clientPort },
      { clientAddress: '127.0.0.1', clientPort: 51234 },
      { clientAddress: '2001:db8::5', clientPort: 1 },
    ]) {
      const c = unknownLocal();
      const v = run({ ...c, peer: { ...PEER, ...local } });
      assert.equal(v.verdict, 'accept', JSON.stringify(v));
      if (v.verdict === 'accept') assert.deepEqual(v.local, { address: local.clientAddress, port: local.clientPort });
    }
  });

  it('still checks everything else: Transaction-ID, Customer Order Identifier, server half, transport, identity, seq, state', () => {
    const c = unknownLocal();
    assertDrop(run({ ...c, msg: mutate(c.msg, { txid: OTHER_HEX }) }), 'lookup', 'txid');
    assertDrop(run({ ...c, msg: mutate(c.msg, { txid: OTHER_HEX }) }, always(c.candidate)), 'txid', 'loose store');
    assertDrop(run({ ...c, msg: mutate(c.msg, { customerOrderId: 'C-2' }) }), 'customerOrderId', 'customer');
    assertDrop(run({ ...c, peer: { ...PEER, serverAddress: '203.0.113.99' } }), 'fourTuple', 'server address');
    assertDrop(run({ ...c, peer: { ...PEER, serverPort: PEER.serverPort + 1 } }), 'fourTuple', 'server port');
    assertDrop(run({ ...c, peer: { ...PEER, transport: 'udp' } }), 'fourTuple', 'transport');
    const withIdentity = unknownLocal();
    withIdentity.candidate.serverIdentity = 'provider-x';
    assertDrop(run({ ...withIdentity, peer: { ...PEER, identity: 'provider-y' } }), 'identity', 'identity');
    const later = unknownLocal();
    later.candidate.session = { ...later.candidate.session, inSeq: IN_SEQ, lastReceived: { seq: IN_SEQ, method: Method.PROCESSING } };
    assertDrop(run({ ...later, msg: mutate(later.msg, { seq: IN_SEQ - 1 }) }), 'seq', 'replay');
    assertDrop(run(validCase(CLIENT_TABLE.find((r) => r.id === 'PROCESSING') as ClientRow, 'OfferReceived')), 'state', 'state');
    const wrongState = unknownLocal();
    wrongState.candidate.state = 'OfferReceived';
    assertDrop(run(wrongState), 'state', 'state (unknown local)');
  });

  it('without the flag the placeholder matches no real endpoint: fails closed', () => {
    const c = unknownLocal();
    delete c.candidate.localUnknown;
    assertDrop(run(c), 'fourTuple', 'placeholder');
  });

  it('a known local endpoint is enforced and not reported', () => {
    const row = CLIENT_TABLE.find((r) => r.id === 'PROCESSING');
    assert.ok(row);
    const v = run(validCase(row, 'PQOSent'));
    assert.ok(v.verdict === 'accept' && v.local === undefined, JSON.stringify(v));
  });
});

describe('client validation: messages and cases outside the rows', () => {
  it('drops every method a server never sends to a client', () => {
    const requests = [Method.QUOTATION, Method.ACCEPT, Method.DECLINE, Method.CANCEL, Method.WITHDRAW, Method.UPDATE, Method.ACTIVATE];
    for (const method of requests) {
      const msg = messageFor(method, { seq: IN_SEQ + 1, txid: TXID, customerOrderId: 'C-1', nonce: NONCE });
      const candidate: ClientCandidate = { session: sessionFor('quotation'), state: 'PQOSent' };
      assertDrop(validateOnClient(msg, PEER, always(candidate)), 'method', methodName(method));
    }
  });
  it('drops an OFFER inside a WITHDRAW transaction (no row for that kind)', () => {
    const msg = messageFor(Method.OFFER, { seq: IN_SEQ + 1, txid: TXID, customerOrderId: 'C-1', nonce: NONCE });
    const candidate: ClientCandidate = { session: sessionFor('withdraw'), state: 'PQOSent' };
    assertDrop(validateOnClient(msg, PEER, byTxid(candidate)), 'method', 'offer in withdraw');
  });
  it('OFFER after PROCESSING: a different Provider Order Identifier is reported as such (11.1.1)', () => {
    const row = CLIENT_TABLE.find((r) => r.id === 'OFFER (after PROCESSING)');
    assert.ok(row);
    const c = validCase(row, 'ServerProcessing');
    assertDrop(run({ ...c, msg: mutate(c.msg, { providerOrderId: 'P-9' }) }), 'providerOrderId', 'offer');
    // ... while in PQOSent the Provider Order Identifier is not yet known and not checked.
    const first = validCase(row, 'PQOSent');
    first.candidate.session = { ...first.candidate.session, providerOrderId: undefined };
    assert.equal(run({ ...first, msg: mutate(first.msg, { providerOrderId: 'P-9' }) }).verdict, 'accept');
  });
  it('a retransmitted OFFER after the order moved on is a retransmission, not a state error', () => {
    const row = CLIENT_TABLE.find((r) => r.id === 'OFFER');
    assert.ok(row);
    const c = validCase(row, 'OfferProcessing');
    c.candidate.session = sessionFor('quotation', { lastReceived: { seq: IN_SEQ, method: Method.OFFER } });
    assert.equal(run({ ...c, msg: mutate(c.msg, { seq: IN_SEQ }) }).verdict, 'retransmission');
  });
  it('property: the client never answers with FAIL, whatever arrives', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...METHOD_CODES),
        fc.constantFrom(...TRANSACTION_KINDS),
        fc.constantFrom(...CLIENT_STATES),
        fc.integer({ min: IN_SEQ - 2, max: IN_SEQ + 2 }),
        fc.boolean(),
        fc.boolean(),
        (method, kind, state, seq, samePeer, sameTxid) => {
          const msg = messageFor(method, { seq, txid: sameTxid ? TXID : OTHER_HEX, customerOrderId: 'C-1', nonce: NONCE, cpd: OFFERED });
          const candidate: ClientCandidate = { session: sessionFor(kind), state, offeredCpd: OFFERED };
          const v = validateOnClient(msg, samePeer ? PEER : { ...PEER, serverPort: 1 }, byTxid(candidate));
          assert.ok(['accept', 'retransmission', 'drop'].includes(v.verdict));
          if (v.verdict === 'accept') {
            assert.ok(samePeer && sameTxid && seq > IN_SEQ);
          }
        },
      ),
    );
  });
});
