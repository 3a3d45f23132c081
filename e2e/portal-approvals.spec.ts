import { expect, test } from '@playwright/test';
import { expectAccessible, logins, placeOrder, signIn } from './support/portal';

test('an admin approves a Created order: it leaves the queue and is on its way', async ({ page }) => {
  const { admin, customer } = logins();
  const order = await placeOrder(customer.email);
  await signIn(page, admin);
  await page.getByRole('navigation', { name: 'Portal' }).getByRole('link', { name: 'Approvals' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Orders waiting for approval' })).toBeVisible();
  const card = page.getByRole('article', { name: order.title });
  await expect(card).toContainText('Acme Corp');
  await expect(card).toContainText('Capacity');
  await expect(card).toContainText('50–200 (prefer 100)');
  await expectAccessible(page);
  await page.screenshot({ path: 'test-results/screens/approvals.png', fullPage: true });
  await card.getByRole('button', { name: `Approve “${order.title}”` }).click();
  await expect(card).toHaveCount(0);
  await page.goto(`/orders/${order.id}`);
  // The engine host sends the QUOTATION at once and Example Networks answers at once.
  await expect(page.getByText(/Approved, sending|Quotation sent|Provider is processing|Offer (received|being considered)/).first()).toBeVisible();
  await expect(page.getByRole('list').filter({ hasText: 'Created → AwaitingProcessing' })).toContainText('approved — by Ada Admin');
  await expectAccessible(page);
  await page.screenshot({ path: 'test-results/screens/order-approved.png', fullPage: true });
});

test('an admin rejects with a reason; the requester sees it', async ({ page }) => {
  const { admin, customer } = logins();
  const order = await placeOrder(customer.email);
  await signIn(page, admin);
  await page.goto('/approvals');
  const card = page.getByRole('article', { name: order.title });
  await card.getByRole('button', { name: 'Reject…' }).click();
  await card.getByLabel('Reason for rejecting (the customer sees it)').fill('Budget for Q1 is spent');
  await card.getByRole('button', { name: 'Reject order' }).click();
  await expect(card).toHaveCount(0);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/sign-in/);

  await signIn(page, customer);
  await expect(page.getByRole('row').filter({ hasText: order.title })).toContainText('Rejected');
  await page.getByRole('link', { name: order.title }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Rejected by Ada Admin' })).toContainText('Reason: Budget for Q1 is spent');
  await expectAccessible(page);
  await page.screenshot({ path: 'test-results/screens/order-rejected.png', fullPage: true });
});

test('the approvals page is not there for customers and staff', async ({ page }) => {
  const { staff } = logins();
  await signIn(page, staff);
  await page.goto('/approvals');
  await expect(page.getByRole('heading', { level: 1, name: 'Not found' })).toBeVisible();
});
