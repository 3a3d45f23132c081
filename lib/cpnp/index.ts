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
export * from './cpd/validate';
export * from './cpd/concrete';
export * from './cpd/equality';
export * from './cpd/diff';
export * from './random';
export * from './clock';
export * from './sequence';
export * from './session';
export * from './timers';
export * from './fsm/states';
export * from './validation/peer';
export * from './validation/client-table';
export * from './validation/server-table';
export * from './fsm/events';
export * from './fsm/client';
export * from './fsm/server';
