import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { seededRandom, type RandomSource } from '../random';
import {
  CPNP_PORT,
  DiscoveryError,
  discoverServers,
  endpointsOf,
  formatHostPort,
  orderSrvRecords,
  parseHostPort,
  srvName,
  tryInOrder,
  type ServerTarget,
  type SrvRecord,
} from '../transport/discovery';

/** A random source that yields the given 32-bit values, big-endian, then fails. */
function scripted(values: number[]): RandomSource {
  const queue = [...values];
  return {
    bytes(n) {
      assert.equal(n, 4);
      const v = queue.shift();
      if (v === undefined) throw new Error('script exhausted');
      return Uint8Array.of(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
    },
  };
}

const srv = (name: string, priority: number, weight: number, port = 7000): SrvRecord => ({ name, priority, weight, port });

describe('parseHostPort', () => {
  it('accepts the configured forms', () => {
    assert.deepEqual(parseHostPort('192.0.2.1:7777'), { host: '192.0.2.1', port: 7777 });
    assert.deepEqual(parseHostPort('192.0.2.1'), { host: '192.0.2.1', port: CPNP_PORT });
    assert.deepEqual(parseHostPort('cpnp.example.net:1'), { host: 'cpnp.example.net', port: 1 });
    assert.deepEqual(parseHostPort('  cpnp.example.net.  '), { host: 'cpnp.example.net.', port: CPNP_PORT });
    assert.deepEqual(parseHostPort('[::1]:65535'), { host: '::1', port: 65535 });
    assert.deepEqual(parseHostPort('[2001:db8::1]'), { host: '2001:db8::1', port: CPNP_PORT });
    assert.deepEqual(parseHostPort('2001:db8::1'), { host: '2001:db8::1', port: CPNP_PORT });
    assert.deepEqual(parseHostPort('localhost', 4000), { host: 'localhost', port: 4000 });
  });

  it('rejects malformed input with a DiscoveryError', () => {
    const bad = [
      '',
      '   ',
      'host:',
      'host:0',
      'host:65536',
      'host:-1',
      'host:12ab',
      'host:123456',
      '[::1',
      '[::1]x',
      '[::1]:',
      '[192.0.2.1]:80',
      '[nothost]:80',
      '2001:db8::1:80:x',
      'ho st:80',
      '-bad.example:80',
      'bad-.example',
      'a..b',
      `${'a'.repeat(64)}.example`,
      'exa_mple.net',
      'http://example.net',
    ];
    for (const input of bad) assert.throws(() => parseHostPort(input), DiscoveryError, JSON.stringify(input));
  });

  it('formatHostPort is its inverse', () => {
    for (const s of ['192.0.2.1:7777', '[2001:db8::1]:80', 'cpnp.example.net:8921']) {
      assert.equal(formatHostPort(parseHostPort(s)), s);
    }
    assert.equal(formatHostPort({ address: '::1', port: 5 }), '[::1]:5');
  });
});

describe('srvName', () => {
  it('uses _udp for UDP and DTLS, _tcp for TLS', () => {
    assert.equal(srvName('example.net', 'dtls'), '_cpnp._udp.example.net');
    assert.equal(srvName('example.net.', 'udp'), '_cpnp._udp.example.net');
    assert.equal(srvName('example.net', 'tls'), '_cpnp._tcp.example.net');
    assert.throws(() => srvName('not a domain', 'dtls'), DiscoveryError);
  });
});

describe('orderSrvRecords (RFC 2782)', () => {
  it('orders by priority first, whatever the weights', () => {
    const records = [srv('c', 20, 1000), srv('a', 10, 0), srv('b', 10, 1), srv('d', 30, 5)];
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const hosts = orderSrvRecords(records, seededRandom(seed)).map((t) => t.host);
        assert.deepEqual(hosts.slice(2), ['c', 'd']);
        assert.deepEqual([...hosts.slice(0, 2)].sort(), ['a', 'b']);
      }),
      { numRuns: 200 },
    );
  });

  it('picks within a priority by running weight sums, weight-0 records first', () => {
    // Within priority 1 the list is [C(0), A(10), B(20)]: running sums 0, 10, 30.
    const records = [srv('A', 1, 10), srv('B', 1, 20), srv('C', 1, 0)];
    // 11 → B (first sum >= 11 is 30); then [C(0), A(10)]: 0 → C; then A.
    assert.deepEqual(orderSrvRecords(records, scripted([11, 0, 0])).map((t) => t.host), ['B', 'C', 'A']);
    // 10 → A; then [C(0), B(20)]: 1 → B; then C.
    assert.deepEqual(orderSrvRecords(records, scripted([10, 1, 0])).map((t) => t.host), ['A', 'B', 'C']);
    // 0 → C (weight 0 still has its small chance); then [A, B]: 30 → B; then A.
    assert.deepEqual(orderSrvRecords(records, scripted([0, 30, 0])).map((t) => t.host), ['C', 'B', 'A']);
  });

  it('draws uniformly: rejection-samples 32-bit values above the largest multiple of the range', () => {
    // range 31: values >= floor(2^32 / 31) * 31 are redrawn; 0xffffffff is such a value.
    const records = [srv('A', 1, 10), srv('B', 1, 20), srv('C', 1, 0)];
    assert.deepEqual(orderSrvRecords(records, scripted([0xffffffff, 5, 0, 0])).map((t) => t.host), ['A', 'C', 'B']);
  });

  it('honours the weights statistically (seeded)', () => {
    const random = seededRandom(42);
    const records = [srv('heavy', 1, 90), srv('light', 1, 10), srv('zero', 1, 0)];
    const first = new Map<string, number>();
    const trials = 4000;
    for (let i = 0; i < trials; i++) {
      const host = orderSrvRecords(records, random)[0]?.host ?? '';
      first.set(host, (first.get(host) ?? 0) + 1);
    }
    const share = (h: string) => (first.get(h) ?? 0) / trials;
    assert.ok(share('heavy') > 0.86 && share('heavy') < 0.94, `heavy ${share('heavy')}`);
    assert.ok(share('light') > 0.07 && share('light') < 0.13, `light ${share('light')}`);
    assert.ok(share('zero') < 0.03, `zero ${share('zero')}`);
  });

  it('is deterministic for a given seed and keeps ports', () => {
    const records = [srv('a', 1, 5, 1111), srv('b', 1, 5, 2222), srv('c', 1, 5, 3333)];
    assert.deepEqual(orderSrvRecords(records, seededRandom(7)), orderSrvRecords(records, seededRandom(7)));
    for (const t of orderSrvRecords(records, seededRandom(7))) {
      assert.equal(t.port, { a: 1111, b: 2222, c: 3333 }[t.host]);
    }
  });

  it('"." (service not available) and port 0 give no candidate; trailing dots are removed', () => {
    assert.deepEqual(orderSrvRecords([srv('.', 0, 0)], seededRandom(1)), []);
    assert.deepEqual(orderSrvRecords([srv('x.example.', 0, 0, 0)], seededRandom(1)), []);
    assert.deepEqual(orderSrvRecords([srv('x.example.', 0, 0)], seededRandom(1)), [{ host: 'x.example', port: 7000 }]);
  });
});

describe('discoverServers', () => {
  it('static configuration: the servers as configured, in order', async () => {
    const targets = await discoverServers({ kind: 'static', servers: ['[::1]:9000', '127.0.0.1'], defaultPort: 9001 }, { transport: 'dtls' });
    assert.deepEqual(targets, [
      { host: '::1', port: 9000 },
      { host: '127.0.0.1', port: 9001 },
    ]);
    await assert.rejects(discoverServers({ kind: 'static', servers: [] }, { transport: 'dtls' }), DiscoveryError);
    await assert.rejects(discoverServers({ kind: 'static', servers: ['a:b'] }, { transport: 'dtls' }), DiscoveryError);
  });

  it('SRV: asks the injected resolver for the right name and orders the answer', async () => {
    const asked: string[] = [];
    const resolveSrv = async (name: string) => {
      asked.push(name);
      return [srv('backup.example.net', 20, 0, 7001), srv('main.example.net', 10, 0, 7000)];
    };
    const dtls = await discoverServers({ kind: 'srv', domain: 'example.net' }, { transport: 'dtls', resolveSrv, random: seededRandom(1) });
    const tls = await discoverServers({ kind: 'srv', domain: 'example.net' }, { transport: 'tls', resolveSrv, random: seededRandom(1) });
    assert.deepEqual(asked, ['_cpnp._udp.example.net', '_cpnp._tcp.example.net']);
    assert.deepEqual(dtls, [
      { host: 'main.example.net', port: 7000 },
      { host: 'backup.example.net', port: 7001 },
    ]);
    assert.deepEqual(tls, dtls);
  });

  it('SRV: lookup failures, empty answers and "." are DiscoveryErrors', async () => {
    const opts = (records: SrvRecord[] | Error) => ({
      transport: 'dtls' as const,
      random: seededRandom(1),
      resolveSrv: async () => {
        if (records instanceof Error) throw records;
        return records;
      },
    });
    const locator = { kind: 'srv', domain: 'example.net' } as const;
    await assert.rejects(discoverServers(locator, opts(new Error('ENOTFOUND'))), /SRV lookup of _cpnp\._udp\.example\.net failed: ENOTFOUND/);
    await assert.rejects(discoverServers(locator, opts([])), DiscoveryError);
    await assert.rejects(discoverServers(locator, opts([srv('.', 0, 0)])), /no CPNP service/);
  });
});

describe('fallback', () => {
  it('tryInOrder tries the next target when one fails, in order, and stops at the first success', async () => {
    const targets: ServerTarget[] = [
      { host: 'a', port: 1 },
      { host: 'b', port: 2 },
      { host: 'c', port: 3 },
    ];
    const tried: string[] = [];
    const result = await tryInOrder(targets, async (t) => {
      tried.push(t.host);
      if (t.host !== 'b') throw new Error(`${t.host} down`);
      return `via ${t.host}`;
    });
    assert.equal(result, 'via b');
    assert.deepEqual(tried, ['a', 'b']);
  });

  it('tryInOrder reports every failure when all fail', async () => {
    const targets: ServerTarget[] = [
      { host: 'a', port: 1 },
      { host: '::1', port: 2 },
    ];
    await assert.rejects(
      tryInOrder(targets, async (t) => {
        throw new Error(`${t.host} down`);
      }),
      (e: unknown) => e instanceof AggregateError && e.errors.length === 2 && /a:1, \[::1\]:2/.test(e.message),
    );
    await assert.rejects(tryInOrder([], async () => 1), AggregateError);
  });

  it('endpointsOf keeps IP literals and resolves names through the injected resolver', async () => {
    const resolve = async (host: string) => (host === 'two.example' ? ['192.0.2.1', '2001:db8::1'] : []);
    assert.deepEqual(await endpointsOf({ host: '::1', port: 5 }, resolve), [{ address: '::1', port: 5 }]);
    assert.deepEqual(await endpointsOf({ host: 'two.example', port: 6 }, resolve), [
      { address: '192.0.2.1', port: 6 },
      { address: '2001:db8::1', port: 6 },
    ]);
    await assert.rejects(endpointsOf({ host: 'none.example', port: 6 }, resolve), DiscoveryError);
    await assert.rejects(
      endpointsOf({ host: 'x.example', port: 6 }, async () => {
        throw new Error('SERVFAIL');
      }),
      /SERVFAIL/,
    );
  });
});
