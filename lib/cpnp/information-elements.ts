import type { DateTime } from './date-time';

/**
 * CPNP Information Elements (RFC 8921 section 9.1.10, wire-format.md section 5). Unknown IE
 * keys are ignored on decode: that is the protocol's extension point (RFC 8921 section 1).
 */
export interface Contact {
  email?: string;
  postal?: string;
  phones?: string[];
}

/** RFC 8921 9.1.10.1 */
export interface CustomerDescription {
  name?: string;
  contact?: Contact;
}

/** RFC 8921 9.1.10.2 */
export interface ProviderDescription {
  name?: string;
  contact?: Contact;
  asn?: number;
}

export type ActivationType = 'permanent' | 'scheduled';

/** RFC 8921 9.1.10.3 Negotiation Options. */
export interface NegotiationOptions {
  purpose?: 'test' | 'production';
  /** Only with purpose "test". */
  testUntil?: DateTime;
  /** Absent: active once negotiation ends. "scheduled": switched on/off with ACTIVATE (9.2.11). */
  activationType?: ActivationType;
  /** "local" forbids the server to create child PQOs (RFC 8921 8.8). */
  scope?: 'local' | 'any';
}

export interface InformationElements {
  customer?: CustomerDescription;
  provider?: ProviderDescription;
  options?: NegotiationOptions;
}
