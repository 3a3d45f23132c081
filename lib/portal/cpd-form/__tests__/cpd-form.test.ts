import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseWithZod } from '@conform-to/zod/v4';
import fc from 'fast-check';
import { arbCpd } from '../../../cpnp/cpd/arbitrary';
import { cpdEquals } from '../../../cpnp/cpd/equality';
import type { Cpd } from '../../../cpnp/cpd/types';
import { readCpd } from '../../../cpnp/cpd/validate';
import { SchemaReader } from '../../../cpnp/schema-reader';
import { checkCpd, cpdPathToFieldPath, formatPath, parsePath } from '../cpd-check';
import { emptyCpp, fromCpd, orderFormDefaults, toOrderFields, type OrderFields } from '../mapping';
import { orderFormSchema, schemaForIntent, splitList, type OrderFormInput } from '../schema';
import { formRepresentable, toFormData } from './helpers';

const ORDER: Omit<OrderFields, 'cpd'> = {
  title: 'Rennes – Volos',
  providerIds: ['prov-a'],
  expectedResponseSeconds: 600,
  selectionRule: 'manual',
  options: {},
};

/** Posts `input` as the browser would and parses it with the one schema, as the server does. */
function submit(input: OrderFormInput) {
  return parseWithZod(toFormData(input), { schema: orderFormSchema });
}

function errorsOf(input: OrderFormInput): Record<string, string[] | null> {
  const submission = submit(input);
  assert.equal(submission.status, 'error', 'expected the form to be refused');
  return submission.reply().error ?? {};
}

/** The form prefilled with `cpd`, then edited by `edit`. */
function formWith(cpd: Cpd, edit: (form: OrderFormInput) => void = () => {}): OrderFormInput {
  const form = orderFormDefaults({ ...ORDER, cpd });
  edit(form);
  return form;
}

const TWO_NODES = [
  { id: 'ce-a', link: 'pe1:xe-1/0/0', location: 'Rennes' },
  { id: 'ce-b', link: 'pe7:xe-2/0/0', location: 'Volos' },
];
const TYPICAL: Cpd = [
  {
    nodes: TWO_NODES,
    scope: { reach: 'restricted', model: '1:1', outbound: ['ce-b'], inbound: ['ce-b'] },
    qos: { kind: 'quantitative', delayMs: { max: 30 }, jitterMs: { max: 5 }, lossPct: { max: 0.1 }, statistic: 'p95' },
    availability: { percent: { min: 99.9, pref: 99.99 } },
    capacity: { inMbps: { min: 80, pref: 100 }, outMbps: { min: 80, pref: 100 } },
    conformance: { policing: 'police', outOfProfile: 'drop' },
  },
];

describe('cpd-form mapping: form <-> CPD', () => {
  it('round-trips every CPD a person can type: fromCpd -> FormData -> schema -> toCpd (property)', () => {
    fc.assert(
      fc.property(arbCpd({ minCpps: 1, maxCpps: 3 }).map(formRepresentable), (cpd) => {
        const submission = submit(formWith(cpd));
        if (submission.status !== 'success') assert.fail(`refused: ${JSON.stringify(submission.reply().error)}\n${JSON.stringify(cpd)}`);
        const back = toOrderFields(submission.value).cpd;
        assert.deepEqual(back, cpd);
        assert.ok(cpdEquals(back, cpd));
      }),
      { numRuns: 300 },
    );
  });

  it('keeps the order fields and negotiation options', () => {
    const fields: OrderFields = {
      title: 'Test link',
      providerIds: ['prov-a', 'prov-b'],
      expectedResponseSeconds: 900,
      selectionRule: 'cheapest',
      options: { purpose: 'test', testUntil: '2027-01-31T18:30:00Z' as never, activationType: 'scheduled', scope: 'local' },
      cpd: TYPICAL,
    };
    const submission = submit(orderFormDefaults(fields));
    assert.equal(submission.status, 'success');
    if (submission.status === 'success') assert.deepEqual(toOrderFields(submission.value), fields);
  });

  it('maps the typical loose CPD of cpp-model.md and lib/cpnp accepts it', () => {
    const submission = submit(formWith(TYPICAL));
    assert.equal(submission.status, 'success');
    if (submission.status !== 'success') return;
    const cpd = toOrderFields(submission.value).cpd;
    assert.deepEqual(readCpd(cpd, 'cpd', new SchemaReader('json')), TYPICAL);
  });

  it('reads a date picker value (no seconds, no Z) as UTC', () => {
    const form = formWith(TYPICAL, (f) => {
      f.options = { purpose: 'test', testUntil: '2027-03-01T09:15', activationType: 'unset', scope: 'unset' };
    });
    const submission = submit(form);
    assert.equal(submission.status, 'success');
    if (submission.status === 'success') assert.equal(toOrderFields(submission.value).options.testUntil, '2027-03-01T09:15:00Z');
  });

  it('splits list text areas on lines and commas, trimming and dropping blanks', () => {
    assert.deepEqual(splitList(' bgp, igp\n\n pim \r\n'), ['bgp', 'igp', 'pim']);
    assert.deepEqual(splitList(undefined), []);
  });
});

describe('cpd-form schema: the rules, each error on its field', () => {
  it('a blank new order lists what is missing, field by field', () => {
    const errors = errorsOf(orderFormDefaults());
    assert.deepEqual(Object.keys(errors).sort(), ['cpd[0].nodes[0].id', 'cpd[0].nodes[0].link', 'providerIds', 'title']);
  });

  it('accepts the smallest valid CPP', () => {
    const submission = submit(formWith([{ nodes: [{ id: 'ce-a', link: 'pe1:ge-0/0/1' }] }]));
    assert.equal(submission.status, 'success');
    if (submission.status === 'success') assert.deepEqual(toOrderFields(submission.value).cpd, [{ nodes: [{ id: 'ce-a', link: 'pe1:ge-0/0/1' }] }]);
  });

  const cases: { name: string; edit: (f: OrderFormInput) => void; field: string; says: RegExp }[] = [
    {
      name: 'a preferred value above the range maximum',
      edit: (f) => (f.cpd[0]!.availability.percent = { mode: 'range', min: 99, max: 99.5, pref: 99.9 }),
      field: 'cpd[0].availability.percent.pref',
      says: /above the maximum/,
    },
    {
      name: 'a range with only a preferred value',
      edit: (f) => (f.cpd[0]!.capacity.inMbps = { mode: 'range', pref: 100 }),
      field: 'cpd[0].capacity.inMbps.min',
      says: /minimum or a maximum/,
    },
    {
      name: 'availability above 100 %',
      edit: (f) => (f.cpd[0]!.availability.percent = { mode: 'fixed', value: 101 }),
      field: 'cpd[0].availability.percent.value',
      says: /at most 100/,
    },
    {
      name: 'an included availability without a value',
      edit: (f) => (f.cpd[0]!.availability.percent = { mode: 'range' }),
      field: 'cpd[0].availability.percent',
      says: /Enter the availability/,
    },
    {
      name: 'qualitative QoS posted with quantitative figures (RFC 7297 3.3 XOR)',
      edit: (f) => (f.cpd[0]!.qos = { ...f.cpd[0]!.qos, kind: 'qualitative', class: ['high'] }),
      field: 'cpd[0].qos.kind',
      says: /cannot mix/,
    },
    {
      name: 'qualitative QoS without a class',
      edit: (f) => (f.cpd[0]!.qos = { kind: 'qualitative', delayMs: { mode: 'fixed' }, jitterMs: { mode: 'fixed' }, lossPct: { mode: 'fixed' }, class: [] }),
      field: 'cpd[0].qos.class',
      says: /class/,
    },
    {
      name: 'a capacity without conformance (RFC 7297 3.6)',
      edit: (f) => (f.cpd[0]!.conformance.include = false),
      field: 'cpd[0].conformance',
      says: /3\.6/,
    },
    {
      name: 'overall guarantees while out-of-profile traffic is dropped (RFC 7297 3.7)',
      edit: (f) => (f.cpd[0]!.overall = { include: true, delay: ['low'], loss: [], throughput: [] }),
      field: 'cpd[0].overall',
      says: /3\.7/,
    },
    {
      name: 'a node id used twice',
      edit: (f) => (f.cpd[0]!.nodes[1]!.id = 'ce-a'),
      field: 'cpd[0].nodes[1].id',
      says: /already used/,
    },
    {
      name: 'a scope endpoint that is neither a node nor a prefix',
      edit: (f) => (f.cpd[0]!.scope.outbound = 'ce-b\nce-z\n10.0.0.1/8'),
      field: 'cpd[0].scope.outbound',
      says: /"ce-z", "10\.0\.0\.1\/8"/,
    },
    {
      name: 'QoS measured between a node and itself',
      edit: (f) => (f.cpd[0]!.qos.between = ['ce-a', 'ce-a']),
      field: 'cpd[0].qos.between[1]',
      says: /two different/,
    },
    {
      name: 'a reversed port range',
      edit: (f) => (f.cpd[0]!.flows = [{ srcPort: '2000-1000' }]),
      field: 'cpd[0].flows[0].srcPort',
      says: /reversed/,
    },
    {
      name: 'a flow prefix with host bits',
      edit: (f) => (f.cpd[0]!.flows = [{ dst: '192.0.2.1/24' }]),
      field: 'cpd[0].flows[0].dst',
      says: /prefix/,
    },
    {
      name: 'multicast sources with any-source multicast',
      edit: (f) => Object.assign(f.cpd[0]!.scope, { multicastMode: 'asm', groups: '232.0.0.0/8', sources: '192.0.2.0/24' }),
      field: 'cpd[0].scope.sources',
      says: /SSM/,
    },
    {
      name: 'an explicit invocation without a protocol',
      edit: (f) => (f.cpd[0]!.invocation = { type: 'explicit' }),
      field: 'cpd[0].invocation.protocol',
      says: /protocol/,
    },
    {
      name: 'an MTU below 68',
      edit: (f) => (f.cpd[0]!.conformance.mtu = 40),
      field: 'cpd[0].conformance.mtu',
      says: /at least 68/,
    },
    {
      name: 'a test period end without the test purpose',
      edit: (f) => (f.options = { purpose: 'production', testUntil: '2027-01-01T00:00', activationType: 'unset', scope: 'unset' }),
      field: 'options.testUntil',
      says: /Test/,
    },
    {
      name: 'a second profile with no site',
      edit: (f) => f.cpd.push({ ...emptyCpp(), nodes: [] }),
      field: 'cpd[1].nodes',
      says: /at least one site/,
    },
  ];
  for (const c of cases) {
    it(`refuses ${c.name}, on ${c.field}`, () => {
      const errors = errorsOf(formWith(TYPICAL, c.edit));
      const messages = errors[c.field];
      assert.ok(messages && messages.length > 0, `no error on ${c.field}; errors: ${JSON.stringify(errors)}`);
      assert.match(messages.join(' '), c.says);
    });
  }

  it('reports a mistake once, in the form\'s words (the validator does not repeat it)', () => {
    const errors = errorsOf(formWith(TYPICAL, (f) => (f.cpd[0]!.capacity.inMbps = { mode: 'range', min: 80, pref: 60 })));
    assert.deepEqual(errors['cpd[0].capacity.inMbps.pref'], ['The preferred value is below the minimum (80)']);
  });

  it('keeps what was typed in the reply (nothing lost on a validation error)', () => {
    const form = formWith(TYPICAL, (f) => (f.cpd[0]!.nodes[1]!.id = 'ce-a'));
    const reply = submit(form).reply();
    const initial = reply.initialValue as Record<string, unknown>;
    const data = toFormData(form);
    for (const [name, value] of data.entries()) {
      const got = name.split(/\.|\[|\]\.?/).filter(Boolean).reduce<unknown>((at, key) => (at as Record<string, unknown>)?.[key], initial);
      const all = data.getAll(name);
      assert.deepEqual(all.length > 1 ? got : [got].flat()[0], all.length > 1 ? all : value, name);
    }
  });
});

describe('cpd-form: lib/cpnp has the last word, its paths land on form fields', () => {
  it('maps validator paths onto the fields that hold the value', () => {
    const cases: [string, string][] = [
      ['cpd[0].nodes[1].id', 'cpd[0].nodes[1].id'],
      ['cpd[0].nodes[0].location.lat', 'cpd[0].nodes[0].lat'],
      ['cpd[0].nodes[0].location', 'cpd[0].nodes[0].location'],
      ['cpd[0].scope.reach.oneOf[1]', 'cpd[0].scope.reach'],
      ['cpd[0].scope.multicast.sources[1]', 'cpd[0].scope.sources'],
      ['cpd[0].scope.multicast.mode', 'cpd[0].scope.multicastMode'],
      ['cpd[0].scope.outbound[2]', 'cpd[0].scope.outbound'],
      ['cpd[2].availability.percent.pref', 'cpd[2].availability.percent.pref'],
      ['cpd[0].capacity.perLink[1].inMbps', 'cpd[0].capacity.perLink[1].inMbps'],
      ['cpd[0].qos.between[0]', 'cpd[0].qos.between[0]'],
      ['cpd[0].qos', 'cpd[0].qos.kind'],
      ['cpd[0].flows[3].srcPort[1]', 'cpd[0].flows[3].srcPort'],
      ['cpd[0].flows[0].links[0]', 'cpd[0].flows[0].links'],
      ['cpd[0].notifications[1].events[0]', 'cpd[0].notifications[1].events'],
      ['cpd[0].overall', 'cpd[0].overall'],
      ['cpd', 'cpd'],
    ];
    for (const [from, to] of cases) assert.equal(formatPath(cpdPathToFieldPath(from)), to, from);
  });

  it('parsePath and formatPath are inverse', () => {
    for (const name of ['cpd[0].nodes[12].id', 'title', 'options.testUntil', 'cpd[3]']) assert.equal(formatPath(parsePath(name)), name);
  });

  it('reports what readCpd refuses on the field', () => {
    const bad = (cpd: unknown) => checkCpd(cpd as Cpd);
    assert.equal(bad(TYPICAL), undefined);
    const dup = bad([{ nodes: [TWO_NODES[0], TWO_NODES[0]] }]);
    assert.deepEqual(dup && { path: formatPath(dup.path), rule: dup.rule }, { path: 'cpd[0].nodes[1].id', rule: 'node.duplicate-id' });
    const asm = bad([{ nodes: TWO_NODES, scope: { reach: 'global', model: '1:any', multicast: { mode: 'asm', groups: [], sources: [] } } }]);
    assert.equal(asm && formatPath(asm.path), 'cpd[0].scope.sources');
    const pref = bad([{ nodes: TWO_NODES, availability: { percent: { min: 99, max: 99.5, pref: 99.9 } } }]);
    assert.equal(pref && formatPath(pref.path), 'cpd[0].availability.percent.pref');
    assert.match(pref?.message ?? '', /^"pref" 99\.9 is above "max" 99\.5$/);
  });

  it('never lets through a CPD that lib/cpnp refuses (property: schema success implies readCpd accepts)', () => {
    fc.assert(
      fc.property(arbCpd({ minCpps: 1, maxCpps: 2 }), (cpd) => {
        const submission = submit(formWith(cpd));
        if (submission.status !== 'success') return;
        assert.doesNotThrow(() => readCpd(toOrderFields(submission.value).cpd, 'cpd', new SchemaReader('json')));
      }),
      { numRuns: 150 },
    );
  });

  it('fromCpd gives one form profile per CPP', () => {
    assert.equal(fromCpd(TYPICAL).length, 1);
  });
});

describe('cpd-form: service field errors land on form fields', () => {
  it('maps NewOrderInput paths onto form names, the rest to form-level messages', async () => {
    const { serviceErrorsToForm } = await import('../service-errors');
    assert.deepEqual(
      serviceErrorsToForm({
        providerIds: ['A chosen provider is not available.'],
        'cpd[0].scope.multicast.sources[1]': ['bad source'],
        'options.testUntil': ['bad date'],
        clonedFrom: ['The order to clone was not found.'],
      }),
      {
        fieldErrors: { providerIds: ['A chosen provider is not available.'], 'cpd[0].scope.sources': ['bad source'], 'options.testUntil': ['bad date'] },
        formErrors: ['The order to clone was not found.'],
      },
    );
  });
});

describe('cpd-form drafts: "Save draft" keeps an unfinished CPD', () => {
  const draft = (input: OrderFormInput) => parseWithZod(toFormData(input), { schema: schemaForIntent('draft') });
  const blank = (): OrderFormInput => ({ ...orderFormDefaults(), title: 'Half done', providerIds: ['prov-a'] });

  it('saves a blank profile as a draft, while submitting it is refused', () => {
    const submission = draft(blank());
    assert.equal(submission.status, 'success');
    if (submission.status === 'success') assert.deepEqual(toOrderFields(submission.value).cpd, [{ nodes: [{ id: '', link: '' }] }]);
    assert.equal(submit(blank()).status, 'error');
  });

  it('reopens an unfinished draft exactly as it was saved (through its JSON storage)', () => {
    const form = blank();
    const cpp = form.cpd[0]!;
    cpp.nodes = [
      { id: 'ce-a', link: '', locationKind: 'geo', lat: 48.1 },
      { id: '', link: 'pe2:ge-0/0/0', locationKind: 'text' },
    ];
    cpp.scope = { ...cpp.scope, include: true, outbound: 'ce-a' };
    cpp.qos = { ...cpp.qos, kind: 'quantitative', between: ['ce-a'] };
    cpp.availability = { ...cpp.availability, include: true, statistic: 'avg' };
    cpp.capacity = { ...cpp.capacity, include: true, perLink: [{ link: '', inMbps: { mode: 'range', max: 50 }, outMbps: { mode: 'fixed' } }] };
    cpp.conformance = { ...cpp.conformance, include: true, outOfProfile: ['drop'] };
    cpp.invocation = { type: 'explicit' };
    const first = draft(form);
    assert.equal(first.status, 'success', JSON.stringify(first.reply().error));
    if (first.status !== 'success') return;
    const saved = toOrderFields(first.value);
    const stored = JSON.parse(JSON.stringify(saved)) as OrderFields;
    const again = draft(orderFormDefaults(stored));
    assert.equal(again.status, 'success');
    if (again.status === 'success') assert.deepEqual(JSON.parse(JSON.stringify(toOrderFields(again.value))), stored);
    assert.deepEqual(stored.cpd[0]?.qos, { kind: 'quantitative', between: ['ce-a', ''] });
  });

  it('still refuses malformed values and invalid order fields in a draft', () => {
    const badPort = blank();
    badPort.cpd[0]!.flows = [{ dstPort: 'http' }];
    assert.ok(draft(badPort).reply().error?.['cpd[0].flows[0].dstPort']);
    const noTitle = { ...blank(), title: '' };
    assert.ok(draft(noTitle).reply().error?.['title']);
    const rule = { ...blank(), selectionRule: 'cheapest' as const };
    assert.ok(draft(rule).reply().error?.['selectionRule']);
  });
});

describe('cpd-form: one submission lists every problem', () => {
  it('reports the clause rules together with the missing fields', () => {
    const form = orderFormDefaults();
    form.cpd[0]!.scope = { ...form.cpd[0]!.scope, include: true };
    form.cpd[0]!.capacity = { ...form.cpd[0]!.capacity, include: true };
    const errors = errorsOf(form);
    for (const name of ['title', 'cpd[0].nodes[0].id', 'cpd[0].scope.reach', 'cpd[0].scope.model', 'cpd[0].conformance']) {
      assert.ok(errors[name], `expected an error on ${name}: ${JSON.stringify(errors)}`);
    }
  });
});

describe('cpd-form: field names in words (error summary)', () => {
  it('reads field names as a person would', async () => {
    const { describeField } = await import('../field-labels');
    assert.equal(describeField('cpd[0].nodes[1].id'), 'Profile 1 › Site 2 › Node id');
    assert.equal(describeField('cpd[1].capacity.inMbps.pref'), 'Profile 2 › Capacity › Inbound, preferred value');
    assert.equal(describeField('cpd[0].availability.percent.value'), 'Profile 1 › Availability › Availability');
    assert.equal(describeField('cpd[0].qos.between[1]'), 'Profile 1 › QoS › Measured to');
    assert.equal(describeField('options.testUntil'), 'Negotiation options › Test period ends');
    assert.equal(describeField('providerIds'), 'Providers');
  });
});
