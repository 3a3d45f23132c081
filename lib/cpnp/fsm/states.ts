/**
 * Order states of RFC 8921 section 8.11. Shared by the state machines (fsm/client.ts,
 * fsm/server.ts) and the validation tables of section 10, which name these states.
 */

/** Client side, RFC 8921 8.11.1 / Figure 8. */
export const CLIENT_STATES = [
  'Created',
  'AwaitingProcessing',
  'PQOSent',
  'ServerProcessing',
  'OfferReceived',
  'OfferProcessing',
  'AcceptSent',
  'Completed',
  'Cancelled',
] as const;
export type ClientState = (typeof CLIENT_STATES)[number];

/**
 * The Child* states of 8.8 (Figure 9): the parent order while this server, acting as a CPNP
 * client, negotiates a child order with another Provider.
 */
export const CHILD_STATES = [
  'ChildCreated',
  'ChildPQOSent',
  'ChildServerProcessing',
  'ChildOfferReceived',
  'ChildOfferProcessing',
  'ChildAcceptSent',
  'ChildCompleted',
] as const;

/** Server side, RFC 8921 8.11.2 / Figure 9, including the Child* states of 8.8. */
export const SERVER_STATES = [
  'PQOReceived',
  'AwaitingProcessing',
  'OfferProposed',
  'ProcessingReceived',
  'AcceptReceived',
  'Completed',
  'Cancelled',
  ...CHILD_STATES,
] as const;
export type ServerState = (typeof SERVER_STATES)[number];

/**
 * Why an order ended in Cancelled. RFC 8921 8.11.1 allows sub-states "to track failed vs.
 * cancelled orders"; the portal shows these to users.
 */
export const CANCEL_REASONS = [
  'cancelled', // the client sent CANCEL
  'declined', // the client declined the offer
  'failed', // a FAIL ended the transaction (server could not honour it, or more time rejected)
  'timeout', // EXPECTED_RESPONSE_TIME / EXPECTED_OFFER_TIME passed, or retries exhausted
  'expired', // VALIDITY_OFFER_TIME passed before ACCEPT
  'withdrawn', // the agreement was withdrawn
  'rejected', // an administrator rejected the order before it was sent or processed
] as const;
export type CancelReason = (typeof CANCEL_REASONS)[number];
