import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import type { CpnpMessage } from '../../cpnp/message';
import { Method } from '../../cpnp/method';
import type { PeerTuple } from '../../cpnp/validation/peer';
import { checkCidr, linkOwner, loadPolicy, matchesLink, parseDuration, parsePolicy, policyFromData, PolicyError } from '../policy';
import { aclFilter, effectiveAcl } from '../server';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const example = (name: string): string => join(ROOT, 'examples', name);

/** The example YAML as data, to derive bad policies from. */
function exampleData(): Record<string, unknown> {
  return parseYaml(parsePolicyText()) as Record<string, unknown>;
}
function parsePolicyText(): string {
  return readFileSync(example('provider.yaml'), 'utf8');
}

type Mutation = (data: Record<string, unknown>) => void;

function setAt(data: Record<string, unknown>, path: (string | number)[], value: unknown): void {
  let node: unknown = data;
  for (const key of path.slice(0, -1)) node = (node as Record<string | number, unknown>)[key];
  const last = path[path.length - 1] as string | number;
  if (value === undefined) delete (node as Record<string | number, unknown>)[last];
  else (node as Record<string | number, unknown>)[last] = value;
}

function errorOf(mutate: Mutation): PolicyError {
  const data = exampleData();
  mutate(data);
  try {
    policyFromData(data);
  } catch (error) {
    assert.ok(error instanceof PolicyError, `expected a PolicyError, got ${String(error)}`);
    return error;
  }
  assert.fail('the policy was accepted');
}

describe('policy files', () => {
  it('loads the YAML example and its JSON twin to the same policy', () => {
    const yaml = loadPolicy(example('provider.yaml'));
    const json = loadPolicy(example('provider.json'));
    assert.deepEqual(json, yaml);
    assert.equal(yaml.provider.name, 'Example Networks');
    assert.equal(yaml.offerValidityMs, 15 * 60_000);
    assert.deepEqual(yaml.availabilityLevels, [99.9, 99.95, 99.99]);
    assert.ok(yaml.defaultPool, 'the example policy has a default pool');
    assert.deepEqual(yaml.decisionDelay, { kind: 'immediate' });
    assert.equal(yaml.decisionModes.QUOTATION, 'automated');
    // pskFile is resolved against the policy file's folder.
    assert.equal(yaml.partners['carrier-b']?.pskFile, join(ROOT, 'examples', 'secrets/carrier-b.psk'));
  });

  it('loads the partner example (admin mode, decision delay, no default pool)', () => {
    const partner = loadPolicy(example('partner.yaml'));
    assert.equal(partner.decisionModes.QUOTATION, 'admin');
    assert.equal(partner.decisionModes.UPDATE, 'automated');
    assert.deepEqual(partner.decisionDelay, { kind: 'pending', offerAfterMs: 20_000 });
    assert.equal(partner.defaultPool, undefined);
    assert.equal(partner.defaultCustomer.allowed, false);
    assert.equal(partner.pricing.availabilityPremiumPct['99.9'], 0, 'levels without a premium get 0');
  });

  it('parses text in both formats; relative file names stay as written', () => {
    const text = parsePolicyText();
    const fromYaml = parsePolicy(text, 'yaml');
    const fromJson = parsePolicy(JSON.stringify(parseYaml(text)), 'json');
    assert.deepEqual(fromJson, fromYaml);
    assert.equal(fromYaml.partners['carrier-b']?.pskFile, 'secrets/carrier-b.psk');
  });

  it('refuses syntax errors, duplicate YAML keys, unknown extensions and missing files', () => {
    assert.throws(() => parsePolicy('{ "provider": ', 'json'), (e: unknown) => e instanceof PolicyError && /not valid JSON/.test(e.message));
    assert.throws(() => parsePolicy('regions: [a]\nregions: [b]\n', 'yaml'), (e: unknown) => e instanceof PolicyError && /not valid YAML/.test(e.message));
    const dir = mkdtempSync(join(tmpdir(), 'policy-'));
    writeFileSync(join(dir, 'p.toml'), '');
    assert.throws(() => loadPolicy(join(dir, 'p.toml')), /unknown policy format/);
    assert.throws(() => loadPolicy(join(dir, 'missing.yaml')), /cannot be read/);
  });

  it('accepts .yml and resolves absolute and relative psk files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'policy-'));
    const data = exampleData();
    setAt(data, ['partners', 'carrier-b', 'pskFile'], '/etc/cpnp/b.psk');
    writeFileSync(join(dir, 'p.yml'), JSON.stringify(data));
    assert.equal(loadPolicy(join(dir, 'p.yml')).partners['carrier-b']?.pskFile, '/etc/cpnp/b.psk');
  });

  // Each bad policy: the mutation, the expected error path, and a piece of the message.
  const table: { name: string; mutate: Mutation; path: string; message: RegExp }[] = [
    { name: 'negative pool capacity', mutate: (d) => setAt(d, ['pools', 'west', 'inMbps'], -5), path: 'pools.west.inMbps', message: /expected a positive number, got -5$/ },
    { name: 'capacity as text', mutate: (d) => setAt(d, ['pools', 'south', 'outMbps'], '2000'), path: 'pools.south.outMbps', message: /expected a positive number, got "2000"/ },
    { name: 'typo in a pool key', mutate: (d) => setAt(d, ['pools', 'west', 'inMbsp'], 5), path: 'pools.west.inMbsp', message: /unknown key \(allowed keys: inMbps, outMbps\)/ },
    { name: 'unknown top-level key', mutate: (d) => setAt(d, ['pricng'], {}), path: 'pricng', message: /unknown key/ },
    { name: 'missing provider name', mutate: (d) => setAt(d, ['provider', 'name'], undefined), path: 'provider.name', message: /expected a non-empty text, but it is missing/ },
    { name: 'AS number out of range', mutate: (d) => setAt(d, ['provider', 'asn'], 0), path: 'provider.asn', message: /AS number/ },
    { name: 'link to an unknown pool', mutate: (d) => setAt(d, ['links', 1, 'pool'], 'nowhere'), path: 'links[1].pool', message: /unknown pool "nowhere"/ },
    { name: 'link with both pool and partner', mutate: (d) => setAt(d, ['links', 0, 'partner'], 'carrier-b'), path: 'links[0]', message: /exactly one of "pool"/ },
    { name: 'link in an unknown region', mutate: (d) => setAt(d, ['links', 0, 'region'], 'mars'), path: 'links[0].region', message: /unknown region "mars"/ },
    { name: 'link to an unknown partner', mutate: (d) => setAt(d, ['links', 3, 'partner'], 'carrier-z'), path: 'links[3].partner', message: /unknown partner "carrier-z"/ },
    { name: 'unknown default pool', mutate: (d) => setAt(d, ['defaultPool'], 'gone'), path: 'defaultPool', message: /unknown pool "gone"/ },
    { name: 'no pool at all', mutate: (d) => setAt(d, ['pools'], {}), path: 'pools', message: /at least one pool/ },
    { name: 'QoS loss above 100 %', mutate: (d) => setAt(d, ['qosClasses', 2, 'lossPct'], 120), path: 'qosClasses[2].lossPct', message: /percentage between 0 and 100, got 120/ },
    { name: 'bad qualitative level', mutate: (d) => setAt(d, ['qosClasses', 0, 'qualitative'], 'great'), path: 'qosClasses[0].qualitative', message: /expected "low", "medium" or "high", got "great"/ },
    { name: 'duplicate class names', mutate: (d) => setAt(d, ['qosClasses', 1, 'name'], 'premium'), path: 'qosClasses[1]', message: /duplicate class name "premium"/ },
    { name: 'no QoS class', mutate: (d) => setAt(d, ['qosClasses'], []), path: 'qosClasses', message: /at least one QoS class/ },
    { name: 'availability level above 100', mutate: (d) => setAt(d, ['availabilityLevels', 1], 101), path: 'availabilityLevels[1]', message: /percentage/ },
    { name: 'unknown activation type', mutate: (d) => setAt(d, ['activationTypes'], ['immediate']), path: 'activationTypes[0]', message: /expected "permanent" or "scheduled", got "immediate"/ },
    { name: 'unknown purpose', mutate: (d) => setAt(d, ['purposes'], ['demo']), path: 'purposes[0]', message: /expected "test" or "production"/ },
    { name: 'bad duration', mutate: (d) => setAt(d, ['offerValidity'], '15 minutes'), path: 'offerValidity', message: /expected a duration/ },
    { name: 'zero validity', mutate: (d) => setAt(d, ['offerValidity'], '0s'), path: 'offerValidity', message: /longer than 0/ },
    { name: 'bad currency', mutate: (d) => setAt(d, ['pricing', 'currency'], 'euro'), path: 'pricing.currency', message: /currency code/ },
    { name: 'premium for an unknown level', mutate: (d) => setAt(d, ['pricing', 'availabilityPremiumPct', '99.5'], 3), path: 'pricing.availabilityPremiumPct["99.5"]', message: /not one of the availabilityLevels/ },
    { name: 'premium for an unknown class', mutate: (d) => setAt(d, ['pricing', 'qosPremiumPct', 'platinum'], 3), path: 'pricing.qosPremiumPct.platinum', message: /not one of the qosClasses/ },
    { name: 'bad decision mode', mutate: (d) => setAt(d, ['decisionModes', 'UPDATE'], 'manual'), path: 'decisionModes.UPDATE', message: /expected "automated" or "admin", got "manual"/ },
    { name: 'decision mode for ACCEPT', mutate: (d) => setAt(d, ['decisionModes', 'ACCEPT'], 'admin'), path: 'decisionModes.ACCEPT', message: /unknown key/ },
    { name: 'bad decision delay word', mutate: (d) => setAt(d, ['decisionDelay'], 'later'), path: 'decisionDelay', message: /"immediate" or \{ offerAfter/ },
    { name: 'bad decision delay duration', mutate: (d) => setAt(d, ['decisionDelay'], { offerAfter: 'soon' }), path: 'decisionDelay.offerAfter', message: /expected a duration, .*got "soon"|expected a duration/ },
    { name: 'customer allowed not boolean', mutate: (d) => setAt(d, ['customers', 'acme', 'allowed'], 'yes'), path: 'customers.acme.allowed', message: /expected true or false, got "yes"/ },
    { name: 'negative maxOrders', mutate: (d) => setAt(d, ['defaultCustomer', 'maxOrders'], -1), path: 'defaultCustomer.maxOrders', message: /whole number/ },
    { name: 'missing default customer', mutate: (d) => setAt(d, ['defaultCustomer'], undefined), path: 'defaultCustomer', message: /missing/ },
    { name: 'partner without port', mutate: (d) => setAt(d, ['partners', 'carrier-b', 'server'], 'cpnp.carrier-b.example'), path: 'partners.carrier-b.server', message: /host:port/ },
    { name: 'partner port out of range', mutate: (d) => setAt(d, ['partners', 'carrier-b', 'server'], 'b.example:70000'), path: 'partners.carrier-b.server', message: /between 1 and 65535/ },
    { name: 'partner bad transport', mutate: (d) => setAt(d, ['partners', 'carrier-b', 'transport'], 'quic'), path: 'partners.carrier-b.transport', message: /"dtls", "udp" or "tls"/ },
    { name: 'dtls partner without psk', mutate: (d) => setAt(d, ['partners', 'carrier-b', 'pskFile'], undefined), path: 'partners.carrier-b.pskFile', message: /required with transport "dtls"/ },
    { name: 'test duration while tests are not allowed', mutate: (d) => setAt(d, ['purposes'], ['production']), path: 'maxTestDuration', message: /purpose "test" is not allowed/ },
    { name: 'ACL: a bad address', mutate: (d) => setAt(d, ['acl'], { allow: ['10.0.0.0/8', '300.1.1.1/8'] }), path: 'acl.allow[1]', message: /expected an address or a CIDR block such as 192\.0\.2\.0\/24 or 2001:db8::\/32, got "300\.1\.1\.1\/8"$/ },
    { name: 'ACL: an IPv4 prefix too long', mutate: (d) => setAt(d, ['acl'], { deny: ['10.0.0.0/40'] }), path: 'acl.deny[0]', message: /prefix length between 0 and 32 after the address, got "10\.0\.0\.0\/40"/ },
    { name: 'ACL: an IPv6 prefix too long', mutate: (d) => setAt(d, ['acl'], { deny: ['2001:db8::/129'] }), path: 'acl.deny[0]', message: /prefix length between 0 and 128/ },
    { name: 'ACL: two slashes', mutate: (d) => setAt(d, ['acl'], { allow: ['10.0.0.0/8/8'] }), path: 'acl.allow[0]', message: /CIDR block/ },
    { name: 'ACL: a number', mutate: (d) => setAt(d, ['acl'], { allow: [10] }), path: 'acl.allow[0]', message: /CIDR block.*got 10$/ },
    { name: 'ACL: a block instead of a list', mutate: (d) => setAt(d, ['acl'], { allow: '10.0.0.0/8' }), path: 'acl.allow', message: /expected a list of CIDR blocks/ },
    { name: 'ACL: a list instead of an object', mutate: (d) => setAt(d, ['acl'], ['10.0.0.0/8']), path: 'acl', message: /expected an ACL \{ allow\?, deny\? \}/ },
    { name: 'ACL: a typo', mutate: (d) => setAt(d, ['acl'], { denied: [] }), path: 'acl.denied', message: /unknown key \(allowed keys: allow, deny\)/ },
    { name: 'an empty document', mutate: (d) => Object.keys(d).forEach((k) => setAt(d, [k], undefined)), path: 'provider', message: /missing/ },
  ];

  for (const row of table) {
    it(`refuses: ${row.name}`, () => {
      const error = errorOf(row.mutate);
      assert.equal(error.path, row.path, error.message);
      const first = error.issues[0];
      assert.ok(first);
      assert.match(first.message, row.message);
      assert.ok(error.message.startsWith(`${row.path}: `), error.message);
    });
  }

  it('reports every problem, not only the first', () => {
    const error = errorOf((d) => {
      setAt(d, ['pools', 'west', 'inMbps'], -5);
      setAt(d, ['offerValidity'], 'x');
    });
    assert.deepEqual(error.issues.map((i) => i.path), ['pools.west.inMbps', 'offerValidity']);
    assert.equal(error.message.split('\n').length, 2);
  });

  it('refuses a document that is not an object', () => {
    assert.throws(() => policyFromData([1, 2]), (e: unknown) => e instanceof PolicyError && /expected a policy object/.test(e.message));
  });
});

describe('durations and link rules', () => {
  it('parses durations', () => {
    assert.equal(parseDuration('15m'), 900_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('2d'), 172_800_000);
    assert.equal(parseDuration('250ms'), 250);
    for (const bad of ['', '15', 'm', '1.5h', '15 m', '-1s', '1w']) assert.equal(parseDuration(bad), undefined, bad);
  });

  it('matches exact ids and globs, regex characters literally', () => {
    assert.ok(matchesLink('pe1:*', 'pe1:xe-1/0/0'));
    assert.ok(matchesLink('pe1:*', 'pe1:'));
    assert.ok(!matchesLink('pe1:*', 'pe10:xe-1'));
    assert.ok(matchesLink('pe?:ge-0', 'pe7:ge-0'));
    assert.ok(matchesLink('a.b', 'a.b'));
    assert.ok(!matchesLink('a.b', 'axb'));
    assert.ok(!matchesLink('a.*', 'axb'));
    assert.ok(matchesLink('(x)+*', '(x)+y'));
  });

  it('maps links by the first matching rule, else the default pool', () => {
    const policy = loadPolicy(example('provider.yaml'));
    assert.deepEqual(linkOwner(policy, 'pe7:xe-2/0/0'), { kind: 'local', pool: 'south', region: 'eu-south', rule: 2 });
    assert.deepEqual(linkOwner(policy, 'carrier-b:osl-1'), { kind: 'partner', partner: 'carrier-b', rule: 3 });
    assert.deepEqual(linkOwner(policy, 'elsewhere'), { kind: 'local', pool: 'shared' });
    const { defaultPool: _dropped, ...noDefault } = policy;
    assert.deepEqual(linkOwner(noDefault, 'elsewhere'), { kind: 'none' });
  });
});

describe('address ACL (policy `acl`, merged with --allow / --deny)', () => {
  const QUOTATION: CpnpMessage = { version: 1, method: Method.QUOTATION, seq: 1, txid: '00'.repeat(16), customerOrderId: 'C-1', cpd: [] };
  const peer = (clientAddress: string): PeerTuple => ({ transport: 'dtls', clientAddress, clientPort: 40000, serverAddress: '192.0.2.1', serverPort: 8921 });

  it('is empty when the policy has none', () => {
    assert.deepEqual(policyFromData(exampleData()).acl, { allow: [], deny: [] });
  });

  it('normalises blocks: a bare address is one host, IPv6 may be bracketed, repeats are dropped', () => {
    const data = exampleData();
    data.acl = { allow: ['10.0.0.0/8', '192.0.2.7', '[2001:db8::]/32', '10.0.0.0/8'], deny: ['2001:db8::1', '10.9.0.0/016'] };
    assert.deepEqual(policyFromData(data).acl, { allow: ['10.0.0.0/8', '192.0.2.7/32', '2001:db8::/32'], deny: ['2001:db8::1/128', '10.9.0.0/16'] });
    // The same in YAML.
    const yaml = `${parsePolicyText()}\nacl:\n  allow: [10.0.0.0/8]\n  deny: ["::1"]\n`;
    assert.deepEqual(parsePolicy(yaml, 'yaml').acl, { allow: ['10.0.0.0/8'], deny: ['::1/128'] });
  });

  it('checkCidr: what is a block and what is not', () => {
    assert.deepEqual(checkCidr('0.0.0.0/0'), { ok: true, cidr: '0.0.0.0/0' });
    assert.deepEqual(checkCidr('::/0'), { ok: true, cidr: '::/0' });
    for (const bad of ['', '/8', 'host.example/8', '10.0.0.0/', '10.0.0.0/-1', '10.0.0.0/1e1', '10.0.0/8', '[10.0.0.0]/8x']) {
      assert.equal(checkCidr(bad).ok, false, bad);
    }
  });

  it('merges both sources as unions, policy first, without repeats', () => {
    assert.deepEqual(
      effectiveAcl({ allow: ['10.0.0.0/8'], deny: ['10.9.0.0/16'] }, { allow: ['192.0.2.0/24', '10.0.0.0/8'], deny: ['10.8.0.0/16'] }),
      { allow: ['10.0.0.0/8', '192.0.2.0/24'], deny: ['10.9.0.0/16', '10.8.0.0/16'] },
    );
    assert.deepEqual(effectiveAcl({ allow: [], deny: [] }, { allow: [], deny: [] }), { allow: [], deny: [] });
  });

  it('deny wins whichever source it came from; an allow list from either source refuses the rest', () => {
    const data = exampleData();
    data.acl = { allow: ['10.0.0.0/8'], deny: ['10.9.0.0/16'] };
    const policy = policyFromData(data).acl;
    // The command line adds an allowed block and a denied one inside the policy's allow list.
    const filter = aclFilter(effectiveAcl(policy, { allow: ['192.0.2.0/24'], deny: ['10.8.0.0/16'] }));
    assert.ok(filter);
    const verdict = (address: string): string => filter(peer(address), QUOTATION);
    assert.equal(verdict('10.1.2.3'), 'allow', 'allowed by the policy');
    assert.equal(verdict('192.0.2.9'), 'allow', 'allowed by the command line');
    assert.equal(verdict('10.9.0.1'), 'prohibit', 'denied by the policy');
    assert.equal(verdict('10.8.0.1'), 'prohibit', 'denied by the command line');
    assert.equal(verdict('127.0.0.1'), 'prohibit', 'outside every allowed block');
    // The command line cannot lift a block the policy denies.
    const lifted = aclFilter(effectiveAcl(policy, { allow: ['10.9.0.0/16'], deny: [] }));
    assert.equal(lifted?.(peer('10.9.0.1'), QUOTATION), 'prohibit');
    // A deny list alone leaves every other source allowed; no ACL at all means no filter.
    const denyOnly = aclFilter(effectiveAcl({ allow: [], deny: ['10.9.0.0/16'] }, { allow: [], deny: [] }));
    assert.equal(denyOnly?.(peer('127.0.0.1'), QUOTATION), 'allow');
    assert.equal(denyOnly?.(peer('::ffff:10.9.0.1'), QUOTATION), 'prohibit', 'IPv4-mapped IPv6 is the IPv4 source');
    assert.equal(aclFilter(effectiveAcl(policyFromData(exampleData()).acl, { allow: [], deny: [] })), undefined);
  });
});
