/**
 * Real flows for the portal suites: orders are composed in the browser (the compose form and
 * its server action), approved or rejected in the approvals page, and negotiated by the engine
 * host with the reference providers `npm start` runs beside the portal. No row is written by a
 * test here.
 *
 * Signing in through the form costs a round trip per test; `pageAs` signs each role in once per
 * worker and reuses the session cookie (Playwright storage state).
 */
import { expect, type Browser, type Locator, type Page } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { logins, signIn } from './portal';

export type Role = 'customer' | 'admin' | 'staff' | 'otherCustomer';

/** An offer from Example Networks arrives within seconds; Carrier B takes CPNP_PARTNER_DELAY (12 s). */
export const NEGOTIATION = { timeout: 45_000 };

const STATE_DIR = 'test-results/.auth';
const states = new Map<Role, Promise<string>>();

/** A file with a signed-in session of `role`, made once per worker. */
export function storageStateFor(browser: Browser, role: Role): Promise<string> {
  let state = states.get(role);
  if (!state) {
    state = (async () => {
      mkdirSync(STATE_DIR, { recursive: true });
      const path = join(STATE_DIR, `${role}-${process.pid}.json`);
      const context = await browser.newContext();
      await signIn(await context.newPage(), logins()[role]);
      await context.storageState({ path });
      await context.close();
      return path;
    })();
    states.set(role, state);
  }
  return state;
}

/** A new page in its own context, signed in as `role`. */
export async function pageAs(browser: Browser, role: Role, viewport?: { width: number; height: number }): Promise<Page> {
  const context = await browser.newContext({ storageState: await storageStateFor(browser, role), ...(viewport ? { viewport } : {}) });
  return context.newPage();
}

export const uniqueTitle = (what: string) => `${what} ${randomBytes(3).toString('hex')}`;

type Range = { min: string; pref: string; max: string };

export interface OrderSpec {
  title: string;
  providers?: string[];
  sites?: { id: string; link: string }[];
  /** Inbound and outbound capacity as ranges; absent: no capacity clause. */
  capacity?: { in: Range; out: Range };
  expectedResponseSeconds?: number;
}

/** Two sites on Example Networks' own links, a capacity both reference providers can offer. */
export const DEFAULT_SITES = [
  { id: 'ce-nantes', link: 'pe1:ge-0/0/1' },
  { id: 'ce-brest', link: 'pe2:ge-0/0/2' },
];
export const DEFAULT_CAPACITY = { in: { min: '20', pref: '50', max: '80' }, out: { min: '20', pref: '50', max: '80' } };

async function setRange(group: Locator, values: Range): Promise<void> {
  await group.getByText('Range', { exact: true }).click();
  for (const [key, label] of [
    ['min', 'Minimum'],
    ['pref', 'Preferred'],
    ['max', 'Maximum'],
  ] as const) {
    const input = group.getByLabel(label, { exact: true });
    await input.fill(values[key]);
    await input.press('Tab');
  }
}

/**
 * Composes and submits an order through the compose form as the signed-in customer of `page`;
 * returns its id once the order page shows it waiting for approval.
 */
export async function composeOrder(page: Page, spec: OrderSpec): Promise<string> {
  await page.goto('/orders/new');
  await page.getByLabel('Title', { exact: true }).fill(spec.title);
  for (const provider of spec.providers ?? ['Example Networks']) await page.getByRole('checkbox', { name: new RegExp(provider) }).check();
  if (spec.expectedResponseSeconds !== undefined) {
    const input = page.getByLabel(/^Expected response time/);
    await input.fill(String(spec.expectedResponseSeconds));
    await input.press('Tab');
  }
  const sites = spec.sites ?? DEFAULT_SITES;
  for (const [i, site] of sites.entries()) {
    if (i > 0) await page.getByRole('group', { name: 'Sites' }).getByRole('button', { name: '+ Add a site' }).click();
    const group = page.getByRole('group', { name: `Site ${i + 1}` });
    await group.getByLabel('Node id').fill(site.id);
    await group.getByLabel('Border link').fill(site.link);
  }
  const capacity = spec.capacity === undefined ? DEFAULT_CAPACITY : spec.capacity;
  if (capacity) {
    const group = page.getByRole('group', { name: 'Capacity & conformance' });
    await group.getByLabel('State a capacity').check();
    await setRange(group.getByRole('group', { name: 'Inbound (Mbit/s)' }), capacity.in);
    await setRange(group.getByRole('group', { name: 'Outbound (Mbit/s)' }), capacity.out);
    // RFC 7297 3.6: a capacity comes with its conformance rules.
    await group.getByLabel(/State conformance rules/).check();
    await group.getByRole('checkbox', { name: /^Police/ }).check();
    await group.getByRole('checkbox', { name: 'Drop', exact: true }).check();
  }
  await page.getByRole('button', { name: 'Submit for approval' }).click();
  await expect(page).toHaveURL(/\/orders\/(?!new)[^/?]+$/, { timeout: 20_000 });
  await expect(page.getByRole('heading', { level: 1, name: spec.title })).toBeVisible();
  await expect(page.getByText('Waiting for an administrator to approve the order')).toBeVisible();
  return new URL(page.url()).pathname.split('/').pop() ?? '';
}

/** The admin of `page` approves `title` in the approvals page (RFC 8921 8.11.1). */
export async function approveInUi(page: Page, title: string): Promise<void> {
  await page.goto('/approvals');
  const button = page.getByRole('button', { name: `Approve “${title}”` });
  await button.click();
  await expect(button).toHaveCount(0);
}

/** The admin of `page` rejects `title` with `reason`. */
export async function rejectInUi(page: Page, title: string, reason: string): Promise<void> {
  await page.goto('/approvals');
  const card = page.getByRole('article', { name: title });
  await card.getByRole('button', { name: 'Reject…' }).click();
  await card.getByLabel('Reason for rejecting (the customer sees it)').fill(reason);
  await card.getByRole('button', { name: 'Reject order' }).click();
  await expect(card).toHaveCount(0);
}
