/**
 * The simulated cascade of the provider tests (RFC 8921 8.8, Figure 7): where the customer and
 * provider A sit on the in-memory network, and the customer's first steps, shared by
 * cascade-flow.test.ts and partner-coordinator.test.ts. Each test builds its own providers.
 */
import assert from 'node:assert/strict';
import type { Cpd } from '../../cpnp/cpd/types';
import type { ClientEngine } from '../../cpnp/engine/client-engine';
import type { Simulation } from '../../cpnp/engine/simulation';
import type { InformationElements } from '../../cpnp/information-elements';
import type { Endpoint } from '../../cpnp/transport/transport';

export const CUSTOMER: Endpoint = { address: '192.0.2.10', port: 40000 };
/** Provider A's server, which the customer talks to. */
export const A_SERVER: Endpoint = { address: '198.51.100.1', port: 8921 };
/** Provider A's client engine, which places the child orders with partners. */
export const A_CLIENT: Endpoint = { address: '198.51.100.1', port: 41000 };
/** The customer's order identifier. */
export const ORDER = 'C-1';

/** The customer (sim node "customer") creates ORDER for `cpd`, approves it and sends its QUOTATION to A. */
export function quote(sim: Simulation, customer: ClientEngine, cpd: Cpd, ies?: InformationElements): void {
  assert.ok(sim.apply('customer', customer.createOrder({ cpd, server: A_SERVER, customerOrderId: ORDER, ...(ies ? { ies } : {}) })).ok);
  assert.ok(sim.apply('customer', customer.approve(ORDER)).ok);
  assert.ok(sim.apply('customer', customer.sendQuotation(ORDER)).ok);
}

/** Runs the simulation until `until` holds (within an hour of simulated time) and no node failed. */
export function runUntil(sim: Simulation, until: () => boolean): void {
  const result = sim.runUntil(until, { maxTimeMs: 3_600_000 });
  assert.equal(result.reason, 'predicate', `stopped by ${result.reason}`);
  assert.deepEqual(sim.errors, []);
}
