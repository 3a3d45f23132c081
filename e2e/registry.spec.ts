/**
 * Issue 10 item 3, the provider registry end to end: the real portal (`npm start`, engine host
 * inside) and a real reference Provider over DTLS started for this test with its own PSK
 * identity. An administrator registers it through the form (the key typed once, stored sealed),
 * tests the connection (handshake and round trip shown), and an order to it negotiates: the
 * admin approves, the offer arrives. Customers and staff find no registry. Axe on every page;
 * screenshots desktop and 390 px.
 */
import { expect, test, type Browser, type Page } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPortalDb } from '../lib/portal/db/client';
import { DATA_DIR, expectAccessible, logins, signIn, type Login } from './support/portal';

const SHOTS = 'test-results/screens';
const NEGOTIATION = { timeout: 45_000 };
const IDENTITY = 'registry-e2e';
const KEY_HEX = createHash('sha256').update(`registry-e2e:${randomBytes(8).toString('hex')}`).digest('hex');

let dir = '';
let provider: ChildProcess | undefined;
let endpoint = '';

/** A reference Provider (bin/cpnp.mjs provider) on a free loopback port, knowing IDENTITY's key. */
test.beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cpnp-registry-e2e-'));
  const policy = join(dir, 'policy.json');
  writeFileSync(
    policy,
    JSON.stringify({
      provider: { name: 'Registry Test Networks', asn: 64499 },
      regions: ['west'],
      links: [{ match: 'pe1:*', pool: 'core', region: 'west' }],
      defaultPool: 'shared',
      pools: { core: { inMbps: 1000, outMbps: 1000 }, shared: { inMbps: 10000, outMbps: 10000 } },
      qosClasses: [{ name: 'gold', delayMs: 10, jitterMs: 2, lossPct: 0.01, qualitative: 'high' }],
      availabilityLevels: [99.9],
      activationTypes: ['permanent', 'scheduled'],
      pricing: { currency: 'EUR', perMbpsMonth: 2 },
      offerValidity: '15m',
      defaultCustomer: { allowed: true, maxOrders: 50 },
    }),
  );
  const psk = join(dir, 'psk.json');
  writeFileSync(psk, JSON.stringify({ identities: [{ identity: IDENTITY, keyHex: KEY_HEX, customer: 'portal' }] }), { mode: 0o600 });
  const child = spawn(process.execPath, ['bin/cpnp.mjs', 'provider', '--config', policy, '--db', join(dir, 'provider.db'), '--psk-file', psk, '--listen', '127.0.0.1:0', '--admin', 'off'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CPNP_PROVIDER_FAULT: '' },
  });
  provider = child;
  endpoint = await new Promise<string>((resolve, reject) => {
    let pending = '';
    const timer = setTimeout(() => reject(new Error('the reference provider did not start')), 30_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      for (const line of pending.split('\n')) {
        try {
          const r = JSON.parse(line) as { event?: string; port?: number };
          if (r.event === 'listening' && r.port) {
            clearTimeout(timer);
            resolve(`127.0.0.1:${r.port}`);
          }
        } catch {
          // a partial line
        }
      }
    });
    child.on('exit', (code) => reject(new Error(`the reference provider exited (${code})`)));
  });
});

test.afterAll(() => {
  provider?.kill('SIGTERM');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function as(browser: Browser, login: Login): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await signIn(page, login);
  return page;
}

const CPD = [
  {
    nodes: [
      { id: 'ce-paris', link: 'pe1:ge-0/0/1' },
      { id: 'ce-lyon', link: 'pe1:ge-0/0/3' },
    ],
    capacity: { inMbps: { min: 10, max: 200, pref: 100 }, outMbps: 50 },
    conformance: { policing: 'shape', outOfProfile: 'drop' },
  },
];

/** A submitted order (Created) of the demo customer to `providerName`, as the compose form stores it. */
async function submitOrder(title: string, providerName: string): Promise<string> {
  const db = openPortalDb(join(DATA_DIR, 'portal.db'));
  try {
    const author = await db.user.findUniqueOrThrow({ where: { email: logins().customer.email } });
    const p = await db.provider.findUniqueOrThrow({ where: { name: providerName } });
    const order = await db.order.create({
      data: {
        organisationId: author.organisationId,
        authorId: author.id,
        title,
        requestedCpd: JSON.stringify(CPD),
        options: '{}',
        expectedResponseSeconds: 120,
        selectionRule: 'manual',
        state: 'Created',
        submittedAt: new Date(),
        negotiations: { create: { providerId: p.id, customerOrderId: `C-${randomBytes(8).toString('hex')}` } },
        stateChanges: { create: { from: null, to: 'Created', cause: 'submitted', actor: `user:${author.id}` } },
      },
      select: { id: true },
    });
    return order.id;
  } finally {
    await db.$disconnect();
  }
}

test('an admin registers a provider, tests the connection, and an order negotiates with it', async ({ browser }) => {
  test.setTimeout(120_000);
  const name = `Registry Networks ${randomBytes(2).toString('hex')}`;
  const admin = await as(browser, logins().admin);

  // The nav link, the registry page.
  await admin.getByRole('navigation', { name: 'Portal' }).getByRole('link', { name: 'Providers' }).click();
  await expect(admin.getByRole('heading', { name: 'Providers', level: 1 })).toBeVisible();
  await expect(admin.getByRole('row', { name: /Example Networks/ })).toBeVisible();
  await expectAccessible(admin);

  // Add: the form validates with the same schema as the server.
  await admin.getByRole('link', { name: 'Add provider' }).click();
  await expect(admin.getByRole('heading', { name: 'Add a provider' })).toBeVisible();
  await admin.getByLabel('Name').fill(name);
  await admin.getByLabel('Endpoint').fill('192.0.2.7:8921');
  await admin.getByRole('radio', { name: /Plain UDP/ }).check();
  await admin.getByRole('button', { name: 'Add provider' }).click();
  await expect(admin.getByText('Plain UDP is allowed for loopback providers only')).toBeVisible();
  await admin.getByRole('radio', { name: /DTLS/ }).check();
  await admin.getByLabel('Endpoint').fill(endpoint);
  await admin.getByLabel('PSK identity').fill(IDENTITY);
  await admin.getByLabel('PSK key (hex)').fill(KEY_HEX);
  await expectAccessible(admin);
  await admin.setViewportSize({ width: 390, height: 844 });
  await admin.screenshot({ path: `${SHOTS}/registry-add-390.png`, fullPage: true });
  await admin.setViewportSize({ width: 1280, height: 800 });
  await admin.screenshot({ path: `${SHOTS}/registry-add.png`, fullPage: true });
  await admin.getByRole('button', { name: 'Add provider' }).click();

  // Back on the registry: the new row, then "Test connection" shows handshake and round trip.
  await expect(admin).toHaveURL(/\/providers$/);
  const row = admin.getByRole('row', { name: new RegExp(name) });
  await expect(row).toContainText(endpoint);
  await expect(row).toContainText('not checked yet');
  await expect(row).toContainText(`${IDENTITY} (key encrypted)`);
  await expect(admin.getByText(KEY_HEX)).toHaveCount(0);
  await row.getByRole('button', { name: `Test connection to ${name}` }).click();
  await expect(row).toContainText('OK · ping answered (FAIL 1', { timeout: 20_000 });
  await expect(row).toContainText(/handshake \d+(\.\d+)? ms · round trip \d+(\.\d+)? ms/);
  await expectAccessible(admin);
  await admin.screenshot({ path: `${SHOTS}/registry-list.png`, fullPage: true });
  await admin.setViewportSize({ width: 390, height: 844 });
  await admin.screenshot({ path: `${SHOTS}/registry-list-390.png`, fullPage: true });
  await admin.setViewportSize({ width: 1280, height: 800 });

  // Edit: the key field is empty (write-only); saving without it keeps the stored key.
  await row.getByRole('link', { name: `Edit ${name}` }).click();
  await expect(admin.getByRole('heading', { name: `Edit ${name}` })).toBeVisible();
  await expect(admin.getByLabel('PSK key (hex)')).toHaveValue('');
  await expect(admin.getByText('A key is stored (encrypted). Leave blank to keep it')).toBeVisible();
  await expectAccessible(admin);
  await admin.screenshot({ path: `${SHOTS}/registry-edit.png`, fullPage: true });
  await admin.getByRole('button', { name: 'Save changes' }).click();
  await expect(admin).toHaveURL(/\/providers$/);

  // An order to it: the customer can choose it, the admin approves, the offer arrives.
  const customer = await as(browser, logins().customer);
  await customer.goto('/orders/new');
  await expect(customer.getByRole('checkbox', { name: new RegExp(name) })).toBeVisible();
  const title = `Registry order ${randomBytes(2).toString('hex')}`;
  const orderId = await submitOrder(title, name);
  await admin.goto('/approvals');
  await admin.getByRole('button', { name: `Approve “${title}”` }).click();
  await expect(admin.getByRole('button', { name: `Approve “${title}”` })).toHaveCount(0);
  await customer.goto(`/orders/${orderId}`);
  await expect(customer.getByRole('region', { name: `Offer from ${name}` })).toBeVisible(NEGOTIATION);
  await customer.screenshot({ path: `${SHOTS}/registry-order-offer.png`, fullPage: true });

  // Disabled: no longer offered for new orders; the open order keeps its offer.
  await admin.goto('/providers');
  await admin.getByRole('row', { name: new RegExp(name) }).getByRole('button', { name: `Disable ${name}` }).click();
  await expect(admin.getByRole('row', { name: new RegExp(name) })).toContainText('Disabled');
  await customer.goto('/orders/new');
  await expect(customer.getByRole('checkbox', { name: /Example Networks/ })).toBeVisible();
  await expect(customer.getByRole('checkbox', { name: new RegExp(name) })).toHaveCount(0);
  await customer.goto(`/orders/${orderId}`);
  await expect(customer.getByRole('region', { name: `Offer from ${name}` })).toBeVisible();
  await admin.context().close();
  await customer.context().close();
});

test('customers and staff find no registry: no link, the page is not found, the read is refused', async ({ browser }) => {
  for (const login of [logins().customer, logins().staff]) {
    const page = await as(browser, login);
    await expect(page.getByRole('navigation', { name: 'Portal' }).getByRole('link', { name: 'Providers' })).toHaveCount(0);
    // The same page as for any missing page (streamed, so the status line is already 200 —
    // as for /approvals and /history).
    for (const path of ['/providers', '/providers/new']) {
      await page.goto(path);
      await expect(page.getByRole('heading', { level: 1, name: 'Not found' })).toBeVisible();
    }
    const api = await page.request.get('/api/portal/providers');
    expect(api.status()).toBe(403);
    await page.context().close();
  }
});
