import { expect, test } from '@playwright/test';
import { CPD, expectAccessible, logins, placeOrder, signIn } from './support/portal';

test('a customer sees its organisation’s orders only, with state in words and providers', async ({ page }) => {
  const { customer, otherCustomer } = logins();
  const mine = await placeOrder(customer.email);
  const theirs = await placeOrder(otherCustomer.email);
  await signIn(page, customer);
  const table = page.getByRole('table', { name: /Orders/ });
  const row = table.getByRole('row').filter({ hasText: mine.title });
  await expect(row).toContainText('Awaiting approval');
  await expect(row).toContainText('Example Networks');
  await expect(table.getByRole('row').filter({ hasText: theirs.title })).toHaveCount(0);
  await expect(page.getByRole('navigation', { name: 'Pages' })).toContainText(/Page 1 of \d+/);
  await expectAccessible(page);
});

test('another organisation’s order is “not found”, in the page and in the API', async ({ page }) => {
  const { customer, otherCustomer } = logins();
  const order = await placeOrder(customer.email);
  await signIn(page, otherCustomer);
  await page.goto(`/orders/${order.id}`);
  await expect(page.getByRole('heading', { level: 1, name: 'Not found' })).toBeVisible();
  await expect(page.getByText(order.title)).toHaveCount(0);
  const api = await page.request.get(`/api/portal/orders/${order.id}`);
  expect(api.status()).toBe(404);
  const missing = await page.request.get('/api/portal/orders/does-not-exist');
  expect(await api.json()).toEqual(await missing.json());
  await expectAccessible(page);
});

test('the API refuses anonymous reads', async ({ request }) => {
  expect((await request.get('/api/portal/orders')).status()).toBe(401);
});

test('offers from two providers side by side, with the clause diff in words; choosing one queues it', async ({ page }) => {
  const { customer } = logins();
  const narrower = structuredClone(CPD);
  narrower[0]!.capacity.inMbps = 80 as never;
  const missing = structuredClone(CPD);
  missing[0]!.capacity.inMbps = 20 as never;
  const order = await placeOrder(customer.email, {
    state: 'OfferReceived',
    providers: ['Example Networks', 'Carrier B'],
    offers: [
      { provider: 'Example Networks', cpd: narrower },
      { provider: 'Carrier B', cpd: missing },
    ],
  });
  await signIn(page, customer);
  await page.goto(`/orders/${order.id}`);
  await expect(page.getByRole('heading', { level: 1, name: order.title })).toBeVisible();
  await expect(page.getByText('Offer received').first()).toBeVisible();
  const example = page.getByRole('region', { name: 'Offer from Example Networks' });
  const carrier = page.getByRole('region', { name: 'Offer from Carrier B' });
  await expect(example.getByRole('row', { name: /capacity › in Mbps/ })).toContainText('Narrows');
  await expect(carrier.getByRole('row', { name: /capacity › in Mbps/ })).toContainText('Misses');
  await expect(example).toContainText('price 1200 EUR per month');
  await expect(page.getByText(/Offer valid until \d\d:\d\d:\d\d UTC, in \d+:\d\d/).first()).toBeVisible();
  await expectAccessible(page);
  await page.screenshot({ path: 'test-results/screens/order-offers.png', fullPage: true });
  await example.getByRole('button', { name: 'Choose Example Networks’s offer'.replace('’', "'") }).click();
  await expect(example.getByRole('status')).toHaveText('Queued: the portal is sending it to the provider.');
  // Queued; the real engine host may already have answered these test-made rows (refused), so
  // "the button is gone while the intent is pending" is not observable here any more (the rule
  // is covered by lib/portal/__tests__/queue.test.ts; e2e/negotiation.spec.ts runs the real flow).
  await expect(page.getByText(/On its way: Choose this offer|Choose this offer was refused/)).toBeVisible();
});

test('staff read any organisation’s order without actions', async ({ page }) => {
  const { staff, otherCustomer } = logins();
  const order = await placeOrder(otherCustomer.email, { state: 'OfferReceived', offers: [{ provider: 'Example Networks', cpd: CPD }] });
  await signIn(page, staff);
  await page.goto(`/orders/${order.id}`);
  await expect(page.getByRole('heading', { level: 1, name: order.title })).toBeVisible();
  await expect(page.getByText('Read-only view.')).toBeVisible();
  await expect(page.getByRole('button', { name: /Accept|Choose|Decline|Cancel/ })).toHaveCount(0);
  await expectAccessible(page);
});

test('an agreement with an alarm: the alarm is explained, and only agreement actions are offered', async ({ page }) => {
  const { customer } = logins();
  const order = await placeOrder(customer.email, {
    state: 'Completed',
    negotiation: { clientState: 'Completed', agreed: true, alarm: 'activationUnanswered', agreementCpd: JSON.stringify(CPD) },
  });
  await signIn(page, customer);
  await page.goto(`/orders/${order.id}`);
  const alarm = page.getByRole('alert').filter({ hasText: 'Alarm' });
  await expect(alarm).toContainText('Alarm: Activation unanswered');
  await expect(alarm).toContainText('Check with the provider');
  await expect(page.getByText('Agreement in force')).toBeVisible();
  await expect(page.getByRole('button', { name: /Accept|Choose|Decline/ })).toHaveCount(0);
  await expect(page.getByRole('link', { name: 'Update agreement…' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Withdraw agreement' })).toBeVisible();
  await expectAccessible(page);
  await page.screenshot({ path: 'test-results/screens/order-agreement-alarm.png', fullPage: true });
  await page.getByRole('button', { name: 'Activate now' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Queued' })).toBeVisible();
  await expect(page.getByText(/On its way: Activate|Activate was refused/)).toBeVisible();
});

test('a provider asking for more time: the customer grants it', async ({ page }) => {
  const { customer } = logins();
  const order = await placeOrder(customer.email, {
    state: 'Negotiating',
    negotiation: { clientState: 'ServerProcessing', moreTimeRequestedUntil: new Date(Date.now() + 7_200_000), expectedOfferAt: new Date(Date.now() + 7_200_000) },
  });
  await signIn(page, customer);
  await page.goto(`/orders/${order.id}`);
  await expect(page.getByText(/The provider asks for more time, until \d\d:\d\d:\d\d UTC, in \d+:\d\d:\d\d/)).toBeVisible();
  await page.getByRole('button', { name: 'Grant more time' }).click();
  await expect(page.getByText(/On its way: Grant more time|Grant more time was refused/)).toBeVisible();
});
