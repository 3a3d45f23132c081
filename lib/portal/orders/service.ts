/**
 * Orders: compose (draft / submit), edit drafts, prefill for clone/edit/update, list, detail.
 * Every query is scoped by organisation (scope.ts); results are typed (../result.ts).
 */
import 'server-only';
import { randomBytes } from 'node:crypto';
import type { Cpd, NegotiationOptions } from '../../cpnp';
import type { SessionUser } from '../auth/session';
import { portalDb } from '../db/client';
import { fromJson, toJson } from '../db/json';
import { isOneOf, ORDER_STATES, SELECTION_RULES, userActor, type OrderState, type SelectionRule } from '../db/types';
import { notifyWaitingForApproval } from '../notifications/from-approval';
import { mailQueued } from '../notifications/signal';
import { fail, ok, ORDER_NOT_FOUND, type ServiceResult } from '../result';
import { validateOrderInput } from './input';
import { canPlaceOrders, orderWhere } from './scope';

export type { ServiceResult } from '../result';

export interface NewOrderInput {
  title: string;
  cpd: Cpd;
  options: NegotiationOptions;
  /** ≥1; more than one = a parallel group (RFC 8921 8.10). */
  providerIds: string[];
  expectedResponseSeconds: number;
  selectionRule: 'manual' | 'cheapest' | 'first';
  /** false = Draft, true = Created (waits for an admin's approval). */
  submit: boolean;
  clonedFrom?: string;
}

/** CUSTOMER_ORDER_IDENTIFIER (RFC 8921 9.1.1): unique per portal, 1..64 bytes. */
function newCustomerOrderId(): string {
  return `C-${randomBytes(8).toString('hex')}`;
}

/** Checks the providers exist and are enabled; returns a field error otherwise. */
async function checkProviders(providerIds: string[]): Promise<ServiceResult<null>> {
  const found = await portalDb().provider.findMany({ where: { id: { in: providerIds }, enabled: true }, select: { id: true } });
  if (found.length !== providerIds.length) {
    return fail('invalid', 'Some fields need attention.', { providerIds: ['A chosen provider is not available.'] });
  }
  return ok(null);
}

async function checkClonedFrom(user: SessionUser, clonedFrom: string | undefined): Promise<ServiceResult<null>> {
  if (clonedFrom === undefined) return ok(null);
  const source = await portalDb().order.findFirst({ where: orderWhere(user, { id: clonedFrom }), select: { id: true } });
  return source ? ok(null) : fail('invalid', 'Some fields need attention.', { clonedFrom: ['The order to clone was not found.'] });
}

function stateOf(submit: boolean): OrderState {
  return submit ? 'Created' : 'Draft';
}

export async function createOrder(user: SessionUser, input: NewOrderInput): Promise<ServiceResult<{ orderId: string }>> {
  if (!canPlaceOrders(user)) return fail('forbidden', 'Only customers place orders.');
  const checked = validateOrderInput(input, input?.submit === true);
  if (!checked.ok) return fail('invalid', checked.message, checked.fieldErrors);
  const v = checked.value;
  const providers = await checkProviders(v.providerIds);
  if (!providers.ok) return providers;
  const clone = await checkClonedFrom(user, v.clonedFrom);
  if (!clone.ok) return clone;
  const state = stateOf(v.submit);
  const now = new Date();
  // One transaction: a submitted order and the admins' "waiting for approval" notifications.
  const order = await portalDb().$transaction(async (tx) => {
    const created = await tx.order.create({
      data: {
        organisationId: user.organisationId,
        authorId: user.id,
        title: v.title,
        requestedCpd: toJson(v.cpd),
        options: toJson(v.options),
        expectedResponseSeconds: v.expectedResponseSeconds,
        selectionRule: v.selectionRule,
        state,
        clonedFromId: v.clonedFrom ?? null,
        submittedAt: v.submit ? now : null,
        negotiations: { create: v.providerIds.map((providerId) => ({ providerId, customerOrderId: newCustomerOrderId() })) },
        stateChanges: { create: { from: null, to: state, cause: v.submit ? 'submitted' : 'draft saved', actor: userActor(user.id), at: now } },
      },
      select: { id: true },
    });
    if (v.submit) await notifyWaitingForApproval(tx, created.id, now);
    return created;
  });
  if (v.submit) mailQueued();
  return ok({ orderId: order.id });
}

/** Replaces a Draft's content; `submit: true` also moves it to Created. */
export async function updateDraft(user: SessionUser, orderId: string, input: NewOrderInput): Promise<ServiceResult<{ orderId: string }>> {
  if (!canPlaceOrders(user)) return fail('forbidden', 'Only customers place orders.');
  const db = portalDb();
  const existing = await db.order.findFirst({ where: orderWhere(user, { id: orderId }), select: { id: true, state: true, version: true } });
  if (!existing) return ORDER_NOT_FOUND;
  if (existing.state !== 'Draft') return fail('wrong-state', 'Only a draft can be edited.');
  const checked = validateOrderInput(input, input?.submit === true);
  if (!checked.ok) return fail('invalid', checked.message, checked.fieldErrors);
  const v = checked.value;
  const providers = await checkProviders(v.providerIds);
  if (!providers.ok) return providers;
  const clone = await checkClonedFrom(user, v.clonedFrom);
  if (!clone.ok) return clone;
  const now = new Date();
  const state = stateOf(v.submit);
  const updated = await db.$transaction(async (tx) => {
    // Optimistic concurrency: a draft submitted or edited by someone else meanwhile is a conflict.
    const claimed = await tx.order.updateMany({
      where: { id: orderId, state: 'Draft', version: existing.version },
      data: {
        title: v.title,
        requestedCpd: toJson(v.cpd),
        options: toJson(v.options),
        expectedResponseSeconds: v.expectedResponseSeconds,
        selectionRule: v.selectionRule,
        state,
        clonedFromId: v.clonedFrom ?? null,
        submittedAt: v.submit ? now : null,
        version: { increment: 1 },
      },
    });
    if (claimed.count !== 1) return false;
    await tx.negotiation.deleteMany({ where: { orderId } });
    await tx.negotiation.createMany({ data: v.providerIds.map((providerId) => ({ orderId, providerId, customerOrderId: newCustomerOrderId() })) });
    await tx.stateChange.create({
      data: { orderId, from: 'Draft', to: state, cause: v.submit ? 'submitted' : 'draft saved', actor: userActor(user.id), at: now },
    });
    if (v.submit) await notifyWaitingForApproval(tx, orderId, now);
    return true;
  });
  if (!updated) return fail('conflict', 'The draft changed meanwhile; reload it.');
  if (v.submit) mailQueued();
  return ok({ orderId });
}

/** An order's input, for cloning it, editing a draft, or prefilling an UPDATE. */
export async function getOrderInput(user: SessionUser, orderId: string): Promise<ServiceResult<NewOrderInput>> {
  const order = await portalDb().order.findFirst({
    where: orderWhere(user, { id: orderId }),
    include: { negotiations: { select: { providerId: true, agreementCpd: true }, orderBy: { createdAt: 'asc' } } },
  });
  if (!order) return ORDER_NOT_FOUND;
  return ok({
    title: order.title,
    cpd: fromJson<Cpd>(order.requestedCpd, []),
    options: fromJson<NegotiationOptions>(order.options, {}),
    providerIds: order.negotiations.map((n) => n.providerId),
    expectedResponseSeconds: order.expectedResponseSeconds,
    selectionRule: isOneOf(SELECTION_RULES, order.selectionRule) ? order.selectionRule : 'manual',
    submit: order.state !== 'Draft',
    ...(order.clonedFromId ? { clonedFrom: order.clonedFromId } : {}),
  });
}

export async function listProviders(user: SessionUser): Promise<{ id: string; name: string; endpoint: string; transport: string }[]> {
  void user; // every signed-in user may see the providers; the argument keeps call sites uniform
  return portalDb().provider.findMany({
    where: { enabled: true },
    select: { id: true, name: true, endpoint: true, transport: true },
    orderBy: { name: 'asc' },
  });
}

// ---- list --------------------------------------------------------------------------------

export const PAGE_SIZE = 20;

export interface OrderListItem {
  id: string;
  title: string;
  state: OrderState;
  stateReason: string | null;
  organisation: string;
  author: string;
  providers: { name: string; clientState: string; alarm: string | null }[];
  updatedAt: string;
  lastChange: { to: string; cause: string; at: string } | null;
}

export interface OrderPage {
  items: OrderListItem[];
  page: number;
  pageCount: number;
  total: number;
}

export interface ListOrdersQuery {
  page?: number;
  state?: OrderState;
}

function asOrderState(value: string): OrderState {
  return isOneOf(ORDER_STATES, value) ? value : 'Created';
}

/** Customers: their organisation's orders; admins and staff: all. Newest change first. */
export async function listOrders(user: SessionUser, query: ListOrdersQuery = {}): Promise<OrderPage> {
  const db = portalDb();
  const where = orderWhere(user, query.state ? { state: query.state } : {});
  const total = await db.order.count({ where });
  const pageCount = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const page = Math.min(Math.max(1, Math.trunc(query.page ?? 1) || 1), pageCount);
  const rows = await db.order.findMany({
    where,
    orderBy: [{ updatedAt: 'desc' }, { id: 'desc' }],
    skip: (page - 1) * PAGE_SIZE,
    take: PAGE_SIZE,
    include: {
      organisation: { select: { name: true } },
      author: { select: { name: true, email: true } },
      negotiations: { select: { clientState: true, alarm: true, provider: { select: { name: true } } }, orderBy: { createdAt: 'asc' } },
      stateChanges: { orderBy: { at: 'desc' }, take: 1, select: { to: true, cause: true, at: true } },
    },
  });
  return {
    page,
    pageCount,
    total,
    items: rows.map((o) => ({
      id: o.id,
      title: o.title,
      state: asOrderState(o.state),
      stateReason: o.stateReason,
      organisation: o.organisation.name,
      author: o.author.name || o.author.email,
      providers: o.negotiations.map((n) => ({ name: n.provider.name, clientState: n.clientState, alarm: n.alarm })),
      updatedAt: o.updatedAt.toISOString(),
      lastChange: o.stateChanges[0] ? { to: o.stateChanges[0].to, cause: o.stateChanges[0].cause, at: o.stateChanges[0].at.toISOString() } : null,
    })),
  };
}

// ---- detail ------------------------------------------------------------------------------

export interface OfferView {
  id: string;
  cycle: number;
  cpd: Cpd;
  /** What this offer answers: the UPDATE's CPD for an update cycle (RFC 8921 9.2.6), else null
   * (the order's request). */
  updateRequest: Cpd | null;
  price: unknown;
  validUntil: string | null;
  receivedAt: string;
  decision: string;
  declineReasons: unknown;
}

export interface NegotiationView {
  id: string;
  provider: { id: string; name: string; endpoint: string; transport: string };
  customerOrderId: string;
  providerOrderId: string | null;
  clientState: string;
  cancelReason: string | null;
  alarm: string | null;
  alarmAt: string | null;
  agreed: boolean;
  active: boolean;
  cycle: number;
  reachability: string;
  lastError: string | null;
  deadlines: {
    expectedResponseAt: string | null;
    expectedOfferAt: string | null;
    offerValidUntil: string | null;
    moreTimeRequestedUntil: string | null;
  };
  agreementCpd: Cpd | null;
  offers: OfferView[];
}

export interface StateChangeView {
  id: string;
  negotiationId: string | null;
  provider: string | null;
  from: string | null;
  to: string;
  cause: string;
  actor: string;
  at: string;
}

export interface OrderDetail {
  id: string;
  title: string;
  state: OrderState;
  stateReason: string | null;
  organisation: string;
  author: { id: string; name: string; email: string };
  requestedCpd: Cpd;
  options: NegotiationOptions;
  expectedResponseSeconds: number;
  selectionRule: SelectionRule;
  clonedFrom: string | null;
  groupDeadline: string | null;
  submittedAt: string | null;
  createdAt: string;
  updatedAt: string;
  negotiations: NegotiationView[];
  timeline: StateChangeView[];
  approvals: { decision: string; reason: string | null; approver: string; at: string }[];
  pendingIntents: { id: string; kind: string; negotiationId: string | null; createdAt: string }[];
  refusedIntents: { id: string; kind: string; resultCode: string | null; resultMessage: string | null; processedAt: string | null }[];
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

/** Resolves "user:<id>" actors to names for the timeline. */
async function actorNames(actors: string[]): Promise<Map<string, string>> {
  const ids = [...new Set(actors.filter((a) => a.startsWith('user:')).map((a) => a.slice(5)))];
  if (ids.length === 0) return new Map();
  const users = await portalDb().user.findMany({ where: { id: { in: ids } }, select: { id: true, name: true, email: true } });
  return new Map(users.map((u) => [`user:${u.id}`, u.name || u.email]));
}

export async function getOrderDetail(user: SessionUser, orderId: string): Promise<ServiceResult<OrderDetail>> {
  const o = await portalDb().order.findFirst({
    where: orderWhere(user, { id: orderId }),
    include: {
      organisation: { select: { name: true } },
      author: { select: { id: true, name: true, email: true } },
      negotiations: {
        orderBy: { createdAt: 'asc' },
        include: { provider: { select: { id: true, name: true, endpoint: true, transport: true } }, offers: { orderBy: { receivedAt: 'asc' } } },
      },
      stateChanges: { orderBy: [{ at: 'asc' }, { id: 'asc' }] },
      approvals: { orderBy: { at: 'asc' }, include: { approver: { select: { name: true, email: true } } } },
      intents: { where: { status: { in: ['pending', 'refused'] } }, orderBy: { createdAt: 'asc' } },
    },
  });
  if (!o) return ORDER_NOT_FOUND;
  const names = await actorNames(o.stateChanges.map((c) => c.actor));
  const providerOf = new Map(o.negotiations.map((n) => [n.id, n.provider.name]));
  return ok({
    id: o.id,
    title: o.title,
    state: asOrderState(o.state),
    stateReason: o.stateReason,
    organisation: o.organisation.name,
    author: o.author,
    requestedCpd: fromJson<Cpd>(o.requestedCpd, []),
    options: fromJson<NegotiationOptions>(o.options, {}),
    expectedResponseSeconds: o.expectedResponseSeconds,
    selectionRule: isOneOf(SELECTION_RULES, o.selectionRule) ? o.selectionRule : 'manual',
    clonedFrom: o.clonedFromId,
    groupDeadline: iso(o.groupDeadline),
    submittedAt: iso(o.submittedAt),
    createdAt: o.createdAt.toISOString(),
    updatedAt: o.updatedAt.toISOString(),
    negotiations: o.negotiations.map((n) => ({
      id: n.id,
      provider: n.provider,
      customerOrderId: n.customerOrderId,
      providerOrderId: n.providerOrderId,
      clientState: n.clientState,
      cancelReason: n.cancelReason,
      alarm: n.alarm,
      alarmAt: iso(n.alarmAt),
      agreed: n.agreed,
      active: n.active,
      cycle: n.cycle,
      reachability: n.reachability,
      lastError: n.lastError,
      deadlines: {
        expectedResponseAt: iso(n.expectedResponseAt),
        expectedOfferAt: iso(n.expectedOfferAt),
        offerValidUntil: iso(n.offerValidUntil),
        moreTimeRequestedUntil: iso(n.moreTimeRequestedUntil),
      },
      agreementCpd: n.agreementCpd ? fromJson<Cpd>(n.agreementCpd, []) : null,
      offers: n.offers.map((f) => ({
        id: f.id,
        cycle: f.cycle,
        cpd: fromJson<Cpd>(f.cpd, []),
        updateRequest: f.cycle > 0 && f.cycle === n.cycle ? updateRequestOf(n.engineRecord) : null,
        price: fromJson<unknown>(f.price, null),
        validUntil: iso(f.validUntil),
        receivedAt: f.receivedAt.toISOString(),
        decision: f.decision,
        declineReasons: fromJson<unknown>(f.declineReasons, null),
      })),
    })),
    timeline: o.stateChanges.map((c) => ({
      id: c.id,
      negotiationId: c.negotiationId,
      provider: c.negotiationId ? (providerOf.get(c.negotiationId) ?? null) : null,
      from: c.from,
      to: c.to,
      cause: c.cause,
      actor: c.actor === 'engine' ? 'CPNP engine' : (names.get(c.actor) ?? c.actor),
      at: c.at.toISOString(),
    })),
    approvals: o.approvals.map((a) => ({ decision: a.decision, reason: a.reason, approver: a.approver.name || a.approver.email, at: a.at.toISOString() })),
    pendingIntents: o.intents
      .filter((i) => i.status === 'pending')
      .map((i) => ({ id: i.id, kind: i.kind, negotiationId: i.negotiationId, createdAt: i.createdAt.toISOString() })),
    refusedIntents: o.intents
      .filter((i) => i.status === 'refused')
      .map((i) => ({ id: i.id, kind: i.kind, resultCode: i.resultCode, resultMessage: i.resultMessage, processedAt: iso(i.processedAt) })),
  });
}

/** The CPD of the negotiation's last UPDATE (the engine record keeps it), or null. */
function updateRequestOf(engineRecord: string | null): Cpd | null {
  const rec = engineRecord ? fromJson<{ update?: { cpd?: Cpd } } | null>(engineRecord, null) : null;
  return rec?.update?.cpd ?? null;
}
