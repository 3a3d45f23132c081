import { defineConfig, devices } from '@playwright/test';

// End-to-end tests run against the real production build served by `next start`.
// scripts/start.mjs builds first when there is no up-to-date build (always, on a fresh clone),
// so this is `next build && next start` without paying for a rebuild on every local run.
const PORT = Number(process.env.E2E_PORT ?? 3107);
const BASE_URL = `http://127.0.0.1:${PORT}`;
const CI = Boolean(process.env.CI);
// A real SMTP server the run starts (e2e/support/smtp-global-setup.ts); the portal mails to it.
const SMTP_PORT = Number(process.env.E2E_SMTP_PORT ?? 2525);

export default defineConfig({
  testDir: 'e2e',
  globalSetup: './e2e/support/smtp-global-setup.ts',
  fullyParallel: true,
  forbidOnly: CI,
  retries: CI ? 1 : 0,
  workers: CI ? 1 : undefined,
  reporter: 'list',
  timeout: 30_000,
  expect: { timeout: 10_000 },
  use: {
    baseURL: BASE_URL,
    trace: 'retain-on-failure',
  },
  projects: [
    {
      name: 'chromium',
      use: {
        ...devices['Desktop Chrome'],
        // Debian's Chromium (scripts/ensure-test-tools.mjs installs it); Playwright's own browser
        // download is unreachable from the build machines.
        launchOptions: {
          executablePath: '/usr/bin/chromium',
          args: [
            '--no-sandbox',
            '--disable-gpu',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
            '--no-first-run',
            '--disable-quic',
          ],
        },
      },
    },
  ],
  webServer: {
    command: 'node scripts/start.mjs',
    url: BASE_URL,
    // The reference providers start beside the portal; the tests give them their own ports and
    // state folder so they never collide with a developer's `npm start`.
    env: {
      PORT: String(PORT),
      NEXT_TELEMETRY_DISABLED: '1',
      CPNP_PROVIDER_PORT: process.env.E2E_PROVIDER_PORT ?? '18921',
      CPNP_PARTNER_PORT: process.env.E2E_PARTNER_PORT ?? '18922',
      CPNP_DATA_DIR: 'test-results/e2e-data',
      HOST: '127.0.0.1',
      // The suites sign in many times from one address within a minute; the limits themselves
      // are tested in lib/portal/__tests__/auth.test.ts.
      PORTAL_SIGNIN_MAX: '200',
      PORTAL_ACCOUNT_SIGNIN_MAX: '200',
      PORTAL_SMTP_URL: `smtp://127.0.0.1:${SMTP_PORT}`,
      PORTAL_MAIL_FROM: 'CPNP portal <portal@e2e.example>',
    },
    // A production build takes one to two minutes on two cores.
    timeout: 300_000,
    reuseExistingServer: !CI,
    stdout: 'pipe',
    stderr: 'pipe',
    gracefulShutdown: { signal: 'SIGTERM', timeout: 5_000 },
  },
});
