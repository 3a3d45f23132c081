import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { verifyPassword } from 'better-auth/crypto';
import { openPortalDb } from '../../portal/db/client';
import type { CliIo } from '../io';
import { main } from '../main';

function fakeIo() {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { readStdin: async () => new Uint8Array(), stdout: (t) => out.push(t), stderr: (t) => err.push(t) };
  return { io, out: () => out.join(''), err: () => err.join('') };
}

const dir = mkdtempSync(join(tmpdir(), 'portal-cli-'));
const db = join(dir, 'portal.db');
after(() => rmSync(dir, { recursive: true, force: true }));

describe('cpnp portal user add', () => {
  it('migrates a new database and adds the first admin with a scrypt hash better-auth verifies', async () => {
    const f = fakeIo();
    const code = await main(['portal', 'user', 'add', '--email', 'Root@Op.example', '--password', 'a-long-password', '--role', 'admin', '--org', 'Operator', '--db', db], f.io);
    assert.equal(code, 0, f.err());
    assert.match(f.out(), /added admin root@op\.example to Operator/);
    const client = openPortalDb(db);
    try {
      const user = await client.user.findUniqueOrThrow({ where: { email: 'root@op.example' }, include: { accounts: true, organisation: true } });
      assert.equal(user.role, 'admin');
      assert.equal(user.organisation.name, 'Operator');
      const account = user.accounts[0];
      assert.equal(account?.providerId, 'credential');
      assert.ok(await verifyPassword({ hash: account?.password ?? '', password: 'a-long-password' }));
      assert.equal(await verifyPassword({ hash: account?.password ?? '', password: 'wrong' }), false);
    } finally {
      await client.$disconnect();
    }
  });

  it('refuses a duplicate email (exit 4) and bad values (exit 1) without writing', async () => {
    const dup = fakeIo();
    assert.equal(await main(['portal', 'user', 'add', '--email', 'root@op.example', '--password', 'a-long-password', '--role', 'admin', '--org', 'X', '--db', db], dup.io), 4);
    assert.match(dup.err(), /exists already/);
    const bad = fakeIo();
    assert.equal(await main(['portal', 'user', 'add', '--email', 'nope', '--password', 'short', '--role', 'root', '--org', 'X', '--db', db], bad.io), 1);
    assert.match(bad.err(), /email.*password.*role/s);
    const missing = fakeIo();
    assert.equal(await main(['portal', 'user', 'add', '--email', 'a@b.example', '--db', db], missing.io), 1);
    assert.match(missing.err(), /missing --role, --org, --password/);
  });

  it('portal migrate reports an up-to-date database', async () => {
    const f = fakeIo();
    assert.equal(await main(['portal', 'migrate', '--db', db], f.io), 0);
    assert.match(f.out(), /up to date/);
  });
});
