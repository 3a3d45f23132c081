/**
 * The authorisation matrix: every server action and every read the browser can call, for each
 * kind of caller, on an order of organisation A that is in a state where the action is valid
 * for its owner. Cross-organisation calls must get exactly the answer a missing order gets.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { SessionUser } from '../auth/session';
import { actionHandlers, SIGNED_OUT } from '../actions/definitions';
import { historyQueries } from '../actions/history-queries';
import { providerQueueHandlers } from '../actions/provider-queue';
import { queryHandlers } from '../actions/queries';
import { approveOrder } from '../approvals/service';
import { createOrder } from '../orders/service';
import { upsertProvider } from '../providers/registry';
import type { ServiceResult } from '../result';
import { createWorld, orderInput, simulateOffer, type TestWorld } from './helpers';

let w: TestWorld;
before(async () => {
  // The registry seals keys with the portal secret key (a fixed test key, never a real one).
  process.env.PORTAL_SECRET_KEY = '11'.repeat(32);
  w = await createWorld();
});
after(() => w.close());

type Actor = 'anonymous' | 'customerA' | 'customerB' | 'admin' | 'staff';
const ACTORS: Actor[] = ['anonymous', 'customerA', 'customerB', 'admin', 'staff'];
// 'unavailable': authorised, then the provider's admin endpoint could not be reached (the
// provider validation rows: their real-provider outcomes are in provider-queue.test.ts).
type Outcome = 'ok' | 'signed-out' | 'not-found' | 'forbidden' | 'unavailable';

function who(actor: Actor): SessionUser | null {
  return actor === 'anonymous' ? null : w.users[actor];
}

async function newOrder(submit: boolean): Promise<string> {
  const r = await createOrder(w.users.customerA, orderInput(w, { submit }));
  assert.ok(r.ok);
  return r.value.orderId;
}

interface Row {
  name: string;
  run: (user: SessionUser | null, input: unknown) => Promise<ServiceResult<unknown>>;
  fixture: () => Promise<{ orderId: string; input: unknown }>;
  expect: Record<Actor, Outcome>;
}

const ROWS: Row[] = [
  {
    name: 'action enqueueIntent (accept an offer)',
    run: actionHandlers.enqueueIntent,
    fixture: async () => {
      const orderId = await newOrder(true);
      await approveOrder(w.users.admin, orderId);
      const { offerId } = await simulateOffer(w, orderId, w.providers.example);
      return { orderId, input: { orderId, kind: 'accept', payload: { offerId } } };
    },
    expect: { anonymous: 'signed-out', customerA: 'ok', customerB: 'not-found', admin: 'forbidden', staff: 'forbidden' },
  },
  {
    name: 'action approveOrder',
    run: actionHandlers.approveOrder,
    fixture: async () => {
      const orderId = await newOrder(true);
      return { orderId, input: { orderId } };
    },
    expect: { anonymous: 'signed-out', customerA: 'forbidden', customerB: 'not-found', admin: 'ok', staff: 'forbidden' },
  },
  {
    name: 'action rejectOrder',
    run: actionHandlers.rejectOrder,
    fixture: async () => {
      const orderId = await newOrder(true);
      return { orderId, input: { orderId, reason: 'Not in budget' } };
    },
    expect: { anonymous: 'signed-out', customerA: 'forbidden', customerB: 'not-found', admin: 'ok', staff: 'forbidden' },
  },
  {
    name: 'action updateDraft',
    run: actionHandlers.updateDraft,
    fixture: async () => {
      const orderId = await newOrder(false);
      return { orderId, input: { orderId, input: orderInput(w, { submit: false, title: 'edited' }) } };
    },
    expect: { anonymous: 'signed-out', customerA: 'ok', customerB: 'not-found', admin: 'forbidden', staff: 'forbidden' },
  },
  {
    name: 'action createOrder (cloning an order of organisation A)',
    run: actionHandlers.createOrder,
    fixture: async () => {
      const orderId = await newOrder(true);
      return { orderId, input: { input: orderInput(w, { clonedFrom: orderId }) } };
    },
    // Organisation B may place orders, but not clone A's: the clone source is "not found"
    // (reported on the clonedFrom field as 'invalid', checked separately below).
    expect: { anonymous: 'signed-out', customerA: 'ok', customerB: 'not-found', admin: 'forbidden', staff: 'forbidden' },
  },
  {
    name: 'read order detail',
    run: (u, input) => queryHandlers.order(u, (input as { orderId: string }).orderId),
    fixture: async () => {
      const orderId = await newOrder(true);
      return { orderId, input: { orderId } };
    },
    expect: { anonymous: 'signed-out', customerA: 'ok', customerB: 'not-found', admin: 'ok', staff: 'ok' },
  },
  {
    name: 'read approval queue',
    run: (u) => queryHandlers.approvals(u),
    fixture: async () => ({ orderId: await newOrder(true), input: {} }),
    expect: { anonymous: 'signed-out', customerA: 'forbidden', customerB: 'forbidden', admin: 'ok', staff: 'forbidden' },
  },
  // Staff history (issue 10): customers never see the history, the export or the dashboard,
  // and the ladder of another organisation's order is "not found" like a missing one.
  {
    name: 'read staff history',
    run: (u) => historyQueries.history(u, {}),
    fixture: async () => ({ orderId: await newOrder(true), input: {} }),
    expect: { anonymous: 'signed-out', customerA: 'forbidden', customerB: 'forbidden', admin: 'ok', staff: 'ok' },
  },
  {
    name: 'read staff history filtered by organisation A',
    run: (u) => historyQueries.history(u, { org: w.users.customerA.organisationId }),
    fixture: async () => ({ orderId: await newOrder(true), input: {} }),
    expect: { anonymous: 'signed-out', customerA: 'forbidden', customerB: 'forbidden', admin: 'ok', staff: 'ok' },
  },
  {
    name: 'CSV export of the history',
    run: (u) => historyQueries.exportCsv(u, new URLSearchParams()),
    fixture: async () => ({ orderId: await newOrder(true), input: {} }),
    expect: { anonymous: 'signed-out', customerA: 'forbidden', customerB: 'forbidden', admin: 'ok', staff: 'ok' },
  },
  {
    name: 'read dashboard',
    run: (u) => historyQueries.dashboard(u, {}),
    fixture: async () => ({ orderId: await newOrder(true), input: {} }),
    expect: { anonymous: 'signed-out', customerA: 'forbidden', customerB: 'forbidden', admin: 'ok', staff: 'ok' },
  },
  {
    name: 'read order ladder (messages and state history)',
    run: (u, input) => historyQueries.ladder(u, (input as { orderId: string }).orderId),
    fixture: async () => {
      const orderId = await newOrder(true);
      return { orderId, input: { orderId } };
    },
    expect: { anonymous: 'signed-out', customerA: 'ok', customerB: 'not-found', admin: 'ok', staff: 'ok' },
  },
  // Provider-side administrative validation (issue 10 item 4): admins and staff only.
  {
    name: 'read provider validation queue',
    run: (u) => providerQueueHandlers.queues(u),
    fixture: async () => ({ orderId: await newOrder(true), input: {} }),
    expect: { anonymous: 'signed-out', customerA: 'forbidden', customerB: 'forbidden', admin: 'ok', staff: 'ok' },
  },
  {
    name: 'action approveHeldOrder (at the provider)',
    run: providerQueueHandlers.approve,
    fixture: async () => ({ orderId: await newOrder(true), input: { providerId: await heldProvider(), providerOrderId: 'P-0123456789ab' } }),
    expect: { anonymous: 'signed-out', customerA: 'forbidden', customerB: 'forbidden', admin: 'unavailable', staff: 'unavailable' },
  },
  {
    name: 'action rejectHeldOrder (at the provider)',
    run: providerQueueHandlers.reject,
    fixture: async () => ({ orderId: await newOrder(true), input: { providerId: await heldProvider(), providerOrderId: 'P-0123456789ab', statusCode: 4, note: 'no' } }),
    expect: { anonymous: 'signed-out', customerA: 'forbidden', customerB: 'forbidden', admin: 'unavailable', staff: 'unavailable' },
  },
  // Provider registry (issue 10 item 3): administrators only; customers and staff are refused.
  {
    name: 'read provider registry',
    run: (u) => queryHandlers.providers(u),
    fixture: async () => ({ orderId: await newOrder(true), input: {} }),
    expect: { anonymous: 'signed-out', customerA: 'forbidden', customerB: 'forbidden', admin: 'ok', staff: 'forbidden' },
  },
  {
    name: 'action saveProvider (add)',
    run: actionHandlers.saveProvider,
    fixture: async () => ({
      orderId: await newOrder(true),
      input: { values: { name: `Matrix ${Math.random().toString(36).slice(2)}`, endpoint: '127.0.0.1:9', transport: 'dtls', pskIdentity: 'portal', pskKey: '00112233445566778899aabbccddeeff' } },
    }),
    expect: { anonymous: 'signed-out', customerA: 'forbidden', customerB: 'forbidden', admin: 'ok', staff: 'forbidden' },
  },
  {
    name: 'action saveProvider (edit)',
    run: actionHandlers.saveProvider,
    fixture: async () => ({ orderId: await newOrder(true), input: { id: w.providers.carrier, values: { name: 'Carrier B', endpoint: '127.0.0.1:8922', transport: 'udp' } } }),
    expect: { anonymous: 'signed-out', customerA: 'forbidden', customerB: 'forbidden', admin: 'ok', staff: 'forbidden' },
  },
  {
    name: 'action setProviderEnabled',
    run: actionHandlers.setProviderEnabled,
    fixture: async () => ({ orderId: await newOrder(true), input: { id: w.providers.carrier, enabled: true } }),
    expect: { anonymous: 'signed-out', customerA: 'forbidden', customerB: 'forbidden', admin: 'ok', staff: 'forbidden' },
  },
  {
    name: 'action testProvider',
    run: actionHandlers.testProvider,
    // Carrier B: loopback UDP where nothing listens; the check itself fails, the action is 'ok'.
    fixture: async () => ({ orderId: await newOrder(true), input: { id: w.providers.carrier } }),
    expect: { anonymous: 'signed-out', customerA: 'forbidden', customerB: 'forbidden', admin: 'ok', staff: 'forbidden' },
  },
];

/** A provider whose admin file does not exist (no provider runs in this test). */
function heldProvider(): Promise<string> {
  return upsertProvider(w.db, { name: 'Held Networks', endpoint: '127.0.0.1:9', transport: 'udp', adminFile: '/nonexistent/held.db.admin.json' });
}

function outcome(r: ServiceResult<unknown>): Outcome | string {
  if (r.ok) return 'ok';
  if (JSON.stringify(r) === JSON.stringify(SIGNED_OUT)) return 'signed-out';
  if (r.code === 'invalid' && r.fieldErrors?.clonedFrom) return 'not-found';
  return r.code;
}

describe('authorisation matrix', () => {
  for (const row of ROWS) {
    for (const actor of ACTORS) {
      test(`${row.name} as ${actor}: ${row.expect[actor]}`, async () => {
        const { orderId, input } = await row.fixture();
        const before = await w.db.order.findUniqueOrThrow({ where: { id: orderId }, select: { state: true, version: true } });
        const intentsBefore = await w.db.intent.count({ where: { orderId } });
        const r = await row.run(who(actor), input);
        assert.equal(outcome(r), row.expect[actor], JSON.stringify(r));
        if (row.expect[actor] !== 'ok') {
          // A refused call changes nothing.
          assert.deepEqual(await w.db.order.findUniqueOrThrow({ where: { id: orderId }, select: { state: true, version: true } }), before);
          assert.equal(await w.db.intent.count({ where: { orderId } }), intentsBefore);
        }
      });
    }
  }

  test('organisation B gets byte-for-byte the answer for a missing order', async () => {
    const orderId = await newOrder(true);
    for (const [name, call] of [
      ['detail', (id: string) => queryHandlers.order(w.users.customerB, id)],
      ['ladder', (id: string) => historyQueries.ladder(w.users.customerB, id)],
      ['cancel', (id: string) => actionHandlers.enqueueIntent(w.users.customerB, { orderId: id, kind: 'cancel', payload: {} })],
      ['approve', (id: string) => actionHandlers.approveOrder(w.users.customerB, { orderId: id })],
      ['draft', (id: string) => actionHandlers.updateDraft(w.users.customerB, { orderId: id, input: orderInput(w) })],
    ] as const) {
      assert.deepEqual(await call(orderId), await call('c0000000000000000000000000'), name);
    }
  });

  test('malformed provider validation input is refused before any provider is called', async () => {
    const providerId = await heldProvider();
    for (const bad of [
      null,
      { providerId, providerOrderId: '../../v1/orders' },
      { providerId, providerOrderId: 'P-1', statusCode: 7 },
      { providerId, providerOrderId: 'P-1', statusCode: '4' },
      { providerId, providerOrderId: 'P-1', note: 'x'.repeat(501) },
      { providerId: '', providerOrderId: 'P-1' },
    ]) {
      const r = await providerQueueHandlers.reject(w.users.staff, bad);
      assert.ok(!r.ok && r.code === 'invalid', JSON.stringify(bad));
    }
    const approve = await providerQueueHandlers.approve(w.users.admin, { providerId, providerOrderId: 'P-1/approve' });
    assert.ok(!approve.ok && approve.code === 'invalid');
  });

  test('a refused registry call changes no provider', async () => {
    const snapshot = () => w.db.provider.findMany({ orderBy: { id: 'asc' } });
    const before = await snapshot();
    for (const u of [null, w.users.customerA, w.users.staff]) {
      await actionHandlers.saveProvider(u, { id: w.providers.example, values: { name: 'Hijacked', endpoint: '127.0.0.1:1', transport: 'udp' } });
      await actionHandlers.setProviderEnabled(u, { id: w.providers.example, enabled: false });
      await actionHandlers.testProvider(u, { id: w.providers.example });
    }
    assert.deepEqual(await snapshot(), before);
  });

  test('the registry as the browser reads it carries no key material', async () => {
    const saved = await actionHandlers.saveProvider(w.users.admin, { values: { name: 'Sealed One', endpoint: '127.0.0.1:7', transport: 'dtls', pskIdentity: 'portal', pskKey: 'deadbeef'.repeat(8) } });
    assert.ok(saved.ok, JSON.stringify(saved));
    const listed = await queryHandlers.providers(w.users.admin);
    const text = JSON.stringify(listed);
    assert.ok(!text.includes('deadbeef'), 'no plaintext key');
    const row = await w.db.provider.findUniqueOrThrow({ where: { name: 'Sealed One' } });
    assert.ok(row.pskKeyEnc && !text.includes(row.pskKeyEnc.split('.')[3] ?? 'x'), 'no sealed key either');
    assert.ok(!row.pskKeyEnc.includes('deadbeef'));
  });

  test('malformed input is refused before any service runs', async () => {
    for (const bad of [null, 'x', { orderId: '' }, { orderId: 'a'.repeat(65) }, { orderId: 'a', kind: 'approve' }, { orderId: 'a', kind: 'explode' }]) {
      const r = await actionHandlers.enqueueIntent(w.users.customerA, bad);
      assert.ok(!r.ok && r.code === 'invalid', JSON.stringify(bad));
    }
  });
});
