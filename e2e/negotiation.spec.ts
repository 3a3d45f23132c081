/**
 * Issue 9, the order lifecycle end to end: the real portal (`npm start`: next start with the
 * engine host inside) and the two real reference Providers over DTLS (Example Networks and
 * Carrier B, which takes CPNP_PARTNER_DELAY = 12 s to make an offer). No fake rows: every state
 * shown here was reached by CPNP messages. Web-first assertions only; the long timeouts are the
 * providers' real decision times.
 */
import { expect, test, type Browser, type Page } from '@playwright/test';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { openPortalDb } from '../lib/portal/db/client';
import { DATA_DIR, expectAccessible, logins, signIn, type Login } from './support/portal';

const SHOTS = 'test-results/screenshots';
/** An offer from Carrier B takes 12 s; one through Example Networks' cascade a little more. */
const NEGOTIATION = { timeout: 45_000 };

async function as(browser: Browser, login: Login): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, login);
  return page;
}

/** The admin approves `title` in the approvals queue (RFC 8921 8.11.1). */
async function approve(browser: Browser, title: string): Promise<void> {
  const admin = await as(browser, logins().admin);
  await admin.goto('/approvals');
  await admin.getByRole('button', { name: `Approve “${title}”` }).click();
  await expect(admin.getByRole('button', { name: `Approve “${title}”` })).toHaveCount(0);
  await admin.context().close();
}

/**
 * A submitted order (Created) of the demo customer, as the compose form stores it (the first
 * test goes through the form itself; the others start from here to keep to what they test).
 */
async function submitOrder(opts: { title: string; providers: string[]; cpd: unknown[]; options?: Record<string, unknown>; expectedResponseSeconds?: number; selectionRule?: string }): Promise<string> {
  const db = openPortalDb(join(DATA_DIR, 'portal.db'));
  try {
    const author = await db.user.findUniqueOrThrow({ where: { email: logins().customer.email } });
    const providers = await db.provider.findMany({ where: { name: { in: opts.providers } } });
    const order = await db.order.create({
      data: {
        organisationId: author.organisationId,
        authorId: author.id,
        title: opts.title,
        requestedCpd: JSON.stringify(opts.cpd),
        options: JSON.stringify(opts.options ?? {}),
        expectedResponseSeconds: opts.expectedResponseSeconds ?? 120,
        selectionRule: opts.selectionRule ?? 'manual',
        state: 'Created',
        submittedAt: new Date(),
        negotiations: { create: providers.map((p) => ({ providerId: p.id, customerOrderId: `C-${randomBytes(8).toString('hex')}` })) },
        stateChanges: { create: { from: null, to: 'Created', cause: 'submitted', actor: `user:${author.id}` } },
      },
      select: { id: true },
    });
    return order.id;
  } finally {
    await db.$disconnect();
  }
}

const EXAMPLE_CPD = [
  {
    nodes: [
      { id: 'ce-nantes', link: 'pe1:ge-0/0/1' },
      { id: 'ce-brest', link: 'pe2:ge-0/0/2' },
    ],
    capacity: { inMbps: { min: 20, max: 80, pref: 50 }, outMbps: 50 },
    conformance: { policing: 'police', outOfProfile: 'drop' },
  },
];
/** Links both providers serve: Carrier B directly, Example Networks through its partner Carrier B. */
const NORDIC_CPD = [
  {
    nodes: [{ id: 'ce-oslo', link: 'carrier-b:osl-1' }],
    capacity: { inMbps: 20, outMbps: 20 },
    conformance: { policing: 'police', outOfProfile: 'drop' },
  },
];

const title = (what: string) => `${what} ${randomBytes(2).toString('hex')}`;
const status = (page: Page, provider: string) => page.getByRole('article', { name: provider });


test('compose → approve → offer with its counterproposal → accept → update → scheduled activation → withdraw', async ({ browser }) => {
  test.setTimeout(240_000);
  const name = title('Nantes – Brest');
  const customer = await as(browser, logins().customer);

  // The customer composes a multi-site CPD with ranges.
  await customer.goto('/orders/new');
  await customer.getByLabel('Title', { exact: true }).fill(name);
  await customer.getByRole('checkbox', { name: /Example Networks/ }).check();
  const sites = customer.getByRole('group', { name: 'Sites' });
  await sites.getByLabel('Node id').fill('ce-nantes');
  await sites.getByLabel('Border link').fill('pe8:xe-1/0/0');
  await sites.getByRole('button', { name: '+ Add a site' }).click();
  const site2 = customer.getByRole('group', { name: 'Site 2' });
  await site2.getByLabel('Node id').fill('ce-brest');
  await site2.getByLabel('Border link').fill('pe9:xe-2/0/0');
  await customer.getByLabel(/^Scheduled \(switched on and off/).check();
  const capacity = customer.getByRole('group', { name: 'Capacity & conformance' });
  await capacity.getByLabel('State a capacity').check();
  for (const [group, values] of [
    // More than the provider's shared pool (1,000 Mbit/s) prefers: it counter-proposes less.
    ['Inbound (Mbit/s)', { min: '20', pref: '1500', max: '2000' }],
    ['Outbound (Mbit/s)', { min: '20', pref: '50', max: '80' }],
  ] as const) {
    const g = capacity.getByRole('group', { name: group });
    await g.getByText('Range', { exact: true }).click();
    for (const [key, label] of [
      ['min', 'Minimum'],
      ['pref', 'Preferred'],
      ['max', 'Maximum'],
    ] as const) {
      await g.getByLabel(label, { exact: true }).fill(values[key]);
      await g.getByLabel(label, { exact: true }).press('Tab');
    }
  }
  await capacity.getByLabel(/State conformance rules/).check();
  await capacity.getByRole('checkbox', { name: /^Police/ }).check();
  await capacity.getByRole('checkbox', { name: 'Drop', exact: true }).check();
  await customer.getByRole('button', { name: 'Submit for approval' }).click();
  await expect(customer).toHaveURL(/\/orders\/(?!new)[^/?]+$/, { timeout: 20_000 });
  await expect(customer.getByText('Waiting for an administrator to approve the order')).toBeVisible();

  // The admin approves; the portal sends the QUOTATION and the offer appears without a reload.
  await approve(browser, name);
  const offer = customer.getByRole('region', { name: 'Offer from Example Networks' });
  await expect(offer).toBeVisible(NEGOTIATION);
  // The provider's counterproposal: a fixed capacity inside the requested range, in words.
  await expect(offer.getByText(/is within 20–2000 .*but not the preferred 1500|not the preferred 1500/).first()).toBeVisible();
  await expect(status(customer, 'Example Networks').getByText(/Offer valid until/)).toBeVisible();
  await customer.screenshot({ path: `${SHOTS}/negotiation-offer.png`, fullPage: true });
  await expectAccessible(customer);

  await offer.getByRole('button', { name: "Accept Example Networks's offer" }).click();
  const card = status(customer, 'Example Networks');
  await expect(card.getByText('Status: Agreement in force', { exact: false })).toBeVisible(NEGOTIATION);
  await expect(customer.getByRole('heading', { level: 1, name })).toBeVisible();
  await expect(card.getByText(/service not active/)).toBeVisible();
  await customer.screenshot({ path: `${SHOTS}/negotiation-completed.png`, fullPage: true });

  // Update: a new cycle with an edited CPD, then its offer accepted.
  await card.getByRole('link', { name: 'Update agreement…' }).click();
  await expect(customer.getByRole('heading', { level: 1, name: 'Update the agreement' })).toBeVisible();
  const inbound = customer.getByRole('group', { name: 'Capacity & conformance' }).getByRole('group', { name: 'Inbound (Mbit/s)' });
  await inbound.getByText('Range', { exact: true }).click();
  await inbound.getByLabel('Minimum', { exact: true }).fill('60');
  await inbound.getByLabel('Minimum', { exact: true }).press('Tab');
  await inbound.getByLabel('Preferred', { exact: true }).fill('70');
  await inbound.getByLabel('Preferred', { exact: true }).press('Tab');
  await inbound.getByLabel('Maximum', { exact: true }).fill('90');
  await inbound.getByLabel('Maximum', { exact: true }).press('Tab');
  await customer.getByRole('button', { name: 'Send the update to Example Networks' }).click();
  await expect(customer).toHaveURL(/\/orders\/(?!new)[^/?]+$/, { timeout: 20_000 });
  const updateOffer = customer.getByRole('region', { name: 'Offer from Example Networks' });
  await expect(updateOffer.getByText(/Offer \(cycle 1\)/)).toBeVisible(NEGOTIATION);
  await updateOffer.getByRole('button', { name: "Accept Example Networks's offer" }).click();
  await expect(customer.getByRole('region', { name: 'Offer from Example Networks' })).toHaveCount(0, NEGOTIATION);
  await expect(card.getByText('Status: Agreement in force', { exact: false })).toBeVisible(NEGOTIATION);

  // Scheduled activation (9.2.11): the provider confirms the schedule.
  const at = new Date(Date.now() + 3_600_000);
  const local = new Date(at.getTime() - at.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
  await card.getByLabel('Activate at (empty: now)').fill(local);
  await card.getByRole('button', { name: 'Schedule activation' }).click();
  const timeline = customer.getByRole('region', { name: 'History' });
  await expect(timeline.getByText(/service scheduled for/)).toBeVisible(NEGOTIATION);

  // Withdraw: the agreement ends.
  customer.once('dialog', (dialog) => void dialog.accept());
  await card.getByRole('button', { name: 'Withdraw agreement' }).click();
  await expect(card.getByText(/withdrawn/i).first()).toBeVisible(NEGOTIATION);
  await expect(customer.getByText('Withdrawn').first()).toBeVisible();
  await customer.screenshot({ path: `${SHOTS}/negotiation-withdrawn.png`, fullPage: true });
  await expectAccessible(customer);
});

test('parallel negotiation with both providers: one offer chosen, the other declined with reason 2', async ({ browser }) => {
  test.setTimeout(180_000);
  const name = title('Oslo parallel');
  const orderId = await submitOrder({ title: name, providers: ['Example Networks', 'Carrier B'], cpd: NORDIC_CPD, expectedResponseSeconds: 120 });
  await approve(browser, name);
  const customer = await as(browser, logins().customer);
  await customer.goto(`/orders/${orderId}`);
  await expect(customer.getByText(/Offer expected by|Response expected by/).first()).toBeVisible(NEGOTIATION);
  await customer.screenshot({ path: `${SHOTS}/negotiation-waiting.png`, fullPage: true });
  const fromB = customer.getByRole('region', { name: 'Offer from Carrier B' });
  const fromExample = customer.getByRole('region', { name: 'Offer from Example Networks' });
  await expect(fromB).toBeVisible(NEGOTIATION);
  await expect(fromExample).toBeVisible(NEGOTIATION);
  await customer.screenshot({ path: `${SHOTS}/negotiation-parallel-offers.png`, fullPage: true });
  await expectAccessible(customer);
  await fromB.getByRole('button', { name: "Choose Carrier B's offer" }).click();
  await expect(status(customer, 'Carrier B').getByText('Status: Agreement in force', { exact: false })).toBeVisible(NEGOTIATION);
  await expect(status(customer, 'Example Networks').getByText('Status: Ended (offer declined)')).toBeVisible(NEGOTIATION);
  const db = openPortalDb(join(DATA_DIR, 'portal.db'));
  try {
    const declined = await db.offer.findFirstOrThrow({ where: { negotiation: { orderId, provider: { name: 'Example Networks' } } } });
    expect(declined.decision).toBe('declined');
    expect(JSON.parse(declined.declineReasons ?? '[]')).toEqual([2]);
  } finally {
    await db.$disconnect();
  }
});

test('a declined offer, with reasons', async ({ browser }) => {
  test.setTimeout(120_000);
  const name = title('Decline');
  const orderId = await submitOrder({ title: name, providers: ['Example Networks'], cpd: EXAMPLE_CPD });
  await approve(browser, name);
  const customer = await as(browser, logins().customer);
  await customer.goto(`/orders/${orderId}`);
  const offer = customer.getByRole('region', { name: 'Offer from Example Networks' });
  await expect(offer).toBeVisible(NEGOTIATION);
  await offer.getByRole('button', { name: 'Decline…' }).click();
  await offer.getByRole('checkbox').nth(2).check();
  await offer.getByRole('button', { name: 'Decline offer' }).click();
  await expect(status(customer, 'Example Networks').getByText('Status: Ended (offer declined)')).toBeVisible(NEGOTIATION);
  await expect(customer.getByText('Cancelled').first()).toBeVisible();
});

test('a more-time request granted; then an order cancelled because the response time passed', async ({ browser }) => {
  test.setTimeout(150_000);
  // Carrier B needs 12 s; asking for an answer within 6 s makes its PROCESSING a request for more time.
  const granted = title('More time');
  const grantedId = await submitOrder({ title: granted, providers: ['Carrier B'], cpd: NORDIC_CPD, expectedResponseSeconds: 6 });
  const lapsed = title('Too slow');
  const lapsedId = await submitOrder({ title: lapsed, providers: ['Carrier B'], cpd: NORDIC_CPD, expectedResponseSeconds: 6 });
  await approve(browser, granted);
  const customer = await as(browser, logins().customer);
  await customer.goto(`/orders/${grantedId}`);
  const card = status(customer, 'Carrier B');
  await expect(card.getByText(/asks for more time/)).toBeVisible(NEGOTIATION);
  await customer.screenshot({ path: `${SHOTS}/negotiation-more-time.png`, fullPage: true });
  await card.getByRole('button', { name: 'Grant more time' }).click();
  await expect(customer.getByRole('region', { name: 'Offer from Carrier B' })).toBeVisible(NEGOTIATION);

  await approve(browser, lapsed);
  await customer.goto(`/orders/${lapsedId}`);
  await expect(status(customer, 'Carrier B').getByText(/asks for more time/)).toBeVisible(NEGOTIATION);
  // Nobody answers: at EXPECTED_RESPONSE_TIME the portal gives up on the order.
  await expect(status(customer, 'Carrier B').getByText(/no answer in time/)).toBeVisible(NEGOTIATION);
  await expect(customer.getByText('Cancelled').first()).toBeVisible();
  await customer.screenshot({ path: `${SHOTS}/negotiation-timeout.png`, fullPage: true });
});

test('a rejected approval: nothing is sent, the customer sees the reason', async ({ browser }) => {
  const name = title('Rejected');
  const orderId = await submitOrder({ title: name, providers: ['Example Networks'], cpd: EXAMPLE_CPD });
  const admin = await as(browser, logins().admin);
  await admin.goto('/approvals');
  const item = admin.getByRole('article', { name });
  await item.getByRole('button', { name: 'Reject…' }).click();
  await item.getByLabel('Reason for rejecting (the customer sees it)').fill('No budget this quarter');
  await item.getByRole('button', { name: 'Reject order' }).click();
  await expect(admin.getByRole('button', { name: `Approve “${name}”` })).toHaveCount(0);
  const customer = await as(browser, logins().customer);
  await customer.goto(`/orders/${orderId}`);
  await expect(customer.getByText('Reason: No budget this quarter')).toBeVisible();
  await expect(status(customer, 'Example Networks').getByText('Not sent: the order was rejected')).toBeVisible();
});
