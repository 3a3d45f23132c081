import { expect, test, type Browser, type Page } from '@playwright/test';
import { receivedMails } from './support/mail-log';
import { expectAccessible, logins, placeOrder, signIn, type Login } from './support/portal';

// Issue 10 item 5: a customer submits an order -> the admin's bell shows it waiting for approval
// and the real SMTP listener (e2e/support/smtp-global-setup.ts) received the admin's mail; the
// admin approves -> the customer's bell shows "approved" and, once Example Networks answers,
// "offer received". Real portal, engine host and reference provider (`npm start`).

const SHOTS = 'test-results/screens';

async function session(browser: Browser, login: Login, viewport = { width: 1280, height: 800 }): Promise<Page> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  await signIn(page, login);
  return page;
}

const bell = (page: Page) => page.getByRole('banner').getByRole('link', { name: /^Notifications/ });

test('submit -> admin bell and mail; approve -> customer bell: approved, offer received', async ({ browser }) => {
  test.setTimeout(120_000);
  const { customer, admin } = logins();

  // The customer submits a copy of an earlier order through the compose form.
  const source = await placeOrder(customer.email, { state: 'Cancelled' });
  const title = `Notify ${Date.now().toString(36)}`;
  const cust = await session(browser, customer);
  await cust.goto(`/orders/new?clone=${encodeURIComponent(source.id)}`);
  await cust.getByLabel('Title', { exact: true }).fill(title);
  await cust.getByRole('button', { name: 'Submit for approval' }).click();
  await expect(cust).toHaveURL(/\/orders\/(?!new)[^/?]+$/);
  const orderId = new URL(cust.url()).pathname.split('/').pop() ?? '';

  // The admin's bell counts it; the list links to the order.
  const adm = await session(browser, admin);
  await expect(bell(adm)).toHaveAccessibleName(/^Notifications, \d+ unread$/);
  await bell(adm).click();
  await expect(adm.getByRole('heading', { level: 1, name: 'Notifications' })).toBeVisible();
  const waiting = adm.getByRole('listitem').filter({ hasText: `Order waiting for approval: ${title}` });
  await expect(waiting).toContainText('Unread');
  await expect(waiting.getByRole('link', { name: `Order waiting for approval: ${title}` })).toHaveAttribute('href', `/orders/${orderId}`);
  await expectAccessible(adm);
  await adm.screenshot({ path: `${SHOTS}/notifications-admin.png`, fullPage: true });

  // ... and the SMTP listener received the admin's mail with the order link.
  await expect
    .poll(() => receivedMails().find((m) => m.subject === `[CPNP portal] Order waiting for approval: ${title}`), { timeout: 30_000 })
    .toMatchObject({ to: [admin.email] });
  const mail = receivedMails().find((m) => m.subject.endsWith(title));
  expect(mail?.text).toContain(`/orders/${orderId}`);

  // Mark it read: the item loses its "Unread" mark.
  await waiting.getByRole('button', { name: `Mark read: Order waiting for approval: ${title}` }).click();
  await expect(waiting).not.toContainText('Unread');

  // The admin approves; the engine host sends the QUOTATION and Example Networks offers.
  await adm.goto('/approvals');
  await adm.getByRole('article', { name: title }).getByRole('button', { name: `Approve “${title}”` }).click();
  await expect(adm.getByRole('article', { name: title })).toHaveCount(0);

  await cust.goto('/orders');
  await expect(bell(cust)).toHaveAccessibleName(/^Notifications, \d+ unread$/);
  await bell(cust).click();
  await expect(cust.getByRole('listitem').filter({ hasText: `Order approved: ${title}` })).toBeVisible();
  // The offer arrives through the engine host; the list polls.
  await expect(cust.getByRole('listitem').filter({ hasText: `Offer received: ${title}` })).toBeVisible({ timeout: 30_000 });
  await expect(cust.getByRole('listitem').filter({ hasText: `Offer received: ${title}` })).toContainText('Example Networks made an offer');
  await expectAccessible(cust);
  await cust.screenshot({ path: `${SHOTS}/notifications-customer.png`, fullPage: true });
  // (A deadline notice may follow if the offer's validity is short: hence arrayContaining.)
  await expect
    .poll(() => receivedMails().filter((m) => m.to.includes(customer.email) && m.subject.endsWith(title)).map((m) => m.subject), { timeout: 30_000 })
    .toEqual(expect.arrayContaining([`[CPNP portal] Offer received: ${title}`, `[CPNP portal] Order approved: ${title}`]));

  // Mark all read: nothing of this order is unread any more.
  await cust.getByRole('button', { name: 'Mark all read' }).click();
  await expect(cust.getByRole('listitem').filter({ hasText: `Order approved: ${title}` })).not.toContainText('Unread');
  await expect(cust.getByRole('listitem').filter({ hasText: `Offer received: ${title}` })).not.toContainText('Unread');

  // Phone width: the bell stays in the header, the list reads top to bottom.
  const phone = await session(browser, customer, { width: 390, height: 844 });
  await phone.goto('/notifications');
  await expect(phone.getByRole('listitem').filter({ hasText: `Offer received: ${title}` })).toBeVisible();
  await expect(bell(phone)).toBeVisible();
  await expectAccessible(phone);
  await phone.screenshot({ path: `${SHOTS}/notifications-phone.png`, fullPage: true });
});

test('the bell is reachable by keyboard and a notification opens its order', async ({ page }) => {
  const { customer } = logins();
  await signIn(page, customer);
  await page.goto('/orders');
  // Tab from the skip link through the header until the bell has focus.
  let focused = false;
  for (let i = 0; i < 15 && !focused; i++) {
    await page.keyboard.press('Tab');
    focused = await bell(page).evaluate((el) => el === document.activeElement);
  }
  expect(focused).toBe(true);
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { level: 1, name: 'Notifications' })).toBeVisible();
});
