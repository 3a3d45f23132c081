import { CborFloat } from '../cbor/values';
import { join, type SchemaReader } from '../schema-reader';
import {
  MAX_CPPS_PER_CPD,
  MAX_NODES_PER_CPP,
  type Availability,
  type Capacity,
  type Conformance,
  type Cpd,
  type Cpp,
  type CustomerNode,
  type Flow,
  type Invocation,
  type Isolation,
  type Level,
  type LinkCapacity,
  type LooseNumber,
  type Multicast,
  type Negotiable,
  type Notification,
  type NotificationChannel,
  type Num,
  type Overall,
  type PortSpec,
  type QuantitativeQos,
  type Qos,
  type Routing,
  type Scope,
} from './types';

/**
 * Validation of an untrusted CPD (wire-format.md key 15) against cpp-model.md, for both the
 * decoded-CBOR form and the JSON form. The result is a fresh, typed Cpd whose objects list
 * their keys in the order of cpp-model.md, so that equal documents print alike.
 */

/** Inside a CPP every map is closed: cpp-model.md makes unknown keys a validation error. */
const UNKNOWN_KEY = 'cpp.unknown-key';

const LEVELS = ['low', 'medium', 'high'] as const satisfies readonly Level[];
const CHANNELS = ['snmp', 'syslog', 'cpnp', 'netconf', 'email', 'phone'] as const satisfies readonly NotificationChannel[];
const QUANTITATIVE_KEYS = ['delayMs', 'jitterMs', 'lossPct', 'statistic', 'intervalSec', 'between'] as const;
const QUALITATIVE_KEYS = ['class'] as const;

const CPP_KEYS = [
  'component',
  'nodes',
  'scope',
  'qos',
  'availability',
  'capacity',
  'conformance',
  'overall',
  'isolation',
  'flows',
  'routing',
  'activation',
  'invocation',
  'notifications',
] as const;

interface NumRange {
  min: number;
  max: number;
}
const UNBOUNDED: NumRange = { min: Number.NEGATIVE_INFINITY, max: Number.POSITIVE_INFINITY };
const PERCENT: NumRange = { min: 0, max: 100 };

/** Sets `key` only when `value` is defined, so absent fields stay absent (not `undefined`). */
function put<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) target[key] = value;
}

// ---------------------------------------------------------------------------------------------
// Prefixes (cpp-model.md "prefix"): strict text forms, no dependency.

const DEC_OCTET = /^(0|[1-9][0-9]{0,2})$/;
const PREFIX_LENGTH = /^(0|[1-9][0-9]{0,2})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/** Dotted-quad IPv4 address as 4 bytes; no leading zeros (they read as octal in some stacks). */
function parseIpv4(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const bytes: number[] = [];
  for (const part of parts) {
    if (!DEC_OCTET.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    bytes.push(n);
  }
  return bytes;
}

/** RFC 4291 section 2.2 text form (all three variants) as 16 bytes; zone indices are refused. */
function parseIpv6(text: string): number[] | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const head = groupsOf(halves[0] ?? '');
  const tail = halves.length === 2 ? groupsOf(halves[1] ?? '') : [];
  const all = [...head, ...tail];
  const bytes: number[] = [];
  const words: number[] = [];
  for (let i = 0; i < all.length; i++) {
    const group = all[i] ?? '';
    // A trailing dotted quad stands for the last two 16-bit groups (RFC 4291 2.2 form 3).
    if (i === all.length - 1 && group.includes('.')) {
      const v4 = parseIpv4(group);
      if (!v4) return undefined;
      words.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
      continue;
    }
    if (!HEX_GROUP.test(group)) return undefined;
    words.push(parseInt(group, 16));
  }
  if (halves.length === 2) {
    // "::" stands for one or more zero groups.
    if (words.length > 7) return undefined;
    const zeros = new Array<number>(8 - words.length).fill(0);
    const headWords = words.slice(0, head.length);
    const tailWords = words.slice(head.length);
    words.splice(0, words.length, ...headWords, ...zeros, ...tailWords);
  } else if (words.length !== 8) {
    return undefined;
  }
  for (const word of words) bytes.push(word >> 8, word & 0xff);
  return bytes;
}

/**
 * Parses "address/length". The length is required, and the bits after it must be zero:
 * "192.0.2.1/24" names an address, not a prefix, and is refused.
 */
export function parsePrefix(text: string): { family: 'ipv4' | 'ipv6'; bytes: number[]; length: number } | undefined {
  const slash = text.indexOf('/');
  if (slash < 0 || slash !== text.lastIndexOf('/')) return undefined;
  const address = text.slice(0, slash);
  const lengthText = text.slice(slash + 1);
  if (!PREFIX_LENGTH.test(lengthText)) return undefined;
  const length = Number(lengthText);
  const isV6 = address.includes(':');
  const bytes = isV6 ? parseIpv6(address) : parseIpv4(address);
  if (!bytes) return undefined;
  if (length > bytes.length * 8) return undefined;
  for (let bit = length; bit < bytes.length * 8; bit++) {
    if (((bytes[bit >> 3] ?? 0) >> (7 - (bit & 7))) & 1) return undefined;
  }
  return { family: isV6 ? 'ipv6' : 'ipv4', bytes, length };
}

export function isPrefix(text: string): boolean {
  return parsePrefix(text) !== undefined;
}

// ---------------------------------------------------------------------------------------------
// Negotiable values (cpp-model.md "Negotiable values").

function inRange(r: SchemaReader, n: number, range: NumRange, path: string): number {
  if (n < range.min || n > range.max) r.fail('range', path, `expected ${range.min}..${range.max}, got ${n}`);
  return n;
}

/** A map in either form; the reader then checks it matches the form being read. */
function isMapLike(value: unknown): boolean {
  if (value instanceof Map) return true;
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** `Num`: a number, or a loose { min?, max?, pref? } with min or max and min <= pref <= max. */
function readNum(r: SchemaReader, value: unknown, path: string, range: NumRange = UNBOUNDED): Num {
  if (typeof value === 'number' || value instanceof CborFloat) return inRange(r, r.number(value, path), range, path);
  if (!isMapLike(value)) r.fail('type', path, 'expected a number or a loose value {min, max, pref}');
  const map = r.map(value, path);
  r.onlyKeys(map, ['min', 'max', 'pref'], path, UNKNOWN_KEY);
  const bound = (key: 'min' | 'max' | 'pref'): number | undefined =>
    r.optional(map, key, path, (v, p) => inRange(r, r.number(v, p), range, p));
  const loose: LooseNumber = {};
  put(loose, 'min', bound('min'));
  put(loose, 'max', bound('max'));
  put(loose, 'pref', bound('pref'));
  const { min, max, pref } = loose;
  if (min === undefined && max === undefined) r.fail('loose', path, 'a loose value needs "min" or "max"');
  if (min !== undefined && max !== undefined && min > max) r.fail('loose', path, `"min" ${min} is above "max" ${max}`);
  if (pref !== undefined && min !== undefined && pref < min) r.fail('loose', join(path, 'pref'), `"pref" ${pref} is below "min" ${min}`);
  if (pref !== undefined && max !== undefined && pref > max) r.fail('loose', join(path, 'pref'), `"pref" ${pref} is above "max" ${max}`);
  return loose;
}

/** `Enum<...>`: one choice, or { oneOf: [two or more distinct choices] }. */
function readEnum<T extends string>(r: SchemaReader, value: unknown, path: string, choices: readonly T[]): Negotiable<T> {
  if (typeof value === 'string') return r.oneOfText(value, path, choices);
  if (!isMapLike(value)) {
    r.fail('type', path, `expected one of ${choices.map((c) => `"${c}"`).join(', ')} or {"oneOf": [...]}`);
  }
  const map = r.map(value, path);
  r.onlyKeys(map, ['oneOf'], path, UNKNOWN_KEY);
  const listPath = join(path, 'oneOf');
  const items = r.required(map, 'oneOf', path, (v, p) => r.array(v, p));
  const oneOf = items.map((item, i) => r.oneOfText(item, join(listPath, i), choices));
  if (oneOf.length < 2) r.fail('loose', listPath, '"oneOf" needs two or more choices');
  if (new Set(oneOf).size !== oneOf.length) r.fail('loose', listPath, '"oneOf" lists a choice twice');
  return { oneOf };
}

// ---------------------------------------------------------------------------------------------
// Clauses (RFC 7297 section 3, shapes of cpp-model.md).

function closedMap(r: SchemaReader, value: unknown, path: string, keys: readonly string[]): ReadonlyMap<string, unknown> {
  const map = r.map(value, path);
  r.onlyKeys(map, keys, path, UNKNOWN_KEY);
  return map;
}

function readPrefix(r: SchemaReader, value: unknown, path: string): string {
  const text = r.text(value, path);
  if (!isPrefix(text)) r.fail('prefix', path, `"${text}" is not an IPv4 or IPv6 prefix such as "192.0.2.0/24" or "2001:db8::/32"`);
  return text;
}

function readPrefixList(r: SchemaReader, value: unknown, path: string): string[] {
  return r.array(value, path).map((item, i) => readPrefix(r, item, join(path, i)));
}

/** RFC 7297 3.1 Customer Nodes Map. */
function readNode(r: SchemaReader, value: unknown, path: string): CustomerNode {
  const map = closedMap(r, value, path, ['id', 'link', 'location', 'site']);
  const node: CustomerNode = {
    id: r.required(map, 'id', path, (v, p) => r.text(v, p)),
    link: r.required(map, 'link', path, (v, p) => r.text(v, p)),
  };
  put(
    node,
    'location',
    r.optional(map, 'location', path, (v, p) => {
      if (typeof v === 'string') return v;
      const geo = closedMap(r, v, p, ['lat', 'lon']);
      return {
        lat: r.required(geo, 'lat', p, (x, q) => r.number(x, q)),
        lon: r.required(geo, 'lon', p, (x, q) => r.number(x, q)),
      };
    }),
  );
  put(node, 'site', r.optional(map, 'site', path, (v, p) => r.text(v, p)));
  return node;
}

function readNodes(r: SchemaReader, value: unknown, path: string): CustomerNode[] {
  const items = r.array(value, path);
  if (items.length < 1 || items.length > MAX_NODES_PER_CPP) {
    r.fail('cpp.nodes', path, `a CPP lists 1..${MAX_NODES_PER_CPP} customer nodes, got ${items.length}`);
  }
  const nodes = items.map((item, i) => readNode(r, item, join(path, i)));
  const seen = new Set<string>();
  nodes.forEach((node, i) => {
    if (seen.has(node.id)) r.fail('node.duplicate-id', join(join(path, i), 'id'), `node id "${node.id}" is used twice in this CPP`);
    seen.add(node.id);
  });
  return nodes;
}

/** RFC 7297 3.2 Scope. */
function readScope(r: SchemaReader, value: unknown, path: string, nodeIds: ReadonlySet<string>): Scope {
  const map = closedMap(r, value, path, ['reach', 'model', 'families', 'outbound', 'inbound', 'ingress', 'egress', 'multicast']);
  const scope: Scope = {
    reach: r.required(map, 'reach', path, (v, p) => readEnum(r, v, p, ['global', 'restricted'] as const)),
    model: r.required(map, 'model', path, (v, p) => readEnum(r, v, p, ['1:1', '1:N', '1:any'] as const)),
  };
  put(
    scope,
    'families',
    r.optional(map, 'families', path, (v, p) => {
      const families = r.array(v, p, 1, 2).map((item, i) => r.oneOfText(item, join(p, i), ['ipv4', 'ipv6'] as const));
      if (families.length === 2 && families[0] === families[1]) r.fail('duplicate', join(p, 1), `"${families[1]}" is listed twice`);
      return families;
    }),
  );
  // An endpoint of a direction is a prefix, or one of this CPP's customer nodes.
  const endpoints = (v: unknown, p: string): string[] =>
    r.array(v, p).map((item, i) => {
      const q = join(p, i);
      const text = r.text(item, q);
      if (!nodeIds.has(text) && !isPrefix(text)) r.fail('scope.endpoint', q, `"${text}" is neither a prefix nor a node id of this CPP`);
      return text;
    });
  put(scope, 'outbound', r.optional(map, 'outbound', path, endpoints));
  put(scope, 'inbound', r.optional(map, 'inbound', path, endpoints));
  put(scope, 'ingress', r.optional(map, 'ingress', path, (v, p) => r.textList(v, p)));
  put(scope, 'egress', r.optional(map, 'egress', path, (v, p) => r.textList(v, p)));
  put(
    scope,
    'multicast',
    r.optional(map, 'multicast', path, (v, p): Multicast => {
      const m = closedMap(r, v, p, ['mode', 'groups', 'sources']);
      const multicast: Multicast = {
        mode: r.required(m, 'mode', p, (x, q) => r.oneOfText(x, q, ['asm', 'ssm'] as const)),
        groups: r.required(m, 'groups', p, (x, q) => readPrefixList(r, x, q)),
      };
      // Sources are only meaningful for source-specific multicast.
      if (m.has('sources') && multicast.mode !== 'ssm') r.fail('multicast.sources', join(p, 'sources'), '"sources" is only allowed with mode "ssm"');
      put(multicast, 'sources', r.optional(m, 'sources', p, (x, q) => readPrefixList(r, x, q)));
      return multicast;
    }),
  );
  return scope;
}

/** RFC 7297 3.3 QoS Guarantees: quantitative or qualitative, never a mix of both. */
function readQos(r: SchemaReader, value: unknown, path: string, nodeIds: ReadonlySet<string>): Qos {
  const map = r.map(value, path);
  const hasQuantitative = QUANTITATIVE_KEYS.some((k) => map.has(k));
  const hasQualitative = QUALITATIVE_KEYS.some((k) => map.has(k));
  if (hasQuantitative && hasQualitative) {
    r.fail('rfc7297.qos-mix', path, 'RFC 7297 3.3: a CPP cannot mix qualitative ("class") and quantitative guarantees');
  }
  const kind = r.required(map, 'kind', path, (v, p) => r.oneOfText(v, p, ['quantitative', 'qualitative'] as const));
  const foreign = kind === 'quantitative' ? QUALITATIVE_KEYS : QUANTITATIVE_KEYS;
  for (const key of foreign) {
    if (map.has(key)) r.fail('rfc7297.qos-mix', join(path, key), `"${key}" does not belong to ${kind} QoS (RFC 7297 3.3)`);
  }
  if (kind === 'qualitative') {
    r.onlyKeys(map, ['kind', ...QUALITATIVE_KEYS], path, UNKNOWN_KEY);
    return { kind, class: r.required(map, 'class', path, (v, p) => readEnum(r, v, p, LEVELS)) };
  }
  r.onlyKeys(map, ['kind', ...QUANTITATIVE_KEYS], path, UNKNOWN_KEY);
  const qos: QuantitativeQos = { kind };
  put(qos, 'delayMs', r.optional(map, 'delayMs', path, (v, p) => readNum(r, v, p)));
  put(qos, 'jitterMs', r.optional(map, 'jitterMs', path, (v, p) => readNum(r, v, p)));
  put(qos, 'lossPct', r.optional(map, 'lossPct', path, (v, p) => readNum(r, v, p)));
  put(qos, 'statistic', r.optional(map, 'statistic', path, (v, p) => r.oneOfText(v, p, ['avg', 'max', 'p95', 'p99'] as const)));
  put(qos, 'intervalSec', r.optional(map, 'intervalSec', path, (v, p) => r.uint(v, p)));
  put(
    qos,
    'between',
    r.optional(map, 'between', path, (v, p): [string, string] => {
      const [a, b] = r.array(v, p, 2, 2).map((item, i) => {
        const q = join(p, i);
        const id = r.text(item, q);
        if (!nodeIds.has(id)) r.fail('node.unknown-id', q, `"${id}" is not a node id of this CPP`);
        return id;
      });
      if (a === undefined || b === undefined) return r.fail('length', p, 'expected 2 node ids');
      if (a === b) r.fail('qos.between', p, 'a guarantee is measured between two different nodes');
      return [a, b];
    }),
  );
  return qos;
}

/** RFC 7297 3.4 Availability. */
function readAvailability(r: SchemaReader, value: unknown, path: string): Availability {
  const map = closedMap(r, value, path, ['percent', 'statistic']);
  const availability: Availability = { percent: r.required(map, 'percent', path, (v, p) => readNum(r, v, p, PERCENT)) };
  put(availability, 'statistic', r.optional(map, 'statistic', path, (v, p) => r.oneOfText(v, p, ['max', 'avg'] as const)));
  return availability;
}

/** RFC 7297 3.5 Capacity. */
function readCapacity(r: SchemaReader, value: unknown, path: string): Capacity {
  const map = closedMap(r, value, path, ['inMbps', 'outMbps', 'perLink']);
  const capacity: Capacity = {};
  put(capacity, 'inMbps', r.optional(map, 'inMbps', path, (v, p) => readNum(r, v, p)));
  put(capacity, 'outMbps', r.optional(map, 'outMbps', path, (v, p) => readNum(r, v, p)));
  put(
    capacity,
    'perLink',
    r.optional(map, 'perLink', path, (v, p) =>
      r.array(v, p).map((item, i): LinkCapacity => {
        const q = join(p, i);
        const m = closedMap(r, item, q, ['link', 'inMbps', 'outMbps']);
        const link: LinkCapacity = { link: r.required(m, 'link', q, (x, s) => r.text(x, s)) };
        put(link, 'inMbps', r.optional(m, 'inMbps', q, (x, s) => readNum(r, x, s)));
        put(link, 'outMbps', r.optional(m, 'outMbps', q, (x, s) => readNum(r, x, s)));
        return link;
      }),
    ),
  );
  return capacity;
}

/** RFC 7297 3.6 Conformance Traffic. */
function readConformance(r: SchemaReader, value: unknown, path: string): Conformance {
  const map = closedMap(r, value, path, ['policing', 'outOfProfile', 'mtu']);
  const conformance: Conformance = {
    policing: r.required(map, 'policing', path, (v, p) => readEnum(r, v, p, ['police', 'shape'] as const)),
    outOfProfile: r.required(map, 'outOfProfile', path, (v, p) => readEnum(r, v, p, ['drop', 'lower-effort'] as const)),
  };
  put(conformance, 'mtu', r.optional(map, 'mtu', path, (v, p) => r.uint(v, p, 68, 65535)));
  return conformance;
}

/** RFC 7297 3.7 Overall Traffic Guarantees. */
function readOverall(r: SchemaReader, value: unknown, path: string): Overall {
  const map = closedMap(r, value, path, ['delay', 'loss', 'throughput']);
  const overall: Overall = {};
  put(overall, 'delay', r.optional(map, 'delay', path, (v, p) => readEnum(r, v, p, LEVELS)));
  put(overall, 'loss', r.optional(map, 'loss', path, (v, p) => readEnum(r, v, p, LEVELS)));
  put(overall, 'throughput', r.optional(map, 'throughput', path, (v, p) => readEnum(r, v, p, LEVELS)));
  return overall;
}

/** RFC 7297 3.8 Traffic Isolation. */
function readIsolation(r: SchemaReader, value: unknown, path: string): Isolation {
  const map = closedMap(r, value, path, ['required', 'security']);
  const isolation: Isolation = { required: r.required(map, 'required', path, (v, p) => r.bool(v, p)) };
  put(isolation, 'security', r.optional(map, 'security', path, (v, p) => r.textList(v, p)));
  return isolation;
}

function readPort(r: SchemaReader, value: unknown, path: string): PortSpec {
  if (!Array.isArray(value)) return r.uint(value, path, 0, 65535);
  const [lo, hi] = r.array(value, path, 2, 2).map((item, i) => r.uint(item, join(path, i), 0, 65535));
  if (lo === undefined || hi === undefined) return r.fail('length', path, 'expected [lo, hi]');
  if (lo > hi) r.fail('range', path, `port range [${lo}, ${hi}] is reversed`);
  return [lo, hi];
}

/** RFC 7297 3.9 Flow Identification. */
function readFlow(r: SchemaReader, value: unknown, path: string): Flow {
  const map = closedMap(r, value, path, ['src', 'dst', 'srcPort', 'dstPort', 'dscp', 'tunnelEnd', 'links', 'remark']);
  const flow: Flow = {};
  put(flow, 'src', r.optional(map, 'src', path, (v, p) => readPrefix(r, v, p)));
  put(flow, 'dst', r.optional(map, 'dst', path, (v, p) => readPrefix(r, v, p)));
  put(flow, 'srcPort', r.optional(map, 'srcPort', path, (v, p) => readPort(r, v, p)));
  put(flow, 'dstPort', r.optional(map, 'dstPort', path, (v, p) => readPort(r, v, p)));
  put(flow, 'dscp', r.optional(map, 'dscp', path, (v, p) => r.uint(v, p, 0, 63)));
  put(flow, 'tunnelEnd', r.optional(map, 'tunnelEnd', path, (v, p) => r.text(v, p)));
  put(
    flow,
    'links',
    r.optional(map, 'links', path, (v, p) => (typeof v === 'string' ? r.oneOfText(v, p, ['all'] as const) : r.textList(v, p))),
  );
  put(flow, 'remark', r.optional(map, 'remark', path, (v, p) => r.uint(v, p, 0, 63)));
  return flow;
}

/** RFC 7297 3.10 Routing and Forwarding. */
function readRouting(r: SchemaReader, value: unknown, path: string): Routing {
  const map = closedMap(r, value, path, ['avoid', 'via', 'regions', 'backupPath', 'pdb']);
  const routing: Routing = {};
  put(routing, 'avoid', r.optional(map, 'avoid', path, (v, p) => r.textList(v, p)));
  put(routing, 'via', r.optional(map, 'via', path, (v, p) => r.textList(v, p)));
  put(routing, 'regions', r.optional(map, 'regions', path, (v, p) => r.textList(v, p)));
  put(routing, 'backupPath', r.optional(map, 'backupPath', path, (v, p) => r.bool(v, p)));
  put(routing, 'pdb', r.optional(map, 'pdb', path, (v, p) => r.text(v, p)));
  return routing;
}

/** RFC 7297 3.12 Invocation Means. */
function readInvocation(r: SchemaReader, value: unknown, path: string): Invocation {
  const map = r.map(value, path);
  const type = r.required(map, 'type', path, (v, p) => r.oneOfText(v, p, ['implicit', 'explicit'] as const));
  if (type === 'implicit') {
    r.onlyKeys(map, ['type'], path, UNKNOWN_KEY);
    return { type };
  }
  r.onlyKeys(map, ['type', 'protocol'], path, UNKNOWN_KEY);
  return { type, protocol: r.required(map, 'protocol', path, (v, p) => r.oneOfText(v, p, ['rsvp', 'rsvp-te', 'igmp', 'mld'] as const)) };
}

/** RFC 7297 3.13 Notifications. */
function readNotification(r: SchemaReader, value: unknown, path: string): Notification {
  const map = closedMap(r, value, path, ['channel', 'events', 'intervalSec']);
  const notification: Notification = { channel: r.required(map, 'channel', path, (v, p) => r.oneOfText(v, p, CHANNELS)) };
  put(notification, 'events', r.optional(map, 'events', path, (v, p) => r.textList(v, p)));
  put(notification, 'intervalSec', r.optional(map, 'intervalSec', path, (v, p) => r.uint(v, p)));
  return notification;
}

/** "drop" may be the fate of out-of-profile traffic: a fixed "drop" or a choice list holding it. */
function mayDrop(outOfProfile: Conformance['outOfProfile']): boolean {
  return typeof outOfProfile === 'string' ? outOfProfile === 'drop' : outOfProfile.oneOf.includes('drop');
}

/** One CPP map (cpp-model.md "CPP map"). */
export function readCpp(value: unknown, path: string, reader: SchemaReader): Cpp {
  const r = reader;
  const map = closedMap(r, value, path, CPP_KEYS);
  // Node ids first: scope and qos refer to them.
  const component = r.optional(map, 'component', path, (v, p) => r.text(v, p));
  const nodes = r.required(map, 'nodes', path, (v, p) => readNodes(r, v, p));
  const nodeIds = new Set(nodes.map((n) => n.id));
  const out: Cpp = component === undefined ? { nodes } : { component, nodes };
  put(out, 'scope', r.optional(map, 'scope', path, (v, p) => readScope(r, v, p, nodeIds)));
  put(out, 'qos', r.optional(map, 'qos', path, (v, p) => readQos(r, v, p, nodeIds)));
  put(out, 'availability', r.optional(map, 'availability', path, (v, p) => readAvailability(r, v, p)));
  put(out, 'capacity', r.optional(map, 'capacity', path, (v, p) => readCapacity(r, v, p)));
  put(out, 'conformance', r.optional(map, 'conformance', path, (v, p) => readConformance(r, v, p)));
  put(out, 'overall', r.optional(map, 'overall', path, (v, p) => readOverall(r, v, p)));
  put(out, 'isolation', r.optional(map, 'isolation', path, (v, p) => readIsolation(r, v, p)));
  put(out, 'flows', r.optional(map, 'flows', path, (v, p) => r.array(v, p).map((item, i) => readFlow(r, item, join(p, i)))));
  put(out, 'routing', r.optional(map, 'routing', path, (v, p) => readRouting(r, v, p)));
  put(out, 'activation', r.optional(map, 'activation', path, (v, p) => r.textList(v, p)));
  put(out, 'invocation', r.optional(map, 'invocation', path, (v, p) => readInvocation(r, v, p)));
  put(
    out,
    'notifications',
    r.optional(map, 'notifications', path, (v, p) => r.array(v, p).map((item, i) => readNotification(r, item, join(p, i)))),
  );

  // RFC 7297 3.6: a capacity is only meaningful with the rules applied to traffic beyond it.
  if (out.capacity && !out.conformance) {
    r.fail('rfc7297.conformance-required', join(path, 'conformance'), 'RFC 7297 3.6: "conformance" is required when "capacity" is present');
  }
  // RFC 7297 3.7: overall guarantees cover traffic that is not dropped when out of profile,
  // so they need no capacity/conformance, or an out-of-profile treatment that cannot be "drop".
  // (A capacity without conformance has already failed above.)
  if (out.overall && out.conformance && mayDrop(out.conformance.outOfProfile)) {
    r.fail('rfc7297.overall', join(path, 'overall'), 'RFC 7297 3.7: "overall" needs no capacity/conformance, or an outOfProfile that cannot be "drop"');
  }
  return out;
}

/** A CPD (wire-format.md key 15): 0..64 CPPs, [] being the Empty CPD (RFC 8921 9.2.6). */
export function readCpd(value: unknown, path: string, reader: SchemaReader): Cpd {
  const items = reader.array(value, path);
  if (items.length > MAX_CPPS_PER_CPD) reader.fail('cpd.cpps', path, `a CPD holds at most ${MAX_CPPS_PER_CPD} CPPs, got ${items.length}`);
  return items.map((item, i) => readCpp(item, join(path, i), reader));
}
