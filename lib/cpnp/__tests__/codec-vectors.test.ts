import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeMessage, encodeMessage, messageFromJson } from '../codec';
import { CpnpDecodeError } from '../errors';
import type { CpnpMessage } from '../message';
import { bytesToHex, hexToBytes, vectorSets } from './vectors';

// One table drives decode, encode and round-trip checks for every vector (DEVELOPERS.md).
for (const set of vectorSets()) {
  describe(`vectors (${set.source})`, () => {
    for (const v of set.valid) {
      it(`valid ${v.name}: decode == json, encode == hex, round trip`, () => {
        const decoded = decodeMessage(hexToBytes(v.hex));
        assert.ok(decoded.ok, decoded.ok ? '' : decoded.error.message);
        assert.deepStrictEqual(JSON.parse(JSON.stringify(decoded.message)), v.json);
        const fromJson = messageFromJson(v.json);
        assert.ok(fromJson.ok, fromJson.ok ? '' : fromJson.error.message);
        assert.equal(bytesToHex(encodeMessage(fromJson.message)), v.hex);
        assert.equal(bytesToHex(encodeMessage(decoded.message)), v.hex);
      });
    }
    for (const v of set.lenient) {
      it(`lenient ${v.name}: decode == json; re-encoding gives the deterministic form`, () => {
        const decoded = decodeMessage(hexToBytes(v.hex));
        assert.ok(decoded.ok, decoded.ok ? '' : decoded.error.message);
        assert.deepStrictEqual(JSON.parse(JSON.stringify(decoded.message)), v.json);
        const again = encodeMessage(decoded.message);
        assert.notEqual(bytesToHex(again), v.hex);
        const redecoded = decodeMessage(again);
        assert.ok(redecoded.ok);
        assert.deepStrictEqual(redecoded.message, decoded.message);
      });
    }
    for (const v of set.invalid) {
      it(`invalid ${v.name} (${v.why}): typed error, status code 1`, () => {
        const decoded = decodeMessage(hexToBytes(v.hex));
        assert.equal(decoded.ok, false);
        if (decoded.ok) return;
        assert.ok(decoded.error instanceof CpnpDecodeError);
        assert.equal(decoded.error.statusCode, 1);
        assert.notEqual(decoded.error.rule, 'internal', decoded.error.message);
      });
    }
  });
}

// The reason each invalid vector is rejected must be the one the vector names, not an accident.
const EXPECTED_RULES: Record<string, string> = {
  'version-2': 'version',
  'method-12': 'method',
  'quotation-missing-txid': 'presence',
  'txid-15-bytes': 'length',
  'quotation-with-provider-id': 'presence',
  'offer-missing-nonce': 'presence',
  'unknown-top-level-key': 'unknown-key',
  'trailing-bytes': 'cbor.trailing',
  'not-a-map': 'not-a-map',
  truncated: 'cbor.truncated',
  'date-without-z': 'date-time',
  'date-with-space': 'date-time',
  'decline-reason-4': 'reason',
  'empty-customer-order-id': 'identifier',
  'fail-without-status': 'presence',
};

describe('invalid vectors fail for the reason they name', () => {
  const [repo] = vectorSets();
  for (const v of repo?.invalid ?? []) {
    const rule = EXPECTED_RULES[v.name];
    if (!rule) continue;
    it(v.name, () => {
      const decoded = decodeMessage(hexToBytes(v.hex));
      assert.equal(decoded.ok, false);
      if (!decoded.ok) assert.equal(decoded.error.rule, rule, decoded.error.message);
    });
  }
  it('cpp-without-nodes and capacity-without-conformance are CPD rules', () => {
    for (const name of ['cpp-without-nodes', 'capacity-without-conformance']) {
      const v = repo?.invalid.find((x) => x.name === name);
      assert.ok(v);
      const decoded = decodeMessage(hexToBytes(v.hex));
      assert.equal(decoded.ok, false);
      if (!decoded.ok) assert.match(decoded.error.path, /^cpd\[0\]/, decoded.error.message);
    }
  });
});

describe('encodeMessage refuses invalid messages', () => {
  it('throws CpnpDecodeError for a QUOTATION without a CPD', () => {
    const bad = { version: 1, method: 1, seq: 1, txid: '00'.repeat(16), customerOrderId: 'C-1' } as unknown as CpnpMessage;
    assert.throws(() => encodeMessage(bad), CpnpDecodeError);
  });
});
