import { z } from 'zod';
import { isPrefix } from '../../cpnp/cpd/validate';
import {
  ACTIVATION_TYPES,
  AVAILABILITY_STATISTICS,
  CHANNELS,
  FAMILIES,
  INVOCATION_PROTOCOLS,
  INVOCATION_TYPES,
  LEVELS,
  LOCATION_KINDS,
  MODELS,
  MULTICAST_MODES,
  OPTION_SCOPES,
  OUT_OF_PROFILE,
  POLICINGS,
  PURPOSES,
  QOS_KINDS,
  QOS_STATISTICS,
  REACHES,
  SELECTION_RULES,
  TRI_STATE,
  valuesOf,
} from './choices';
import { checkCpd } from './cpd-check';
import { cppToCpd } from './mapping';

/**
 * The compose-order form as ONE zod schema (issue 9 item 3). It runs in the browser (Conform's
 * onValidate, inline errors) and in the server action (parseWithZod); its field names are the
 * form's input names, e.g. `cpd[0].nodes[1].id`. Field-level rules come first; the CPP rules of
 * cpp-model.md that tie fields together follow (per CPP), and lib/cpnp's own CPD validator
 * (readCpd) has the last word on the mapped CPD, its error path mapped back onto a field.
 *
 * Form conventions (what a person can type, hence where the form is narrower than the model):
 * - a numeric value is `{ mode: 'fixed', value }` or `{ mode: 'range', min, max, pref }`;
 * - an Enum<...> value is the list of acceptable choices: one = fixed, several = {oneOf};
 * - lists of short texts (prefixes, labels) are one text area, one item per line or comma;
 *   items are trimmed and empty items dropped, so an empty list and an absent list are the same;
 * - optional clauses have an `include` switch; when off, the clause is absent from the CPD.
 */

// ---------------------------------------------------------------------------------------------
// Leaves.

const optionalText = z.string().optional();
const requiredText = (message: string) => z.string({ error: message }).min(1, message);
const number = (what = 'a number') => z.number({ error: `Enter ${what}` });

/** Splits a text area into items: newlines or commas separate, blanks are dropped. */
export function splitList(text: string | undefined): string[] {
  if (text === undefined) return [];
  return text
    .split(/[\n\r,]+/)
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** A list typed into a text area (one item per line or comma). */
const textList = z.string().optional().transform(splitList);

function listOf(check: (item: string) => boolean, describe: (bad: string[]) => string) {
  return textList.superRefine((items, ctx) => {
    const bad = items.filter((item) => !check(item));
    if (bad.length > 0) ctx.addIssue({ code: 'custom', message: describe(bad) });
  });
}

const quoted = (items: string[]): string => items.map((i) => `"${i}"`).join(', ');
const PREFIX_HINT = 'such as 192.0.2.0/24 or 2001:db8::/32 (host bits zero)';
const prefixList = listOf(isPrefix, (bad) => `${quoted(bad)} ${bad.length > 1 ? 'are not prefixes' : 'is not a prefix'} ${PREFIX_HINT}`);

const optionalPrefix = z
  .string()
  .optional()
  .refine((text) => text === undefined || isPrefix(text), { message: `Enter a prefix ${PREFIX_HINT}` });

function uint(min: number, max: number, what: string) {
  return z
    .number({ error: `Enter ${what}` })
    .int(`Enter a whole number for ${what}`)
    .min(min, `${what[0]?.toUpperCase()}${what.slice(1)} must be at least ${min}`)
    .max(max, `${what[0]?.toUpperCase()}${what.slice(1)} must be at most ${max}`);
}

export type PortSpecForm = number | [number, number];

/** A port ("443") or an inclusive range ("1024-2047"). */
const port = z
  .string()
  .optional()
  .transform((text, ctx): PortSpecForm | undefined => {
    if (text === undefined) return undefined;
    const m = /^\s*(\d{1,5})\s*(?:[-–]\s*(\d{1,5})\s*)?$/.exec(text);
    const lo = Number(m?.[1]);
    const hi = m?.[2] === undefined ? undefined : Number(m[2]);
    if (!m || lo > 65535 || (hi !== undefined && hi > 65535)) {
      ctx.addIssue({ code: 'custom', message: 'Enter a port 0..65535 or a range such as 1024-2047' });
      return z.NEVER;
    }
    if (hi === undefined) return lo;
    if (lo > hi) {
      ctx.addIssue({ code: 'custom', message: `The range ${lo}-${hi} is reversed` });
      return z.NEVER;
    }
    return [lo, hi];
  });

export interface NumBounds {
  min?: number;
  max?: number;
}

/**
 * cpp-model.md `Num`: fixed, or a range with at least one of min/max and min <= pref <= max.
 * Empty in both modes means "not given"; whether that is allowed is the clause's business.
 */
export function numField(bounds: NumBounds = {}) {
  const n = number().optional();
  return z
    .object({
      mode: z.enum(['fixed', 'range']).default('fixed'),
      value: n,
      min: n,
      max: n,
      pref: n,
    })
    .superRefine((v, ctx) => {
      const within = (key: 'value' | 'min' | 'max' | 'pref', x: number | undefined): void => {
        if (x === undefined) return;
        if (bounds.min !== undefined && x < bounds.min) ctx.addIssue({ code: 'custom', path: [key], message: `Must be at least ${bounds.min}` });
        if (bounds.max !== undefined && x > bounds.max) ctx.addIssue({ code: 'custom', path: [key], message: `Must be at most ${bounds.max}` });
      };
      if (v.mode === 'fixed') {
        within('value', v.value);
        return;
      }
      within('min', v.min);
      within('max', v.max);
      within('pref', v.pref);
      const { min, max, pref } = v;
      if (min === undefined && max === undefined && pref !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['min'], message: 'A range needs a minimum or a maximum' });
      }
      if (min !== undefined && max !== undefined && min > max) {
        ctx.addIssue({ code: 'custom', path: ['max'], message: `The maximum is below the minimum (${min})` });
      }
      if (pref !== undefined && min !== undefined && pref < min) {
        ctx.addIssue({ code: 'custom', path: ['pref'], message: `The preferred value is below the minimum (${min})` });
      }
      if (pref !== undefined && max !== undefined && pref > max) {
        ctx.addIssue({ code: 'custom', path: ['pref'], message: `The preferred value is above the maximum (${max})` });
      }
    });
}
export type NumFormValue = z.output<ReturnType<typeof numField>>;

/** cpp-model.md `Enum<...>`: the acceptable choices; one is a fixed value, several are {oneOf}. */
function enumField<const T extends readonly [string, ...string[]]>(values: T) {
  return z
    .array(z.enum(values))
    .default([])
    .refine((items) => new Set(items).size === items.length, { message: 'A choice is listed twice' });
}

const include = z.boolean().default(false);

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Zod skips a refinement once a field inside has failed; these rules should still speak, so
 * that one submission lists every problem. They run whenever the value has the form's shape
 * (possibly with bad leaves, which their own errors name).
 */
const EVEN_WITH_FIELD_ERRORS = { when: (payload: { value: unknown }) => isRecord(payload.value) };
const SOUND_CPP = {
  when: ({ value }: { value: unknown }): boolean => {
    if (!isRecord(value) || !Array.isArray(value.nodes) || !value.nodes.every(isRecord)) return false;
    const { scope, qos, availability, capacity, conformance, overall, invocation } = value;
    if (![scope, qos, availability, capacity, conformance, overall, invocation].every(isRecord)) return false;
    const s = scope as Record<string, unknown>;
    const q = qos as Record<string, unknown>;
    const c = conformance as Record<string, unknown>;
    const lists = [s.reach, s.model, s.outbound, s.inbound, s.sources, q.class, q.between, c.policing, c.outOfProfile];
    const nums = [q.delayMs, q.jitterMs, q.lossPct, (availability as Record<string, unknown>).percent];
    return lists.every(Array.isArray) && nums.every(isRecord);
  },
};

// ---------------------------------------------------------------------------------------------
// Clauses (RFC 7297 section 3, cpp-model.md).

/** RFC 7297 3.1 Customer Nodes Map entry. */
export const nodeSchema = z
  .object({
    id: requiredText('Enter a node id, e.g. ce-paris'),
    link: requiredText('Enter the border link or provider node, e.g. pe1:xe-1/0/0'),
    site: optionalText,
    locationKind: z.enum(valuesOf(LOCATION_KINDS)).default('none'),
    location: optionalText,
    lat: number('a latitude').min(-90, 'Latitude is -90..90').max(90, 'Latitude is -90..90').optional(),
    lon: number('a longitude').min(-180, 'Longitude is -180..180').max(180, 'Longitude is -180..180').optional(),
  })
  .superRefine((node, ctx) => {
    if (node.locationKind === 'text' && node.location === undefined) ctx.addIssue({ code: 'custom', path: ['location'], message: 'Enter a place name' });
    if (node.locationKind === 'geo') {
      if (node.lat === undefined) ctx.addIssue({ code: 'custom', path: ['lat'], message: 'Enter a latitude' });
      if (node.lon === undefined) ctx.addIssue({ code: 'custom', path: ['lon'], message: 'Enter a longitude' });
    }
  }, EVEN_WITH_FIELD_ERRORS);

/** RFC 7297 3.2 Scope. */
const scopeSchema = z.object({
  include,
  reach: enumField(valuesOf(REACHES)),
  model: enumField(valuesOf(MODELS)),
  families: z.array(z.enum(valuesOf(FAMILIES))).default([]),
  // Prefixes or node ids: checked against the CPP's nodes below.
  outbound: textList,
  inbound: textList,
  ingress: textList,
  egress: textList,
  multicastMode: z.enum(valuesOf(MULTICAST_MODES)).default('none'),
  groups: prefixList,
  sources: prefixList,
});

/** RFC 7297 3.3 QoS: the kind decides which half is used; the other half must stay empty. */
const qosSchema = z.object({
  kind: z.enum(valuesOf(QOS_KINDS)).default('none'),
  delayMs: numField({ min: 0 }),
  jitterMs: numField({ min: 0 }),
  lossPct: numField({ min: 0, max: 100 }),
  statistic: z.enum(valuesOf(QOS_STATISTICS)).optional(),
  intervalSec: uint(0, 86400 * 365, 'the measurement interval').optional(),
  between: z.array(z.string().optional()).default([]),
  class: enumField(valuesOf(LEVELS)),
});

/** RFC 7297 3.4 Availability. */
const availabilitySchema = z.object({
  include,
  percent: numField({ min: 0, max: 100 }),
  statistic: z.enum(valuesOf(AVAILABILITY_STATISTICS)).optional(),
});

export const linkCapacitySchema = z.object({
  link: requiredText('Enter the link this capacity applies to'),
  inMbps: numField({ min: 0 }),
  outMbps: numField({ min: 0 }),
});

/** RFC 7297 3.5 Capacity. */
const capacitySchema = z.object({
  include,
  inMbps: numField({ min: 0 }),
  outMbps: numField({ min: 0 }),
  perLink: z.array(linkCapacitySchema).default([]),
});

/** RFC 7297 3.6 Conformance Traffic. */
const conformanceSchema = z.object({
  include,
  policing: enumField(valuesOf(POLICINGS)),
  outOfProfile: enumField(valuesOf(OUT_OF_PROFILE)),
  mtu: uint(68, 65535, 'the MTU').optional(),
});

/** RFC 7297 3.7 Overall Traffic Guarantees. */
const overallSchema = z.object({
  include,
  delay: enumField(valuesOf(LEVELS)),
  loss: enumField(valuesOf(LEVELS)),
  throughput: enumField(valuesOf(LEVELS)),
});

/** RFC 7297 3.8 Traffic Isolation. */
const isolationSchema = z.object({
  include,
  required: z.boolean().default(false),
  security: textList,
});

/** RFC 7297 3.9 Flow Identification. */
export const flowSchema = z.object({
  src: optionalPrefix,
  dst: optionalPrefix,
  srcPort: port,
  dstPort: port,
  dscp: uint(0, 63, 'the DSCP').optional(),
  tunnelEnd: optionalText,
  allLinks: z.boolean().default(false),
  links: textList,
  remark: uint(0, 63, 'the remark DSCP').optional(),
});

/** RFC 7297 3.10 Routing and Forwarding. */
const routingSchema = z.object({
  include,
  avoid: textList,
  via: textList,
  regions: textList,
  backupPath: z.enum(valuesOf(TRI_STATE)).default('unset'),
  pdb: optionalText,
});

/** RFC 7297 3.12 Invocation Means. */
const invocationSchema = z.object({
  type: z.enum(valuesOf(INVOCATION_TYPES)).default('none'),
  protocol: z.enum(valuesOf(INVOCATION_PROTOCOLS)).optional(),
});

/** RFC 7297 3.13 Notifications. */
export const notificationSchema = z.object({
  channel: z.enum(valuesOf(CHANNELS), { error: 'Choose a channel' }),
  events: textList,
  intervalSec: uint(0, 86400 * 365, 'the reporting interval').optional(),
});

const mayDrop = (outOfProfile: readonly string[]): boolean => outOfProfile.length === 0 || outOfProfile.includes('drop');

/** One CPP, with the rules of cpp-model.md that tie its clauses together. */
export const cppSchema = z
  .object({
    component: optionalText,
    nodes: z.array(nodeSchema).min(1, 'Add at least one site (customer node)').max(256, 'A profile lists at most 256 customer nodes'),
    scope: scopeSchema,
    qos: qosSchema,
    availability: availabilitySchema,
    capacity: capacitySchema,
    conformance: conformanceSchema,
    overall: overallSchema,
    isolation: isolationSchema,
    flows: z.array(flowSchema).default([]),
    routing: routingSchema,
    activation: textList,
    invocation: invocationSchema,
    notifications: z.array(notificationSchema).default([]),
  })
  .superRefine((cpp, ctx) => {
    const issue = (path: (string | number)[], message: string): void => ctx.addIssue({ code: 'custom', path, message });
    const ids = new Set<string>();
    cpp.nodes.forEach((node, i) => {
      // A missing id has its own error already.
      if (typeof node.id !== 'string' || node.id === '') return;
      if (ids.has(node.id)) issue(['nodes', i, 'id'], `Node id "${node.id}" is already used in this profile`);
      ids.add(node.id);
    });

    const { scope, qos, availability, capacity, conformance, overall, invocation } = cpp;
    if (scope.include) {
      if (scope.reach.length === 0) issue(['scope', 'reach'], 'Choose the reach');
      if (scope.model.length === 0) issue(['scope', 'model'], 'Choose the connectivity model');
      for (const key of ['outbound', 'inbound'] as const) {
        const bad = scope[key].filter((e) => !ids.has(e) && !isPrefix(e));
        if (bad.length > 0) issue(['scope', key], `${quoted(bad)}: neither a node id of this profile nor a prefix ${PREFIX_HINT}`);
      }
      if (scope.multicastMode === 'asm' && scope.sources.length > 0) issue(['scope', 'sources'], 'Sources apply only to source-specific multicast (SSM)');
    }

    if (qos.kind === 'qualitative' && qos.class.length === 0) issue(['qos', 'class'], 'Choose the QoS class');
    // RFC 7297 3.3: one kind per CPP. The UI disables the other half; a post that still mixes them is refused.
    const quantitativeGiven =
      [qos.delayMs, qos.jitterMs, qos.lossPct].some((n) => numGiven(n)) || qos.statistic !== undefined || qos.intervalSec !== undefined || qos.between.some(Boolean);
    if (qos.kind === 'qualitative' && quantitativeGiven) issue(['qos', 'kind'], 'RFC 7297 3.3: a profile cannot mix qualitative and quantitative QoS; clear the figures or choose quantitative');
    if (qos.kind === 'quantitative' && qos.class.length > 0) issue(['qos', 'kind'], 'RFC 7297 3.3: a profile cannot mix qualitative and quantitative QoS; clear the class or choose qualitative');
    if (qos.kind === 'quantitative') {
      const [a, b] = qos.between;
      if (a || b) {
        if (!a) issue(['qos', 'between', 0], 'Choose the first node, or clear both');
        if (!b) issue(['qos', 'between', 1], 'Choose the second node, or clear both');
        if (a && !ids.has(a)) issue(['qos', 'between', 0], `"${a}" is not a node of this profile`);
        if (b && !ids.has(b)) issue(['qos', 'between', 1], `"${b}" is not a node of this profile`);
        if (a && a === b) issue(['qos', 'between', 1], 'Choose two different nodes');
      }
    }

    if (availability.include && !numGiven(availability.percent)) issue(['availability', 'percent'], 'Enter the availability in percent, fixed or as a range');
    if (conformance.include) {
      if (conformance.policing.length === 0) issue(['conformance', 'policing'], 'Choose how excess traffic is policed');
      if (conformance.outOfProfile.length === 0) issue(['conformance', 'outOfProfile'], 'Choose what happens to out-of-profile traffic');
    }
    if (capacity.include && !conformance.include) {
      issue(['conformance'], 'RFC 7297 3.6: a capacity needs conformance rules; include this section');
    }
    if (overall.include && conformance.include && mayDrop(conformance.outOfProfile)) {
      issue(['overall'], 'RFC 7297 3.7: overall guarantees need out-of-profile traffic forwarded at lower effort, not dropped (or no capacity/conformance)');
    }
    if (invocation.type === 'explicit' && invocation.protocol === undefined) issue(['invocation', 'protocol'], 'Choose the signalling protocol');
  }, SOUND_CPP);

function numGiven(n: NumFormValue): boolean {
  return n.mode === 'fixed' ? n.value !== undefined : n.min !== undefined || n.max !== undefined || n.pref !== undefined;
}

// ---------------------------------------------------------------------------------------------
// The order around the CPD.

/** "2026-12-31T18:00", with optional seconds and "Z": the DatePicker's value, read as UTC. */
const DATE_TIME_RE = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2})?(?:\.\d+)?Z?$/;

/** RFC 8921 9.1.10.3 Negotiation Options. */
export const optionsSchema = z
  .object({
    purpose: z.enum(valuesOf(PURPOSES)).default('unset'),
    testUntil: z
      .string()
      .optional()
      .transform((text, ctx) => {
        if (text === undefined) return undefined;
        const m = DATE_TIME_RE.exec(text);
        const iso = m ? `${m[1]}T${m[2]}${m[3] ?? ':00'}Z` : '';
        if (!m || Number.isNaN(Date.parse(iso))) {
          ctx.addIssue({ code: 'custom', message: 'Enter a date and time' });
          return z.NEVER;
        }
        return iso;
      }),
    activationType: z.enum(valuesOf(ACTIVATION_TYPES)).default('unset'),
    scope: z.enum(valuesOf(OPTION_SCOPES)).default('unset'),
  })
  .superRefine((options, ctx) => {
    if (options.testUntil !== undefined && options.purpose !== 'test') {
      ctx.addIssue({ code: 'custom', path: ['testUntil'], message: 'A test period end only goes with purpose "Test"' });
    }
  });

export const MAX_RESPONSE_SECONDS = 7 * 86400;

/** RFC 8921 8.10: a rule picks among several offers; with one provider the customer decides. */
function selectionRuleCheck(order: { providerIds: string[]; selectionRule: string }, ctx: z.RefinementCtx): void {
  if (order.providerIds.length === 1 && order.selectionRule !== 'manual') {
    ctx.addIssue({ code: 'custom', path: ['selectionRule'], message: 'A selection rule needs several providers' });
  }
}

/** The whole compose-order form. Field names are the form's input names. */
export const orderFormSchema = z
  .object({
    title: z.string({ error: 'Give the order a title' }).trim().min(1, 'Give the order a title').max(120, 'At most 120 characters'),
    providerIds: z
      .array(z.string().min(1))
      .default([])
      .refine((ids) => ids.length > 0, { message: 'Choose at least one provider' })
      .refine((ids) => ids.length <= 16, { message: 'At most 16 providers' })
      .refine((ids) => new Set(ids).size === ids.length, { message: 'A provider is listed twice' }),
    expectedResponseSeconds: uint(5, MAX_RESPONSE_SECONDS, 'the expected response time'),
    selectionRule: z.enum(valuesOf(SELECTION_RULES)).default('manual'),
    options: optionsSchema,
    cpd: z.array(cppSchema).min(1, 'Add at least one connectivity profile').max(64, 'A CPD holds at most 64 profiles'),
  })
  .superRefine((order, ctx) => {
    selectionRuleCheck(order, ctx);
    // lib/cpnp has the last word: the mapped CPD must pass the protocol's own validator. Zod
    // runs refinements past earlier refinement issues; those already name the field, so the
    // validator (which would only repeat the first of them) speaks when nothing else did.
    if (ctx.issues.length > 0) return;
    const problem = checkCpd(order.cpd.map(cppToCpd));
    if (problem) ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message });
  });

// ---------------------------------------------------------------------------------------------
// Drafts (lib/portal/orders/service.ts stores a Draft's CPD unchecked): the order fields must be
// valid and every value typed well formed, but the CPD may be incomplete or inconsistent — no
// required node ids or links, none of the per-CPP rules, no last word. Submitting runs them all.

const draftNodeSchema = z.object({ ...nodeSchema.shape, id: z.string().default(''), link: z.string().default('') });
const draftLinkCapacitySchema = z.object({ ...linkCapacitySchema.shape, link: z.string().default('') });
const draftCppSchema = z.object({
  ...cppSchema.shape,
  nodes: z.array(draftNodeSchema).max(256, 'A profile lists at most 256 customer nodes'),
  capacity: z.object({ ...capacitySchema.shape, perLink: z.array(draftLinkCapacitySchema).default([]) }),
});

export const draftFormSchema = z
  .object({ ...orderFormSchema.shape, cpd: z.array(draftCppSchema).min(1, 'Add at least one connectivity profile').max(64, 'A CPD holds at most 64 profiles') })
  .superRefine(selectionRuleCheck);

/** The schema a submission is checked with: "Save draft" is lenient about the CPD. */
export function schemaForIntent(intent: unknown): typeof orderFormSchema | typeof draftFormSchema {
  return intent === 'draft' ? draftFormSchema : orderFormSchema;
}

export type CppFormInput = z.input<typeof cppSchema>;
export type CppFormValue = z.output<typeof cppSchema>;
export type OrderFormInput = z.input<typeof orderFormSchema>;
export type OrderFormValue = z.output<typeof orderFormSchema>;
export type OptionsFormValue = z.output<typeof optionsSchema>;
