import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openDatabase } from '../client';
import { applyMigrations } from '../migrate';
import { createOrder, spawnTs, tempDir, waitForLine } from './helpers';

const CHILD = 'lib/db/__tests__/durability-child.ts';

describe('durability', () => {
  for (const synchronous of ['FULL', 'NORMAL'] as const) {
    it(`keeps a committed state change when the process is killed with SIGKILL right after the commit (synchronous ${synchronous})`, async (t) => {
      const file = join(tempDir(t), 'provider.db');
      await applyMigrations(file);
      const setup = await openDatabase(file);
      await createOrder(setup, 'P-00000000kill');
      await setup.prisma.providerOrder.update({ where: { id: 'P-00000000kill' }, data: { state: 'AcceptReceived' } });
      await setup.close();

      const child = spawnTs(CHILD, [file, 'P-00000000kill', synchronous]);
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
      const [, id] = await waitForLine(child, /^committed (\d+)$/);
      child.kill('SIGKILL');
      assert.equal(await exited, 'SIGKILL');

      const db = await openDatabase(file);
      t.after(() => db.close());
      const change = await db.prisma.providerStateChange.findUnique({ where: { id: Number(id) } });
      assert.equal(change?.to, 'Completed');
      assert.equal(change?.cause, 'acceptConfirmed');
      assert.equal((await db.prisma.providerOrder.findUnique({ where: { id: 'P-00000000kill' } }))?.state, 'Completed');
    });
  }
});
