/**
 * DECLINE reason codes — RFC 8921 section 9.2.5, Table 3.
 */
export const DeclineReason = {
  UNACCEPTABLE_GAP: 1,
  CONFLICT_WITH_OTHER_OFFER: 2,
  ACTIVATION_TYPE_MISMATCH: 3,
} as const;

export type DeclineReasonValue = (typeof DeclineReason)[keyof typeof DeclineReason];

export const DECLINE_REASON_DESCRIPTIONS: Readonly<Record<DeclineReasonValue, string>> = {
  1: 'Unacceptable gap between the request and the offer',
  2: 'Conflict with another offer from another server',
  3: 'Activation type mismatch',
};

export function isDeclineReason(value: number): value is DeclineReasonValue {
  return Number.isInteger(value) && value >= 1 && value <= 3;
}
