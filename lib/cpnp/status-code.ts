/**
 * FAIL status codes — RFC 8921 section 9.2.10, Table 4.
 */
export const StatusCode = {
  MESSAGE_VALIDATION_ERROR: 1,
  AUTHENTICATION_REQUIRED: 2,
  AUTHORIZATION_FAILED: 3,
  ADMINISTRATIVELY_PROHIBITED: 4,
  OUT_OF_RESOURCES: 5,
  NETWORK_PRESENCE_ERROR: 6,
  MORE_TIME_REJECTED: 7,
  UNSUPPORTED_ACTIVATION_TYPE: 8,
} as const;

export type StatusCodeName = keyof typeof StatusCode;
export type StatusCodeValue = (typeof StatusCode)[StatusCodeName];

export const STATUS_CODE_DESCRIPTIONS: Readonly<Record<StatusCodeValue, string>> = {
  1: 'Message Validation Error: the message cannot be validated',
  2: 'Authentication Required',
  3: 'Authorization Failed',
  4: 'Administratively prohibited',
  5: 'Out of Resources: resources (e.g., capacity) are insufficient',
  6: 'Network Presence Error: there is no network presence',
  7: 'More Time Rejected: the client rejected the time extension',
  8: 'Unsupported Activation Type',
};

export function isStatusCode(value: number): value is StatusCodeValue {
  return Number.isInteger(value) && value >= 1 && value <= 8;
}
