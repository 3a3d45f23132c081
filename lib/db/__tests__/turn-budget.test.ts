import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TurnBudget } from '../turn-budget';
import { applyPortalMigrations } from '../../portal/db/migrate';
import { openPortalDb } from '../../portal/db/client';

test('TurnBudget yields only once the turn has spent its budget, and a new turn starts fresh', () => {
  let now = 0;
  const queued: (() => void)[] = [];
  const budget = new TurnBudget({ budgetMs: 10, now: () => now, later: (fn) => queued.push(fn) });
  assert.equal(budget.pause(), undefined, 'first use in a turn');
  now = 9;
  assert.equal(budget.pause(), undefined, 'within the budget');
  now = 10;
  const y = budget.pause();
  assert.ok(y instanceof Promise, 'budget spent: yield');
  assert.equal(budget.yields, 1);
  // The event loop runs the deferred callbacks: the turn ends, the yield resolves.
  for (const fn of queued.splice(0)) fn();
  now = 30;
  assert.equal(budget.pause(), undefined, 'a new turn has its whole budget again');
});

test('the portal database client yields to the event loop during a long chain of queries', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'turn-budget-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'portal.db');
  await applyPortalMigrations(file);
  const run = async (turnBudgetMs: number | undefined): Promise<number> => {
    const db = openPortalDb(file, { turnBudgetMs });
    try {
      const org = await db.organisation.create({ data: { name: `org ${turnBudgetMs}` } });
      let fired = 0;
      const again = setInterval(() => fired++, 0);
      try {
        // Enough work to outlast a 0 ms budget many times over.
        for (let i = 0; i < 60; i++) await db.$transaction(async (tx) => tx.organisation.update({ where: { id: org.id }, data: { name: `org ${turnBudgetMs} ${i}` } }));
      } finally {
        clearInterval(again);
      }
      return fired;
    } finally {
      await db.$disconnect();
    }
  };
  assert.equal(await run(undefined), 0, 'without a budget the chain never returns to the event loop');
  assert.ok((await run(0)) > 0, 'with a budget, timers fire while the chain runs');
});
