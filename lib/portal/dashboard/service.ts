/**
 * The operator's dashboard over a period (orders created in [from, to)): orders by state,
 * negotiation duration p50/p95, and per provider the acceptance rate and the average offered
 * vs requested capacity. Admins and staff only.
 *
 * Definitions (docs/portal.md "Dashboard"):
 * - negotiation duration: from a negotiation's first state change (approval sent it) to its
 *   first Completed or Cancelled;
 * - acceptance rate: negotiations that reached an agreement / negotiations that received an offer;
 * - capacity: the first connectivity profile's inbound capacity in Mbit/s (a range counts as its
 *   preferred value, else its maximum), averaged over offers and over the requests they answer.
 * Aggregates run in SQLite (json_extract), so the dashboard never loads 100k documents.
 */
import 'server-only';
import type { SessionUser } from '../auth/session';
import { portalDb } from '../db/client';
import { ORDER_STATES, type OrderState } from '../db/types';
import { ok, type ServiceResult } from '../result';
import { canReadHistory, HISTORY_FORBIDDEN } from '../history/access';
import { percentile, ratio } from './stats';

export interface ProviderStats {
  provider: string;
  negotiations: number;
  offered: number;
  agreed: number;
  acceptanceRate: number | null;
  avgRequestedMbps: number | null;
  avgOfferedMbps: number | null;
}

export interface Dashboard {
  from: string;
  to: string;
  orders: number;
  byState: { state: OrderState; count: number }[];
  duration: { finished: number; p50Ms: number | null; p95Ms: number | null };
  providers: ProviderStats[];
}

/** How Prisma's SQLite adapter stores DateTime (ISO text with an explicit +00:00). */
const stored = (d: Date) => d.toISOString().replace('Z', '+00:00');

const capacity = (column: string) =>
  `COALESCE(json_extract(${column}, '$[0].capacity.inMbps.pref'), json_extract(${column}, '$[0].capacity.inMbps.max'), CASE json_type(${column}, '$[0].capacity.inMbps') WHEN 'integer' THEN json_extract(${column}, '$[0].capacity.inMbps') WHEN 'real' THEN json_extract(${column}, '$[0].capacity.inMbps') END)`;

export async function getDashboard(user: SessionUser, period: { from: Date; to: Date }): Promise<ServiceResult<Dashboard>> {
  if (!canReadHistory(user)) return HISTORY_FORBIDDEN;
  const db = portalDb();
  const from = stored(period.from);
  const to = stored(period.to);
  const [groups, durations, providers] = await Promise.all([
    db.order.groupBy({ by: ['state'], where: { createdAt: { gte: period.from, lt: period.to } }, _count: { _all: true } }),
    db.$queryRawUnsafe<{ ms: number | null }[]>(
      `SELECT (julianday(MIN(CASE WHEN sc."to" IN ('Completed','Cancelled') THEN sc."at" END)) - julianday(MIN(sc."at"))) * 86400000.0 AS ms
         FROM "StateChange" sc JOIN "Order" o ON o."id" = sc."orderId"
        WHERE sc."negotiationId" IS NOT NULL AND o."createdAt" >= ? AND o."createdAt" < ?
        GROUP BY sc."negotiationId"`,
      from,
      to,
    ),
    db.$queryRawUnsafe<{ provider: string; negotiations: bigint | number; offered: bigint | number; agreed: bigint | number; req: number | null; off: number | null }[]>(
      `SELECT p."name" AS provider, COUNT(*) AS negotiations,
              SUM(CASE WHEN f."negotiationId" IS NOT NULL THEN 1 ELSE 0 END) AS offered,
              SUM(CASE WHEN f."negotiationId" IS NOT NULL AND (n."agreed" = 1 OR n."clientState" = 'Completed') THEN 1 ELSE 0 END) AS agreed,
              AVG(CASE WHEN f."negotiationId" IS NOT NULL THEN ${capacity('o."requestedCpd"')} END) AS req,
              AVG(f.cap) AS off
         FROM "Negotiation" n
         JOIN "Order" o ON o."id" = n."orderId"
         JOIN "Provider" p ON p."id" = n."providerId"
         LEFT JOIN (SELECT "negotiationId", AVG(${capacity('"cpd"')}) AS cap FROM "Offer" GROUP BY "negotiationId") f ON f."negotiationId" = n."id"
        WHERE o."createdAt" >= ? AND o."createdAt" < ?
        GROUP BY p."id" ORDER BY p."name"`,
      from,
      to,
    ),
  ]);
  const finished = durations.map((d) => d.ms).filter((ms): ms is number => typeof ms === 'number' && ms >= 0);
  const counts = new Map(groups.map((g) => [g.state, g._count._all]));
  return ok({
    from: period.from.toISOString(),
    to: period.to.toISOString(),
    orders: groups.reduce((s, g) => s + g._count._all, 0),
    byState: ORDER_STATES.map((state) => ({ state, count: counts.get(state) ?? 0 })),
    duration: { finished: finished.length, p50Ms: percentile(finished, 50), p95Ms: percentile(finished, 95) },
    providers: providers.map((p) => {
      const offered = Number(p.offered ?? 0);
      const agreed = Number(p.agreed ?? 0);
      return {
        provider: p.provider,
        negotiations: Number(p.negotiations),
        offered,
        agreed,
        acceptanceRate: ratio(agreed, offered),
        avgRequestedMbps: p.req === null ? null : Number(p.req),
        avgOfferedMbps: p.off === null ? null : Number(p.off),
      };
    }),
  });
}
