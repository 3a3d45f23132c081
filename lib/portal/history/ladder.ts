/**
 * One order's complete record for the ladder view: state history, every CPNP message in and out
 * (the stored JSON form, and the stored hex decoded again by lib/cpnp so a reader can check the
 * two agree), and the sequence chart. Organisation-scoped like every order read: a customer
 * sees its own organisation's orders only, another organisation's answers 'not-found'.
 */
import 'server-only';
import { decodeMessage, messageToJson } from '../../cpnp/codec';
import { fromHex } from '../../cpnp/hex';
import { isMethodCode, methodName } from '../../cpnp/method';
import type { SessionUser } from '../auth/session';
import { portalDb } from '../db/client';
import { fromJson } from '../db/json';
import { orderWhere } from '../orders/scope';
import { ok, ORDER_NOT_FOUND, type ServiceResult } from '../result';
import { sequenceChart, type Arrow } from './sequence';

export interface LadderMessage {
  id: string;
  provider: string;
  direction: 'out' | 'in';
  method: string;
  transactionId: string | null;
  at: string;
  json: unknown;
  hex: string;
  /** The hex decoded by lib/cpnp (JSON form), or why it does not decode. */
  decoded: { ok: true; message: unknown } | { ok: false; error: string };
  marks: Arrow['marks'];
}

export interface OrderLadder {
  order: { id: string; title: string; state: string; organisation: string; createdAt: string };
  lanes: string[];
  arrows: Arrow[];
  messages: LadderMessage[];
  stateChanges: { id: string; provider: string | null; from: string | null; to: string; cause: string; actor: string; at: string }[];
}

/** Method column as a name, whether the host stored the name or the code. */
function methodLabel(method: string): string {
  const code = Number(method);
  return Number.isInteger(code) && isMethodCode(code) ? methodName(code) : method.toUpperCase();
}

function decodeHex(hex: string): LadderMessage['decoded'] {
  const bytes = fromHex(hex);
  if (!bytes) return { ok: false, error: 'not hexadecimal' };
  const r = decodeMessage(bytes);
  return r.ok ? { ok: true, message: messageToJson(r.message) } : { ok: false, error: r.error.message };
}

export async function getOrderLadder(user: SessionUser, orderId: string): Promise<ServiceResult<OrderLadder>> {
  const db = portalDb();
  const order = await db.order.findFirst({
    where: orderWhere(user, { id: orderId }),
    select: {
      id: true,
      title: true,
      state: true,
      createdAt: true,
      organisation: { select: { name: true } },
      negotiations: { orderBy: { createdAt: 'asc' }, select: { id: true, provider: { select: { name: true } } } },
    },
  });
  if (!order) return ORDER_NOT_FOUND;
  const negotiationIds = order.negotiations.map((n) => n.id);
  const [messages, changes] = await Promise.all([
    db.message.findMany({ where: { negotiationId: { in: negotiationIds } }, orderBy: [{ at: 'asc' }, { id: 'asc' }] }),
    db.stateChange.findMany({ where: { orderId }, orderBy: [{ at: 'asc' }, { id: 'asc' }] }),
  ]);
  const lanes = ['Portal (CPNP client)', ...order.negotiations.map((n) => n.provider.name)];
  const laneOf = new Map(order.negotiations.map((n, i) => [n.id, i + 1]));
  const providerOf = new Map(order.negotiations.map((n) => [n.id, n.provider.name]));
  const logged = messages.map((m) => ({
    id: m.id,
    negotiationId: m.negotiationId,
    direction: m.direction === 'in' ? ('in' as const) : ('out' as const),
    method: methodLabel(m.method),
    transactionId: m.transactionId,
    at: m.at.toISOString(),
  }));
  const arrows = sequenceChart(laneOf, logged);
  const marksOf = new Map(arrows.map((a) => [a.id, a.marks]));
  const actorIds = [...new Set(changes.map((c) => c.actor).filter((a) => a.startsWith('user:')).map((a) => a.slice(5)))];
  const users = actorIds.length ? await db.user.findMany({ where: { id: { in: actorIds } }, select: { id: true, name: true, email: true } }) : [];
  const names = new Map(users.map((u) => [`user:${u.id}`, u.name || u.email]));
  return ok({
    order: { id: order.id, title: order.title, state: order.state, organisation: order.organisation.name, createdAt: order.createdAt.toISOString() },
    lanes,
    arrows,
    messages: messages.map((m, i) => ({
      id: m.id,
      provider: providerOf.get(m.negotiationId) ?? '',
      direction: logged[i]!.direction,
      method: logged[i]!.method,
      transactionId: m.transactionId,
      at: logged[i]!.at,
      json: fromJson<unknown>(m.json, m.json),
      hex: m.hex,
      decoded: decodeHex(m.hex),
      marks: marksOf.get(m.id) ?? [],
    })),
    stateChanges: changes.map((c) => ({
      id: c.id,
      provider: c.negotiationId ? (providerOf.get(c.negotiationId) ?? null) : null,
      from: c.from,
      to: c.to,
      cause: c.cause,
      actor: c.actor === 'engine' ? 'CPNP engine' : (names.get(c.actor) ?? c.actor),
      at: c.at.toISOString(),
    })),
  });
}
