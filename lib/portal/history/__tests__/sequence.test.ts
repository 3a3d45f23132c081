import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sequenceChart, type LoggedMessage } from '../sequence';

const lanes = new Map([
  ['n1', 1],
  ['n2', 2],
]);
let t = 0;
const m = (id: string, negotiationId: string, direction: 'out' | 'in', method: string, transactionId: string | null): LoggedMessage => ({
  id,
  negotiationId,
  direction,
  method,
  transactionId,
  at: new Date(Date.UTC(2026, 0, 1, 0, 0, t++)).toISOString(),
});

test('arrows go client → provider lane and back, in time order, with retransmissions and losses marked', () => {
  const log = [
    m('1', 'n1', 'out', 'QUOTATION', 'q1'),
    m('2', 'n2', 'out', 'QUOTATION', 'q2'),
    m('3', 'n1', 'in', 'OFFER', 'q1'),
    m('4', 'n1', 'out', 'ACCEPT', 'a1'),
    m('5', 'n1', 'out', 'ACCEPT', 'a1'),
    m('6', 'n1', 'in', 'ACK', 'a1'),
    m('7', 'n2', 'out', 'CANCEL', 'c2'),
  ];
  const arrows = sequenceChart(lanes, [...log].reverse());
  assert.deepEqual(
    arrows.map((a) => [a.id, a.from, a.to, a.marks.join('+')]),
    [
      ['1', 0, 1, ''],
      ['2', 0, 2, 'unanswered'],
      ['3', 1, 0, ''],
      ['4', 0, 1, 'lost'],
      ['5', 0, 1, 'retransmission'],
      ['6', 1, 0, ''],
      ['7', 0, 2, 'unanswered'],
    ],
  );
});

test('a copy followed by a reply before the next copy is not lost (the reply crossed it)', () => {
  const arrows = sequenceChart(lanes, [m('a', 'n1', 'out', 'ACCEPT', 'x'), m('b', 'n1', 'in', 'ACK', 'x'), m('c', 'n1', 'out', 'ACCEPT', 'x')]);
  assert.deepEqual(arrows.map((a) => a.marks), [[], [], ['retransmission']]);
});
