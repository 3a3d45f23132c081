import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';

// The main job (scripts/start.mjs, which playwright.config.ts runs as the web server) starts
// the three reference providers beside the portal. Prove each answers over real DTLS with the
// portal's PSK identity, as the portal will.
const root = fileURLToPath(new URL('..', import.meta.url));
const keyFile = join(root, 'test-results/e2e-data/dev/portal.key');

// The same ports playwright.config.ts gives the providers (overridable for parallel runs).
for (const [name, port] of [
  ['Example Networks', Number(process.env.E2E_PROVIDER_PORT ?? 18921)],
  ['Carrier B', Number(process.env.E2E_PARTNER_PORT ?? 18922)],
  // scripts/dev-providers.mjs: Carrier B's port + 1 unless CPNP_REVIEW_PORT says otherwise.
  ['Checkpoint Telecom', Number(process.env.E2E_PARTNER_PORT ?? 18922) + 1],
] as const) {
  test(`reference provider ${name} answers cpnp ping over DTLS`, () => {
    const result = spawnSync(
      process.execPath,
      [join(root, 'bin/cpnp.mjs'), 'ping', '--server', `127.0.0.1:${port}`, '--psk-identity', 'portal', '--psk-file', keyFile, '--count', '1'],
      { encoding: 'utf8', timeout: 30_000 },
    );
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/1 probes, 1 pongs, 0 lost/);
  });
}
