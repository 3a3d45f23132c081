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
  Multicast,
  Negotiable,
  Notification,
  Num,
  Overall,
  PortSpec,
  Qos,
  Routing,
  Scope,
} from '../../cpnp/cpd/types';
import type { DateTime } from '../../cpnp/date-time';
import type { NegotiationOptions } from '../../cpnp/information-elements';
import type { CppFormInput, CppFormValue, NumFormValue, OptionsFormValue, OrderFormInput, OrderFormValue } from './schema';

/**
 * Form values <-> CPD (cpp-model.md). `toCpd` reads the schema's OUTPUT (parsed, typed);
 * `fromCpd` writes the schema's INPUT (what the inputs hold, e.g. a text area's text), so a
 * stored CPD prefills the form (clone, edit draft) and submitting it unchanged gives the same
 * CPD back. What the form cannot say (see schema.ts): an empty optional list is the same as no
 * list, and list items are trimmed, non-empty and free of commas and line breaks.
 */

type NumInput = CppFormInput['availability']['percent'];
type FlowInput = NonNullable<CppFormInput['flows']>[number];
type NotificationInput = NonNullable<CppFormInput['notifications']>[number];

/** Sets `key` only when `value` is defined, so absent fields stay absent (as readCpd does). */
function put<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) target[key] = value;
}
/**
 * A clause a Draft may hold unfinished (draftFormSchema): written as far as it goes, so that
 * reopening the draft shows what was typed. The submit schema never lets one through.
 */
function unfinished<T>(clause: Partial<T>): T {
  return clause as T;
}
const nonEmpty = <T>(items: T[]): T[] | undefined => (items.length > 0 ? items : undefined);
const joinList = (items: readonly string[] | undefined): string | undefined => (items && items.length > 0 ? items.join('\n') : undefined);

// ---------------------------------------------------------------------------------------------
// Leaves.

export function numToCpd(n: NumFormValue): Num | undefined {
  if (n.mode === 'fixed') return n.value;
  if (n.min === undefined && n.max === undefined) return undefined;
  const loose: { min?: number; max?: number; pref?: number } = {};
  put(loose, 'min', n.min);
  put(loose, 'max', n.max);
  put(loose, 'pref', n.pref);
  return loose;
}

export function numFromCpd(n: Num | undefined): NumInput {
  if (n === undefined) return { mode: 'fixed' };
  if (typeof n === 'number') return { mode: 'fixed', value: n };
  const out: NumInput = { mode: 'range' };
  put(out, 'min', n.min);
  put(out, 'max', n.max);
  put(out, 'pref', n.pref);
  return out;
}

export function enumToCpd<T extends string>(choices: readonly T[]): Negotiable<T> | undefined {
  if (choices.length === 0) return undefined;
  if (choices.length === 1) return choices[0];
  return { oneOf: [...choices] };
}

export function enumFromCpd<T extends string>(value: Negotiable<T> | undefined): T[] {
  if (value === undefined) return [];
  return typeof value === 'string' ? [value] : [...value.oneOf];
}

function portToCpd(p: number | [number, number] | undefined): PortSpec | undefined {
  return p;
}
function portFromCpd(p: PortSpec | undefined): string | undefined {
  if (p === undefined) return undefined;
  return typeof p === 'number' ? String(p) : `${p[0]}-${p[1]}`;
}

// ---------------------------------------------------------------------------------------------
// One CPP.

/** The CPP a parsed form profile stands for (cpp-model.md key order). */
export function cppToCpd(form: CppFormValue): Cpp {
  const nodes = form.nodes.map((n): CustomerNode => {
    const node: CustomerNode = { id: n.id, link: n.link };
    if (n.locationKind === 'text') put(node, 'location', n.location);
    if (n.locationKind === 'geo' && (n.lat !== undefined || n.lon !== undefined)) node.location = unfinished<{ lat: number; lon: number }>({ lat: n.lat, lon: n.lon });
    put(node, 'site', n.site);
    return node;
  });
  const cpp: Cpp = form.component === undefined ? { nodes } : { component: form.component, nodes };

  const s = form.scope;
  if (s.include) {
    {
      const scope = unfinished<Scope>({ reach: enumToCpd(s.reach), model: enumToCpd(s.model) });
      put(scope, 'families', nonEmpty(s.families));
      put(scope, 'outbound', nonEmpty(s.outbound));
      put(scope, 'inbound', nonEmpty(s.inbound));
      put(scope, 'ingress', nonEmpty(s.ingress));
      put(scope, 'egress', nonEmpty(s.egress));
      if (s.multicastMode !== 'none') {
        const multicast: Multicast = { mode: s.multicastMode, groups: s.groups };
        if (s.multicastMode === 'ssm') put(multicast, 'sources', nonEmpty(s.sources));
        scope.multicast = multicast;
      }
      cpp.scope = scope;
    }
  }

  const q = form.qos;
  if (q.kind === 'quantitative') {
    const qos: Qos = { kind: 'quantitative' };
    put(qos, 'delayMs', numToCpd(q.delayMs));
    put(qos, 'jitterMs', numToCpd(q.jitterMs));
    put(qos, 'lossPct', numToCpd(q.lossPct));
    put(qos, 'statistic', q.statistic);
    put(qos, 'intervalSec', q.intervalSec);
    const [a, b] = q.between;
    if (a || b) qos.between = [a ?? '', b ?? ''];
    cpp.qos = qos;
  } else if (q.kind === 'qualitative') {
    cpp.qos = unfinished<Qos>({ kind: 'qualitative', class: enumToCpd(q.class) });
  }

  const av = form.availability;
  if (av.include) {
    const availability = unfinished<Availability>({ percent: numToCpd(av.percent) });
    put(availability, 'statistic', av.statistic);
    cpp.availability = availability;
  }

  const cap = form.capacity;
  if (cap.include) {
    const capacity: Capacity = {};
    put(capacity, 'inMbps', numToCpd(cap.inMbps));
    put(capacity, 'outMbps', numToCpd(cap.outMbps));
    put(
      capacity,
      'perLink',
      nonEmpty(
        cap.perLink.map((l): LinkCapacity => {
          const link: LinkCapacity = { link: l.link };
          put(link, 'inMbps', numToCpd(l.inMbps));
          put(link, 'outMbps', numToCpd(l.outMbps));
          return link;
        }),
      ),
    );
    cpp.capacity = capacity;
  }

  const con = form.conformance;
  if (con.include) {
    const conformance = unfinished<Conformance>({ policing: enumToCpd(con.policing), outOfProfile: enumToCpd(con.outOfProfile) });
    put(conformance, 'mtu', con.mtu);
    cpp.conformance = conformance;
  }

  const ov = form.overall;
  if (ov.include) {
    const overall: Overall = {};
    put(overall, 'delay', enumToCpd(ov.delay));
    put(overall, 'loss', enumToCpd(ov.loss));
    put(overall, 'throughput', enumToCpd(ov.throughput));
    cpp.overall = overall;
  }

  if (form.isolation.include) {
    const isolation: Isolation = { required: form.isolation.required };
    put(isolation, 'security', nonEmpty(form.isolation.security));
    cpp.isolation = isolation;
  }

  put(
    cpp,
    'flows',
    nonEmpty(
      form.flows.map((f): Flow => {
        const flow: Flow = {};
        put(flow, 'src', f.src);
        put(flow, 'dst', f.dst);
        put(flow, 'srcPort', portToCpd(f.srcPort));
        put(flow, 'dstPort', portToCpd(f.dstPort));
        put(flow, 'dscp', f.dscp);
        put(flow, 'tunnelEnd', f.tunnelEnd);
        put(flow, 'links', f.allLinks ? 'all' : nonEmpty(f.links));
        put(flow, 'remark', f.remark);
        return flow;
      }),
    ),
  );

  const r = form.routing;
  if (r.include) {
    const routing: Routing = {};
    put(routing, 'avoid', nonEmpty(r.avoid));
    put(routing, 'via', nonEmpty(r.via));
    put(routing, 'regions', nonEmpty(r.regions));
    if (r.backupPath !== 'unset') routing.backupPath = r.backupPath === 'yes';
    put(routing, 'pdb', r.pdb);
    cpp.routing = routing;
  }

  put(cpp, 'activation', nonEmpty(form.activation));

  const inv = form.invocation;
  if (inv.type === 'implicit') cpp.invocation = { type: 'implicit' };
  if (inv.type === 'explicit') cpp.invocation = unfinished<Invocation>({ type: 'explicit', protocol: inv.protocol });

  put(
    cpp,
    'notifications',
    nonEmpty(
      form.notifications.map((n): Notification => {
        const notification: Notification = { channel: n.channel };
        put(notification, 'events', nonEmpty(n.events));
        put(notification, 'intervalSec', n.intervalSec);
        return notification;
      }),
    ),
  );
  return cpp;
}

/** An empty profile: one blank site, every optional clause off. */
export function emptyCpp(): CppFormInput {
  return cppFromCpd({ nodes: [{ id: '', link: '' }] });
}

/** The form input that shows `cpp` (prefill for clone and draft editing). */
export function cppFromCpd(cpp: Cpp): CppFormInput {
  const out: CppFormInput = {
    nodes: cpp.nodes.map((n) => {
      const node: CppFormInput['nodes'][number] = { id: n.id, link: n.link, locationKind: 'none' };
      put(node, 'site', n.site);
      if (typeof n.location === 'string') Object.assign(node, { locationKind: 'text', location: n.location });
      else if (n.location) Object.assign(node, { locationKind: 'geo', lat: n.location.lat, lon: n.location.lon });
      return node;
    }),
    scope: scopeFromCpd(cpp.scope),
    qos: qosFromCpd(cpp.qos),
    availability: {
      include: cpp.availability !== undefined,
      percent: numFromCpd(cpp.availability?.percent),
      ...(cpp.availability?.statistic ? { statistic: cpp.availability.statistic } : {}),
    },
    capacity: {
      include: cpp.capacity !== undefined,
      inMbps: numFromCpd(cpp.capacity?.inMbps),
      outMbps: numFromCpd(cpp.capacity?.outMbps),
      perLink: (cpp.capacity?.perLink ?? []).map((l) => ({ link: l.link, inMbps: numFromCpd(l.inMbps), outMbps: numFromCpd(l.outMbps) })),
    },
    conformance: {
      include: cpp.conformance !== undefined,
      policing: enumFromCpd(cpp.conformance?.policing),
      outOfProfile: enumFromCpd(cpp.conformance?.outOfProfile),
      ...(cpp.conformance?.mtu !== undefined ? { mtu: cpp.conformance.mtu } : {}),
    },
    overall: {
      include: cpp.overall !== undefined,
      delay: enumFromCpd(cpp.overall?.delay),
      loss: enumFromCpd(cpp.overall?.loss),
      throughput: enumFromCpd(cpp.overall?.throughput),
    },
    isolation: { include: cpp.isolation !== undefined, required: cpp.isolation?.required ?? false, security: joinList(cpp.isolation?.security) },
    flows: (cpp.flows ?? []).map((f) => {
      const flow: FlowInput = { allLinks: f.links === 'all', links: f.links === 'all' ? undefined : joinList(f.links) };
      put(flow, 'src', f.src);
      put(flow, 'dst', f.dst);
      put(flow, 'srcPort', portFromCpd(f.srcPort));
      put(flow, 'dstPort', portFromCpd(f.dstPort));
      put(flow, 'dscp', f.dscp);
      put(flow, 'tunnelEnd', f.tunnelEnd);
      put(flow, 'remark', f.remark);
      return flow;
    }),
    routing: {
      include: cpp.routing !== undefined,
      avoid: joinList(cpp.routing?.avoid),
      via: joinList(cpp.routing?.via),
      regions: joinList(cpp.routing?.regions),
      backupPath: cpp.routing?.backupPath === undefined ? 'unset' : cpp.routing.backupPath ? 'yes' : 'no',
      ...(cpp.routing?.pdb !== undefined ? { pdb: cpp.routing.pdb } : {}),
    },
    activation: joinList(cpp.activation),
    invocation: cpp.invocation === undefined ? { type: 'none' } : cpp.invocation.type === 'implicit' ? { type: 'implicit' } : { type: 'explicit', protocol: cpp.invocation.protocol },
    notifications: (cpp.notifications ?? []).map((n) => {
      const notification: NotificationInput = { channel: n.channel, events: joinList(n.events) };
      put(notification, 'intervalSec', n.intervalSec);
      return notification;
    }),
  };
  if (cpp.component !== undefined) out.component = cpp.component;
  return out;
}

function scopeFromCpd(scope: Scope | undefined): CppFormInput['scope'] {
  return {
    include: scope !== undefined,
    reach: enumFromCpd(scope?.reach),
    model: enumFromCpd(scope?.model),
    families: [...(scope?.families ?? [])],
    outbound: joinList(scope?.outbound),
    inbound: joinList(scope?.inbound),
    ingress: joinList(scope?.ingress),
    egress: joinList(scope?.egress),
    multicastMode: scope?.multicast?.mode ?? 'none',
    groups: joinList(scope?.multicast?.groups),
    sources: joinList(scope?.multicast?.sources),
  };
}

function qosFromCpd(qos: Qos | undefined): CppFormInput['qos'] {
  const blank = { delayMs: numFromCpd(undefined), jitterMs: numFromCpd(undefined), lossPct: numFromCpd(undefined), between: [], class: [] };
  if (qos === undefined) return { kind: 'none', ...blank };
  if (qos.kind === 'qualitative') return { ...blank, kind: 'qualitative', class: enumFromCpd(qos.class) };
  const out: CppFormInput['qos'] = {
    kind: 'quantitative',
    delayMs: numFromCpd(qos.delayMs),
    jitterMs: numFromCpd(qos.jitterMs),
    lossPct: numFromCpd(qos.lossPct),
    between: qos.between ? [...qos.between] : [],
    class: [],
  };
  put(out, 'statistic', qos.statistic);
  put(out, 'intervalSec', qos.intervalSec);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The CPD and the order.

export function toCpd(form: readonly CppFormValue[]): Cpd {
  return form.map(cppToCpd);
}

export function fromCpd(cpd: Cpd): CppFormInput[] {
  return cpd.map(cppFromCpd);
}

export function optionsToNegotiation(form: OptionsFormValue): NegotiationOptions {
  const options: NegotiationOptions = {};
  if (form.purpose !== 'unset') options.purpose = form.purpose;
  // The schema has checked the text is an RFC 3339 UTC date-time with seconds.
  if (form.purpose === 'test' && form.testUntil !== undefined) options.testUntil = form.testUntil as DateTime;
  if (form.activationType !== 'unset') options.activationType = form.activationType;
  if (form.scope !== 'unset') options.scope = form.scope;
  return options;
}

export function optionsFromNegotiation(options: NegotiationOptions): OrderFormInput['options'] {
  const out: OrderFormInput['options'] = {
    purpose: options.purpose ?? 'unset',
    activationType: options.activationType ?? 'unset',
    scope: options.scope ?? 'unset',
  };
  // The date picker shows minutes; seconds are kept when present.
  if (options.testUntil !== undefined) out.testUntil = options.testUntil.replace(/(\.\d+)?Z$/, '');
  return out;
}

/** The order fields of lib/portal/orders/service.ts NewOrderInput (all but submit/clonedFrom). */
export interface OrderFields {
  title: string;
  cpd: Cpd;
  options: NegotiationOptions;
  providerIds: string[];
  expectedResponseSeconds: number;
  selectionRule: 'manual' | 'cheapest' | 'first';
}

export function toOrderFields(form: OrderFormValue): OrderFields {
  return {
    title: form.title,
    cpd: toCpd(form.cpd),
    options: optionsToNegotiation(form.options),
    providerIds: [...new Set(form.providerIds)],
    expectedResponseSeconds: form.expectedResponseSeconds,
    selectionRule: form.selectionRule,
  };
}

export const DEFAULT_RESPONSE_SECONDS = 600;

/** The form's initial value: blank (a new order) or prefilled from an earlier order. */
export function orderFormDefaults(from?: OrderFields): OrderFormInput {
  if (!from) {
    return {
      title: '',
      providerIds: [],
      expectedResponseSeconds: DEFAULT_RESPONSE_SECONDS,
      selectionRule: 'manual',
      options: optionsFromNegotiation({}),
      cpd: [emptyCpp()],
    };
  }
  return {
    title: from.title,
    providerIds: [...from.providerIds],
    expectedResponseSeconds: from.expectedResponseSeconds,
    selectionRule: from.selectionRule,
    options: optionsFromNegotiation(from.options),
    cpd: from.cpd.length > 0 ? fromCpd(from.cpd) : [emptyCpp()],
  };
}
