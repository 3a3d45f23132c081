import { expect, test } from '@playwright/test';
import { expectAccessible, logins, signIn } from './support/portal';

test('an anonymous visitor is sent to the sign-in page, which is accessible', async ({ page }) => {
  await page.goto('/orders');
  await expect(page).toHaveURL(/\/sign-in\?next=%2Forders$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Sign in' })).toBeVisible();
  await expectAccessible(page);
  await page.screenshot({ path: 'test-results/screens/sign-in.png', fullPage: true });
});

test('a wrong password is refused with a message, and the email stays filled in', async ({ page }) => {
  const { customer } = logins();
  await page.goto('/sign-in');
  await page.getByLabel('Email').fill(customer.email);
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'Wrong' })).toHaveText('Wrong email or password.');
  await expect(page.getByLabel('Email')).toHaveValue(customer.email);
  await expect(page).toHaveURL(/\/sign-in/);
});

const ROLES = [
  { role: 'customer', name: 'Customer', links: ['Orders', 'New order'], absent: ['Approvals', 'Providers'] },
  { role: 'admin', name: 'Administrator', links: ['Orders', 'Approvals', 'Providers'], absent: ['New order'] },
  { role: 'staff', name: 'Provider staff', links: ['Orders'], absent: ['New order', 'Approvals', 'Providers'] },
] as const;

for (const r of ROLES) {
  test(`signs in as ${r.role}: role-aware navigation, then signs out`, async ({ page, context }) => {
    const login = logins()[r.role];
    await signIn(page, login);
    await expect(page).toHaveURL(/\/orders$/);
    const nav = page.getByRole('navigation', { name: 'Portal' });
    for (const link of r.links) await expect(nav.getByRole('link', { name: link, exact: true })).toBeVisible();
    for (const link of r.absent) await expect(nav.getByRole('link', { name: link, exact: true })).toHaveCount(0);
    await expect(page.getByRole('banner')).toContainText(`${r.name}, Acme Corp`);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(r.role === 'customer' ? 'Your organisation’s orders' : 'All orders');
    const cookie = (await context.cookies()).find((c) => c.name.endsWith('session_token'));
    expect(cookie?.httpOnly).toBe(true);
    expect(cookie?.sameSite).toBe('Lax');
    await expectAccessible(page);
    await page.screenshot({ path: `test-results/screens/orders-${r.role}.png`, fullPage: true });
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect(page).toHaveURL(/\/sign-in/);
    await page.goto('/orders');
    await expect(page).toHaveURL(/\/sign-in/);
  });
}

test('a foreign Origin cannot sign in (CSRF)', async ({ request }) => {
  const { customer } = logins();
  const res = await request.post('/api/auth/sign-in/email', {
    headers: { origin: 'http://evil.example' },
    data: { email: customer.email, password: customer.password },
  });
  expect(res.status()).toBe(403);
});
