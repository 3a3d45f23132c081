/**
 * A real portal database for tests: a temporary SQLite file, migrated with the real
 * migrations, with two organisations, the four roles, and two providers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cpd } from '../../cpnp';
import type { SessionUser } from '../auth/session';
import { openPortalDb, setPortalDbForTests, type PortalDbClient } from '../db/client';
import { applyPortalMigrations } from '../db/migrate';
import type { Role } from '../db/types';
import type { NewOrderInput } from '../orders/service';
import { upsertProvider } from '../providers/registry';
import { addUser } from '../users/accounts';

export const PASSWORD = 'correct-horse-battery';

export interface TestWorld {
  db: PortalDbClient;
  file: string;
  users: { customerA: SessionUser; customerA2: SessionUser; customerB: SessionUser; admin: SessionUser; staff: SessionUser };
  providers: { example: string; carrier: string };
  close(): Promise<void>;
}

async function user(db: PortalDbClient, email: string, role: Role, organisation: string): Promise<SessionUser> {
  const added = await addUser(db, { email, password: PASSWORD, name: email.split('@')[0] ?? email, role, organisation });
  if (!added.ok) throw new Error(added.message);
  return { id: added.userId, email, name: email.split('@')[0] ?? email, role, organisationId: added.organisationId };
}

export async function createWorld(): Promise<TestWorld> {
  const dir = mkdtempSync(join(tmpdir(), 'portal-test-'));
  const file = join(dir, 'portal.db');
  await applyPortalMigrations(file);
  const db = openPortalDb(file, { synchronous: 'NORMAL' });
  setPortalDbForTests(db);
  const users = {
    customerA: await user(db, 'alice@a.example', 'customer', 'Org A'),
    customerA2: await user(db, 'andy@a.example', 'customer', 'Org A'),
    customerB: await user(db, 'bob@b.example', 'customer', 'Org B'),
    admin: await user(db, 'admin@op.example', 'admin', 'Operator'),
    staff: await user(db, 'staff@op.example', 'staff', 'Operator'),
  };
  const providers = {
    example: await upsertProvider(db, { name: 'Example Networks', endpoint: '127.0.0.1:8921', transport: 'dtls', pskIdentity: 'portal', pskKeyFile: '/dev/null' }),
    carrier: await upsertProvider(db, { name: 'Carrier B', endpoint: '127.0.0.1:8922', transport: 'udp' }),
  };
  return {
    db,
    file,
    users,
    providers,
    async close() {
      setPortalDbForTests(undefined);
      await db.$disconnect();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const CPD: Cpd = [
  {
    component: 'access',
    nodes: [
      { id: 'ce-paris', link: 'pe1:ge-0/0/1' },
      { id: 'ce-lyon', link: 'pe2:ge-0/0/3' },
    ],
    capacity: { inMbps: { min: 50, max: 200, pref: 100 }, outMbps: 100 },
    conformance: { policing: 'shape', outOfProfile: 'drop' },
  },
];

export function orderInput(world: TestWorld, overrides: Partial<NewOrderInput> = {}): NewOrderInput {
  return {
    title: 'Paris–Lyon VPN',
    cpd: CPD,
    options: { activationType: 'scheduled' },
    providerIds: [world.providers.example],
    expectedResponseSeconds: 60,
    selectionRule: 'manual',
    submit: true,
    ...overrides,
  };
}

/** Puts a negotiation where the engine host would: an offer received, waiting for the customer. */
export async function simulateOffer(world: TestWorld, orderId: string, providerId: string, cpd: Cpd = CPD): Promise<{ negotiationId: string; offerId: string }> {
  const n = await world.db.negotiation.findFirstOrThrow({ where: { orderId, providerId } });
  await world.db.order.update({ where: { id: orderId }, data: { state: 'OfferReceived' } });
  await world.db.negotiation.update({ where: { id: n.id }, data: { clientState: 'OfferReceived', offerValidUntil: new Date(Date.now() + 60_000) } });
  const offer = await world.db.offer.create({ data: { negotiationId: n.id, cycle: 0, cpd: JSON.stringify(cpd), nonce: 'abc' } });
  return { negotiationId: n.id, offerId: offer.id };
}

/** An agreement in force (Completed). */
export async function simulateAgreement(world: TestWorld, orderId: string): Promise<string> {
  const n = await world.db.negotiation.findFirstOrThrow({ where: { orderId } });
  await world.db.order.update({ where: { id: orderId }, data: { state: 'Completed' } });
  await world.db.negotiation.update({ where: { id: n.id }, data: { clientState: 'Completed', agreed: true, agreementCpd: JSON.stringify(CPD) } });
  return n.id;
}
