import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeCbor } from '../cbor/decoder';
import { CborFloat } from '../cbor/values';
import { arbCpd, arbPrefix } from '../cpd/arbitrary';
import type { Cpd } from '../cpd/types';
import { isPrefix, readCpd } from '../cpd/validate';
import { CpnpDecodeError } from '../errors';
import { SchemaReader } from '../schema-reader';
import { hexToBytes, vectorSets } from './vectors';

const jsonReader = new SchemaReader('json');
const cborReader = new SchemaReader('cbor');

/** The decoded-CBOR form of a JSON-form value: Maps, and CborFloat for non-integral numbers. */
function toCborForm(value: unknown): unknown {
  if (typeof value === 'number') return Number.isInteger(value) ? value : new CborFloat(value);
  if (Array.isArray(value)) return value.map(toCborForm);
  if (typeof value === 'object' && value !== null) {
    return new Map(Object.entries(value).map(([k, v]) => [k, toCborForm(v)]));
  }
  return value;
}

const readJson = (value: unknown): Cpd => readCpd(value, 'cpd', jsonReader);
const readCbor = (value: unknown): Cpd => readCpd(toCborForm(value), 'cpd', cborReader);

function failure(read: () => unknown): CpnpDecodeError {
  try {
    read();
  } catch (error) {
    assert.ok(error instanceof CpnpDecodeError, `expected CpnpDecodeError, got ${String(error)}`);
    assert.equal(error.statusCode, 1);
    return error;
  }
  assert.fail('expected a validation failure');
}

/** Asserts both forms fail with `rule` (and at `path` when given). */
function rejects(cpd: unknown, rule: string, path?: string): void {
  for (const [form, read] of [
    ['json', readJson],
    ['cbor', readCbor],
  ] as const) {
    const error = failure(() => read(cpd));
    assert.equal(error.rule, rule, `${form}: ${error.message}`);
    if (path !== undefined) assert.equal(error.path, path, `${form}: ${error.message}`);
  }
}

const NODE_A = { id: 'ce-a', link: 'pe1:xe-1/0/0' };
const NODE_B = { id: 'ce-b', link: 'pe7:xe-2/0/0' };
/** A CPP with two nodes plus `extra` clauses. */
const cpp = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ nodes: [NODE_A, NODE_B], ...extra });
const CONFORMANCE = { policing: 'police', outOfProfile: 'drop' };

describe('readCpd: the vectors', () => {
  for (const set of vectorSets()) {
    for (const v of [...set.valid, ...set.lenient]) {
      const cpd = (v.json as { cpd?: unknown }).cpd;
      if (cpd === undefined) continue;
      it(`${set.source} ${v.name}: both forms come back equal to the vector, keys in model order`, () => {
        const fromJson = readJson(cpd);
        assert.deepStrictEqual(fromJson, cpd);
        assert.equal(JSON.stringify(fromJson), JSON.stringify(cpd));
        assert.deepStrictEqual(readCbor(cpd), cpd);
      });
      it(`${set.source} ${v.name}: the CPD decoded from the hex validates`, () => {
        const message = decodeCbor(hexToBytes(v.hex));
        assert.ok(message instanceof Map);
        assert.deepStrictEqual(readCpd(message.get(15), 'cpd', cborReader), cpd);
      });
    }
    for (const [name, rule, path] of [
      ['cpp-without-nodes', 'missing', 'cpd[0].nodes'],
      ['capacity-without-conformance', 'rfc7297.conformance-required', 'cpd[0].conformance'],
    ] as const) {
      it(`${set.source} invalid ${name}: the CPD of the hex fails with ${rule}`, () => {
        const v = set.invalid.find((x) => x.name === name);
        assert.ok(v, `vector ${name} not found`);
        const message = decodeCbor(hexToBytes(v.hex));
        assert.ok(message instanceof Map);
        const error = failure(() => readCpd(message.get(15), 'cpd', cborReader));
        assert.equal(error.rule, rule, error.message);
        assert.equal(error.path, path);
      });
    }
  }

  it('the two CPD vectors built by hand fail in both forms', () => {
    rejects([{ capacity: { inMbps: 10 }, conformance: { policing: 'shape', outOfProfile: 'drop' } }], 'missing', 'cpd[0].nodes');
    rejects([{ nodes: [{ id: 'ce-a', link: 'pe1:ge-0/0/1' }], capacity: { inMbps: 10 } }], 'rfc7297.conformance-required', 'cpd[0].conformance');
  });
});

describe('readCpd: the rules of cpp-model.md', () => {
  it('accepts the smallest CPP and the Empty CPD', () => {
    assert.deepStrictEqual(readJson([]), []);
    assert.deepStrictEqual(readJson([{ nodes: [{ id: 'ce-a', link: 'pe1:ge-0/0/1' }] }]), [{ nodes: [{ id: 'ce-a', link: 'pe1:ge-0/0/1' }] }]);
  });

  it('CPD: an array of at most 64 CPPs', () => {
    rejects({}, 'type', 'cpd');
    const many = Array.from({ length: 64 }, () => cpp());
    assert.equal(readJson(many).length, 64);
    rejects([...many, cpp()], 'cpd.cpps', 'cpd');
    rejects([42], 'type', 'cpd[0]');
  });

  const cases: [string, unknown, string, string?][] = [
    // Closed maps.
    ['unknown CPP key', [cpp({ price: 3 })], 'cpp.unknown-key', 'cpd[0].price'],
    ['unknown node key', [{ nodes: [{ ...NODE_A, vlan: 3 }] }], 'cpp.unknown-key', 'cpd[0].nodes[0].vlan'],
    ['unknown scope key', [cpp({ scope: { reach: 'global', model: '1:1', x: 1 } })], 'cpp.unknown-key', 'cpd[0].scope.x'],
    ['unknown multicast key', [cpp({ scope: { reach: 'global', model: '1:1', multicast: { mode: 'asm', groups: [], ttl: 3 } } })], 'cpp.unknown-key'],
    ['unknown loose key', [cpp({ availability: { percent: { min: 99, avg: 99.5 } } })], 'cpp.unknown-key', 'cpd[0].availability.percent.avg'],
    ['unknown oneOf key', [cpp({ overall: { delay: { oneOf: ['low', 'high'], best: 'low' } } })], 'cpp.unknown-key'],
    ['unknown capacity key', [cpp({ capacity: { burst: 3 }, conformance: CONFORMANCE })], 'cpp.unknown-key'],
    ['unknown perLink key', [cpp({ capacity: { perLink: [{ link: 'l', burst: 1 }] }, conformance: CONFORMANCE })], 'cpp.unknown-key'],
    ['unknown conformance key', [cpp({ conformance: { ...CONFORMANCE, cir: 1 } })], 'cpp.unknown-key'],
    ['unknown flow key', [cpp({ flows: [{ proto: 6 }] })], 'cpp.unknown-key', 'cpd[0].flows[0].proto'],
    ['unknown routing key', [cpp({ routing: { ecmp: true } })], 'cpp.unknown-key'],
    ['unknown isolation key', [cpp({ isolation: { required: true, vrf: 'x' } })], 'cpp.unknown-key'],
    ['protocol with implicit invocation', [cpp({ invocation: { type: 'implicit', protocol: 'rsvp' } })], 'cpp.unknown-key'],
    ['unknown notification key', [cpp({ notifications: [{ channel: 'email', to: 'x' }] })], 'cpp.unknown-key'],
    ['unknown location key', [{ nodes: [{ ...NODE_A, location: { lat: 1, lon: 2, alt: 3 } }] }], 'cpp.unknown-key'],
    // Nodes (RFC 7297 3.1).
    ['no nodes', [{}], 'missing', 'cpd[0].nodes'],
    ['empty nodes', [{ nodes: [] }], 'cpp.nodes', 'cpd[0].nodes'],
    ['257 nodes', [{ nodes: Array.from({ length: 257 }, (_, i) => ({ id: `n${i}`, link: 'l' })) }], 'cpp.nodes'],
    ['duplicate node id', [{ nodes: [NODE_A, { ...NODE_B, id: 'ce-a' }] }], 'node.duplicate-id', 'cpd[0].nodes[1].id'],
    ['node without link', [{ nodes: [{ id: 'x' }] }], 'missing', 'cpd[0].nodes[0].link'],
    ['node without id', [{ nodes: [{ link: 'x' }] }], 'missing', 'cpd[0].nodes[0].id'],
    ['numeric node id', [{ nodes: [{ id: 1, link: 'x' }] }], 'type', 'cpd[0].nodes[0].id'],
    ['location as number', [{ nodes: [{ ...NODE_A, location: 3 }] }], 'type'],
    ['location without lon', [{ nodes: [{ ...NODE_A, location: { lat: 1 } }] }], 'missing'],
    // Scope (RFC 7297 3.2).
    ['scope without model', [cpp({ scope: { reach: 'global' } })], 'missing', 'cpd[0].scope.model'],
    ['unknown reach', [cpp({ scope: { reach: 'planet', model: '1:1' } })], 'enum', 'cpd[0].scope.reach'],
    ['oneOf with one choice', [cpp({ scope: { reach: { oneOf: ['global'] }, model: '1:1' } })], 'loose', 'cpd[0].scope.reach.oneOf'],
    ['oneOf with a repeat', [cpp({ scope: { reach: { oneOf: ['global', 'global'] }, model: '1:1' } })], 'loose'],
    ['oneOf with an unknown choice', [cpp({ scope: { reach: 'global', model: { oneOf: ['1:1', '2:2'] } } })], 'enum', 'cpd[0].scope.model.oneOf[1]'],
    ['oneOf not a list', [cpp({ scope: { reach: 'global', model: { oneOf: '1:1' } } })], 'type'],
    ['enum as number', [cpp({ scope: { reach: 1, model: '1:1' } })], 'type', 'cpd[0].scope.reach'],
    ['families repeated', [cpp({ scope: { reach: 'global', model: '1:1', families: ['ipv4', 'ipv4'] } })], 'duplicate'],
    ['families empty', [cpp({ scope: { reach: 'global', model: '1:1', families: [] } })], 'length'],
    ['families unknown', [cpp({ scope: { reach: 'global', model: '1:1', families: ['ipx'] } })], 'enum'],
    ['outbound to an unknown node', [cpp({ scope: { reach: 'global', model: '1:1', outbound: ['ce-z'] } })], 'scope.endpoint', 'cpd[0].scope.outbound[0]'],
    ['inbound not a prefix', [cpp({ scope: { reach: 'global', model: '1:1', inbound: ['10.0.0.0/33'] } })], 'scope.endpoint'],
    ['sources with asm', [cpp({ scope: { reach: 'global', model: '1:N', multicast: { mode: 'asm', groups: ['232.0.0.0/8'], sources: [] } } })], 'multicast.sources', 'cpd[0].scope.multicast.sources'],
    ['bad group prefix', [cpp({ scope: { reach: 'global', model: '1:N', multicast: { mode: 'ssm', groups: ['232.1.1.1/8'] } } })], 'prefix', 'cpd[0].scope.multicast.groups[0]'],
    ['multicast without groups', [cpp({ scope: { reach: 'global', model: '1:N', multicast: { mode: 'ssm' } } })], 'missing'],
    // QoS (RFC 7297 3.3).
    ['qos mixing class and delay', [cpp({ qos: { kind: 'quantitative', delayMs: 10, class: 'low' } })], 'rfc7297.qos-mix', 'cpd[0].qos'],
    ['qualitative with delay', [cpp({ qos: { kind: 'qualitative', delayMs: 10 } })], 'rfc7297.qos-mix', 'cpd[0].qos.delayMs'],
    ['quantitative with class', [cpp({ qos: { kind: 'quantitative', class: 'low' } })], 'rfc7297.qos-mix', 'cpd[0].qos.class'],
    ['qos without kind', [cpp({ qos: { delayMs: 10 } })], 'missing', 'cpd[0].qos.kind'],
    ['qos unknown kind', [cpp({ qos: { kind: 'best' } })], 'enum'],
    ['qualitative without class', [cpp({ qos: { kind: 'qualitative' } })], 'missing'],
    ['unknown qos key', [cpp({ qos: { kind: 'quantitative', mos: 4 } })], 'cpp.unknown-key'],
    ['between one node', [cpp({ qos: { kind: 'quantitative', between: ['ce-a'] } })], 'length'],
    ['between three nodes', [cpp({ qos: { kind: 'quantitative', between: ['ce-a', 'ce-b', 'ce-a'] } })], 'length'],
    ['between unknown node', [cpp({ qos: { kind: 'quantitative', between: ['ce-a', 'ce-z'] } })], 'node.unknown-id', 'cpd[0].qos.between[1]'],
    ['between the same node', [cpp({ qos: { kind: 'quantitative', between: ['ce-a', 'ce-a'] } })], 'qos.between'],
    ['statistic unknown', [cpp({ qos: { kind: 'quantitative', statistic: 'p50' } })], 'enum'],
    ['intervalSec negative', [cpp({ qos: { kind: 'quantitative', intervalSec: -1 } })], 'range'],
    ['intervalSec fractional', [cpp({ qos: { kind: 'quantitative', intervalSec: 1.5 } })], 'type'],
    // Negotiable numbers.
    ['delay as text', [cpp({ qos: { kind: 'quantitative', delayMs: '10' } })], 'type', 'cpd[0].qos.delayMs'],
    ['loose without min or max', [cpp({ qos: { kind: 'quantitative', delayMs: { pref: 10 } } })], 'loose', 'cpd[0].qos.delayMs'],
    ['loose empty', [cpp({ qos: { kind: 'quantitative', delayMs: {} } })], 'loose'],
    ['min above max', [cpp({ qos: { kind: 'quantitative', delayMs: { min: 20, max: 10 } } })], 'loose'],
    ['pref below min', [cpp({ qos: { kind: 'quantitative', delayMs: { min: 20, pref: 10 } } })], 'loose', 'cpd[0].qos.delayMs.pref'],
    ['pref above max', [cpp({ qos: { kind: 'quantitative', delayMs: { max: 20, pref: 30 } } })], 'loose', 'cpd[0].qos.delayMs.pref'],
    ['loose bound as text', [cpp({ qos: { kind: 'quantitative', delayMs: { max: '20' } } })], 'type', 'cpd[0].qos.delayMs.max'],
    ['loose as a list', [cpp({ qos: { kind: 'quantitative', delayMs: [1, 2] } })], 'type'],
    ['integral beyond 2^53', [cpp({ qos: { kind: 'quantitative', delayMs: 2 ** 60 } })], 'range'],
    // Availability (RFC 7297 3.4).
    ['availability above 100', [cpp({ availability: { percent: 100.5 } })], 'range', 'cpd[0].availability.percent'],
    ['availability below 0', [cpp({ availability: { percent: -1 } })], 'range'],
    ['availability loose bound above 100', [cpp({ availability: { percent: { min: 99, max: 101 } } })], 'range', 'cpd[0].availability.percent.max'],
    ['availability without percent', [cpp({ availability: { statistic: 'avg' } })], 'missing'],
    ['availability statistic p95', [cpp({ availability: { percent: 99, statistic: 'p95' } })], 'enum'],
    // Capacity and conformance (RFC 7297 3.5, 3.6).
    ['capacity without conformance', [cpp({ capacity: { inMbps: 10 } })], 'rfc7297.conformance-required', 'cpd[0].conformance'],
    ['empty capacity without conformance', [cpp({ capacity: {} })], 'rfc7297.conformance-required'],
    ['perLink without link', [cpp({ capacity: { perLink: [{ inMbps: 1 }] }, conformance: CONFORMANCE })], 'missing'],
    ['conformance without policing', [cpp({ conformance: { outOfProfile: 'drop' } })], 'missing', 'cpd[0].conformance.policing'],
    ['outOfProfile unknown', [cpp({ conformance: { policing: 'shape', outOfProfile: 'mark' } })], 'enum'],
    ['mtu 67', [cpp({ conformance: { ...CONFORMANCE, mtu: 67 } })], 'range', 'cpd[0].conformance.mtu'],
    ['mtu 65536', [cpp({ conformance: { ...CONFORMANCE, mtu: 65536 } })], 'range'],
    ['mtu loose', [cpp({ conformance: { ...CONFORMANCE, mtu: { min: 1500 } } })], 'type'],
    // Overall (RFC 7297 3.7).
    ['overall with drop', [cpp({ conformance: CONFORMANCE, overall: { delay: 'low' } })], 'rfc7297.overall', 'cpd[0].overall'],
    ['overall with capacity and drop', [cpp({ capacity: { inMbps: 1 }, conformance: CONFORMANCE, overall: {} })], 'rfc7297.overall'],
    [
      'overall when drop is a possible choice',
      [cpp({ conformance: { policing: 'police', outOfProfile: { oneOf: ['lower-effort', 'drop'] } }, overall: { loss: 'low' } })],
      'rfc7297.overall',
    ],
    ['overall unknown level', [cpp({ overall: { delay: 'none' } })], 'enum'],
    // Isolation (3.8).
    ['isolation without required', [cpp({ isolation: {} })], 'missing'],
    ['isolation required as text', [cpp({ isolation: { required: 'yes' } })], 'type'],
    ['security not a list', [cpp({ isolation: { required: true, security: 'ipsec' } })], 'type'],
    // Flows (3.9).
    ['flow src not a prefix', [cpp({ flows: [{ src: '192.0.2.1' }] })], 'prefix', 'cpd[0].flows[0].src'],
    ['flow port 65536', [cpp({ flows: [{ srcPort: 65536 }] })], 'range'],
    ['flow port range reversed', [cpp({ flows: [{ dstPort: [5061, 5060] }] })], 'range', 'cpd[0].flows[0].dstPort'],
    ['flow port range of three', [cpp({ flows: [{ dstPort: [1, 2, 3] }] })], 'length'],
    ['flow port as text', [cpp({ flows: [{ dstPort: '80' }] })], 'type'],
    ['dscp 64', [cpp({ flows: [{ dscp: 64 }] })], 'range', 'cpd[0].flows[0].dscp'],
    ['remark 64', [cpp({ flows: [{ remark: 64 }] })], 'range'],
    ['links "some"', [cpp({ flows: [{ links: 'some' }] })], 'enum'],
    ['links of numbers', [cpp({ flows: [{ links: [1] }] })], 'type'],
    // Routing, activation, invocation, notifications (3.10-3.13).
    ['backupPath as text', [cpp({ routing: { backupPath: 'yes' } })], 'type'],
    ['activation not a list', [cpp({ activation: 'bgp' })], 'type'],
    ['invocation without type', [cpp({ invocation: {} })], 'missing'],
    ['explicit without protocol', [cpp({ invocation: { type: 'explicit' } })], 'missing', 'cpd[0].invocation.protocol'],
    ['explicit with unknown protocol', [cpp({ invocation: { type: 'explicit', protocol: 'ldp' } })], 'enum'],
    ['notification channel unknown', [cpp({ notifications: [{ channel: 'pager' }] })], 'enum'],
    ['notification interval fractional', [cpp({ notifications: [{ channel: 'email', intervalSec: 0.5 }] })], 'type'],
    ['component as number', [cpp({ component: 3 })], 'type', 'cpd[0].component'],
  ];
  for (const [name, cpd, rule, path] of cases) {
    it(`rejects: ${name} (${rule})`, () => rejects(cpd, rule, path));
  }

  it('accepts the edges of every range', () => {
    const edges = [
      cpp({
        scope: { reach: { oneOf: ['restricted', 'global'] }, model: '1:N', families: ['ipv6', 'ipv4'], outbound: ['ce-a', '0.0.0.0/0'], inbound: ['::/0'] },
        qos: { kind: 'quantitative', delayMs: { min: 5, max: 5, pref: 5 }, lossPct: 0, intervalSec: 0, between: ['ce-b', 'ce-a'] },
        availability: { percent: { min: 0, max: 100 } },
        capacity: { inMbps: { max: 1 }, perLink: [{ link: 'l1' }] },
        conformance: { policing: 'shape', outOfProfile: 'lower-effort', mtu: 68 },
        overall: { throughput: { oneOf: ['high', 'medium', 'low'] } },
        flows: [{ srcPort: [0, 65535], dstPort: 0, dscp: 63, remark: 0, links: [] }],
        notifications: [],
      }),
      cpp({ availability: { percent: 100 }, conformance: { policing: 'police', outOfProfile: 'lower-effort', mtu: 65535 }, overall: {} }),
      cpp({ scope: { reach: 'global', model: '1:any', multicast: { mode: 'ssm', groups: ['ff3e::/32'] } }, qos: { kind: 'qualitative', class: 'low' } }),
    ];
    assert.deepStrictEqual(readJson(edges), edges);
    assert.deepStrictEqual(readCbor(edges), edges);
  });

  it('numbers: CBOR floats are read as numbers for Num, refused where a uint is due; -0 becomes 0', () => {
    const value = [
      new Map<string, unknown>([
        ['nodes', [new Map([['id', 'a'], ['link', 'b']])]],
        ['availability', new Map([['percent', new Map([['min', new CborFloat(99)], ['pref', new CborFloat(99.5)]])]])],
        ['qos', new Map<string, unknown>([['kind', 'quantitative'], ['delayMs', new CborFloat(-0)]])],
      ]),
    ];
    const cpd = readCpd(value, 'cpd', cborReader);
    assert.deepStrictEqual(cpd[0]?.availability, { percent: { min: 99, pref: 99.5 } });
    assert.ok(Object.is(cpd[0]?.qos?.kind === 'quantitative' ? cpd[0].qos.delayMs : undefined, 0));
    const mtu = [new Map<string, unknown>([['nodes', [new Map([['id', 'a'], ['link', 'b']])]], ['conformance', new Map<string, unknown>([['policing', 'police'], ['outOfProfile', 'drop'], ['mtu', new CborFloat(1500)]])]])];
    assert.equal(failure(() => readCpd(mtu, 'cpd', cborReader)).rule, 'type');
  });

  it('each form only accepts its own maps', () => {
    const smallest = [{ nodes: [{ id: 'a', link: 'b' }] }];
    assert.equal(failure(() => readCpd(toCborForm(smallest), 'cpd', jsonReader)).rule, 'type');
    assert.equal(failure(() => readCpd(smallest, 'cpd', cborReader)).rule, 'type');
    assert.equal(failure(() => readCpd([new Map([[1, 'x']])], 'cpd', cborReader)).rule, 'type');
  });

  it('returns fresh objects in a stable key order', () => {
    const input = [{ scope: { model: '1:1', reach: 'global' }, nodes: [{ link: 'b', id: 'a' }], component: 'c' }];
    const out = readJson(input);
    assert.equal(JSON.stringify(out), '[{"component":"c","nodes":[{"id":"a","link":"b"}],"scope":{"reach":"global","model":"1:1"}}]');
    input[0]!.nodes[0]!.id = 'changed';
    input[0]!.scope.reach = 'restricted';
    assert.equal(out[0]?.nodes[0]?.id, 'a');
    assert.equal(out[0]?.scope?.reach, 'global');
  });
});

describe('prefixes', () => {
  const valid = [
    '0.0.0.0/0',
    '192.0.2.0/24',
    '198.51.100.7/32',
    '232.0.0.0/8',
    '::/0',
    '::/128',
    '::1/128',
    '2001:db8::/32',
    '2001:DB8::/32',
    '2001:db8:0:0:0:0:0:0/64',
    'fe80::/10',
    '::ffff:192.0.2.0/120',
    '64:ff9b::192.0.2.0/120',
    '1:2:3:4:5:6:7::/128',
    '::2:3:4:5:6:7:8/128',
  ];
  const invalid = [
    '192.0.2.0',
    '192.0.2.1/24',
    '192.0.2.0/33',
    '192.0.2.0/024',
    '192.0.2.0/-1',
    '192.0.2.0/',
    '192.0.2/24',
    '192.0.2.0.0/24',
    '192.00.2.0/24',
    '256.0.0.0/8',
    ' 192.0.2.0/24',
    '192.0.2.0/24 ',
    '192.0.2.0/24/1',
    '2001:db8::/129',
    '2001:db8::1/32',
    '2001:db8:::/32',
    '2001::db8::/32',
    '1:2:3:4:5:6:7:8:9/128',
    '1:2:3:4:5:6:7/128',
    '1:2:3:4:5:6:7:8::/128',
    '12345::/16',
    'fe80::%eth0/64',
    'g::/16',
    '::ffff:192.0.2/120',
    '::192.0.2.0:1/128',
    '',
    '/0',
    'ce-a',
  ];
  for (const text of valid) it(`accepts ${text}`, () => assert.equal(isPrefix(text), true));
  for (const text of invalid) it(`refuses ${JSON.stringify(text)}`, () => assert.equal(isPrefix(text), false));

  it('accepts every generated prefix', () => {
    fc.assert(fc.property(arbPrefix, (text) => isPrefix(text)));
  });
});

describe('readCpd: generated CPDs', () => {
  it('every generated CPD validates, in both forms, and survives a JSON round trip', () => {
    fc.assert(
      fc.property(arbCpd(), (cpd) => {
        assert.deepStrictEqual(readJson(cpd), cpd);
        assert.deepStrictEqual(readJson(JSON.parse(JSON.stringify(cpd))), cpd);
        assert.deepStrictEqual(readCbor(cpd), cpd);
      }),
      { numRuns: 300 },
    );
  });

  it('an unknown key anywhere inside a generated CPP is refused', () => {
    fc.assert(
      fc.property(arbCpd({ minCpps: 1 }), fc.nat(), (cpd, pick) => {
        const maps: Record<string, unknown>[] = [];
        const collect = (value: unknown): void => {
          if (Array.isArray(value)) value.forEach(collect);
          else if (typeof value === 'object' && value !== null) {
            maps.push(value as Record<string, unknown>);
            Object.values(value).forEach(collect);
          }
        };
        const copy: unknown = JSON.parse(JSON.stringify(cpd));
        collect(copy);
        const target = maps[pick % maps.length];
        assert.ok(target);
        target['x-unknown'] = 1;
        const error = failure(() => readJson(copy));
        assert.equal(error.rule, 'cpp.unknown-key', error.message);
      }),
      { numRuns: 200 },
    );
  });
});
