import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientMessageExpectsAnswer } from '../transport/expects-answer';
import { hexToBytes, vectorSets } from './vectors';

test('clientMessageExpectsAnswer: PROCESSING, ACK and FAIL end an exchange; requests and unreadable bytes expect an answer', () => {
  const [set] = vectorSets();
  assert.ok(set);
  const expects = new Map(set.valid.map((v) => [v.name, clientMessageExpectsAnswer(hexToBytes(v.hex))]));
  for (const name of ['processing-more-time', 'ack-grant-more-time', 'fail-out-of-resources']) assert.equal(expects.get(name), false, name);
  for (const name of ['quotation-minimal', 'accept', 'decline-reasons', 'cancel-no-provider-id', 'withdraw-empty-cpd', 'update-rich', 'activate-now']) assert.equal(expects.get(name), true, name);
  assert.equal(clientMessageExpectsAnswer(Uint8Array.of(0xff, 0x00)), true);
});
