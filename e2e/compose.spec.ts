import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Locator, type Page } from '@playwright/test';
import { openPortalDb } from '../lib/portal/db/client';
import { NEGOTIATION, approveInUi, composeOrder, pageAs, uniqueTitle } from './support/flows';
import { DATA_DIR } from './support/portal';

// Issue 9 item 3: a customer composes a multi-site CPD with ranges, meets a validation error on
// the right field with nothing lost, fixes it and submits; the page passes an axe check.
// Runs against `npm start` (playwright.config.ts): the real portal, its database and demo seed.

const SHOTS = 'test-results/screenshots';

interface Login {
  email: string;
  password: string;
}

/** The demo logins scripts/start.mjs seeds and keeps in the e2e data folder. */
function customerLogin(): Login {
  const file = join('test-results/e2e-data/dev/portal-logins.json');
  const logins = JSON.parse(readFileSync(file, 'utf8')) as (Login & { role: string; organisation: string })[];
  const login = logins.find((l) => l.role === 'customer' && l.organisation === 'Acme Corp');
  if (!login) throw new Error(`no Acme customer login in ${file}`);
  return login;
}

async function signInTo(page: Page, path: string): Promise<void> {
  const { email, password } = customerLogin();
  await page.goto(`/sign-in?next=${encodeURIComponent(path)}`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Compose an order' })).toBeVisible();
}

async function expectNoSeriousA11yViolations(page: Page): Promise<void> {
  const results = await new AxeBuilder({ page }).analyze();
  const serious = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(serious.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);
}

/** A Num field: its fieldset is a group named by its legend, e.g. "Inbound (Mbit/s)". */
async function setRange(group: Locator, values: { min?: string; pref?: string; max?: string }): Promise<void> {
  await group.getByText('Range', { exact: true }).click();
  for (const [key, label] of [
    ['min', 'Minimum'],
    ['pref', 'Preferred'],
    ['max', 'Maximum'],
  ] as const) {
    const value = values[key];
    if (value === undefined) continue;
    const input = group.getByLabel(label, { exact: true });
    await input.fill(value);
    await input.press('Tab');
  }
}

async function setFixed(group: Locator, value: string): Promise<void> {
  const input = group.getByLabel('Value', { exact: true });
  await input.fill(value);
  await input.press('Tab');
}

test('a customer composes a multi-site CPD with ranges, fixes a validation error and submits it', async ({ page }) => {
  // A long walk through the whole form (two page loads, two axe runs): more than the default 30 s.
  test.setTimeout(90_000);
  await signInTo(page, '/orders/new');
  await expectNoSeriousA11yViolations(page);
  await page.screenshot({ path: `${SHOTS}/compose-top.png` });

  // Order and providers.
  await page.getByLabel('Title', { exact: true }).fill('Rennes – Volos backbone');
  await page.getByRole('checkbox', { name: /Example Networks/ }).check();

  // Two sites.
  const sites = page.getByRole('group', { name: 'Sites' });
  await sites.getByLabel('Node id').fill('ce-rennes');
  await sites.getByLabel('Border link').fill('pe1:xe-1/0/0');
  await sites.getByLabel('Location').selectOption('text');
  await sites.getByLabel('Place name').fill('Rennes');
  await sites.getByRole('button', { name: '+ Add a site' }).click();
  const site2 = page.getByRole('group', { name: 'Site 2' });
  await site2.getByLabel('Node id').fill('ce-volos');
  await site2.getByLabel('Border link').fill('pe7:xe-2/0/0');
  await site2.getByLabel('Location').selectOption('geo');
  await site2.getByLabel('Latitude').fill('39.36');
  await site2.getByLabel('Latitude').press('Tab');
  await site2.getByLabel('Longitude').fill('22.94');
  await site2.getByLabel('Longitude').press('Tab');

  // Scope: restricted, point to point, both directions.
  const scope = page.getByRole('group', { name: 'Scope', exact: true });
  await scope.getByLabel('State the scope').check();
  await scope.getByRole('checkbox', { name: /^Restricted/ }).check();
  await scope.getByRole('checkbox', { name: /^1:1/ }).check();
  await scope.getByLabel('Outbound destinations').fill('ce-volos');
  await scope.getByLabel('Inbound sources').fill('ce-volos\n198.51.100.0/24');

  // Quantitative QoS with ranges, measured between the two sites.
  const qos = page.getByRole('group', { name: 'QoS guarantees' });
  await qos.getByLabel(/^Quantitative/).check();
  await setRange(qos.getByRole('group', { name: 'One-way delay (ms)' }), { max: '30', pref: '20' });
  await setFixed(qos.getByRole('group', { name: 'Jitter (ms)' }), '5');
  await qos.getByLabel('Statistic (optional)').selectOption('p95');
  const from = qos.getByRole('combobox', { name: 'Measured from (optional)' });
  await from.fill('ce-ren');
  await page.getByRole('option', { name: 'ce-rennes' }).click();
  await expect(from).toHaveValue('ce-rennes');
  const to = qos.getByRole('combobox', { name: 'Measured to (optional)' });
  await to.fill('ce-volos');
  await to.press('Escape');

  // Availability and capacity as ranges with a preferred value; conformance.
  const availability = page.getByRole('group', { name: 'Availability', exact: true });
  await availability.getByLabel('State an availability').check();
  await setRange(availability.getByRole('group', { name: 'Availability (%)' }), { min: '99.9', pref: '99.99' });
  const capacity = page.getByRole('group', { name: 'Capacity & conformance' });
  await capacity.getByLabel('State a capacity').check();
  const inbound = capacity.getByRole('group', { name: 'Inbound (Mbit/s)' });
  // A preferred value below the minimum: the mistake this test makes on purpose.
  await setRange(inbound, { min: '80', pref: '60' });
  await setRange(capacity.getByRole('group', { name: 'Outbound (Mbit/s)' }), { min: '80', pref: '100' });
  await capacity.getByLabel(/State conformance rules/).check();
  await capacity.getByRole('checkbox', { name: /^Police/ }).check();
  await capacity.getByRole('checkbox', { name: 'Drop', exact: true }).check();

  // The inline error is on the field, in words.
  const inboundPref = inbound.getByLabel('Preferred', { exact: true });
  await expect(inbound.getByText('The preferred value is below the minimum (80)')).toBeVisible();
  await expect(inboundPref).toHaveAttribute('aria-invalid', 'true');
  await qos.evaluate((el) => el.scrollIntoView({ block: 'start' }));
  await page.screenshot({ path: `${SHOTS}/compose-middle.png` });
  await inbound.screenshot({ path: `${SHOTS}/compose-field-error.png` });

  // Submitting shows the summary; its link leads to the field; nothing typed is lost.
  await page.getByRole('button', { name: 'Submit for approval' }).click();
  const summary = page.getByRole('alert').filter({ hasText: 'problem' });
  await expect(summary).toBeVisible();
  await expect(summary).toBeFocused();
  await expect(summary.getByRole('link', { name: /Profile 1 › Capacity › Inbound, preferred value: The preferred value is below the minimum/ })).toBeVisible();
  await page.screenshot({ path: `${SHOTS}/compose-errors.png` });
  await expectNoSeriousA11yViolations(page);
  await summary.getByRole('link', { name: /Capacity › Inbound/ }).click();
  await expect(inboundPref).toBeFocused();
  await expect(page).toHaveURL(/\/orders\/new$/);
  await expect(page.getByLabel('Title', { exact: true })).toHaveValue('Rennes – Volos backbone');
  await expect(sites.getByLabel('Node id').first()).toHaveValue('ce-rennes');
  await expect(site2.getByLabel('Longitude')).toHaveValue('22.94');
  await expect(scope.getByLabel('Inbound sources')).toHaveValue('ce-volos\n198.51.100.0/24');
  await expect(qos.getByRole('group', { name: 'One-way delay (ms)' }).getByLabel('Maximum', { exact: true })).toHaveValue('30');
  await expect(availability.getByLabel('Preferred', { exact: true })).toHaveValue('99.99');
  await expect(inbound.getByLabel('Minimum', { exact: true })).toHaveValue('80');
  await expect(inboundPref).toHaveValue('60');

  // Fixing it clears the error as the value changes.
  await inboundPref.fill('100');
  await inboundPref.press('Tab');
  await expect(inbound.getByText('The preferred value is below the minimum (80)')).toHaveCount(0);
  await expect(summary).toBeHidden();

  await page.getByRole('button', { name: 'Submit for approval' }).click();
  await expect(page).toHaveURL(/\/orders\/(?!new)[^/?]+$/, { timeout: 20_000 });
  await expect(page.getByRole('heading', { level: 1, name: 'Rennes – Volos backbone' })).toBeVisible();
  await expect(page.getByText('Waiting for an administrator to approve the order')).toBeVisible();

  // What was stored is what was typed: a copy of the order comes back with every value.
  const orderId = new URL(page.url()).pathname.split('/').pop() ?? '';
  await page.goto(`/orders/new?clone=${encodeURIComponent(orderId)}`);
  await expect(page.getByLabel('Title', { exact: true })).toHaveValue('Copy of Rennes – Volos backbone');
  await expect(page.getByRole('checkbox', { name: /Example Networks/ })).toBeChecked();
  await expect(page.getByRole('group', { name: 'Site 1' }).getByLabel('Place name')).toHaveValue('Rennes');
  await expect(page.getByRole('group', { name: 'Site 2' }).getByLabel('Latitude')).toHaveValue('39.36');
  await expect(scope.getByRole('checkbox', { name: /^Restricted/ })).toBeChecked();
  await expect(scope.getByLabel('Inbound sources')).toHaveValue('ce-volos\n198.51.100.0/24');
  await expect(qos.getByRole('group', { name: 'One-way delay (ms)' }).getByLabel('Preferred', { exact: true })).toHaveValue('20');
  await expect(qos.getByRole('combobox', { name: 'Measured to (optional)' })).toHaveValue('ce-volos');
  await expect(availability.getByLabel('Minimum', { exact: true })).toHaveValue('99.9');
  await expect(inbound.getByLabel('Preferred', { exact: true })).toHaveValue('100');
  await expect(capacity.getByRole('checkbox', { name: 'Drop', exact: true })).toBeChecked();
});

test('a saved draft reopens with everything as typed, and the RFC 7297 3.3 QoS choice is exclusive', async ({ page }) => {
  await signInTo(page, '/orders/new');
  await page.getByLabel('Title', { exact: true }).fill('Draft with a qualitative class');
  await page.getByRole('checkbox', { name: /Example Networks/ }).check();
  await page.getByRole('checkbox', { name: /Carrier B/ }).check();
  await page.getByLabel('Cheapest offer that meets every bound').check();
  // A test order with its period end, typed into the date picker's segments.
  await page.getByLabel('Test (trial period)').check();
  const testUntil = page.getByRole('group', { name: 'Test period ends (UTC)' });
  await testUntil.getByRole('spinbutton').first().click();
  await page.keyboard.type('01312027');
  await page.keyboard.type('1830');
  await expect(page.locator('input[type=hidden][name="options.testUntil"]')).toHaveValue('2027-01-31T18:30:00');
  const sites = page.getByRole('group', { name: 'Sites' });
  await sites.getByLabel('Node id').fill('ce-a');
  await sites.getByLabel('Border link').fill('pe1:ge-0/0/1');

  const qos = page.getByRole('group', { name: 'QoS guarantees' });
  await qos.getByLabel(/^Quantitative/).check();
  await setFixed(qos.getByRole('group', { name: 'One-way delay (ms)' }), '25');
  // Switching to qualitative hides the figures: they are not posted, so the CPD cannot mix both.
  await qos.getByLabel(/^Qualitative/).check();
  await expect(qos.getByRole('group', { name: 'One-way delay (ms)' })).toBeHidden();
  await qos.getByRole('checkbox', { name: 'Medium', exact: true }).check();
  await qos.getByRole('checkbox', { name: 'High', exact: true }).check();

  await page.getByRole('button', { name: 'Save draft' }).click();
  await expect(page).toHaveURL(/\/orders\/(?!new)[^/?]+$/, { timeout: 20_000 });
  const orderUrl = new URL(page.url());
  const orderId = orderUrl.pathname.split('/').pop() ?? '';

  await page.goto(`/orders/new?draft=${encodeURIComponent(orderId)}`);
  await expect(page.getByRole('heading', { level: 1, name: 'Edit draft order' })).toBeVisible();
  await expect(page.getByLabel('Title', { exact: true })).toHaveValue('Draft with a qualitative class');
  await expect(page.getByRole('checkbox', { name: /Carrier B/ })).toBeChecked();
  await expect(page.getByLabel('Cheapest offer that meets every bound')).toBeChecked();
  await expect(page.getByLabel('Test (trial period)')).toBeChecked();
  await expect(page.locator('input[type=hidden][name="options.testUntil"]')).toHaveValue('2027-01-31T18:30:00');
  await expect(qos.getByLabel(/^Qualitative/)).toBeChecked();
  await expect(qos.getByRole('checkbox', { name: 'Medium', exact: true })).toBeChecked();
  await expect(qos.getByRole('checkbox', { name: 'High', exact: true })).toBeChecked();
  await expect(qos.getByRole('checkbox', { name: 'Low', exact: true })).not.toBeChecked();
  await expectNoSeriousA11yViolations(page);
});

test('an unfinished order can be saved as a draft; submitting it lists what is missing', async ({ page }) => {
  await signInTo(page, '/orders/new');
  await page.getByLabel('Title', { exact: true }).fill('Only a title so far');
  await page.getByRole('checkbox', { name: /Example Networks/ }).check();
  await page.getByRole('button', { name: 'Submit for approval' }).click();
  const summary = page.getByRole('alert').filter({ hasText: 'problem' });
  await expect(summary.getByRole('link', { name: /Profile 1 › Site 1 › Node id/ })).toBeVisible();
  await expect(summary.getByRole('link', { name: /Profile 1 › Site 1 › Border link/ })).toBeVisible();
  await page.getByRole('button', { name: 'Save draft' }).click();
  await expect(page).toHaveURL(/\/orders\/(?!new)[^/?]+$/, { timeout: 20_000 });
  await expect(page.getByRole('heading', { level: 1, name: 'Only a title so far' })).toBeVisible();
});

test('an error only the server can find comes back on the form with nothing lost', async ({ page }) => {
  await signInTo(page, '/orders/new');
  await page.getByLabel('Title', { exact: true }).fill('Copy of a vanished order');
  await page.getByRole('checkbox', { name: /Example Networks/ }).check();
  const sites = page.getByRole('group', { name: 'Sites' });
  await sites.getByLabel('Node id').fill('ce-a');
  await sites.getByLabel('Border link').fill('pe1:ge-0/0/1');
  const availability = page.getByRole('group', { name: 'Availability', exact: true });
  await availability.getByLabel('State an availability').check();
  await setRange(availability.getByRole('group', { name: 'Availability (%)' }), { min: '99.5', pref: '99.9' });
  // As if the order being copied was deleted after the page loaded: only the service can tell.
  await page.locator('form#compose').evaluate((form) => {
    const input = document.createElement('input');
    Object.assign(input, { type: 'hidden', name: 'clonedFrom', value: 'no-such-order' });
    form.appendChild(input);
  });
  await page.getByRole('button', { name: 'Submit for approval' }).click();
  const summary = page.getByRole('alert').filter({ hasText: 'problem' });
  await expect(summary).toContainText('The order to clone was not found.');
  await expect(summary).toBeFocused();
  await expect(page).toHaveURL(/\/orders\/new$/);
  await expect(page.getByLabel('Title', { exact: true })).toHaveValue('Copy of a vanished order');
  await expect(page.getByRole('checkbox', { name: /Example Networks/ })).toBeChecked();
  await expect(sites.getByLabel('Border link')).toHaveValue('pe1:ge-0/0/1');
  await expect(availability.getByLabel('Preferred', { exact: true })).toHaveValue('99.9');
  await expectNoSeriousA11yViolations(page);
});

test('updating an agreement starts from the agreed CPD and sends an UPDATE the provider answers', async ({ browser }) => {
  // A real agreement: composed, approved in the approvals page, offered by Example Networks and accepted.
  test.setTimeout(120_000);
  const customer = await pageAs(browser, 'customer');
  const admin = await pageAs(browser, 'admin');
  const title = uniqueTitle('Agreement to update');
  const orderId = await composeOrder(customer, { title });
  await approveInUi(admin, title);
  await admin.context().close();
  await customer.reload();
  const offer = customer.getByRole('region', { name: 'Offer from Example Networks' });
  await offer.getByRole('button', { name: "Accept Example Networks's offer" }).click(NEGOTIATION);
  const card = customer.getByRole('article', { name: 'Example Networks' });
  await expect(card.getByText('Status: Agreement in force')).toBeVisible(NEGOTIATION);

  await card.getByRole('link', { name: 'Update agreement…' }).click();
  await expect(customer.getByRole('heading', { level: 1, name: 'Update the agreement' })).toBeVisible();
  // Only the CPD is edited: no order or provider fields.
  await expect(customer.getByLabel('Title', { exact: true })).toHaveCount(0);
  const capacity = customer.getByRole('group', { name: 'Capacity & conformance' });
  const inbound = capacity.getByRole('group', { name: 'Inbound (Mbit/s)' });
  // The agreed CPD, not the requested range: the provider agreed to the preferred 50.
  await expect(inbound.getByLabel('Value', { exact: true })).toHaveValue('50');
  await expectNoSeriousA11yViolations(customer);
  await setRange(inbound, { min: '60', pref: '70', max: '90' });
  await customer.getByRole('button', { name: 'Send the update to Example Networks' }).click();
  await expect(customer).toHaveURL(new RegExp(`/orders/${orderId}$`), { timeout: 20_000 });
  // The provider answers the UPDATE with an offer of a new cycle for the edited CPD.
  const update = customer.getByRole('region', { name: 'Offer from Example Networks' });
  await expect(update.getByText(/Offer \(cycle 1\)/)).toBeVisible(NEGOTIATION);
  // Its diff compares the offer with the UPDATE's CPD (60–90, prefer 70), not the original request.
  const diff = update.getByRole('table', { name: "Example Networks's offer compared with your update request" });
  const inRow = diff.getByRole('row', { name: /capacity › in Mbps/ });
  await expect(inRow.getByRole('cell').nth(0)).toContainText('prefer 70');
  await expect(inRow.getByRole('cell').nth(1)).toHaveText('70');
  await expect(inRow.getByRole('cell').nth(2)).toContainText('Meets');
  // The UPDATE carried the edited CPD (read from the portal's intent queue).
  const db = openPortalDb(join(DATA_DIR, 'portal.db'));
  try {
    const intent = await db.intent.findFirstOrThrow({ where: { orderId, kind: 'update' } });
    expect(intent.status).toBe('done');
    const payload = JSON.parse(intent.payload) as { cpd: { capacity: unknown }[] };
    expect(payload.cpd[0]?.capacity).toEqual({ inMbps: { min: 60, pref: 70, max: 90 }, outMbps: 50 });
  } finally {
    await db.$disconnect();
  }
  await customer.context().close();
});
