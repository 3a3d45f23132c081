/**
 * The orders list and the order page, on real orders: composed in the browser, approved in the
 * approvals page and negotiated by the engine host with the reference providers that
 * `npm start` runs (Example Networks answers at once; Carrier B after CPNP_PARTNER_DELAY, 12 s).
 * One state only, the alarm, is written into the database: see that test.
 */
import { expect, test } from '@playwright/test';
import { NEGOTIATION, approveInUi, composeOrder, pageAs, uniqueTitle } from './support/flows';
import { CPD, expectAccessible, logins, placeOrder } from './support/portal';

/** A link both providers serve: Carrier B directly, Example Networks through its partner Carrier B. */
const OSLO = [{ id: 'ce-oslo', link: 'carrier-b:osl-1' }];

// Composing an order in the browser takes a few seconds on a loaded machine.
test.describe.configure({ timeout: 90_000 });

test('a customer sees its organisation’s orders only, with state in words and providers', async ({ browser }) => {
  const customer = await pageAs(browser, 'customer');
  const other = await pageAs(browser, 'otherCustomer');
  const mine = uniqueTitle('Mine');
  const theirs = uniqueTitle('Theirs');
  await composeOrder(customer, { title: mine });
  await composeOrder(other, { title: theirs });
  await customer.goto('/orders');
  const table = customer.getByRole('table', { name: /Orders/ });
  const row = table.getByRole('row').filter({ hasText: mine });
  await expect(row).toContainText('Awaiting approval');
  await expect(row).toContainText('Example Networks — Not sent yet');
  await expect(table.getByRole('row').filter({ hasText: theirs })).toHaveCount(0);
  await expect(customer.getByRole('navigation', { name: 'Pages' })).toContainText(/Page 1 of \d+ \(\d+ orders\)/);
  await expectAccessible(customer);
  // And the other way round.
  await other.goto('/orders');
  await expect(other.getByRole('row').filter({ hasText: theirs })).toContainText('Awaiting approval');
  await expect(other.getByRole('row').filter({ hasText: mine })).toHaveCount(0);
  await Promise.all([customer.context().close(), other.context().close()]);
});

test('another organisation’s order is “not found”, in the page and in the API', async ({ browser }) => {
  const customer = await pageAs(browser, 'customer');
  const title = uniqueTitle('Private');
  const id = await composeOrder(customer, { title });
  await customer.context().close();
  const page = await pageAs(browser, 'otherCustomer');
  await page.goto(`/orders/${id}`);
  await expect(page.getByRole('heading', { level: 1, name: 'Not found' })).toBeVisible();
  await expect(page.getByText(title)).toHaveCount(0);
  const api = await page.request.get(`/api/portal/orders/${id}`);
  expect(api.status()).toBe(404);
  const missing = await page.request.get('/api/portal/orders/does-not-exist');
  expect(await api.json()).toEqual(await missing.json());
  await expectAccessible(page);
  await page.context().close();
});

test('the API refuses anonymous reads', async ({ request }) => {
  expect((await request.get('/api/portal/orders')).status()).toBe(401);
});

test('offers from two providers side by side, with the clause diff in words; choosing one declines the other', async ({ browser }) => {
  const customer = await pageAs(browser, 'customer');
  const admin = await pageAs(browser, 'admin');
  const title = uniqueTitle('Two offers');
  // Within what Carrier B's Oslo pool holds for both orders (its own and Example Networks'
  // child order, RFC 8921 8.8): both offer the preferred values.
  const id = await composeOrder(customer, {
    title,
    providers: ['Example Networks', 'Carrier B'],
    sites: OSLO,
    capacity: { in: { min: '20', pref: '100', max: '200' }, out: { min: '20', pref: '50', max: '80' } },
  });
  await approveInUi(admin, title);
  await customer.goto(`/orders/${id}`);
  const example = customer.getByRole('region', { name: 'Offer from Example Networks' });
  const carrier = customer.getByRole('region', { name: 'Offer from Carrier B' });
  await expect(example).toBeVisible(NEGOTIATION);
  await expect(carrier).toBeVisible(NEGOTIATION);
  for (const [offer, provider] of [
    [example, 'Example Networks'],
    [carrier, 'Carrier B'],
  ] as const) {
    await expect(offer).toContainText('Overall: meets the request — 6 meet, 0 narrow, 0 miss, 0 extra.');
    const table = offer.getByRole('table', { name: `${provider}'s offer compared with the request` });
    await expect(table.getByRole('row', { name: /capacity › in Mbps/ }).getByRole('cell')).toHaveText(['20–200 (prefer 100)', '100', /Meets/]);
    await expect(table.getByRole('row', { name: /conformance › policing/ }).getByRole('cell')).toHaveText(['police', 'police', /Meets/]);
    await expect(offer.getByRole('button', { name: `Choose ${provider}'s offer` })).toBeVisible();
  }
  await expect(customer.getByText(/Offer valid until \d\d:\d\d:\d\d UTC, in \d+:\d\d/).first()).toBeVisible();
  await expectAccessible(customer);
  await customer.screenshot({ path: 'test-results/screens/order-offers.png', fullPage: true });
  await carrier.getByRole('button', { name: "Choose Carrier B's offer" }).click();
  await expect(customer.getByRole('article', { name: 'Carrier B' }).getByText('Status: Agreement in force')).toBeVisible(NEGOTIATION);
  await expect(customer.getByRole('article', { name: 'Example Networks' }).getByText('Status: Ended (offer declined)')).toBeVisible(NEGOTIATION);
  await Promise.all([customer.context().close(), admin.context().close()]);
});

test('staff read any organisation’s order, its offer included, without actions', async ({ browser }) => {
  const other = await pageAs(browser, 'otherCustomer');
  const admin = await pageAs(browser, 'admin');
  const title = uniqueTitle('Globex order');
  const id = await composeOrder(other, { title });
  await approveInUi(admin, title);
  // The customer can act on the offer...
  await other.goto(`/orders/${id}`);
  await expect(other.getByRole('region', { name: 'Offer from Example Networks' }).getByRole('button', { name: "Accept Example Networks's offer" })).toBeVisible(NEGOTIATION);
  // ...staff of another organisation read the same page without any action.
  const staff = await pageAs(browser, 'staff');
  await staff.goto(`/orders/${id}`);
  await expect(staff.getByRole('heading', { level: 1, name: title })).toBeVisible();
  await expect(staff.getByText('Globex Ltd · by Gus Globex')).toBeVisible();
  await expect(staff.getByRole('region', { name: 'Offer from Example Networks' })).toBeVisible();
  await expect(staff.getByText('Read-only view.')).toBeVisible();
  await expect(staff.getByRole('button', { name: /Accept|Choose|Decline|Cancel/ })).toHaveCount(0);
  await expect(staff.getByRole('link', { name: 'Clone order' })).toHaveCount(0);
  await expectAccessible(staff);
  await Promise.all([other.context().close(), admin.context().close(), staff.context().close()]);
});

test('an agreement with an alarm: the alarm is explained, and only agreement actions are offered', async ({ browser }) => {
  // An alarm needs a provider that stops answering in the middle of an agreement (here: an
  // ACTIVATE never confirmed); the reference providers always answer, so this order's rows are
  // written as the engine host writes them. The host never opened this negotiation itself, so
  // the activation the customer asks for is refused, and the page says so.
  const page = await pageAs(browser, 'customer');
  const order = await placeOrder(logins().customer.email, {
    state: 'Completed',
    negotiation: { clientState: 'Completed', agreed: true, alarm: 'activationUnanswered', agreementCpd: JSON.stringify(CPD) },
  });
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
  await expect(page.getByRole('status').filter({ hasText: 'Queued' })).toHaveText('Queued: the portal is sending it to the provider.');
  await expect(page.getByText('Activate was refused: nothing was sent to this provider yet')).toBeVisible();
  await page.context().close();
});

test('a provider asking for more time: the customer grants it and the offer follows', async ({ browser }) => {
  const customer = await pageAs(browser, 'customer');
  const admin = await pageAs(browser, 'admin');
  const title = uniqueTitle('More time');
  // Carrier B needs 12 s for an offer; asked to answer within 6 s it asks for more time.
  const id = await composeOrder(customer, { title, providers: ['Carrier B'], sites: OSLO, expectedResponseSeconds: 6 });
  await approveInUi(admin, title);
  await customer.goto(`/orders/${id}`);
  const card = customer.getByRole('article', { name: 'Carrier B' });
  await expect(card.getByText(/The provider asks for more time, until \d\d:\d\d:\d\d UTC, in \d+(:\d\d)+/)).toBeVisible(NEGOTIATION);
  await card.getByRole('button', { name: 'Grant more time' }).click();
  await expect(customer.getByRole('region', { name: 'Offer from Carrier B' })).toBeVisible(NEGOTIATION);
  await expect(card.getByText(/asks for more time/)).toHaveCount(0);
  await Promise.all([customer.context().close(), admin.context().close()]);
});
