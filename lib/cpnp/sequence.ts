/**
 * Sequence numbers (RFC 8921 sections 8.4, 9.1.4 and 11.3). Each partner of a transaction
 * keeps two counters: the next outgoing number and the highest incoming number it accepted.
 *
 * Decisions (docs/validation-and-timers.md):
 * - Outgoing numbers never wrap. RFC 9.1.4 says the number is "monotonically incremented"; a
 *   wrap would make the receiver see a lower number and drop the message as a replay. The
 *   initial number is drawn with SEQUENCE_HEADROOM values left below 2^32 (random.ts), and a
 *   transaction that still runs out is refused (SequenceExhaustedError) rather than wrapped.
 * - Because senders never wrap, incoming numbers are compared as plain integers.
 * - An incoming number equal to the last accepted one is a retransmission (11.4: answer again,
 *   do not process twice); a lower one is a replay and is discarded (11.3).
 */

/** SEQUENCE_NUMBER is a uint 0..2^32-1 (wire-format.md section 2, key 3). */
export const SEQ_MAX = 0xffff_ffff;

/** Numbers kept free above a random initial sequence number, so a transaction cannot wrap. */
export const SEQUENCE_HEADROOM = 0x1_0000;

/**
 * The sequence condition of one row of RFC 8921 Tables 5 and 6, as worded there:
 * 'greater' = "must be larger/greater than the sequence number maintained",
 * 'not-lower' = "must not be lower than" (QUOTATION only), 'none' = the row states no check
 * (UPDATE, WITHDRAW, ACTIVATE: they open a new transaction with a new Transaction-ID).
 */
export type SeqRule = 'greater' | 'not-lower' | 'none';

/** How an incoming number relates to the highest number accepted so far in the transaction. */
export type IncomingSeq =
  | 'first' // nothing received yet in this transaction: the message establishes inSeq
  | 'new' // larger than inSeq
  | 'retransmission' // equal to inSeq (11.4)
  | 'replay'; // lower than inSeq (11.3: discard)

export function isSequenceNumber(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= SEQ_MAX;
}

export function classifyIncoming(seq: number, inSeq: number | undefined): IncomingSeq {
  if (inSeq === undefined) return 'first';
  if (seq > inSeq) return 'new';
  return seq === inSeq ? 'retransmission' : 'replay';
}

/**
 * The literal table condition. The wordings differ only when seq equals inSeq, and that case
 * is a retransmission under 11.4 whatever the row says, so validation classifies first
 * (classifyIncoming) and applies this to 'first' / 'new' numbers only — where it always holds.
 */
export function passesSeqRule(rule: SeqRule, seq: number, inSeq: number | undefined): boolean {
  if (rule === 'none' || inSeq === undefined) return true;
  return rule === 'greater' ? seq > inSeq : seq >= inSeq;
}

export class SequenceExhaustedError extends Error {
  override readonly name = 'SequenceExhaustedError';
  constructor(readonly outSeq: number) {
    super(`sequence number ${outSeq} is past 2^32-1: start a new transaction instead of wrapping`);
  }
}

/**
 * Takes the outgoing number for a new message (11.3: insert it, then increase by 1).
 * `outSeq` may be SEQ_MAX + 1 after the last possible message: taking from it throws.
 */
export function takeOutgoing(outSeq: number): { seq: number; next: number } {
  if (!Number.isInteger(outSeq) || outSeq < 0 || outSeq > SEQ_MAX) throw new SequenceExhaustedError(outSeq);
  return { seq: outSeq, next: outSeq + 1 };
}
