import { expect, test } from '@playwright/test';

const METHODS = [
  'QUOTATION',
  'PROCESSING',
  'OFFER',
  'ACCEPT',
  'DECLINE',
  'ACK',
  'CANCEL',
  'WITHDRAW',
  'UPDATE',
  'FAIL',
  'ACTIVATE',
];

test.beforeEach(async ({ page }) => {
  await page.goto('/');
});

test('shows the portal heading and landmarks', async ({ page }) => {
  await expect(page).toHaveTitle(/CPNP/);
  await expect(page.getByRole('heading', { level: 1, name: 'CPNP — Customer Order Management' })).toBeVisible();
  await expect(page.getByRole('main')).toBeVisible();
  await expect(page.getByRole('banner')).toBeVisible();
  await expect(page.getByRole('contentinfo')).toContainText('RFC 8921');
});

test('lists the 11 CPNP methods with codes 1..11', async ({ page }) => {
  const table = page.getByRole('table', { name: 'CPNP methods' });
  await expect(table).toBeVisible();
  const rows = table.locator('tbody tr');
  await expect(rows).toHaveCount(METHODS.length);
  await expect(table.getByRole('rowheader')).toHaveText(METHODS);
  await expect(rows.locator('td:first-child')).toHaveText(METHODS.map((_, index) => String(index + 1)));
  await expect(table.getByRole('row', { name: /\bQUOTATION\b/ })).toContainText('Client');
  await expect(table.getByRole('row', { name: /\bOFFER\b/ })).toContainText('Server');
});

test('names FAIL status code 7 "More Time Rejected"', async ({ page }) => {
  const table = page.getByRole('table', { name: 'FAIL status codes' });
  await expect(table.locator('tbody tr')).toHaveCount(8);
  const row7 = table.locator('tbody tr').filter({ has: page.locator('td:first-child', { hasText: /^7$/ }) });
  await expect(row7).toHaveCount(1);
  await expect(row7.getByRole('rowheader')).toHaveText('More Time Rejected');
});

test('serves the SVG favicon', async ({ request }) => {
  const response = await request.get('/favicon.svg');
  expect(response.ok()).toBe(true);
  expect(response.headers()['content-type']).toContain('image/svg+xml');
});
