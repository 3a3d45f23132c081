import { StatusCode } from './status-code';

/**
 * A message that cannot be decoded or validated (wire-format.md section 7, RFC 8921 section 10).
 * It always maps to FAIL status code 1 (Message Validation Error). `rule` names the rule broken
 * in a stable, machine-readable way; `path` locates the offending value in the JSON form.
 */
export class CpnpDecodeError extends Error {
  readonly statusCode = StatusCode.MESSAGE_VALIDATION_ERROR;
  override readonly name = 'CpnpDecodeError';

  constructor(
    readonly rule: string,
    readonly path: string,
    detail: string,
  ) {
    super(path ? `${path}: ${detail}` : detail);
  }
}

export function isCpnpDecodeError(value: unknown): value is CpnpDecodeError {
  return value instanceof CpnpDecodeError;
}
