/**
 * The enumerated string columns of the portal database (prisma/portal/schema.prisma). Plain
 * strings in the schema so SQLite and PostgreSQL read them alike; checked here.
 */
export const ROLES = ['customer', 'admin', 'staff'] as const;
export type Role = (typeof ROLES)[number];

export const TRANSPORTS = ['dtls', 'udp', 'tls'] as const;
export type ProviderTransport = (typeof TRANSPORTS)[number];

/**
 * Aggregate state of an order (the customer's view across its negotiations):
 * Draft -> Created (submitted) -> AwaitingProcessing (approved, RFC 8921 8.11.1) or Rejected;
 * then Negotiating (QUOTATION/UPDATE in flight) -> OfferReceived (offers to review) ->
 * Accepting (ACCEPT in flight) -> Completed (agreement in force); Cancelled when every
 * negotiation ended without an agreement, Withdrawn when the agreement was withdrawn.
 * The engine host derives it from the negotiations' client states.
 */
export const ORDER_STATES = [
  'Draft',
  'Created',
  'Rejected',
  'AwaitingProcessing',
  'Negotiating',
  'OfferReceived',
  'Accepting',
  'Completed',
  'Cancelled',
  'Withdrawn',
] as const;
export type OrderState = (typeof ORDER_STATES)[number];

/** Orders that still wait for something from a provider: the detail page polls these. */
export const IN_FLIGHT_STATES: readonly OrderState[] = ['AwaitingProcessing', 'Negotiating', 'OfferReceived', 'Accepting'];

export const SELECTION_RULES = ['manual', 'cheapest', 'first'] as const;
export type SelectionRule = (typeof SELECTION_RULES)[number];

export const INTENT_KINDS = [
  'approve',
  'accept',
  'decline',
  'cancel',
  'withdraw',
  'update',
  'activate',
  'deactivate',
  'grant-time',
  'deny-time',
  'choose-offer',
] as const;
export type IntentKind = (typeof INTENT_KINDS)[number];

export const INTENT_STATUSES = ['pending', 'done', 'refused'] as const;
export type IntentStatus = (typeof INTENT_STATUSES)[number];

export const OFFER_DECISIONS = ['pending', 'accepted', 'declined', 'expired', 'superseded'] as const;
export type OfferDecision = (typeof OFFER_DECISIONS)[number];

export const MESSAGE_DIRECTIONS = ['out', 'in'] as const;
export type MessageDirection = (typeof MESSAGE_DIRECTIONS)[number];

export const APPROVAL_DECISIONS = ['approved', 'rejected'] as const;
export type ApprovalDecision = (typeof APPROVAL_DECISIONS)[number];

/** `actor` column of StateChange: a user, or the engine. */
export function userActor(userId: string): string {
  return `user:${userId}`;
}
export const ENGINE_ACTOR = 'engine';

export function isOneOf<T extends string>(values: readonly T[], value: unknown): value is T {
  return typeof value === 'string' && (values as readonly string[]).includes(value);
}
