/**
 * What a reference Provider's admin endpoint (lib/provider/admin-http.ts) says about one order,
 * turned into what the portal's "Provider validation" page shows. Pure and framework-free: the
 * endpoint's JSON is untrusted input (another process wrote it), so it is parsed with zod and a
 * malformed entry is dropped rather than trusted.
 *
 * Held orders (RFC 8921 8.2, 12.2, "administrative validation"):
 *   - `awaiting: 'approval'`: a QUOTATION or an UPDATE in AwaitingProcessing; the provider sent
 *     PROCESSING and makes no offer before a person approves (rejecting sends FAIL);
 *   - `awaiting: 'WITHDRAW' | 'ACTIVATE'`: a request on an agreement, answered PROCESSING and held
 *     until a person lets it proceed (ACK) or refuses it (FAIL).
 */
import { z } from 'zod';
import type { Cpd } from '../../cpnp';

export const HELD_KINDS = ['QUOTATION', 'UPDATE', 'WITHDRAW', 'ACTIVATE'] as const;
export type HeldKind = (typeof HELD_KINDS)[number];

/** The portal order a held provider order belongs to, when it came from this portal. */
export interface PortalOrderRef {
  orderId: string;
  negotiationId: string;
  title: string;
  organisation: string;
  clientState: string;
}

export interface HeldOrder {
  /** PROVIDER_ORDER_IDENTIFIER (9.1.2), the id the admin endpoint takes. */
  providerOrderId: string;
  /** CUSTOMER_ORDER_IDENTIFIER (9.1.1). */
  customerOrderId: string;
  /** The identity the provider authenticated (its PSK identity), if any. */
  customer: string | null;
  /** What a person decides: the order (QUOTATION / UPDATE) or a held request. */
  kind: HeldKind;
  /** The provider's state of the order (Figure 9): AwaitingProcessing for QUOTATION / UPDATE. */
  state: string;
  /** ISO times: the order's creation, and since when it waits for a person. */
  createdAt: string;
  waitingSince: string;
  /** The customer's deadline for the offer (EXPECTED_RESPONSE_TIME, 9.1.6), when it sent one. */
  answerBy: string | null;
  /** QUOTATION / UPDATE: the requested CPD; WITHDRAW / ACTIVATE: the agreed CPD they act on. */
  cpd: Cpd | null;
  /** ACTIVATE: the schedule asked for, as the provider recorded it. */
  activation: unknown;
  portalOrder: PortalOrderRef | null;
}

/** One entry of GET /v1/orders (lib/provider/server.ts OrderSummary). */
export const summarySchema = z.object({
  id: z.string().min(1).max(64),
  customerOrderId: z.string().max(256),
  owner: z.string().max(256).optional(),
  state: z.string().max(64),
  awaiting: z.enum(['approval', 'WITHDRAW', 'ACTIVATE']).optional(),
  createdAt: z.string().max(64),
  lastChangeAt: z.string().max(64),
});
export type OrderSummaryJson = z.infer<typeof summarySchema>;

const txSchema = z.object({
  session: z.object({ txid: z.string() }).loose(),
  requestedCpd: z.array(z.unknown()).optional(),
  expectedResponseTime: z.string().optional(),
  held: z.object({ method: z.string(), since: z.number(), activationSchedule: z.unknown().optional() }).loose().optional(),
}).loose();

/** The `record` of GET /v1/orders/<id> (a ServerOrderRecord), the parts the page uses. */
export const recordSchema = z.object({
  requestedCpd: z.array(z.unknown()),
  cycleTxid: z.string(),
  transactions: z.array(txSchema),
  agreement: z.object({ cpd: z.array(z.unknown()) }).loose().optional(),
  decision: z.object({ kind: z.string(), since: z.number() }).loose().optional(),
}).loose();
export type OrderRecordJson = z.infer<typeof recordSchema>;

/** The orders of a GET /v1/orders answer that wait for a person; anything malformed is left out. */
export function heldSummaries(body: unknown): OrderSummaryJson[] | undefined {
  const list = z.object({ orders: z.array(z.unknown()) }).safeParse(body);
  if (!list.success) return undefined;
  const held: OrderSummaryJson[] = [];
  for (const entry of list.data.orders) {
    const parsed = summarySchema.safeParse(entry);
    if (parsed.success && parsed.data.awaiting !== undefined) held.push(parsed.data);
  }
  return held;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** A held order from its summary and (when it could be read) its full record. */
export function toHeldOrder(summary: OrderSummaryJson, recordBody: unknown): Omit<HeldOrder, 'portalOrder'> {
  const rec = recordSchema.safeParse(recordBody);
  const record = rec.success ? rec.data : undefined;
  const first = record?.transactions[0];
  const cycle = record?.transactions.find((t) => t.session.txid === record.cycleTxid);
  const held = record?.transactions.find((t) => t.held !== undefined)?.held;
  let kind: HeldKind;
  if (summary.awaiting === 'WITHDRAW' || summary.awaiting === 'ACTIVATE') kind = summary.awaiting;
  // The cycle in progress is the QUOTATION's transaction (the first one) or a later UPDATE's.
  else kind = cycle !== undefined && first !== undefined && cycle !== first ? 'UPDATE' : 'QUOTATION';
  const cpd = kind === 'WITHDRAW' || kind === 'ACTIVATE' ? record?.agreement?.cpd : (cycle?.requestedCpd ?? record?.requestedCpd);
  const since = kind === 'WITHDRAW' || kind === 'ACTIVATE' ? held?.since : record?.decision?.since;
  return {
    providerOrderId: summary.id,
    customerOrderId: summary.customerOrderId,
    customer: summary.owner ?? null,
    kind,
    state: summary.state,
    createdAt: summary.createdAt,
    waitingSince: since !== undefined ? iso(since) : summary.lastChangeAt,
    answerBy: kind === 'QUOTATION' || kind === 'UPDATE' ? (cycle?.expectedResponseTime ?? null) : null,
    cpd: (cpd as Cpd | undefined) ?? null,
    activation: kind === 'ACTIVATE' ? (held?.activationSchedule ?? null) : null,
  };
}

/** Admin endpoint URLs the portal sends a bearer token to: plain HTTP on a loopback address only. */
export function isLoopbackAdminUrl(text: string): boolean {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' || url.username !== '' || url.password !== '') return false;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
