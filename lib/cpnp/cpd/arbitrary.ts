import fc from 'fast-check';
import { isConcrete } from './concrete';
import type {
  Availability,
  Capacity,
  Conformance,
  Cpd,
  Cpp,
  CustomerNode,
  Flow,
  Invocation,
  Isolation,
  LinkCapacity,
  LooseNumber,
  Multicast,
  Negotiable,
  Notification,
  NotificationChannel,
  Num,
  Overall,
  PortSpec,
  Qos,
  Routing,
  Scope,
} from './types';

/**
 * fast-check generators of VALID CPDs (cpp-model.md) for property tests: every clause of
 * RFC 7297 section 3, fixed and loose values, and the consistency rules of validate.ts
 * (capacity needs conformance, overall only when out-of-profile traffic cannot be dropped,
 * "sources" only with SSM, node references that exist). Sizes stay small so that a message
 * carrying a generated CPD fits in MAX_MESSAGE_SIZE.
 */

export interface ArbCppOptions {
  /** true: no loose value anywhere; false: at least one loose value; absent: either. */
  concrete?: boolean;
  /** Most customer nodes per CPP (default 4, at most 256). */
  maxNodes?: number;
}

export interface ArbCpdOptions extends ArbCppOptions {
  /** Fewest CPPs (default 0, or 1 when concrete is false). */
  minCpps?: number;
  /** Most CPPs (default 3, at most 64). */
  maxCpps?: number;
}

type Mode = 'fixed' | 'any';

const LEVELS = ['low', 'medium', 'high'] as const;
const CHANNELS = ['snmp', 'syslog', 'cpnp', 'netconf', 'email', 'phone'] as const satisfies readonly NotificationChannel[];

const noNegativeZero = (x: number): number => (Object.is(x, -0) ? 0 : x);

/** Integers and non-integral doubles in [min, max], never -0 (which JSON cannot carry). */
function arbNumber(min: number, max: number): fc.Arbitrary<number> {
  return fc.oneof(
    fc.integer({ min: Math.ceil(min), max: Math.floor(max) }),
    fc.double({ min, max, noNaN: true, noDefaultInfinity: true }).map(noNegativeZero),
  );
}

/** A loose value inside [min, max]: at least one of min/max, min <= pref <= max. */
export function arbLooseNumber(min = 0, max = 100000): fc.Arbitrary<LooseNumber> {
  return fc
    .tuple(
      fc.array(arbNumber(min, max), { minLength: 3, maxLength: 3 }),
      fc.constantFrom<[boolean, boolean]>([true, false], [false, true], [true, true]),
      fc.boolean(),
    )
    .map(([values, [hasMin, hasMax], hasPref]) => {
      const [lo = min, mid = min, hi = max] = [...values].sort((a, b) => a - b);
      const loose: LooseNumber = {};
      if (hasMin) loose.min = lo;
      if (hasMax) loose.max = hi;
      if (hasPref) loose.pref = mid;
      return loose;
    });
}

function arbNum(mode: Mode, min = 0, max = 100000): fc.Arbitrary<Num> {
  return mode === 'fixed' ? arbNumber(min, max) : fc.oneof(arbNumber(min, max), arbLooseNumber(min, max));
}

function arbEnum<T extends string>(mode: Mode, choices: readonly T[]): fc.Arbitrary<Negotiable<T>> {
  const fixed = fc.constantFrom(...choices);
  if (mode === 'fixed') return fixed;
  return fc.oneof(fixed, fc.shuffledSubarray([...choices], { minLength: 2 }).map((oneOf): Negotiable<T> => ({ oneOf })));
}

/** Short labels, mostly readable, sometimes any Unicode text. */
const arbLabel: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.stringMatching(/^[a-z][a-z0-9:/-]{0,9}$/) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 6 }) },
);
const arbLabels = (maxLength = 3): fc.Arbitrary<string[]> => fc.array(arbLabel, { maxLength });

function maskBits(bytes: number[], length: number): number[] {
  return bytes.map((byte, i) => {
    const keep = Math.min(8, Math.max(0, length - i * 8));
    return byte & ((0xff << (8 - keep)) & 0xff);
  });
}

function formatIpv6(bytes: number[], style: 'compressed' | 'full' | 'upper'): string {
  const words = Array.from({ length: 8 }, (_, i) => ((bytes[2 * i] ?? 0) << 8) | (bytes[2 * i + 1] ?? 0));
  if (style !== 'compressed') {
    const text = words.map((w) => w.toString(16)).join(':');
    return style === 'upper' ? text.toUpperCase() : text;
  }
  // RFC 5952 4.2: the longest run of two or more zero groups becomes "::".
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = (ws: number[]): string => ws.map((w) => w.toString(16)).join(':');
  if (bestStart < 0) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLength))}`;
}

/** IPv4 and IPv6 prefixes in text form, host bits zero. */
export const arbPrefix: fc.Arbitrary<string> = fc.oneof(
  fc
    .tuple(fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 32 }))
    .map(([bytes, length]) => `${maskBits(bytes, length).join('.')}/${length}`),
  fc
    .tuple(
      fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 255 })), { minLength: 16, maxLength: 16 }),
      fc.integer({ min: 0, max: 128 }),
      fc.constantFrom('compressed' as const, 'full' as const, 'upper' as const),
    )
    .map(([bytes, length, style]) => `${formatIpv6(maskBits(bytes, length), style)}/${length}`),
);

const arbNode: fc.Arbitrary<CustomerNode> = fc.record(
  {
    id: arbLabel,
    link: arbLabel,
    location: fc.oneof(
      arbLabel,
      fc.record({ lat: arbNumber(-90, 90), lon: arbNumber(-180, 180) }, { noNullPrototype: true }),
    ),
    site: arbLabel,
  },
  { noNullPrototype: true, requiredKeys: ['id', 'link'] },
);

function arbScope(mode: Mode, nodeIds: string[]): fc.Arbitrary<Scope> {
  const endpoint = nodeIds.length > 0 ? fc.oneof(fc.constantFrom(...nodeIds), arbPrefix) : arbPrefix;
  const multicast: fc.Arbitrary<Multicast> = fc.oneof(
    fc.record({ mode: fc.constant('asm' as const), groups: fc.array(arbPrefix, { maxLength: 2 }) }, { noNullPrototype: true }),
    fc.record(
      { mode: fc.constant('ssm' as const), groups: fc.array(arbPrefix, { maxLength: 2 }), sources: fc.array(arbPrefix, { maxLength: 2 }) },
      { noNullPrototype: true, requiredKeys: ['mode', 'groups'] },
    ),
  );
  return fc.record(
    {
      reach: arbEnum(mode, ['global', 'restricted'] as const),
      model: arbEnum(mode, ['1:1', '1:N', '1:any'] as const),
      families: fc.shuffledSubarray(['ipv4' as const, 'ipv6' as const], { minLength: 1 }),
      outbound: fc.array(endpoint, { maxLength: 3 }),
      inbound: fc.array(endpoint, { maxLength: 3 }),
      ingress: arbLabels(),
      egress: arbLabels(),
      multicast,
    },
    { noNullPrototype: true, requiredKeys: ['reach', 'model'] },
  );
}

function arbQos(mode: Mode, nodeIds: string[]): fc.Arbitrary<Qos> {
  const fields = {
    kind: fc.constant('quantitative' as const),
    delayMs: arbNum(mode, 0, 1000),
    jitterMs: arbNum(mode, 0, 100),
    lossPct: arbNum(mode, 0, 100),
    statistic: fc.constantFrom('avg' as const, 'max' as const, 'p95' as const, 'p99' as const),
    intervalSec: fc.nat({ max: 86400 }),
  };
  // RFC 7297 3.3 guarantees may be measured between two distinct customer nodes of the CPP.
  const between = (): fc.Arbitrary<[string, string]> =>
    fc.shuffledSubarray(nodeIds, { minLength: 2, maxLength: 2 }).map(([a = '', b = '']): [string, string] => [a, b]);
  const quantitative: fc.Arbitrary<Qos> =
    nodeIds.length >= 2 ? fc.record({ ...fields, between: between() }, { noNullPrototype: true, requiredKeys: ['kind'] }) : fc.record(fields, { noNullPrototype: true, requiredKeys: ['kind'] });
  const qualitative = fc.record({ kind: fc.constant('qualitative' as const), class: arbEnum(mode, LEVELS) }, { noNullPrototype: true });
  return fc.oneof(quantitative, qualitative);
}

function arbCapacity(mode: Mode): fc.Arbitrary<Capacity> {
  const perLink: fc.Arbitrary<LinkCapacity> = fc.record(
    { link: arbLabel, inMbps: arbNum(mode), outMbps: arbNum(mode) },
    { noNullPrototype: true, requiredKeys: ['link'] },
  );
  return fc.record({ inMbps: arbNum(mode), outMbps: arbNum(mode), perLink: fc.array(perLink, { maxLength: 2 }) }, { noNullPrototype: true, requiredKeys: [] });
}

function arbConformance(mode: Mode): fc.Arbitrary<Conformance> {
  return fc.record(
    {
      policing: arbEnum(mode, ['police', 'shape'] as const),
      outOfProfile: arbEnum(mode, ['drop', 'lower-effort'] as const),
      mtu: fc.integer({ min: 68, max: 65535 }),
    },
    { noNullPrototype: true, requiredKeys: ['policing', 'outOfProfile'] },
  );
}

function arbOverall(mode: Mode): fc.Arbitrary<Overall> {
  return fc.record({ delay: arbEnum(mode, LEVELS), loss: arbEnum(mode, LEVELS), throughput: arbEnum(mode, LEVELS) }, { noNullPrototype: true, requiredKeys: [] });
}

/** Capacity, conformance and overall together, as RFC 7297 3.6 and 3.7 tie them. */
function arbTraffic(mode: Mode): fc.Arbitrary<Pick<Cpp, 'capacity' | 'conformance' | 'overall'>> {
  return fc
    .tuple(
      fc.option(arbCapacity(mode), { nil: undefined }),
      fc.option(arbConformance(mode), { nil: undefined }),
      arbConformance(mode),
      fc.option(arbOverall(mode), { nil: undefined }),
    )
    .map(([capacity, maybeConformance, conformanceForCapacity, maybeOverall]) => {
      const conformance = capacity ? (maybeConformance ?? conformanceForCapacity) : maybeConformance;
      const overall = !conformance || conformance.outOfProfile === 'lower-effort' ? maybeOverall : undefined;
      return { capacity, conformance, overall };
    });
}

const arbPort: fc.Arbitrary<PortSpec> = fc.oneof(
  fc.integer({ min: 0, max: 65535 }),
  fc
    .tuple(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 65535 }))
    .map(([a, b]): [number, number] => (a <= b ? [a, b] : [b, a])),
);

const arbFlow: fc.Arbitrary<Flow> = fc.record(
  {
    src: arbPrefix,
    dst: arbPrefix,
    srcPort: arbPort,
    dstPort: arbPort,
    dscp: fc.integer({ min: 0, max: 63 }),
    tunnelEnd: arbLabel,
    links: fc.oneof(fc.constant('all' as const), arbLabels()),
    remark: fc.integer({ min: 0, max: 63 }),
  },
  { noNullPrototype: true, requiredKeys: [] },
);

const arbIsolation: fc.Arbitrary<Isolation> = fc.record({ required: fc.boolean(), security: arbLabels() }, { noNullPrototype: true, requiredKeys: ['required'] });

const arbRouting: fc.Arbitrary<Routing> = fc.record(
  { avoid: arbLabels(), via: arbLabels(), regions: arbLabels(), backupPath: fc.boolean(), pdb: arbLabel },
  { noNullPrototype: true, requiredKeys: [] },
);

const arbInvocation: fc.Arbitrary<Invocation> = fc.oneof(
  fc.constant<Invocation>({ type: 'implicit' }),
  fc.constantFrom('rsvp' as const, 'rsvp-te' as const, 'igmp' as const, 'mld' as const).map((protocol): Invocation => ({ type: 'explicit', protocol })),
);

const arbNotification: fc.Arbitrary<Notification> = fc.record(
  { channel: fc.constantFrom(...CHANNELS), events: arbLabels(), intervalSec: fc.nat({ max: 86400 }) },
  { noNullPrototype: true, requiredKeys: ['channel'] },
);

const arbAvailability = (mode: Mode): fc.Arbitrary<Availability> =>
  fc.record({ percent: arbNum(mode, 0, 100), statistic: fc.constantFrom('max' as const, 'avg' as const) }, { noNullPrototype: true, requiredKeys: ['percent'] });

/** Builds the CPP with its keys in the order of cpp-model.md (and of readCpd's output). */
function buildCpp(nodes: CustomerNode[], parts: Partial<Cpp>): Cpp {
  const cpp: Cpp = parts.component === undefined ? { nodes } : { component: parts.component, nodes };
  const order = ['scope', 'qos', 'availability', 'capacity', 'conformance', 'overall', 'isolation', 'flows', 'routing', 'activation', 'invocation', 'notifications'] as const;
  for (const key of order) {
    const value = parts[key];
    if (value !== undefined) Object.assign(cpp, { [key]: value });
  }
  return cpp;
}

/** One valid CPP. */
export function arbCpp(options: ArbCppOptions = {}): fc.Arbitrary<Cpp> {
  const mode: Mode = options.concrete === true ? 'fixed' : 'any';
  const maxNodes = Math.min(256, Math.max(1, options.maxNodes ?? 4));
  return fc.uniqueArray(arbNode, { minLength: 1, maxLength: maxNodes, selector: (n) => n.id }).chain((nodes) => {
    const ids = nodes.map((n) => n.id);
    return fc
      .tuple(
        fc.record(
          {
            component: arbLabel,
            scope: arbScope(mode, ids),
            qos: arbQos(mode, ids),
            availability: arbAvailability(mode),
            isolation: arbIsolation,
            flows: fc.array(arbFlow, { maxLength: 2 }),
            routing: arbRouting,
            activation: arbLabels(),
            invocation: arbInvocation,
            notifications: fc.array(arbNotification, { maxLength: 2 }),
          },
          { noNullPrototype: true, requiredKeys: [] },
        ),
        arbTraffic(mode),
        arbAvailability('fixed').chain((a) => arbLooseNumber(0, 100).map((percent): Availability => ({ ...a, percent }))),
      )
      .map(([parts, traffic, looseAvailability]) => {
        const cpp = buildCpp(nodes, { ...parts, ...traffic });
        // concrete: false promises at least one loose value: availability is free of rules.
        if (options.concrete === false && isConcrete([cpp])) return buildCpp(nodes, { ...parts, ...traffic, availability: looseAvailability });
        return cpp;
      });
  });
}

/** A valid CPD of minCpps..maxCpps CPPs (default 0..3). */
export function arbCpd(options: ArbCpdOptions = {}): fc.Arbitrary<Cpd> {
  const maxCpps = Math.min(64, Math.max(0, options.maxCpps ?? 3));
  const cppOptions: ArbCppOptions = options.maxNodes === undefined ? {} : { maxNodes: options.maxNodes };
  if (options.concrete === false) {
    // One CPP with a loose value, placed anywhere among the others.
    const minCpps = Math.max(1, options.minCpps ?? 1);
    return fc
      .tuple(
        arbCpp({ ...cppOptions, concrete: false }),
        fc.array(arbCpp(cppOptions), { minLength: minCpps - 1, maxLength: Math.max(minCpps, maxCpps) - 1 }),
        fc.nat(),
      )
      .map(([loose, others, at]) => {
        const cpd = [...others];
        cpd.splice(at % (others.length + 1), 0, loose);
        return cpd;
      });
  }
  const minCpps = Math.max(0, options.minCpps ?? 0);
  return fc.array(arbCpp({ ...cppOptions, ...(options.concrete === true ? { concrete: true } : {}) }), {
    minLength: minCpps,
    maxLength: Math.max(minCpps, maxCpps),
  });
}
