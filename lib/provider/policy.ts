import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { ActivationType, Contact } from '../cpnp/information-elements';

/**
 * The reference Provider's policy file: the "business guidelines and objectives" a CPNP server
 * is provisioned with (RFC 8921 8.2, 12.2), read from JSON or YAML. Every field is explained in
 * docs/provider-policy.md. The file is validated strictly (unknown keys are errors, so a typo
 * cannot silently disable a rule) and turned into a normalised, plain-JSON `Policy`.
 */

export type Purpose = 'test' | 'production';
export type DecisionMode = 'automated' | 'admin';
/** The methods whose handling can be automated or subject to administrative validation (8.2). */
export const DECIDED_METHODS = ['QUOTATION', 'UPDATE', 'WITHDRAW', 'ACTIVATE'] as const;
export type DecidedMethod = (typeof DECIDED_METHODS)[number];
export type QualitativeLevel = 'low' | 'medium' | 'high';
export type PartnerTransport = 'dtls' | 'udp' | 'tls';

export interface PoolCapacity {
  inMbps: number;
  outMbps: number;
}

/** One entry of the node links catalog: which links are ours (and in which pool) or a partner's. */
export interface LinkRule {
  /** Exact link id, or a glob where `*` matches any run of characters and `?` one character. */
  match: string;
  /** Local links: the capacity pool they draw from. */
  pool?: string;
  /** Local links: where the link is (one of `regions`), informational. */
  region?: string;
  /** Links reached through a partner Provider (RFC 8921 8.8). */
  partner?: string;
}

/** Achievable QoS figures of one class (RFC 7297 3.3); classes are ordered best first. */
export interface QosClass {
  name: string;
  delayMs: number;
  jitterMs: number;
  lossPct: number;
  qualitative: QualitativeLevel;
}

export interface PricingPolicy {
  currency: string;
  perMbpsMonth: number;
  /** A fixed monthly fee per CPP (per connection), added before the premiums. */
  perCppMonth: number;
  /** Premium in percent per availability level, keyed by the level as text ("99.99"). */
  availabilityPremiumPct: Record<string, number>;
  /** Premium in percent per QoS class name. */
  qosPremiumPct: Record<string, number>;
}

export interface CustomerPolicy {
  allowed: boolean;
  /** Most orders (in negotiation or agreed) the customer may hold at once. */
  maxOrders?: number;
  prohibitedPurposes: Purpose[];
}

export interface PartnerPolicy {
  /** host:port of the partner's CPNP server ("[2001:db8::1]:8921" for IPv6). */
  server: string;
  transport: PartnerTransport;
  pskIdentity?: string;
  pskFile?: string;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  /** Regions the partner serves (accepted in routing.regions when the order may be cascaded). */
  regions: string[];
}

export type DecisionDelay = { kind: 'immediate' } | { kind: 'pending'; offerAfterMs: number };

/**
 * Address ACL (RFC 8921 13: access control lists against denial of service; Table 6 "the source
 * IP address passes existing access filters"): CIDR blocks, normalised to "address/prefix". A
 * source in a `deny` block, or outside every `allow` block when there is one, gets FAIL 4 on
 * QUOTATION, UPDATE, WITHDRAW and ACTIVATE. Merged with `--allow` / `--deny` (server.ts).
 */
export interface AclPolicy {
  allow: string[];
  deny: string[];
}

export interface Policy {
  provider: { name: string; asn?: number; contact?: Contact };
  regions: string[];
  links: LinkRule[];
  defaultPool?: string;
  pools: Record<string, PoolCapacity>;
  qosClasses: QosClass[];
  /** Ascending. */
  availabilityLevels: number[];
  /** Activation types besides the always supported immediate activation (9.1.10.3). */
  activationTypes: ActivationType[];
  purposes: Purpose[];
  /** Longest test period (testUntil - now); absent: no limit. */
  maxTestDurationMs?: number;
  pricing: PricingPolicy;
  offerValidityMs: number;
  decisionModes: Record<DecidedMethod, DecisionMode>;
  decisionDelay: DecisionDelay;
  customers: Record<string, CustomerPolicy>;
  defaultCustomer: CustomerPolicy;
  partners: Record<string, PartnerPolicy>;
  acl: AclPolicy;
}

/** A policy that cannot be used. `path` locates the first problem (e.g. `pools.core.inMbps`). */
export class PolicyError extends Error {
  override readonly name = 'PolicyError';
  constructor(
    readonly path: string,
    detail: string,
    /** Every problem found, the first one being `path` / `detail`. */
    readonly issues: readonly { path: string; message: string }[] = [{ path, message: detail }],
  ) {
    super(issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('\n'));
  }
}

// ---------------------------------------------------------------------------------------------
// Durations ("15m", "90s", "1h30m", "30d", "500ms").

const DURATION_RE = /^(?:\d+(?:ms|s|m|h|d))+$/;
const DURATION_PART_RE = /(\d+)(ms|s|m|h|d)/g;
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds of a duration text, or undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  if (!DURATION_RE.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(DURATION_PART_RE)) total += Number(amount) * (UNIT_MS[unit ?? ''] ?? 0);
  return total;
}

// ---------------------------------------------------------------------------------------------
// CIDR blocks ("10.0.0.0/8", "2001:db8::/32", or a bare address for a single host).

const CIDR_EXAMPLE = 'expected an address or a CIDR block such as 192.0.2.0/24 or 2001:db8::/32';

/**
 * Checks a CIDR block or a bare address (a /32 or /128), IPv6 possibly in brackets. Returns it
 * normalised as "address/prefix", or the reason it is not one.
 */
export function checkCidr(text: string): { ok: true; cidr: string } | { ok: false; reason: string } {
  const [rawAddress = '', prefix, extra] = text.split('/');
  const address = rawAddress.startsWith('[') && rawAddress.endsWith(']') ? rawAddress.slice(1, -1) : rawAddress;
  const family = isIP(address);
  if (extra !== undefined || family === 0) return { ok: false, reason: CIDR_EXAMPLE };
  const max = family === 4 ? 32 : 128;
  if (prefix === undefined) return { ok: true, cidr: `${address}/${max}` };
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max) return { ok: false, reason: `expected a prefix length between 0 and ${max} after the address` };
  return { ok: true, cidr: `${address}/${Number(prefix)}` };
}

// ---------------------------------------------------------------------------------------------
// Link ids and globs.

function globToRegExp(glob: string): RegExp {
  const body = [...glob].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&'))).join('');
  return new RegExp(`^${body}$`, 'su');
}

const globCache = new Map<string, RegExp>();

/** True when `link` matches `pattern` (exact id, or a glob with `*` and `?`). */
export function matchesLink(pattern: string, link: string): boolean {
  if (!pattern.includes('*') && !pattern.includes('?')) return pattern === link;
  let re = globCache.get(pattern);
  if (!re) {
    re = globToRegExp(pattern);
    if (globCache.size > 1024) globCache.clear();
    globCache.set(pattern, re);
  }
  return re.test(link);
}

export type LinkOwner =
  | { kind: 'local'; pool: string; region?: string; rule?: number }
  | { kind: 'partner'; partner: string; rule: number }
  | { kind: 'none' };

/**
 * Who serves a node link: the first rule of the catalog that matches it, else the default pool,
 * else nobody (FAIL 6, RFC 8921 9.2.10 "no network presence").
 */
export function linkOwner(policy: Policy, link: string): LinkOwner {
  const index = policy.links.findIndex((rule) => matchesLink(rule.match, link));
  const rule = policy.links[index];
  if (rule?.pool !== undefined) return { kind: 'local', pool: rule.pool, ...(rule.region === undefined ? {} : { region: rule.region }), rule: index };
  if (rule?.partner !== undefined) return { kind: 'partner', partner: rule.partner, rule: index };
  if (policy.defaultPool !== undefined) return { kind: 'local', pool: policy.defaultPool };
  return { kind: 'none' };
}

// ---------------------------------------------------------------------------------------------
// The file schema.

const M = {
  text: 'expected a non-empty text',
  positive: 'expected a positive number',
  nonNegative: 'expected a number >= 0',
  percent: 'expected a percentage between 0 and 100',
  duration: 'expected a duration such as "90s", "15m", "1h30m" or "30d"',
  bool: 'expected true or false',
  count: 'expected a whole number >= 0',
};

const text = z.string({ error: M.text }).min(1, { error: M.text });
const positive = z.number({ error: M.positive }).positive({ error: M.positive }).finite({ error: M.positive });
const nonNegative = z.number({ error: M.nonNegative }).min(0, { error: M.nonNegative }).finite({ error: M.nonNegative });
const percent = z.number({ error: M.percent }).min(0, { error: M.percent }).max(100, { error: M.percent });
const duration = z.string({ error: M.duration }).refine((t) => parseDuration(t) !== undefined, { error: M.duration });
const count = z.number({ error: M.count }).int({ error: M.count }).min(0, { error: M.count });
const oneOfWords = <const T extends string>(words: readonly [T, ...T[]]) => {
  const message = `expected ${words.map((w) => `"${w}"`).join(', ').replace(/, ([^,]*)$/, ' or $1')}`;
  return z.enum(words, { error: message });
};
const list = <T extends z.ZodType>(item: T, what: string) => z.array(item, { error: `expected a list of ${what}` });
const dict = <T extends z.ZodType>(item: T, what: string) => z.record(z.string(), item, { error: `expected a map of ${what}` });

/** A strict object: an unknown key is an error naming the keys that are allowed. */
function strict<S extends z.core.$ZodLooseShape>(shape: S, what: string) {
  const keys = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown key (allowed keys: ${keys})` : `expected ${what}`),
  });
}

const contactSchema = strict(
  { email: text.optional(), postal: text.optional(), phones: list(text, 'phone numbers').optional() },
  'a contact { email?, postal?, phones? }',
);

const purposeSchema = oneOfWords(['test', 'production']);
const modeSchema = oneOfWords(['automated', 'admin']);

const customerSchema = strict(
  {
    allowed: z.boolean({ error: M.bool }),
    maxOrders: count.optional(),
    prohibitedPurposes: list(purposeSchema, 'purposes').optional(),
  },
  'a customer { allowed, maxOrders?, prohibitedPurposes? }',
);

const serverRe = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/;
const serverSchema = z
  .string({ error: 'expected "host:port"' })
  .refine((s) => {
    const port = Number(serverRe.exec(s)?.[1] ?? 0);
    return port >= 1 && port <= 65535;
  }, { error: 'expected "host:port" with a port between 1 and 65535 (IPv6 hosts in brackets)' });

const partnerSchema = strict(
  {
    server: serverSchema,
    transport: oneOfWords(['dtls', 'udp', 'tls']),
    pskIdentity: text.optional(),
    pskFile: text.optional(),
    caFile: text.optional(),
    certFile: text.optional(),
    keyFile: text.optional(),
    regions: list(text, 'region names').optional(),
  },
  'a partner { server, transport, pskIdentity?, pskFile?, ... }',
);

const cidrSchema = z.string({ error: CIDR_EXAMPLE }).superRefine((value, ctx) => {
  const checked = checkCidr(value);
  if (!checked.ok) ctx.addIssue({ code: 'custom', message: checked.reason });
});

const aclSchema = strict(
  { allow: list(cidrSchema, 'CIDR blocks').optional(), deny: list(cidrSchema, 'CIDR blocks').optional() },
  'an ACL { allow?, deny? } of CIDR blocks',
);

const decisionDelaySchema = z.union(
  [z.literal('immediate'), strict({ offerAfter: duration }, 'an object { offerAfter }')],
  { error: 'expected "immediate" or { offerAfter: <duration> }' },
);

const modesShape = Object.fromEntries(DECIDED_METHODS.map((m) => [m, modeSchema.optional()])) as Record<DecidedMethod, z.ZodOptional<typeof modeSchema>>;

const fileSchema = strict(
  {
    provider: strict(
      {
        name: text,
        asn: z.number({ error: 'expected an AS number (1..4294967295)' }).int({ error: 'expected an AS number (1..4294967295)' }).min(1, { error: 'expected an AS number (1..4294967295)' }).max(4294967295, { error: 'expected an AS number (1..4294967295)' }).optional(),
        contact: contactSchema.optional(),
      },
      'a provider { name, asn?, contact? }',
    ),
    regions: list(text, 'region names'),
    links: list(
      strict({ match: text, pool: text.optional(), region: text.optional(), partner: text.optional() }, 'a link rule { match, pool | partner, region? }'),
      'link rules',
    ).optional(),
    defaultPool: text.optional(),
    pools: dict(strict({ inMbps: positive, outMbps: positive }, 'a pool { inMbps, outMbps }'), 'pools'),
    qosClasses: list(
      strict(
        { name: text, delayMs: nonNegative, jitterMs: nonNegative, lossPct: percent, qualitative: oneOfWords(['low', 'medium', 'high']) },
        'a QoS class { name, delayMs, jitterMs, lossPct, qualitative }',
      ),
      'QoS classes',
    ).min(1, { error: 'expected at least one QoS class' }),
    availabilityLevels: list(percent, 'percentages').min(1, { error: 'expected at least one availability level' }),
    activationTypes: list(oneOfWords(['permanent', 'scheduled']), 'activation types').optional(),
    purposes: list(purposeSchema, 'purposes').optional(),
    maxTestDuration: duration.optional(),
    pricing: strict(
      {
        currency: z.string({ error: 'expected a currency code such as "EUR"' }).regex(/^[A-Z]{3}$/, { error: 'expected a currency code such as "EUR"' }),
        perMbpsMonth: nonNegative,
        perCppMonth: nonNegative.optional(),
        availabilityPremiumPct: dict(nonNegative, 'percentages').optional(),
        qosPremiumPct: dict(nonNegative, 'percentages').optional(),
      },
      'a pricing { currency, perMbpsMonth, perCppMonth?, availabilityPremiumPct?, qosPremiumPct? }',
    ),
    offerValidity: duration.optional(),
    decisionModes: strict(modesShape, 'a map of decision modes per method').optional(),
    decisionDelay: decisionDelaySchema.optional(),
    customers: dict(customerSchema, 'customers').optional(),
    defaultCustomer: customerSchema,
    partners: dict(partnerSchema, 'partners').optional(),
    acl: aclSchema.optional(),
  },
  'a policy object',
);

type PolicyFile = z.infer<typeof fileSchema>;

interface Issue {
  path: (string | number)[];
  message: string;
}

/** Checks that involve several fields (references between sections). */
function crossCheck(file: PolicyFile): Issue[] {
  const issues: Issue[] = [];
  const add = (path: (string | number)[], message: string): void => {
    issues.push({ path, message });
  };
  const pools = Object.keys(file.pools);
  const partners = Object.keys(file.partners ?? {});
  const names = (xs: string[]): string => (xs.length === 0 ? 'none is defined' : `defined: ${xs.join(', ')}`);
  if (pools.length === 0) add(['pools'], 'expected at least one pool');

  const dup = <T>(xs: readonly T[], path: (string | number)[], what: string): void => {
    xs.forEach((x, i) => {
      if (xs.indexOf(x) !== i) add([...path, i], `duplicate ${what} ${JSON.stringify(x)}`);
    });
  };
  dup(file.regions, ['regions'], 'region');
  dup(file.availabilityLevels, ['availabilityLevels'], 'level');
  dup(file.qosClasses.map((c) => c.name), ['qosClasses'], 'class name');
  dup(file.activationTypes ?? [], ['activationTypes'], 'activation type');
  dup(file.purposes ?? [], ['purposes'], 'purpose');

  (file.links ?? []).forEach((rule, i) => {
    if ((rule.pool === undefined) === (rule.partner === undefined)) add(['links', i], 'expected exactly one of "pool" (a local link) or "partner"');
    if (rule.pool !== undefined && !pools.includes(rule.pool)) add(['links', i, 'pool'], `unknown pool "${rule.pool}" (${names(pools)})`);
    if (rule.partner !== undefined && !partners.includes(rule.partner)) add(['links', i, 'partner'], `unknown partner "${rule.partner}" (${names(partners)})`);
    if (rule.region !== undefined && !file.regions.includes(rule.region)) add(['links', i, 'region'], `unknown region "${rule.region}" (${names(file.regions)})`);
    if (rule.region !== undefined && rule.partner !== undefined) add(['links', i, 'region'], 'a partner link has no local region');
  });
  if (file.defaultPool !== undefined && !pools.includes(file.defaultPool)) add(['defaultPool'], `unknown pool "${file.defaultPool}" (${names(pools)})`);

  const levels = file.availabilityLevels.map(String);
  for (const key of Object.keys(file.pricing.availabilityPremiumPct ?? {})) {
    if (!levels.includes(String(Number(key)))) add(['pricing', 'availabilityPremiumPct', key], `not one of the availabilityLevels (${levels.join(', ')})`);
  }
  const classes = file.qosClasses.map((c) => c.name);
  for (const key of Object.keys(file.pricing.qosPremiumPct ?? {})) {
    if (!classes.includes(key)) add(['pricing', 'qosPremiumPct', key], `not one of the qosClasses (${classes.join(', ')})`);
  }

  const purposes = file.purposes ?? ['test', 'production'];
  if (file.maxTestDuration !== undefined && !purposes.includes('test')) add(['maxTestDuration'], 'given while the purpose "test" is not allowed');
  if (file.offerValidity !== undefined && parseDuration(file.offerValidity) === 0) add(['offerValidity'], 'expected a duration longer than 0');

  for (const [id, partner] of Object.entries(file.partners ?? {})) {
    const at = ['partners', id];
    if (partner.transport === 'dtls') {
      if (partner.pskIdentity === undefined) add([...at, 'pskIdentity'], 'required with transport "dtls"');
      if (partner.pskFile === undefined) add([...at, 'pskFile'], 'required with transport "dtls"');
    } else {
      if (partner.pskIdentity !== undefined) add([...at, 'pskIdentity'], 'only used with transport "dtls"');
      if (partner.pskFile !== undefined) add([...at, 'pskFile'], 'only used with transport "dtls"');
    }
    if (partner.transport !== 'tls') {
      for (const key of ['caFile', 'certFile', 'keyFile'] as const) {
        if (partner[key] !== undefined) add([...at, key], 'only used with transport "tls"');
      }
    }
    dup(partner.regions ?? [], [...at, 'regions'], 'region');
  }
  return issues;
}

// ---------------------------------------------------------------------------------------------
// Error formatting.

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key)) out += out ? `.${key}` : key;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): { found: boolean; value: unknown } {
  let value: unknown = root;
  for (const key of path) {
    if (typeof value !== 'object' || value === null || !Object.prototype.hasOwnProperty.call(value, key)) return { found: false, value: undefined };
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return { found: true, value };
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const json = JSON.stringify(value);
  if (json === undefined) return String(value);
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}

/** Flattens zod issues: one message per bad value, union errors replaced by the closest branch. */
function flatten(issues: readonly z.core.$ZodIssue[], prefix: PropertyKey[], root: unknown): Issue[] {
  const out: Issue[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'invalid_union') {
      // An object given where a union allows an object: report that branch's own problems.
      const branches = issue.errors.filter((branch) => !branch.some((i) => i.path.length === 0 && (i.code === 'invalid_type' || i.code === 'invalid_value')));
      const best = branches[0];
      if (best && typeof valueAt(root, path).value === 'object') {
        out.push(...flatten(best, path, root));
        continue;
      }
    }
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: [...path, key].map((k) => (typeof k === 'number' ? k : String(k))), message: issue.message });
      continue;
    }
    const at = valueAt(root, path);
    const got = at.found ? `got ${show(at.value)}` : 'but it is missing';
    out.push({ path: path.map((k) => (typeof k === 'number' ? k : String(k))), message: `${issue.message}, ${got}` });
  }
  return out;
}

function fail(issues: Issue[]): never {
  const formatted = issues.map((i) => ({ path: formatPath(i.path), message: i.message }));
  const first = formatted[0] ?? { path: '', message: 'invalid policy' };
  throw new PolicyError(first.path, first.message, formatted);
}

// ---------------------------------------------------------------------------------------------
// Normalisation.

function customer(c: z.infer<typeof customerSchema>): CustomerPolicy {
  return { allowed: c.allowed, ...(c.maxOrders === undefined ? {} : { maxOrders: c.maxOrders }), prohibitedPurposes: c.prohibitedPurposes ?? [] };
}

function normalise(file: PolicyFile, baseDir: string | undefined): Policy {
  const resolvePath = (p: string | undefined): string | undefined => (p === undefined || baseDir === undefined || isAbsolute(p) ? p : resolve(baseDir, p));
  const levels = [...file.availabilityLevels].sort((a, b) => a - b);
  const availabilityPremiumPct: Record<string, number> = {};
  for (const level of levels) availabilityPremiumPct[String(level)] = 0;
  for (const [key, pct] of Object.entries(file.pricing.availabilityPremiumPct ?? {})) availabilityPremiumPct[String(Number(key))] = pct;
  const qosPremiumPct: Record<string, number> = {};
  for (const c of file.qosClasses) qosPremiumPct[c.name] = file.pricing.qosPremiumPct?.[c.name] ?? 0;
  const modes = Object.fromEntries(DECIDED_METHODS.map((m) => [m, file.decisionModes?.[m] ?? 'automated'])) as Record<DecidedMethod, DecisionMode>;
  const delay = file.decisionDelay;
  const partners: Record<string, PartnerPolicy> = {};
  for (const [id, p] of Object.entries(file.partners ?? {})) {
    const entry: PartnerPolicy = { server: p.server, transport: p.transport, regions: p.regions ?? [] };
    for (const key of ['pskIdentity', 'pskFile', 'caFile', 'certFile', 'keyFile'] as const) {
      const value = key === 'pskIdentity' ? p[key] : resolvePath(p[key]);
      if (value !== undefined) entry[key] = value;
    }
    partners[id] = entry;
  }
  const maxTest = file.maxTestDuration === undefined ? undefined : parseDuration(file.maxTestDuration);
  return {
    provider: {
      name: file.provider.name,
      ...(file.provider.asn === undefined ? {} : { asn: file.provider.asn }),
      ...(file.provider.contact === undefined ? {} : { contact: { ...file.provider.contact } }),
    },
    regions: [...file.regions],
    links: (file.links ?? []).map((r) => ({ ...r })),
    ...(file.defaultPool === undefined ? {} : { defaultPool: file.defaultPool }),
    pools: Object.fromEntries(Object.entries(file.pools).map(([id, p]) => [id, { inMbps: p.inMbps, outMbps: p.outMbps }])),
    qosClasses: file.qosClasses.map((c) => ({ ...c })),
    availabilityLevels: levels,
    activationTypes: [...(file.activationTypes ?? [])],
    purposes: [...(file.purposes ?? ['test', 'production'])],
    ...(maxTest === undefined ? {} : { maxTestDurationMs: maxTest }),
    pricing: {
      currency: file.pricing.currency,
      perMbpsMonth: file.pricing.perMbpsMonth,
      perCppMonth: file.pricing.perCppMonth ?? 0,
      availabilityPremiumPct,
      qosPremiumPct,
    },
    offerValidityMs: parseDuration(file.offerValidity ?? '15m') ?? 900_000,
    decisionModes: modes,
    decisionDelay: delay === undefined || delay === 'immediate' ? { kind: 'immediate' } : { kind: 'pending', offerAfterMs: parseDuration(delay.offerAfter) ?? 0 },
    customers: Object.fromEntries(Object.entries(file.customers ?? {}).map(([id, c]) => [id, customer(c)])),
    defaultCustomer: customer(file.defaultCustomer),
    partners,
    acl: { allow: cidrs(file.acl?.allow), deny: cidrs(file.acl?.deny) },
  };
}

/** Normalised CIDR blocks (already checked by the schema), without repeats. */
function cidrs(texts: readonly string[] | undefined): string[] {
  const out: string[] = [];
  for (const text of texts ?? []) {
    const checked = checkCidr(text);
    if (checked.ok && !out.includes(checked.cidr)) out.push(checked.cidr);
  }
  return out;
}

/** Validates an already parsed policy tree (JSON or YAML data). */
export function policyFromData(data: unknown, baseDir?: string): Policy {
  const parsed = fileSchema.safeParse(data);
  if (!parsed.success) fail(flatten(parsed.error.issues, [], data));
  const issues = crossCheck(parsed.data);
  if (issues.length > 0) fail(issues);
  return normalise(parsed.data, baseDir);
}

export type PolicyFormat = 'json' | 'yaml';

/** Parses and validates a policy text. Relative file names (pskFile...) are kept as written. */
export function parsePolicy(text: string, format: PolicyFormat): Policy {
  let data: unknown;
  try {
    data = format === 'json' ? JSON.parse(text) : parseYaml(text, { prettyErrors: true, uniqueKeys: true });
  } catch (error) {
    throw new PolicyError('', `not valid ${format.toUpperCase()}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return policyFromData(data);
}

/**
 * Reads a policy file; the format follows the extension (.json, or .yaml / .yml). Relative
 * file names inside (partner PSK and certificate files) are resolved against the file's folder.
 */
export function loadPolicy(path: string): Policy {
  const ext = extname(path).toLowerCase();
  const format: PolicyFormat | undefined = ext === '.json' ? 'json' : ext === '.yaml' || ext === '.yml' ? 'yaml' : undefined;
  if (format === undefined) throw new PolicyError('', `${path}: unknown policy format "${ext}" (expected .json, .yaml or .yml)`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new PolicyError('', `${path}: cannot be read (${error instanceof Error ? error.message : String(error)})`);
  }
  let data: unknown;
  try {
    data = format === 'json' ? JSON.parse(text) : parseYaml(text, { prettyErrors: true, uniqueKeys: true });
  } catch (error) {
    throw new PolicyError('', `${path}: not valid ${format.toUpperCase()}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return policyFromData(data, dirname(resolve(path)));
}
