import type { CborWriter } from '../cbor/encoder';
import { FixedKeys } from '../cbor/fixed-keys';
import {
  NOT_ON_FAST_PATH,
  bool,
  closeMap,
  key,
  number,
  oneOfText,
  plainObject,
  text,
  textList,
  uint,
  type Fields,
} from '../schema-writer';
import { MAX_CPPS_PER_CPD, MAX_NODES_PER_CPP } from './types';
import { isPrefix } from './validate';

/**
 * The CPD (wire-format.md key 15) checked against cpp-model.md while it is written: the rules of
 * validate.ts, in the one pass of the validating encoder (schema-writer.ts says how failures
 * are handed back to validate.ts to be named). Each map's keys come from a FixedKeys table,
 * already in wire order, so nothing is sorted or copied per message.
 */

const LEVELS = ['low', 'medium', 'high'];
const CHANNELS = ['snmp', 'syslog', 'cpnp', 'netconf', 'email', 'phone'];
const PERCENT_MAX = 100;

const CPP = new FixedKeys([
  'component', 'nodes', 'scope', 'qos', 'availability', 'capacity', 'conformance',
  'overall', 'isolation', 'flows', 'routing', 'activation', 'invocation', 'notifications',
]);
const NODE = new FixedKeys(['id', 'link', 'location', 'site']);
const GEO = new FixedKeys(['lat', 'lon']);
const LOOSE = new FixedKeys(['min', 'max', 'pref']);
const ONE_OF = new FixedKeys(['oneOf']);
const SCOPE = new FixedKeys(['reach', 'model', 'families', 'outbound', 'inbound', 'ingress', 'egress', 'multicast']);
const MULTICAST = new FixedKeys(['mode', 'groups', 'sources']);
const QUANTITATIVE = new FixedKeys(['kind', 'delayMs', 'jitterMs', 'lossPct', 'statistic', 'intervalSec', 'between']);
const QUALITATIVE = new FixedKeys(['kind', 'class']);
const AVAILABILITY = new FixedKeys(['percent', 'statistic']);
const CAPACITY = new FixedKeys(['inMbps', 'outMbps', 'perLink']);
const LINK_CAPACITY = new FixedKeys(['link', 'inMbps', 'outMbps']);
const CONFORMANCE = new FixedKeys(['policing', 'outOfProfile', 'mtu']);
const OVERALL = new FixedKeys(['delay', 'loss', 'throughput']);
const ISOLATION = new FixedKeys(['required', 'security']);
const FLOW = new FixedKeys(['src', 'dst', 'srcPort', 'dstPort', 'dscp', 'tunnelEnd', 'links', 'remark']);
const ROUTING = new FixedKeys(['avoid', 'via', 'regions', 'backupPath', 'pdb']);
const INVOCATION_IMPLICIT = new FixedKeys(['type']);
const INVOCATION_EXPLICIT = new FixedKeys(['type', 'protocol']);
const NOTIFICATION = new FixedKeys(['channel', 'events', 'intervalSec']);

/** A CPD: 0..64 CPPs. */
export function writeCpd(w: CborWriter, value: unknown): void {
  if (!Array.isArray(value) || value.length > MAX_CPPS_PER_CPD) throw NOT_ON_FAST_PATH;
  const cpps = value as readonly unknown[];
  w.head(4, cpps.length);
  for (let i = 0; i < cpps.length; i++) writeCpp(w, cpps[i]);
}

/** One CPP map, with the cross-clause rules of RFC 7297 3.6 and 3.7 (validate.ts readCpp). */
function writeCpp(w: CborWriter, value: unknown): void {
  const cpp = plainObject(value);
  // scope and qos name nodes, and are written before them ("qos" is the shorter key).
  const nodes = cpp.nodes;
  if (!Array.isArray(nodes)) throw NOT_ON_FAST_PATH;
  const at = w.openSmallMap();
  let written = 0;
  const names = CPP.names;
  for (let i = 0; i < names.length; i++) {
    const v = cpp[names[i] as string];
    if (v === undefined) continue;
    key(w, CPP, i);
    written++;
    switch (names[i]) {
      case 'component': text(w, v); break;
      case 'nodes': writeNodes(w, nodes); break;
      case 'scope': writeScope(w, v, nodes); break;
      case 'qos': writeQos(w, v, nodes); break;
      case 'availability': writeAvailability(w, v); break;
      case 'capacity': writeCapacity(w, v); break;
      case 'conformance': writeConformance(w, v); break;
      case 'overall': writeOverall(w, v); break;
      case 'isolation': writeIsolation(w, v); break;
      case 'flows': writeList(w, v, writeFlow); break;
      case 'routing': writeRouting(w, v); break;
      case 'activation': textList(w, v); break;
      case 'invocation': writeInvocation(w, v); break;
      case 'notifications': writeList(w, v, writeNotification); break;
      default: throw NOT_ON_FAST_PATH;
    }
  }
  closeMap(w, at, cpp, written);
  // RFC 7297 3.6: capacity needs conformance. 3.7: overall needs an outOfProfile that cannot be
  // "drop" when there is a conformance clause (both already checked as written above).
  if (cpp.capacity !== undefined && cpp.conformance === undefined) throw NOT_ON_FAST_PATH;
  if (cpp.overall !== undefined && cpp.conformance !== undefined && mayDrop((cpp.conformance as Fields).outOfProfile)) {
    throw NOT_ON_FAST_PATH;
  }
}

function mayDrop(outOfProfile: unknown): boolean {
  if (typeof outOfProfile === 'string') return outOfProfile === 'drop';
  return ((outOfProfile as Fields).oneOf as readonly unknown[]).includes('drop');
}

function writeList(w: CborWriter, value: unknown, writeItem: (w: CborWriter, item: unknown) => void): void {
  if (!Array.isArray(value)) throw NOT_ON_FAST_PATH;
  const items = value as readonly unknown[];
  w.head(4, items.length);
  for (let i = 0; i < items.length; i++) writeItem(w, items[i]);
}

/** Whether `id` is the id of one of `nodes` (validated as the CPP is written). */
function isNodeId(nodes: readonly unknown[], id: string): boolean {
  for (let i = 0; i < nodes.length; i++) if ((nodes[i] as Fields | null)?.id === id) return true;
  return false;
}

/** RFC 7297 3.1 Customer Nodes Map: 1..256 nodes, ids unique. */
function writeNodes(w: CborWriter, nodes: readonly unknown[]): void {
  if (nodes.length < 1 || nodes.length > MAX_NODES_PER_CPP) throw NOT_ON_FAST_PATH;
  w.head(4, nodes.length);
  for (let i = 0; i < nodes.length; i++) {
    const id = writeNode(w, nodes[i]);
    for (let j = 0; j < i; j++) if ((nodes[j] as Fields).id === id) throw NOT_ON_FAST_PATH;
  }
}

function writeNode(w: CborWriter, value: unknown): string {
  const node = plainObject(value);
  const id = node.id;
  if (typeof id !== 'string' || node.link === undefined) throw NOT_ON_FAST_PATH;
  const at = w.openSmallMap();
  let written = 0;
  const names = NODE.names;
  for (let i = 0; i < names.length; i++) {
    const v = node[names[i] as string];
    if (v === undefined) continue;
    key(w, NODE, i);
    written++;
    if (names[i] === 'location' && typeof v !== 'string') writeGeo(w, v);
    else text(w, v);
  }
  closeMap(w, at, node, written);
  return id;
}

function writeGeo(w: CborWriter, value: unknown): void {
  const geo = plainObject(value);
  if (geo.lat === undefined || geo.lon === undefined) throw NOT_ON_FAST_PATH;
  const at = w.openSmallMap();
  key(w, GEO, 0);
  number(w, geo[GEO.names[0] as string]);
  key(w, GEO, 1);
  number(w, geo[GEO.names[1] as string]);
  closeMap(w, at, geo, 2);
}

/** `Num`: a number, or { min?, max?, pref? } with min or max and min <= pref <= max. */
function writeNum(w: CborWriter, value: unknown, max = Number.POSITIVE_INFINITY): void {
  const min = max === PERCENT_MAX ? 0 : Number.NEGATIVE_INFINITY;
  if (typeof value === 'number') {
    number(w, value, min, max);
    return;
  }
  const loose = plainObject(value);
  const lo = loose.min;
  const hi = loose.max;
  const pref = loose.pref;
  if (lo === undefined && hi === undefined) throw NOT_ON_FAST_PATH;
  const at = w.openSmallMap();
  let written = 0;
  const names = LOOSE.names;
  for (let i = 0; i < names.length; i++) {
    const v = loose[names[i] as string];
    if (v === undefined) continue;
    key(w, LOOSE, i);
    written++;
    number(w, v, min, max);
  }
  closeMap(w, at, loose, written);
  if (lo !== undefined && hi !== undefined && (lo as number) > (hi as number)) throw NOT_ON_FAST_PATH;
  if (pref !== undefined && lo !== undefined && (pref as number) < (lo as number)) throw NOT_ON_FAST_PATH;
  if (pref !== undefined && hi !== undefined && (pref as number) > (hi as number)) throw NOT_ON_FAST_PATH;
}

/** `Enum<...>`: one choice, or { oneOf: [two or more distinct choices] }. */
function writeEnum(w: CborWriter, value: unknown, choices: readonly string[]): string | readonly unknown[] {
  if (typeof value === 'string') return oneOfText(w, value, choices);
  const fields = plainObject(value);
  const items = fields.oneOf;
  if (!Array.isArray(items) || items.length < 2) throw NOT_ON_FAST_PATH;
  const at = w.openSmallMap();
  key(w, ONE_OF, 0);
  w.head(4, items.length);
  for (let i = 0; i < items.length; i++) {
    oneOfText(w, items[i], choices);
    for (let j = 0; j < i; j++) if (items[j] === items[i]) throw NOT_ON_FAST_PATH;
  }
  closeMap(w, at, fields, 1);
  return items as readonly unknown[];
}

function prefix(w: CborWriter, value: unknown): void {
  if (typeof value !== 'string' || !isPrefix(value)) throw NOT_ON_FAST_PATH;
  w.text(value);
}

function prefixList(w: CborWriter, value: unknown): void {
  writeList(w, value, prefix);
}

/** A direction's endpoints: prefixes or node ids of this CPP. */
function endpoints(w: CborWriter, value: unknown, nodes: readonly unknown[]): void {
  if (!Array.isArray(value)) throw NOT_ON_FAST_PATH;
  const items = value as readonly unknown[];
  w.head(4, items.length);
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (typeof item !== 'string' || (!isNodeId(nodes, item) && !isPrefix(item))) throw NOT_ON_FAST_PATH;
    w.text(item);
  }
}

/** RFC 7297 3.2 Scope. */
function writeScope(w: CborWriter, value: unknown, nodes: readonly unknown[]): void {
  const scope = plainObject(value);
  if (scope.reach === undefined || scope.model === undefined) throw NOT_ON_FAST_PATH;
  const at = w.openSmallMap();
  let written = 0;
  const names = SCOPE.names;
  for (let i = 0; i < names.length; i++) {
    const v = scope[names[i] as string];
    if (v === undefined) continue;
    key(w, SCOPE, i);
    written++;
    switch (names[i]) {
      case 'reach': writeEnum(w, v, ['global', 'restricted']); break;
      case 'model': writeEnum(w, v, ['1:1', '1:N', '1:any']); break;
      case 'families': {
        textList(w, v, 1, 2);
        const families = v as readonly unknown[];
        for (const family of families) if (family !== 'ipv4' && family !== 'ipv6') throw NOT_ON_FAST_PATH;
        if (families.length === 2 && families[0] === families[1]) throw NOT_ON_FAST_PATH;
        break;
      }
      case 'outbound':
      case 'inbound': endpoints(w, v, nodes); break;
      case 'ingress':
      case 'egress': textList(w, v); break;
      case 'multicast': writeMulticast(w, v); break;
      default: throw NOT_ON_FAST_PATH;
    }
  }
  closeMap(w, at, scope, written);
}

function writeMulticast(w: CborWriter, value: unknown): void {
  const multicast = plainObject(value);
  const mode = multicast.mode;
  if (mode === undefined || multicast.groups === undefined) throw NOT_ON_FAST_PATH;
  // Sources are only meaningful for source-specific multicast.
  if (multicast.sources !== undefined && mode !== 'ssm') throw NOT_ON_FAST_PATH;
  const at = w.openSmallMap();
  let written = 0;
  const names = MULTICAST.names;
  for (let i = 0; i < names.length; i++) {
    const v = multicast[names[i] as string];
    if (v === undefined) continue;
    key(w, MULTICAST, i);
    written++;
    if (names[i] === 'mode') oneOfText(w, v, ['asm', 'ssm']);
    else prefixList(w, v);
  }
  closeMap(w, at, multicast, written);
}

/** RFC 7297 3.3 QoS Guarantees: quantitative or qualitative (closed key sets: never a mix). */
function writeQos(w: CborWriter, value: unknown, nodes: readonly unknown[]): void {
  const qos = plainObject(value);
  const at = w.openSmallMap();
  let written = 0;
  if (qos.kind === 'qualitative') {
    if (qos.class === undefined) throw NOT_ON_FAST_PATH;
    key(w, QUALITATIVE, QUALITATIVE.names.indexOf('kind'));
    w.text('qualitative');
    key(w, QUALITATIVE, QUALITATIVE.names.indexOf('class'));
    writeEnum(w, qos.class, LEVELS);
    closeMap(w, at, qos, 2);
    return;
  }
  if (qos.kind !== 'quantitative') throw NOT_ON_FAST_PATH;
  const names = QUANTITATIVE.names;
  for (let i = 0; i < names.length; i++) {
    const v = qos[names[i] as string];
    if (v === undefined) continue;
    key(w, QUANTITATIVE, i);
    written++;
    switch (names[i]) {
      case 'kind': w.text('quantitative'); break;
      case 'delayMs':
      case 'jitterMs':
      case 'lossPct': writeNum(w, v); break;
      case 'statistic': oneOfText(w, v, ['avg', 'max', 'p95', 'p99']); break;
      case 'intervalSec': uint(w, v); break;
      case 'between': {
        textList(w, v, 2, 2);
        const [a, b] = v as readonly string[];
        if (a === b || !isNodeId(nodes, a as string) || !isNodeId(nodes, b as string)) throw NOT_ON_FAST_PATH;
        break;
      }
      default: throw NOT_ON_FAST_PATH;
    }
  }
  closeMap(w, at, qos, written);
}

/** RFC 7297 3.4 Availability. */
function writeAvailability(w: CborWriter, value: unknown): void {
  const availability = plainObject(value);
  if (availability.percent === undefined) throw NOT_ON_FAST_PATH;
  const at = w.openSmallMap();
  let written = 0;
  const names = AVAILABILITY.names;
  for (let i = 0; i < names.length; i++) {
    const v = availability[names[i] as string];
    if (v === undefined) continue;
    key(w, AVAILABILITY, i);
    written++;
    if (names[i] === 'percent') writeNum(w, v, PERCENT_MAX);
    else oneOfText(w, v, ['max', 'avg']);
  }
  closeMap(w, at, availability, written);
}

/** RFC 7297 3.5 Capacity. */
function writeCapacity(w: CborWriter, value: unknown): void {
  const capacity = plainObject(value);
  const at = w.openSmallMap();
  let written = 0;
  const names = CAPACITY.names;
  for (let i = 0; i < names.length; i++) {
    const v = capacity[names[i] as string];
    if (v === undefined) continue;
    key(w, CAPACITY, i);
    written++;
    if (names[i] === 'perLink') writeList(w, v, writeLinkCapacity);
    else writeNum(w, v);
  }
  closeMap(w, at, capacity, written);
}

function writeLinkCapacity(w: CborWriter, value: unknown): void {
  const link = plainObject(value);
  if (link.link === undefined) throw NOT_ON_FAST_PATH;
  const at = w.openSmallMap();
  let written = 0;
  const names = LINK_CAPACITY.names;
  for (let i = 0; i < names.length; i++) {
    const v = link[names[i] as string];
    if (v === undefined) continue;
    key(w, LINK_CAPACITY, i);
    written++;
    if (names[i] === 'link') text(w, v);
    else writeNum(w, v);
  }
  closeMap(w, at, link, written);
}

/** RFC 7297 3.6 Conformance Traffic. */
function writeConformance(w: CborWriter, value: unknown): void {
  const conformance = plainObject(value);
  if (conformance.policing === undefined || conformance.outOfProfile === undefined) throw NOT_ON_FAST_PATH;
  const at = w.openSmallMap();
  let written = 0;
  const names = CONFORMANCE.names;
  for (let i = 0; i < names.length; i++) {
    const v = conformance[names[i] as string];
    if (v === undefined) continue;
    key(w, CONFORMANCE, i);
    written++;
    switch (names[i]) {
      case 'policing': writeEnum(w, v, ['police', 'shape']); break;
      case 'outOfProfile': writeEnum(w, v, ['drop', 'lower-effort']); break;
      case 'mtu': uint(w, v, 68, 65535); break;
      default: throw NOT_ON_FAST_PATH;
    }
  }
  closeMap(w, at, conformance, written);
}

/** RFC 7297 3.7 Overall Traffic Guarantees. */
function writeOverall(w: CborWriter, value: unknown): void {
  const overall = plainObject(value);
  const at = w.openSmallMap();
  let written = 0;
  const names = OVERALL.names;
  for (let i = 0; i < names.length; i++) {
    const v = overall[names[i] as string];
    if (v === undefined) continue;
    key(w, OVERALL, i);
    written++;
    writeEnum(w, v, LEVELS);
  }
  closeMap(w, at, overall, written);
}

/** RFC 7297 3.8 Traffic Isolation. */
function writeIsolation(w: CborWriter, value: unknown): void {
  const isolation = plainObject(value);
  if (isolation.required === undefined) throw NOT_ON_FAST_PATH;
  const at = w.openSmallMap();
  let written = 0;
  const names = ISOLATION.names;
  for (let i = 0; i < names.length; i++) {
    const v = isolation[names[i] as string];
    if (v === undefined) continue;
    key(w, ISOLATION, i);
    written++;
    if (names[i] === 'required') bool(w, v);
    else textList(w, v);
  }
  closeMap(w, at, isolation, written);
}

function writePort(w: CborWriter, value: unknown): void {
  if (!Array.isArray(value)) {
    uint(w, value, 0, 65535);
    return;
  }
  const range = value as readonly unknown[];
  if (range.length !== 2) throw NOT_ON_FAST_PATH;
  w.head(4, 2);
  const lo = uint(w, range[0], 0, 65535);
  const hi = uint(w, range[1], 0, 65535);
  if (lo > hi) throw NOT_ON_FAST_PATH;
}

/** RFC 7297 3.9 Flow Identification. */
function writeFlow(w: CborWriter, value: unknown): void {
  const flow = plainObject(value);
  const at = w.openSmallMap();
  let written = 0;
  const names = FLOW.names;
  for (let i = 0; i < names.length; i++) {
    const v = flow[names[i] as string];
    if (v === undefined) continue;
    key(w, FLOW, i);
    written++;
    switch (names[i]) {
      case 'src':
      case 'dst': prefix(w, v); break;
      case 'srcPort':
      case 'dstPort': writePort(w, v); break;
      case 'dscp':
      case 'remark': uint(w, v, 0, 63); break;
      case 'tunnelEnd': text(w, v); break;
      case 'links':
        if (typeof v === 'string') oneOfText(w, v, ['all']);
        else textList(w, v);
        break;
      default: throw NOT_ON_FAST_PATH;
    }
  }
  closeMap(w, at, flow, written);
}

/** RFC 7297 3.10 Routing and Forwarding. */
function writeRouting(w: CborWriter, value: unknown): void {
  const routing = plainObject(value);
  const at = w.openSmallMap();
  let written = 0;
  const names = ROUTING.names;
  for (let i = 0; i < names.length; i++) {
    const v = routing[names[i] as string];
    if (v === undefined) continue;
    key(w, ROUTING, i);
    written++;
    switch (names[i]) {
      case 'backupPath': bool(w, v); break;
      case 'pdb': text(w, v); break;
      default: textList(w, v);
    }
  }
  closeMap(w, at, routing, written);
}

/** RFC 7297 3.12 Invocation Means. */
function writeInvocation(w: CborWriter, value: unknown): void {
  const invocation = plainObject(value);
  const at = w.openSmallMap();
  if (invocation.type === 'implicit') {
    key(w, INVOCATION_IMPLICIT, 0);
    w.text('implicit');
    closeMap(w, at, invocation, 1);
    return;
  }
  if (invocation.type !== 'explicit') throw NOT_ON_FAST_PATH;
  const names = INVOCATION_EXPLICIT.names;
  for (let i = 0; i < names.length; i++) {
    key(w, INVOCATION_EXPLICIT, i);
    if (names[i] === 'type') w.text('explicit');
    else oneOfText(w, invocation.protocol, ['rsvp', 'rsvp-te', 'igmp', 'mld']);
  }
  closeMap(w, at, invocation, 2);
}

/** RFC 7297 3.13 Notifications. */
function writeNotification(w: CborWriter, value: unknown): void {
  const notification = plainObject(value);
  if (notification.channel === undefined) throw NOT_ON_FAST_PATH;
  const at = w.openSmallMap();
  let written = 0;
  const names = NOTIFICATION.names;
  for (let i = 0; i < names.length; i++) {
    const v = notification[names[i] as string];
    if (v === undefined) continue;
    key(w, NOTIFICATION, i);
    written++;
    switch (names[i]) {
      case 'channel': oneOfText(w, v, CHANNELS); break;
      case 'events': textList(w, v); break;
      default: uint(w, v);
    }
  }
  closeMap(w, at, notification, written);
}
