/**
 * Issue 10 item 4: provider-side administrative validation (RFC 8921 8.2, 12.2) seen and decided
 * from the portal. The real portal (`npm start`), the real reference provider Checkpoint Telecom
 * (QUOTATION under administrative validation) over DTLS, and its real admin endpoint: a
 * customer's order is held at the provider, the portal shows it waiting, staff approve (or
 * reject) it on /provider-queue, and the provider's answer arrives at the portal order by CPNP.
 * Web-first assertions only.
 */
import { expect, test, type Browser, type Page } from '@playwright/test';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { openPortalDb } from '../lib/portal/db/client';
import { DATA_DIR, expectAccessible, logins, signIn, type Login } from './support/portal';

const SHOTS = 'test-results/screens';
const PROVIDER = 'Checkpoint Telecom';
/** Approval → QUOTATION → PROCESSING, then an OFFER or FAIL after the decision: seconds, under load more. */
const CPNP = { timeout: 45_000 };

const CPD = [
  {
    component: 'rennes-nantes',
    nodes: [
      { id: 'ce-rennes', link: 'pe1:ge-0/0/7' },
      { id: 'ce-nantes', link: 'pe2:ge-0/0/8' },
    ],
    capacity: { inMbps: { min: 20, max: 80, pref: 50 }, outMbps: 50 },
    conformance: { policing: 'police', outOfProfile: 'drop' },
  },
];

async function as(browser: Browser, login: Login, viewport?: { width: number; height: number }): Promise<Page> {
  const context = await browser.newContext(viewport ? { viewport } : {});
  const page = await context.newPage();
  await signIn(page, login);
  return page;
}

/** A submitted order (Created) of the demo customer to Checkpoint Telecom, as the compose form stores it. */
async function submitOrder(title: string): Promise<string> {
  const db = openPortalDb(join(DATA_DIR, 'portal.db'));
  try {
    const author = await db.user.findUniqueOrThrow({ where: { email: logins().customer.email } });
    const provider = await db.provider.findUniqueOrThrow({ where: { name: PROVIDER } });
    const order = await db.order.create({
      data: {
        organisationId: author.organisationId,
        authorId: author.id,
        title,
        requestedCpd: JSON.stringify(CPD),
        options: JSON.stringify({}),
        expectedResponseSeconds: 600,
        selectionRule: 'manual',
        state: 'Created',
        submittedAt: new Date(),
        negotiations: { create: [{ providerId: provider.id, customerOrderId: `C-${randomBytes(8).toString('hex')}` }] },
        stateChanges: { create: { from: null, to: 'Created', cause: 'submitted', actor: `user:${author.id}` } },
      },
      select: { id: true },
    });
    return order.id;
  } finally {
    await db.$disconnect();
  }
}

/** The portal's own approval (8.11.1), so the QUOTATION goes out to the provider. */
async function approveInPortal(browser: Browser, title: string): Promise<void> {
  const admin = await as(browser, logins().admin);
  await admin.goto('/approvals');
  await admin.getByRole('button', { name: `Approve “${title}”` }).click();
  await expect(admin.getByRole('button', { name: `Approve “${title}”` })).toHaveCount(0);
  await admin.context().close();
}

/** The customer's order page, once the provider holds the order for its administrator. */
async function heldOrderPage(browser: Browser, orderId: string): Promise<Page> {
  const customer = await as(browser, logins().customer);
  await customer.goto(`/orders/${orderId}`);
  const card = customer.getByRole('article', { name: PROVIDER });
  await expect(card.getByText(`Held for ${PROVIDER}'s administrator`)).toBeVisible(CPNP);
  await expect(card.getByText('Status: Provider is processing')).toBeVisible();
  return customer;
}

const name = (what: string) => `${what} ${randomBytes(2).toString('hex')}`;

test('a held order is approved by staff on /provider-queue; the offer reaches the portal order', async ({ browser }) => {
  test.setTimeout(150_000);
  const title = name('Rennes – Nantes');
  const orderId = await submitOrder(title);
  await approveInPortal(browser, title);
  const customer = await heldOrderPage(browser, orderId);

  const staff = await as(browser, logins().staff);
  await staff.getByRole('link', { name: 'Provider validation' }).click();
  await expect(staff.getByRole('heading', { name: 'Provider validation', level: 1 })).toBeVisible();
  const section = staff.getByRole('region', { name: PROVIDER });
  const row = section.getByRole('row', { name: new RegExp(title) });
  await expect(row).toBeVisible(CPNP);
  await expect(row).toContainText('New order (QUOTATION)');
  await expect(row).toContainText('rennes-nantes · in 20–80 (prefer 50) / out 50 Mbit/s · pe1:ge-0/0/7, pe2:ge-0/0/8');
  // The other reference providers answer by themselves: nothing waits there.
  await expect(staff.getByRole('region', { name: 'Example Networks' }).getByText('Nothing is waiting for an administrator.')).toBeVisible();
  await row.getByRole('button', { name: 'Show the CPD' }).click(); // the full requested CPD, below the row
  await expect(section.getByRole('heading', { name: 'Component rennes-nantes' })).toBeVisible();
  await expect(row.getByRole('button', { name: 'Hide the CPD' })).toHaveAttribute('aria-expanded', 'true');
  await expectAccessible(staff);
  mkdirSync(SHOTS, { recursive: true });
  await staff.screenshot({ path: `${SHOTS}/provider-queue-desktop.png`, fullPage: true });

  // The same page on a phone, keyboard only: the Approve button is reachable and works.
  const phone = await as(browser, logins().staff, { width: 390, height: 844 });
  await phone.goto('/provider-queue');
  // On a phone each row is a card; it is still a table row for assistive technology.
  await expect(phone.getByRole('row', { name: new RegExp(title) })).toBeVisible(CPNP);
  const approve = phone.getByRole('button', { name: `Approve “${title}”` });
  const box = await approve.boundingBox();
  expect(box && box.x + box.width).toBeLessThanOrEqual(390);
  // Nothing wider than the phone.
  expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  await phone.screenshot({ path: `${SHOTS}/provider-queue-390.png`, fullPage: true });
  await approve.focus();
  await phone.keyboard.press('Enter');
  await expect(phone.getByRole('row', { name: new RegExp(title) })).toHaveCount(0, CPNP);
  await expect(section.getByRole('row', { name: new RegExp(title) })).toHaveCount(0, CPNP); // the desktop page polls too

  // The provider made its offer; the portal order shows it without a reload, and who approved it.
  await expect(customer.getByRole('region', { name: `Offer from ${PROVIDER}` })).toBeVisible(CPNP);
  await expect(customer.getByText(`Held for ${PROVIDER}'s administrator`)).toHaveCount(0);
  await expect(customer.getByText(`${PROVIDER}'s administrator approved the order — by Sam Staff`)).toBeVisible();
  await customer.screenshot({ path: `${SHOTS}/provider-queue-order-offer.png`, fullPage: true });
});

test('a held order rejected by staff with a status code and a reason ends with FAIL at the portal', async ({ browser }) => {
  test.setTimeout(150_000);
  const title = name('Rejected at provider');
  const orderId = await submitOrder(title);
  await approveInPortal(browser, title);
  const customer = await heldOrderPage(browser, orderId);
  await customer.screenshot({ path: `${SHOTS}/provider-queue-order-held.png`, fullPage: true });

  const staff = await as(browser, logins().admin);
  await staff.goto('/provider-queue');
  await staff.getByRole('button', { name: `Reject… “${title}”` }).click(CPNP);
  const form = staff.getByRole('form', { name: `Reject “${title}”` });
  await form.getByLabel('FAIL status code sent to the customer').selectOption('5');
  await form.getByLabel(/^Reason/).fill('No spare capacity between Rennes and Nantes');
  await expectAccessible(staff);
  await staff.screenshot({ path: `${SHOTS}/provider-queue-reject.png`, fullPage: true });
  await form.getByRole('button', { name: 'Reject order' }).click();
  await expect(staff.getByRole('row', { name: new RegExp(title) })).toHaveCount(0, CPNP);

  const card = customer.getByRole('article', { name: PROVIDER });
  await expect(card.getByText('Status: Ended (the provider could not honour the order)')).toBeVisible(CPNP);
  await expect(customer.getByText(`${PROVIDER}'s administrator rejected the order (FAIL 5): No spare capacity between Rennes and Nantes — by Ada Admin`)).toBeVisible();
});

test('customers neither see nor open the provider validation page', async ({ page }) => {
  await signIn(page, logins().customer);
  await expect(page.getByRole('navigation', { name: 'Portal' }).getByRole('link', { name: 'Provider validation' })).toHaveCount(0);
  await page.goto('/provider-queue');
  await expect(page.getByRole('heading', { name: 'Not available' })).toBeVisible();
  await expect(page.getByText(PROVIDER)).toHaveCount(0);
});
