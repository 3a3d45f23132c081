/**
 * The approvals queue (RFC 8921 8.11.1) on real orders: composed in the browser by the customer,
 * approved or rejected by the admin in the page, and, once approved, negotiated by the engine
 * host with the reference provider Example Networks, which answers at once.
 */
import { expect, test } from '@playwright/test';
import { NEGOTIATION, composeOrder, pageAs, uniqueTitle } from './support/flows';
import { expectAccessible, logins, signIn } from './support/portal';

// Composing an order in the browser takes a few seconds on a loaded machine.
test.describe.configure({ timeout: 90_000 });

test('an admin approves a Created order: it leaves the queue and the provider’s offer follows', async ({ browser }) => {
  const customer = await pageAs(browser, 'customer');
  const title = uniqueTitle('Approve me');
  const id = await composeOrder(customer, { title });
  await customer.context().close();

  const page = await pageAs(browser, 'admin');
  await page.goto('/orders');
  await page.getByRole('navigation', { name: 'Portal' }).getByRole('link', { name: 'Approvals' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Orders waiting for approval' })).toBeVisible();
  const card = page.getByRole('article', { name: title });
  await expect(card).toContainText('Acme Corp · by Casey Customer');
  await expect(card).toContainText('to Example Networks');
  await expect(card).toContainText('Capacity');
  await expect(card).toContainText('In Mbps: 20–80 (prefer 50), Out Mbps: 20–80 (prefer 50)');
  await expectAccessible(page);
  await page.screenshot({ path: 'test-results/screens/approvals.png', fullPage: true });
  await card.getByRole('button', { name: `Approve “${title}”` }).click();
  await expect(card).toHaveCount(0);

  await page.goto(`/orders/${id}`);
  await expect(page.getByRole('list').filter({ hasText: 'Created → AwaitingProcessing' }).first()).toContainText('approved — by Ada Admin');
  // The engine host sends the QUOTATION; Example Networks offers the preferred values.
  const offer = page.getByRole('region', { name: 'Offer from Example Networks' });
  await expect(offer).toBeVisible(NEGOTIATION);
  await expect(offer).toContainText('Overall: meets the request');
  await expect(page.getByRole('article', { name: 'Example Networks' })).toContainText('Status: Offer being considered');
  // The admin reads it, but only the customer acts on the offer.
  await expect(offer.getByRole('button')).toHaveCount(0);
  await expectAccessible(page);
  await page.screenshot({ path: 'test-results/screens/order-approved.png', fullPage: true });
  await page.context().close();
});

test('an admin rejects with a reason; nothing is sent and the requester sees the reason', async ({ browser }) => {
  const customer = await pageAs(browser, 'customer');
  const title = uniqueTitle('Reject me');
  await composeOrder(customer, { title });
  await customer.context().close();

  // Signed in through the form here: the test signs out and in again as the customer.
  const page = await (await browser.newContext()).newPage();
  await signIn(page, logins().admin);
  await page.goto('/approvals');
  const card = page.getByRole('article', { name: title });
  await card.getByRole('button', { name: 'Reject…' }).click();
  await card.getByLabel('Reason for rejecting (the customer sees it)').fill('Budget for Q1 is spent');
  await card.getByRole('button', { name: 'Reject order' }).click();
  await expect(card).toHaveCount(0);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/sign-in/);

  await signIn(page, logins().customer);
  await expect(page.getByRole('row').filter({ hasText: title })).toContainText('Rejected');
  await page.getByRole('link', { name: title }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Rejected by Ada Admin' })).toContainText('Reason: Budget for Q1 is spent');
  await expect(page.getByRole('article', { name: 'Example Networks' })).toContainText('Status: Not sent: the order was rejected');
  await expect(page.getByRole('list').filter({ hasText: 'Created → Rejected' }).first()).toContainText('by Ada Admin');
  await expectAccessible(page);
  await page.screenshot({ path: 'test-results/screens/order-rejected.png', fullPage: true });
  await page.context().close();
});

test('the approvals page and its API are not there for customers and staff', async ({ browser }) => {
  for (const role of ['customer', 'staff'] as const) {
    const page = await pageAs(browser, role);
    await page.goto('/orders');
    await expect(page.getByRole('navigation', { name: 'Portal' }).getByRole('link', { name: 'Approvals' })).toHaveCount(0);
    await page.goto('/approvals');
    await expect(page.getByRole('heading', { level: 1, name: 'Not found' })).toBeVisible();
    expect((await page.request.get('/api/portal/approvals')).status()).toBe(403);
    await page.context().close();
  }
});
