/**
 * Issue 10 item 7: every flow of the portal done with the keyboard alone (Tab, Shift+Tab, Enter,
 * Space, arrow keys; no click, no fill): sign in, compose and submit an order with a second site
 * and a range, approve it, review the offer and accept it, filter the history and open the
 * order's ladder, change the dashboard's period. Every element the Tab key stops on must show a
 * focus indicator (an outline or a ring), and the skip link must lead into the main content.
 *
 * Against the real portal and reference providers (`npm start`, see playwright.config.ts).
 */
import { expect, test, type Locator, type Page } from '@playwright/test';
import { NEGOTIATION, pageAs, uniqueTitle } from './support/flows';
import { logins } from './support/portal';

/** Describes the focused element when neither it nor its label shows a focus indicator. */
function missingFocusIndicator(page: Page): Promise<string | null> {
  return page.evaluate(async () => {
    // Styles of the new focus are computed by the next frame.
    await new Promise((r) => requestAnimationFrame(() => r(null)));
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const shows = (e: Element | null) => {
      if (!e) return false;
      const s = getComputedStyle(e);
      const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
      return outline || s.boxShadow !== 'none';
    };
    // Visually hidden radios and checkboxes show their focus on their label.
    if (shows(el) || shows(el.closest('label'))) return null;
    const s = getComputedStyle(el);
    const name = el.getAttribute('aria-label') ?? el.getAttribute('name') ?? (el as HTMLElement).innerText ?? '';
    return `${el.tagName.toLowerCase()}[type=${el.getAttribute('type')}] “${name.trim().slice(0, 40)}” (outline ${s.outlineStyle} ${s.outlineWidth})`;
  });
}

/**
 * Presses Tab (Shift+Tab with `back`) until `target` has the focus, checking the focus
 * indicator of every element passed on the way; fails if `target` is not reached in `max` presses.
 */
async function tabTo(page: Page, target: Locator, { back = false, max = 80 } = {}): Promise<void> {
  const unseen: string[] = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
    const missing = await missingFocusIndicator(page);
    if (missing) unseen.push(missing);
    if (await target.evaluate((el) => el === document.activeElement)) {
      expect(unseen, 'elements focused without a visible focus indicator').toEqual([]);
      return;
    }
  }
  throw new Error(`not reached with ${back ? 'Shift+Tab' : 'Tab'} in ${max} presses: ${target.toString()}`);
}

test('every flow with the keyboard alone', async ({ browser }) => {
  test.setTimeout(180_000);
  const title = uniqueTitle('Keyboard order');
  let orderId = '';

  const customer = await (await browser.newContext()).newPage();
  await test.step('sign in', async () => {
    const { email, password } = logins().customer;
    await customer.goto('/sign-in');
    await tabTo(customer, customer.getByLabel('Email'));
    await customer.keyboard.type(email);
    await tabTo(customer, customer.getByLabel('Password'));
    await customer.keyboard.type(password);
    await customer.keyboard.press('Enter');
    await expect(customer.getByRole('navigation', { name: 'Portal' })).toBeVisible();
  });

  await test.step('the skip link is the first stop and leads into the main content', async () => {
    await customer.keyboard.press('Tab');
    const skip = customer.getByRole('link', { name: 'Skip to content' });
    await expect(skip).toBeFocused();
    await expect(skip).toBeInViewport();
    await customer.screenshot({ path: 'test-results/screens/keyboard-skip-link.png' });
    await customer.keyboard.press('Enter');
    await customer.keyboard.press('Tab');
    expect(await customer.evaluate(() => Boolean(document.activeElement?.closest('main')))).toBe(true);
  });

  await test.step('compose and submit an order with a second site and a range', async () => {
    const nav = customer.getByRole('navigation', { name: 'Portal' });
    await customer.keyboard.press('Shift+Tab');
    await tabTo(customer, nav.getByRole('link', { name: 'New order' }), { back: true });
    await customer.keyboard.press('Enter');
    await expect(customer.getByRole('heading', { level: 1, name: 'Compose an order' })).toBeVisible();
    await tabTo(customer, customer.getByLabel('Title', { exact: true }));
    await customer.keyboard.type(title);
    await tabTo(customer, customer.getByRole('checkbox', { name: /Example Networks/ }));
    await customer.keyboard.press('Space');
    await expect(customer.getByRole('checkbox', { name: /Example Networks/ })).toBeChecked();
    const site1 = customer.getByRole('group', { name: 'Site 1' });
    await tabTo(customer, site1.getByLabel('Node id'));
    await customer.keyboard.type('ce-nantes');
    await tabTo(customer, site1.getByLabel('Border link'));
    await customer.keyboard.type('pe1:ge-0/0/1');
    await tabTo(customer, customer.getByRole('button', { name: '+ Add a site' }));
    await customer.keyboard.press('Enter');
    const site2 = customer.getByRole('group', { name: 'Site 2' });
    await tabTo(customer, site2.getByLabel('Node id'));
    await customer.keyboard.type('ce-brest');
    await tabTo(customer, site2.getByLabel('Border link'));
    await customer.keyboard.type('pe2:ge-0/0/2');
    const capacity = customer.getByRole('group', { name: 'Capacity & conformance' });
    await tabTo(customer, capacity.getByLabel('State a capacity'));
    await customer.keyboard.press('Space');
    // Inbound as a range: the arrow key moves the fixed/range radio group.
    const inbound = capacity.getByRole('group', { name: 'Inbound (Mbit/s)' });
    await tabTo(customer, inbound.getByRole('radio', { name: 'Fixed value' }));
    await customer.keyboard.press('ArrowRight');
    await expect(inbound.getByRole('radio', { name: 'Range' })).toBeChecked();
    for (const [label, value] of [
      ['Minimum', '20'],
      ['Preferred', '50'],
      ['Maximum', '80'],
    ] as const) {
      await tabTo(customer, inbound.getByLabel(label, { exact: true }));
      await customer.keyboard.type(value);
    }
    const outbound = capacity.getByRole('group', { name: 'Outbound (Mbit/s)' });
    await tabTo(customer, outbound.getByLabel('Value', { exact: true }));
    await customer.keyboard.type('50');
    await tabTo(customer, capacity.getByLabel(/State conformance rules/));
    await customer.keyboard.press('Space');
    for (const name of [/^Police/, /^Drop$/]) {
      await tabTo(customer, capacity.getByRole('checkbox', { name }));
      await customer.keyboard.press('Space');
    }
    await tabTo(customer, customer.getByRole('button', { name: 'Submit for approval' }), { max: 120 });
    await customer.keyboard.press('Enter');
    await expect(customer).toHaveURL(/\/orders\/(?!new)[^/?]+$/, { timeout: 20_000 });
    await expect(customer.getByRole('heading', { level: 1, name: title })).toBeVisible();
    await expect(customer.getByText('Waiting for an administrator to approve the order')).toBeVisible();
    orderId = new URL(customer.url()).pathname.split('/').pop() ?? '';
  });

  await test.step('the admin approves it', async () => {
    const admin = await pageAs(browser, 'admin');
    await admin.goto('/approvals');
    const approve = admin.getByRole('button', { name: `Approve “${title}”` });
    await expect(approve).toBeVisible();
    // Other suites leave orders in the queue: up to three stops per card before this one.
    await tabTo(admin, approve, { max: 400 });
    await admin.keyboard.press('Enter');
    await expect(approve).toHaveCount(0);
    await admin.context().close();
  });

  await test.step('the customer reviews the offer and accepts it', async () => {
    await customer.reload();
    const offer = customer.getByRole('region', { name: 'Offer from Example Networks' });
    await expect(offer).toBeVisible(NEGOTIATION);
    await expect(offer.getByRole('table')).toBeVisible();
    await tabTo(customer, offer.getByRole('button', { name: "Accept Example Networks's offer" }));
    await offer.screenshot({ path: 'test-results/screens/keyboard-focus-accept.png' });
    await customer.keyboard.press('Space');
    await expect(customer.getByText('Status: Agreement in force')).toBeVisible(NEGOTIATION);
    await customer.context().close();
  });

  const staff = await pageAs(browser, 'staff');
  await test.step('staff filter the history and open the order’s ladder', async () => {
    await staff.goto('/history');
    const filters = staff.getByRole('form', { name: 'Filter orders' });
    await tabTo(staff, filters.getByLabel('Order, customer or provider order id'));
    await staff.keyboard.type(orderId);
    await tabTo(staff, filters.getByRole('checkbox', { name: 'Agreed' }));
    await staff.keyboard.press('Space');
    await tabTo(staff, filters.getByRole('button', { name: 'Apply filters' }));
    await staff.keyboard.press('Enter');
    await expect(staff).toHaveURL(/state=Completed/);
    const rows = staff.getByRole('table', { name: 'Order history' }).locator('tbody tr');
    await expect(rows).toHaveCount(1);
    await tabTo(staff, rows.first().getByRole('link', { name: title }));
    await staff.keyboard.press('Enter');
    await expect(staff).toHaveURL(new RegExp(`/orders/${orderId}/messages$`));
    await expect(staff.getByRole('img', { name: /Message sequence chart/ })).toBeVisible();
    const offer = staff.getByRole('region', { name: /Message log/ }).getByRole('listitem').filter({ hasText: /OFFER\s*received from/ });
    const summary = offer.locator('summary').first();
    await tabTo(staff, summary);
    await staff.keyboard.press('Enter');
    await expect(offer.getByText('Decoded from the hex (lib/cpnp)')).toBeVisible();
  });

  await test.step('the dashboard’s period changes', async () => {
    await staff.goto('/dashboard');
    const period = staff.getByRole('form', { name: 'Period' });
    await tabTo(staff, period.getByLabel('From'));
    await period.screenshot({ path: 'test-results/screens/keyboard-focus-date.png' });
    // A date input takes its segments typed in the locale's order (en-US: month, day, year).
    await staff.keyboard.type('01022026');
    await tabTo(staff, period.getByRole('button', { name: 'Show period' }));
    await staff.keyboard.press('Enter');
    await expect(staff).toHaveURL(/from=2026-01-02/);
    await expect(staff.getByText(/Orders created from 2026-01-02 to/)).toBeVisible();
  });
  await staff.context().close();
});
