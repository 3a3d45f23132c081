/**
 * CPNP operation codes — RFC 8921 section 9.2, Table 1.
 */
export const Method = {
  QUOTATION: 1,
  PROCESSING: 2,
  OFFER: 3,
  ACCEPT: 4,
  DECLINE: 5,
  ACK: 6,
  CANCEL: 7,
  WITHDRAW: 8,
  UPDATE: 9,
  FAIL: 10,
  ACTIVATE: 11,
} as const;

export type MethodName = keyof typeof Method;
export type MethodCode = (typeof Method)[MethodName];

export const METHOD_CODES: readonly MethodCode[] = Object.values(Method);

const NAMES = new Map<number, MethodName>(
  (Object.entries(Method) as [MethodName, MethodCode][]).map(([name, code]) => [code, name]),
);

export function isMethodCode(value: number): value is MethodCode {
  return NAMES.has(value);
}

export function methodName(code: MethodCode): MethodName {
  return NAMES.get(code) as MethodName;
}
