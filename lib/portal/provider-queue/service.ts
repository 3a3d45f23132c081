/**
 * Provider-side administrative validation from the portal (RFC 8921 8.2, 12.2): the orders the
 * reference Providers hold for a person (QUOTATION / UPDATE in AwaitingProcessing, held WITHDRAW
 * / ACTIVATE), read from each provider's admin endpoint, and the approve / reject decisions sent
 * back to it. Admins and staff only.
 *
 * Each Provider row names its admin file (Provider.adminFile, `<db>.admin.json`); the endpoint's
 * URL and bearer token are read from it at every call, because the provider makes a new token
 * at each start. The token never leaves the server. A provider whose file is missing, whose
 * endpoint does not answer or refuses the token gets its own message; the others still list.
 */
import 'server-only';
import type { SessionUser } from '../auth/session';
import { portalDb } from '../db/client';
import { userActor } from '../db/types';
import { fail, ok, type ServiceError, type ServiceResult } from '../result';
import { adminCall, readAdminFile } from '../../provider/admin-http';
import { STATUS_CODE_DESCRIPTIONS, type StatusCodeValue } from '../../cpnp/status-code';
import { heldSummaries, isLoopbackAdminUrl, toHeldOrder, type HeldOrder, type PortalOrderRef } from './held-order';

/** A page render waits at most this long for one provider (loopback: answers take milliseconds). */
const LIST_TIMEOUT_MS = 3000;
/** A decision waits longer: the provider commits it to its database before answering. */
const DECIDE_TIMEOUT_MS = 10_000;
/** At most this many held orders per provider are read in detail (the rest are counted). */
const MAX_HELD = 100;

/**
 * FAIL status codes (Table 4) a person may reject with: the decisions a person takes. Not 7
 * (More Time Rejected, the client's), nor 1 and 2 (about the message and the transport, which
 * the provider checked before the order reached anyone).
 */
export const REJECT_STATUS_CODES = [4, 5, 6, 3, 8] as const satisfies readonly StatusCodeValue[];
export const REJECT_REASONS: readonly { code: StatusCodeValue; label: string }[] = REJECT_STATUS_CODES.map((code) => ({ code, label: `${code} — ${STATUS_CODE_DESCRIPTIONS[code].split(':')[0]}` }));

export type ProviderQueueStatus = 'ok' | 'not-configured' | 'unavailable';

export interface ProviderQueue {
  providerId: string;
  name: string;
  endpoint: string;
  status: ProviderQueueStatus;
  /** Why the queue could not be read (status other than 'ok'). */
  message: string | null;
  orders: HeldOrder[];
  /** Held orders beyond MAX_HELD, not shown. */
  more: number;
}

export interface HeldDecision {
  providerOrderId: string;
  /** The provider's state of the order afterwards. */
  state: string | null;
  /** approved | rejected | request-approved | request-rejected (lib/provider/admin-http.ts). */
  action: string;
  portalOrderId: string | null;
}

export function canValidateProviderOrders(user: SessionUser): boolean {
  return user.role === 'admin' || user.role === 'staff';
}

const FORBIDDEN: ServiceError = fail('forbidden', "Only staff and administrators decide the providers' held orders.");

interface Target {
  url: string;
  token: string;
}

/** The admin endpoint of a provider, or why there is none. */
function targetOf(provider: { name: string; adminFile: string | null }): { ok: true; target: Target } | { ok: false; status: ProviderQueueStatus; message: string } {
  if (!provider.adminFile) return { ok: false, status: 'not-configured', message: `${provider.name} has no admin file configured, so its held orders cannot be read here.` };
  let file;
  try {
    file = readAdminFile(provider.adminFile);
  } catch (error) {
    return { ok: false, status: 'unavailable', message: `${provider.name}: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (!isLoopbackAdminUrl(file.url)) {
    return { ok: false, status: 'unavailable', message: `${provider.name}: the admin file names ${file.url}, not a loopback http:// address; the portal sends its token nowhere else.` };
  }
  return { ok: true, target: { url: file.url, token: file.token } };
}

async function call(provider: { name: string }, target: Target, method: 'GET' | 'POST', path: string, body: unknown, timeoutMs: number): Promise<{ ok: true; status: number; body: unknown } | { ok: false; message: string }> {
  let answer;
  try {
    answer = await adminCall(target, method, path, body, timeoutMs);
  } catch (error) {
    const cause = error instanceof Error && error.name === 'TimeoutError' ? `no answer within ${timeoutMs / 1000} s` : 'not reachable';
    return { ok: false, message: `${provider.name}: the admin endpoint ${target.url} is ${cause} (is the provider running?).` };
  }
  if (answer.status === 401) return { ok: false, message: `${provider.name}: the admin endpoint refused the token (the admin file is stale or belongs to another server).` };
  return { ok: true, status: answer.status, body: answer.body };
}

function endpointError(body: unknown): string | undefined {
  if (typeof body === 'object' && body !== null && typeof (body as { error?: unknown }).error === 'string') return (body as { error: string }).error;
  return undefined;
}

type ProviderRow = { id: string; name: string; endpoint: string; adminFile: string | null };

async function readQueue(provider: ProviderRow): Promise<ProviderQueue> {
  const base = { providerId: provider.id, name: provider.name, endpoint: provider.endpoint, orders: [] as HeldOrder[], more: 0 };
  const t = targetOf(provider);
  if (!t.ok) return { ...base, status: t.status, message: t.message };
  const list = await call(provider, t.target, 'GET', '/v1/orders', undefined, LIST_TIMEOUT_MS);
  if (!list.ok) return { ...base, status: 'unavailable', message: list.message };
  const held = list.status === 200 ? heldSummaries(list.body) : undefined;
  if (held === undefined) return { ...base, status: 'unavailable', message: `${provider.name}: the admin endpoint answered ${list.status} without an order list.` };
  held.sort((a, b) => a.lastChangeAt.localeCompare(b.lastChangeAt));
  const shown = held.slice(0, MAX_HELD);
  const orders = await Promise.all(
    shown.map(async (summary) => {
      const detail = await call(provider, t.target, 'GET', `/v1/orders/${encodeURIComponent(summary.id)}`, undefined, LIST_TIMEOUT_MS);
      const record = detail.ok && detail.status === 200 ? (detail.body as { order?: { record?: unknown } }).order?.record : undefined;
      return { ...toHeldOrder(summary, record), portalOrder: null as PortalOrderRef | null };
    }),
  );
  return { ...base, status: 'ok', message: null, orders, more: held.length - shown.length };
}

/** The portal's negotiations with `providerId` that these held orders are, by provider or customer order id. */
async function matchPortalOrders(providerId: string, orders: readonly HeldOrder[]): Promise<void> {
  if (orders.length === 0) return;
  const rows = await portalDb().negotiation.findMany({
    where: {
      providerId,
      OR: [{ providerOrderId: { in: orders.map((o) => o.providerOrderId) } }, { customerOrderId: { in: orders.map((o) => o.customerOrderId) } }],
    },
    select: { id: true, clientState: true, providerOrderId: true, customerOrderId: true, order: { select: { id: true, title: true, organisation: { select: { name: true } } } } },
  });
  for (const order of orders) {
    // The provider order id is the provider's own; the customer order id is unique per portal.
    const row = rows.find((r) => r.providerOrderId === order.providerOrderId) ?? rows.find((r) => r.customerOrderId === order.customerOrderId);
    if (row) order.portalOrder = { orderId: row.order.id, negotiationId: row.id, title: row.order.title, organisation: row.order.organisation.name, clientState: row.clientState };
  }
}

/** Every enabled provider's held orders (providers without an admin file are listed as such). */
export async function listProviderQueues(user: SessionUser): Promise<ServiceResult<ProviderQueue[]>> {
  if (!canValidateProviderOrders(user)) return FORBIDDEN;
  const providers = await portalDb().provider.findMany({ where: { enabled: true }, orderBy: { name: 'asc' }, select: { id: true, name: true, endpoint: true, adminFile: true } });
  const queues = await Promise.all(providers.map((p) => readQueue(p)));
  for (const q of queues) await matchPortalOrders(q.providerId, q.orders);
  return ok(queues);
}

export interface DecideInput {
  providerId: string;
  providerOrderId: string;
  decision: 'approve' | 'reject';
  /** reject: the FAIL status code (Table 4), default 4 (Administratively prohibited). */
  statusCode?: StatusCodeValue;
  /** reject: a note for the portal's history (CPNP's FAIL carries only the status code). */
  note?: string;
}

/** Approves or rejects one held order at its provider; records who did it on the portal order. */
export async function decideHeldOrder(user: SessionUser, input: DecideInput): Promise<ServiceResult<HeldDecision>> {
  if (!canValidateProviderOrders(user)) return FORBIDDEN;
  const db = portalDb();
  const provider = await db.provider.findUnique({ where: { id: input.providerId }, select: { id: true, name: true, endpoint: true, adminFile: true } });
  if (!provider) return fail('not-found', 'No such provider.');
  const t = targetOf(provider);
  if (!t.ok) return fail(t.status === 'not-configured' ? 'invalid' : 'unavailable', t.message);
  // The portal's negotiation, as it stands before the decision: the provider answers the customer
  // (OFFER, FAIL, ACK) before it answers this call, so the history line takes the state and time
  // of the decision itself and sorts before what it caused.
  const negotiation = await db.negotiation.findFirst({
    where: { providerId: provider.id, providerOrderId: input.providerOrderId },
    select: { id: true, orderId: true, clientState: true },
  });
  const decidedAt = new Date();
  const body = input.decision === 'reject' ? { statusCode: input.statusCode ?? 4 } : {};
  const answer = await call(provider, t.target, 'POST', `/v1/orders/${encodeURIComponent(input.providerOrderId)}/${input.decision}`, body, DECIDE_TIMEOUT_MS);
  if (!answer.ok) return fail('unavailable', answer.message);
  const detail = endpointError(answer.body) ?? `answered ${answer.status}`;
  switch (answer.status) {
    case 200:
      break;
    case 404:
      return fail('not-found', `${provider.name} has no order ${input.providerOrderId}.`);
    case 409:
      return fail('wrong-state', `${provider.name}: ${detail}. Someone may have decided it already, or the customer cancelled it.`);
    case 400:
      return fail('invalid', `${provider.name}: ${detail}`);
    default:
      return fail('unavailable', `${provider.name}: ${detail}`);
  }
  const result = answer.body as { state?: unknown; action?: unknown };
  const state = typeof result.state === 'string' ? result.state : null;
  const action = typeof result.action === 'string' ? result.action : input.decision;

  // The portal's own record of the decision, on the negotiation it concerns (when it is ours).
  if (negotiation) {
    const what = action.startsWith('request-') ? 'the held request' : 'the order';
    const verb = action.endsWith('approved') ? 'approved' : 'rejected';
    const code = input.decision === 'reject' ? ` (FAIL ${input.statusCode ?? 4})` : '';
    const note = input.note?.trim() ? `: ${input.note.trim()}` : '';
    await db.stateChange.create({
      data: {
        orderId: negotiation.orderId,
        negotiationId: negotiation.id,
        from: negotiation.clientState,
        to: negotiation.clientState,
        cause: `${provider.name}'s administrator ${verb} ${what}${code}${note}`,
        actor: userActor(user.id),
        at: decidedAt,
      },
    });
  }
  return ok({ providerOrderId: input.providerOrderId, state, action, portalOrderId: negotiation?.orderId ?? null });
}

/**
 * Which of these negotiations their provider holds for its administrator (the order detail page
 * says so). Asked only for negotiations in ServerProcessing whose provider has an admin file and
 * whose provider order id is known; a provider that does not answer counts as "not held".
 */
export async function heldNegotiationIds(negotiations: readonly { id: string; clientState: string; providerOrderId: string | null; provider: { id: string } }[]): Promise<string[]> {
  const waiting = negotiations.filter((n) => n.clientState === 'ServerProcessing' && n.providerOrderId);
  if (waiting.length === 0) return [];
  const providers = await portalDb().provider.findMany({ where: { id: { in: waiting.map((n) => n.provider.id) }, adminFile: { not: null } }, select: { id: true, name: true, adminFile: true } });
  const held = await Promise.all(
    waiting.map(async (n) => {
      const provider = providers.find((p) => p.id === n.provider.id);
      const t = provider ? targetOf(provider) : undefined;
      if (!provider || !t?.ok) return undefined;
      const answer = await call(provider, t.target, 'GET', `/v1/orders/${encodeURIComponent(n.providerOrderId ?? '')}`, undefined, 1000);
      const awaiting = answer.ok && answer.status === 200 ? (answer.body as { order?: { awaiting?: unknown } }).order?.awaiting : undefined;
      return typeof awaiting === 'string' ? n.id : undefined;
    }),
  );
  return held.filter((id): id is string => id !== undefined);
}
