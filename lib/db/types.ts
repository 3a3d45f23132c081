/**
 * The values of the schema's enumerated string columns. They are plain strings in the database
 * (prisma/schema.prisma explains why); these lists are what code writes and checks.
 */
export type { ServerState as OrderState, CancelReason } from '../cpnp/fsm/states';

/** ProviderOrder.activationStatus. */
export const ACTIVATION_STATUSES = ['none', 'scheduled', 'active', 'inactive'] as const;
export type ActivationStatus = (typeof ACTIVATION_STATUSES)[number];

/** ProviderTransaction.status. */
export const TRANSACTION_STATUSES = ['open', 'closed'] as const;
export type TransactionStatus = (typeof TRANSACTION_STATUSES)[number];

/** ProviderMessage.direction: received by the server, or sent by it. */
export const MESSAGE_DIRECTIONS = ['in', 'out'] as const;
export type MessageDirection = (typeof MESSAGE_DIRECTIONS)[number];

/** CapacityReservation.status: held with an offer, committed with the agreement, released. */
export const RESERVATION_STATUSES = ['held', 'committed', 'released'] as const;
export type ReservationStatus = (typeof RESERVATION_STATUSES)[number];

/** ScheduledActivation.action. */
export const ACTIVATION_ACTIONS = ['activate', 'deactivate'] as const;
export type ActivationAction = (typeof ACTIVATION_ACTIONS)[number];
