/**
 * lib/cpnp — a framework-free implementation of RFC 8921 (CPNP): message model, codec, CPD
 * model, state machines, validation tables, sessions and timers.
 */
export * from './method';
export * from './status-code';
export * from './decline-reason';
export * from './processing-subcode';
export * from './errors';
export * from './date-time';
export * from './message';
export * from './information-elements';
export * from './cpd/types';
export * from './codec';
