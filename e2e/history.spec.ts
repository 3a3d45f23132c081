/**
 * Staff history end to end (issue 10): against the real portal (`npm start`), with a realistic
 * history inserted straight into the portal database by the benchmark's seed (bench/portal-seed.ts:
 * orders with their state changes, offers and CPNP messages encoded by lib/cpnp), as the other
 * portal suites insert orders, since the engine host is built separately.
 */
import { expect, test, type Page } from '@playwright/test';
import Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { seedPortalBench } from '../bench/portal-seed';
import { DATA_DIR, expectAccessible, logins, signIn } from './support/portal';

const DB = join(DATA_DIR, 'portal.db');
// Only organisations no other suite writes to, so counts cannot change under the test.
const ORG = 'Initech';

// One worker for this file: the seed runs once, and the tests read the same rows.
test.describe.configure({ mode: 'serial' });

let prefix = '';
test.beforeAll(async () => {
  // Finished orders only, with the two providers the demo already has: nothing an engine host would resume.
  prefix = (await seedPortalBench(DB, 600, { finishedOnly: true, providers: ['Example Networks', 'Carrier B'] })).prefix;
});

function query<T>(sql: string, ...args: unknown[]): T[] {
  const db = new Database(DB, { readonly: true });
  try {
    return db.prepare(sql).all(...args) as T[];
  } finally {
    db.close();
  }
}

async function shot(page: Page, name: string) {
  await page.screenshot({ path: `test-results/screens/${name}.png`, fullPage: true });
}

test('staff filter the history, go back, open an order and read its ladder and decoded messages', async ({ page }) => {
  const { staff } = logins();
  await signIn(page, staff);
  await page.getByRole('navigation', { name: 'Portal' }).getByRole('link', { name: 'History' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Order history' })).toBeVisible();
  await expect(page.getByRole('table', { name: 'Order history' })).toBeVisible();
  await expectAccessible(page);
  await shot(page, 'history');

  const filters = page.getByRole('form', { name: 'Filter orders' });
  await filters.getByLabel('Organisation').selectOption({ label: ORG });
  await filters.getByRole('checkbox', { name: 'Agreed' }).check();
  await filters.getByRole('button', { name: 'Apply filters' }).click();
  await expect(page).toHaveURL(/state=Completed/);
  await expect(page).toHaveURL(/org=/);
  const expected = query<{ id: string }>(
    'SELECT o.id FROM "Order" o JOIN "Organisation" g ON g.id = o.organisationId WHERE g.name = ? AND o.state = ? ORDER BY o.createdAt DESC, o.id DESC',
    ORG,
    'Completed',
  );
  const rows = page.getByRole('table', { name: 'Order history' }).locator('tbody tr');
  await expect(rows).toHaveCount(Math.min(25, expected.length));
  for (const row of await rows.all()) {
    await expect(row).toContainText(ORG);
    await expect(row).toContainText('Agreed');
  }
  await expect(page.getByRole('status').filter({ hasText: 'matching orders' })).toHaveText(`${expected.length} matching orders`);
  await expect(rows.first()).toContainText(expected[0]!.id);
  await shot(page, 'history-filtered');

  // The filter is in the URL: Back returns to the unfiltered list, Forward to the filtered one.
  await page.goBack();
  await expect(page).not.toHaveURL(/state=Completed/);
  await expect(filters.getByRole('checkbox', { name: 'Agreed' })).not.toBeChecked();
  await page.goForward();
  await expect(page).toHaveURL(/state=Completed/);
  await expect(rows).toHaveCount(Math.min(25, expected.length));

  // Next page: while the server renders it, the list says so (the request is held until the
  // loading state has been seen, then released: no timing guess).
  let release: () => void = () => {};
  const held = new Promise<void>((r) => (release = r));
  await page.route(
    (url) => url.pathname === '/history',
    async (route) => {
      if (route.request().headers()['rsc']) await held;
      await route.continue();
    },
  );
  await page.goto('/history?size=25');
  await page.getByRole('button', { name: 'Next →' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Loading orders…' })).toBeVisible();
  await expect(page.getByRole('table', { name: 'Order history' }).locator('xpath=..')).toHaveAttribute('aria-busy', 'true');
  await shot(page, 'history-loading');
  release();
  await expect(page).toHaveURL(/after=/);
  await expect(page.getByRole('status').filter({ hasText: 'matching orders' })).toBeVisible();
  await expect(page.getByRole('button', { name: '← Previous' })).toBeEnabled();
  await page.unrouteAll();

  // An exact id search by customer order id finds one order.
  const target = query<{ orderId: string; customerOrderId: string; providerOrderId: string; title: string }>(
    'SELECT n.orderId, n.customerOrderId, n.providerOrderId, o.title FROM "Negotiation" n JOIN "Order" o ON o.id = n.orderId WHERE o.id LIKE ? AND o.state = ? LIMIT 1',
    `o${prefix}%`,
    'Completed',
  )[0]!;
  await page.goto('/history');
  await filters.getByLabel('Order, customer or provider order id').fill(target.customerOrderId);
  await filters.getByRole('button', { name: 'Apply filters' }).click();
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText(target.providerOrderId);

  await rows.first().getByRole('link', { name: target.title }).click();
  await expect(page.getByRole('heading', { level: 1, name: target.title })).toBeVisible();
  const chart = page.getByRole('img', { name: /Message sequence chart/ });
  await expect(chart).toBeVisible();
  await expect(chart.locator('text').filter({ hasText: /^ACCEPT \(lost\)$/ })).toHaveCount(1);
  await expect(chart.locator('text').filter({ hasText: /^ACCEPT \(retransmitted\)$/ })).toHaveCount(1);
  await expect(page.getByRole('table', { name: /Every state change/ }).locator('tbody tr')).toHaveCount(5);
  const log = page.getByRole('region', { name: /Message log/ }).getByRole('listitem');
  await expect(log).toHaveCount(6);
  const offer = log.filter({ hasText: /OFFER\s*received from/ });
  await offer.locator('summary').first().click();
  await expect(offer.getByText('Decoded from the hex (lib/cpnp)')).toBeVisible();
  await expect(offer.locator('pre').first()).toContainText(`"providerOrderId": "${target.providerOrderId}"`);
  await expect(offer.locator('pre').nth(1)).toContainText(/^0000 {2}[0-9a-f]{2} /);
  await expectAccessible(page);
  await shot(page, 'order-ladder');

  // From the order detail page, the ladder is one link away.
  await page.getByRole('link', { name: 'Order detail' }).click();
  await expect(page.getByRole('link', { name: 'Messages and state history →' })).toBeVisible();
  await shot(page, 'order-detail-link');
  await page.getByRole('link', { name: 'Messages and state history →' }).click();
  await expect(page).toHaveURL(new RegExp(`/orders/${target.orderId}/messages$`));
});

test('the CSV export holds every row of the current filter, not just the page, and is spreadsheet-safe', async ({ page }) => {
  const { staff } = logins();
  await signIn(page, staff);
  const org = query<{ id: string }>('SELECT id FROM "Organisation" WHERE name = ?', ORG)[0]!.id;
  await page.goto(`/history?org=${org}&size=25`);
  const expected = query<{ id: string; state: string }>('SELECT id, state FROM "Order" WHERE organisationId = ? ORDER BY createdAt DESC, id DESC', org);
  expect(expected.length).toBeGreaterThan(25);
  const downloading = page.waitForEvent('download');
  await page.getByRole('link', { name: /Export CSV/ }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toMatch(/^cpnp-orders-\d{8}-\d{6}\.csv$/);
  const text = readFileSync(await download.path(), 'utf8').replace(/^\uFEFF/, '');
  const lines = text.trimEnd().split('\r\n');
  expect(lines[0]).toBe(
    'order_id,title,organisation,author,state,state_reason,created_at,updated_at,submitted_at,providers,customer_order_ids,provider_order_ids,client_states',
  );
  expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual(expected.map((r) => r.id));
  expect(lines.slice(1).every((l) => l.split(',')[2] === ORG)).toBe(true);
});

test('the dashboard shows orders by state, durations and per-provider figures, as charts and tables', async ({ page }) => {
  const { admin } = logins();
  await signIn(page, admin);
  await page.getByRole('navigation', { name: 'Portal' }).getByRole('link', { name: 'Dashboard' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Dashboard' })).toBeVisible();
  const from = new Date(Date.now() - 365 * 86_400_000).toISOString().slice(0, 10);
  await page.getByLabel('From').fill(from);
  await page.getByRole('button', { name: 'Show period' }).click();
  await expect(page).toHaveURL(new RegExp(`from=${from}`));
  const perProvider = page.getByRole('table', { name: 'Per provider' });
  await expect(perProvider.getByRole('row', { name: /Example Networks/ })).toContainText('%');
  await expect(page.getByRole('table', { name: 'Orders by state' }).getByRole('row', { name: /Agreed/ })).toBeVisible();
  await expect(page.getByText('Negotiation duration p95')).toBeVisible();
  await expect(page.locator('.recharts-surface').first()).toBeVisible();
  await expect(page.locator('.recharts-bar-rectangle').first()).toBeVisible();
  await expectAccessible(page);
  await shot(page, 'dashboard');
});

test('customers never see the history, the export or the dashboard', async ({ page }) => {
  const { customer } = logins();
  await signIn(page, customer);
  await expect(page.getByRole('navigation', { name: 'Portal' }).getByRole('link', { name: 'History' })).toHaveCount(0);
  await page.goto('/history');
  await expect(page.getByRole('heading', { level: 1, name: 'Not available' })).toBeVisible();
  await expect(page.getByRole('table')).toHaveCount(0);
  await shot(page, 'history-customer');
  await page.goto('/dashboard');
  await expect(page.getByRole('heading', { level: 1, name: 'Not available' })).toBeVisible();
  expect((await page.request.get('/api/portal/history/export')).status()).toBe(403);
  const foreign = query<{ id: string }>('SELECT o.id FROM "Order" o JOIN "Organisation" g ON g.id = o.organisationId WHERE g.name = ? LIMIT 1', ORG)[0]!;
  await page.goto(`/orders/${foreign.id}/messages`);
  await expect(page.getByRole('heading', { level: 1, name: 'Not found' })).toBeVisible();
});
