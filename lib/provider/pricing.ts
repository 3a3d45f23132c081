import type { PricingPolicy } from './policy';

/**
 * Monthly price of an offer, from the policy's pricing guidelines (RFC 8921 8.2: "receive
 * guidelines from network design and sales blocks (e.g., pricing ...)"). CPNP carries no price
 * (the CPD has no price clause), so the figure is for the provider's staff and logs: it is kept
 * in the decision record (`explain`), never sent.
 *
 * Per CPP:
 *   base    = perCppMonth + perMbpsMonth * billable Mbit/s
 *   monthly = base * (1 + (availability premium % + QoS premium %) / 100)
 * Billable Mbit/s is the sum, over the CPP's attachments in local pools, of the larger of the
 * two directions (ports are usually billed on their busier direction). The availability premium
 * is the one of the smallest configured level that covers the offered percentage; the QoS
 * premium is the one of the chosen class. The offer's price is the sum over its CPPs, rounded
 * to cents.
 */

export interface PricingItem {
  /** Index of the CPP in the Offered CPD. */
  cpp: number;
  /** Per attachment (node link or per-link capacity) in a local pool: offered Mbit/s. */
  attachments: { inMbps: number; outMbps: number }[];
  /** Offered availability percentage, when the CPP has an availability clause. */
  availabilityPercent?: number;
  /** Name of the QoS class chosen for the CPP, when it has a QoS clause. */
  qosClass?: string;
}

export interface PriceLine {
  cpp: number;
  billableMbps: number;
  base: number;
  availabilityLevel?: number;
  availabilityPremiumPct: number;
  qosClass?: string;
  qosPremiumPct: number;
  monthly: number;
}

export interface Price {
  currency: string;
  monthly: number;
  lines: PriceLine[];
}

const cents = (x: number): number => Math.round(x * 100) / 100;

/** The smallest configured level >= percent (the level whose commitment covers it), if any. */
export function coveringLevel(levels: readonly number[], percent: number): number | undefined {
  return [...levels].sort((a, b) => a - b).find((level) => level >= percent);
}

export function priceOffer(pricing: PricingPolicy, items: readonly PricingItem[]): Price {
  const levels = Object.keys(pricing.availabilityPremiumPct).map(Number);
  const lines = items.map((item): PriceLine => {
    const billableMbps = item.attachments.reduce((sum, a) => sum + Math.max(a.inMbps, a.outMbps), 0);
    const base = pricing.perCppMonth + pricing.perMbpsMonth * billableMbps;
    const level = item.availabilityPercent === undefined ? undefined : coveringLevel(levels, item.availabilityPercent);
    const availabilityPremiumPct = level === undefined ? 0 : (pricing.availabilityPremiumPct[String(level)] ?? 0);
    const qosPremiumPct = item.qosClass === undefined ? 0 : (pricing.qosPremiumPct[item.qosClass] ?? 0);
    return {
      cpp: item.cpp,
      billableMbps,
      base: cents(base),
      ...(level === undefined ? {} : { availabilityLevel: level }),
      availabilityPremiumPct,
      ...(item.qosClass === undefined ? {} : { qosClass: item.qosClass }),
      qosPremiumPct,
      monthly: cents(base * (1 + (availabilityPremiumPct + qosPremiumPct) / 100)),
    };
  });
  return { currency: pricing.currency, monthly: cents(lines.reduce((sum, l) => sum + l.monthly, 0)), lines };
}
