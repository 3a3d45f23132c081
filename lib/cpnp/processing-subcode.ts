/**
 * PROCESSING_SUBCODE values — RFC 8921 section 9.2.2, Table 2: why the server asks for more time.
 */
export const ProcessingSubcode = {
  UPGRADE_LOCAL_RESOURCES: 1,
  REQUEST_EXTERNAL_RESOURCES: 2,
} as const;

export type ProcessingSubcodeValue = (typeof ProcessingSubcode)[keyof typeof ProcessingSubcode];

export const PROCESSING_SUBCODE_DESCRIPTIONS: Readonly<Record<ProcessingSubcodeValue, string>> = {
  1: 'Upgrade of local resources',
  2: 'Request external resources',
};

export function isProcessingSubcode(value: number): value is ProcessingSubcodeValue {
  return value === 1 || value === 2;
}
