/**
 * Shared helpers of the portal's end-to-end tests: the demo logins `npm start` wrote, signing in
 * through the real form, an axe check, and `placeOrder`, which writes an order's rows straight
 * into the portal database.
 *
 * Suites make their orders through the real flows (./flows.ts: compose form, approvals page,
 * reference providers). `placeOrder` is only for a state those flows cannot reach, such as an
 * alarm (a provider that stops answering); a test using it says why.
 */
import AxeBuilder from '@axe-core/playwright';
import { expect, type Page } from '@playwright/test';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openPortalDb } from '../../lib/portal/db/client';

export const DATA_DIR = resolve('test-results/e2e-data');

export interface Login {
  email: string;
  password: string;
  name: string;
  role: 'customer' | 'admin' | 'staff';
  organisation: string;
}

export function logins(): { customer: Login; admin: Login; staff: Login; otherCustomer: Login } {
  const all = JSON.parse(readFileSync(join(DATA_DIR, 'dev', 'portal-logins.json'), 'utf8')) as Login[];
  const find = (email: string) => {
    const l = all.find((x) => x.email === email);
    if (!l) throw new Error(`no demo login ${email}`);
    return l;
  };
  return {
    customer: find('customer@acme.example'),
    admin: find('admin@acme.example'),
    staff: find('staff@acme.example'),
    otherCustomer: find('customer@globex.example'),
  };
}

export async function signIn(page: Page, login: Login): Promise<void> {
  await page.goto('/sign-in');
  await page.getByLabel('Email').fill(login.email);
  await page.getByLabel('Password').fill(login.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('navigation', { name: 'Portal' })).toBeVisible();
}

/** No serious or critical axe violation on the current page. */
export async function expectAccessible(page: Page): Promise<void> {
  const results = await new AxeBuilder({ page }).analyze();
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`)).toEqual([]);
}

export const CPD = [
  {
    component: 'paris-lyon',
    nodes: [
      { id: 'ce-paris', link: 'pe1:ge-0/0/1' },
      { id: 'ce-lyon', link: 'pe2:ge-0/0/3' },
    ],
    capacity: { inMbps: { min: 50, max: 200, pref: 100 }, outMbps: 100 },
    conformance: { policing: 'shape', outOfProfile: 'drop' },
    availability: { percent: { min: 99.5, max: 100, pref: 99.9 } },
  },
];

function db() {
  return openPortalDb(join(DATA_DIR, 'portal.db'), { synchronous: 'NORMAL' });
}

/**
 * A submitted order (state Created) of `email`'s organisation to the given providers. With
 * `offerFrom`, the named providers have answered with an offer (what the engine host writes).
 */
export async function placeOrder(
  email: string,
  opts: {
    title?: string;
    providers?: string[];
    state?: string;
    offers?: { provider: string; cpd: unknown }[];
    /** Columns the engine host would have written on every negotiation (agreement, alarm, more time...). */
    negotiation?: { clientState?: string; agreed?: boolean; alarm?: string; moreTimeRequestedUntil?: Date; expectedOfferAt?: Date; agreementCpd?: string };
  } = {},
): Promise<{ id: string; title: string }> {
  const client = db();
  try {
    const author = await client.user.findUniqueOrThrow({ where: { email } });
    const providers = await client.provider.findMany({ where: { name: { in: opts.providers ?? ['Example Networks'] } } });
    const title = opts.title ?? `E2E order ${randomBytes(3).toString('hex')}`;
    const state = opts.state ?? 'Created';
    const order = await client.order.create({
      data: {
        organisationId: author.organisationId,
        authorId: author.id,
        title,
        requestedCpd: JSON.stringify(CPD),
        options: JSON.stringify({ activationType: 'scheduled' }),
        expectedResponseSeconds: 120,
        selectionRule: 'manual',
        state,
        submittedAt: new Date(),
        negotiations: {
          create: providers.map((p) => ({
            providerId: p.id,
            customerOrderId: `C-${randomBytes(8).toString('hex')}`,
            clientState: opts.offers?.some((o) => o.provider === p.name) ? 'OfferReceived' : state === 'Created' ? 'Created' : 'PQOSent',
            expectedResponseAt: new Date(Date.now() + 120_000),
            offerValidUntil: opts.offers?.some((o) => o.provider === p.name) ? new Date(Date.now() + 600_000) : null,
            ...opts.negotiation,
            ...(opts.negotiation?.alarm ? { alarmAt: new Date() } : {}),
          })),
        },
        stateChanges: { create: { from: null, to: 'Created', cause: 'submitted', actor: `user:${author.id}` } },
      },
      include: { negotiations: { include: { provider: true } } },
    });
    for (const offer of opts.offers ?? []) {
      const n = order.negotiations.find((x) => x.provider.name === offer.provider);
      if (!n) throw new Error(`no negotiation with ${offer.provider}`);
      await client.offer.create({ data: { negotiationId: n.id, cycle: 0, cpd: JSON.stringify(offer.cpd), nonce: randomBytes(8).toString('hex'), price: JSON.stringify({ amount: 1200, currency: 'EUR', period: 'month' }) } });
    }
    return { id: order.id, title };
  } finally {
    await client.$disconnect();
  }
}
