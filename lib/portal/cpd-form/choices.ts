/**
 * The closed value sets of cpp-model.md and RFC 8921 9.1.10.3, with the words the composer
 * shows for them. Shared by the schema (validation) and the UI (labels), so both agree.
 */

export interface Choice<T extends string> {
  value: T;
  label: string;
}

export const LEVELS = [
  { value: 'low', label: 'Low' },
  { value: 'medium', label: 'Medium' },
  { value: 'high', label: 'High' },
] as const satisfies readonly Choice<string>[];

export const REACHES = [
  { value: 'global', label: 'Global (any destination)' },
  { value: 'restricted', label: 'Restricted (listed destinations)' },
] as const satisfies readonly Choice<string>[];

export const MODELS = [
  { value: '1:1', label: '1:1 (point to point)' },
  { value: '1:N', label: '1:N (point to multipoint)' },
  { value: '1:any', label: '1:any (to any destination)' },
] as const satisfies readonly Choice<string>[];

export const FAMILIES = [
  { value: 'ipv4', label: 'IPv4' },
  { value: 'ipv6', label: 'IPv6' },
] as const satisfies readonly Choice<string>[];

export const MULTICAST_MODES = [
  { value: 'none', label: 'No multicast' },
  { value: 'asm', label: 'Any-source (ASM)' },
  { value: 'ssm', label: 'Source-specific (SSM)' },
] as const satisfies readonly Choice<string>[];

export const QOS_KINDS = [
  { value: 'none', label: 'No QoS guarantee' },
  { value: 'quantitative', label: 'Quantitative (delay, jitter, loss figures)' },
  { value: 'qualitative', label: 'Qualitative (a class: low, medium, high)' },
] as const satisfies readonly Choice<string>[];

export const QOS_STATISTICS = [
  { value: 'avg', label: 'Average' },
  { value: 'max', label: 'Maximum' },
  { value: 'p95', label: '95th percentile' },
  { value: 'p99', label: '99th percentile' },
] as const satisfies readonly Choice<string>[];

export const AVAILABILITY_STATISTICS = [
  { value: 'avg', label: 'Average' },
  { value: 'max', label: 'Maximum' },
] as const satisfies readonly Choice<string>[];

export const POLICINGS = [
  { value: 'police', label: 'Police (drop or remark excess)' },
  { value: 'shape', label: 'Shape (queue excess)' },
] as const satisfies readonly Choice<string>[];

export const OUT_OF_PROFILE = [
  { value: 'drop', label: 'Drop' },
  { value: 'lower-effort', label: 'Forward at lower effort' },
] as const satisfies readonly Choice<string>[];

export const INVOCATION_TYPES = [
  { value: 'none', label: 'Not stated' },
  { value: 'implicit', label: 'Implicit (traffic invokes the service)' },
  { value: 'explicit', label: 'Explicit (a signalling protocol invokes it)' },
] as const satisfies readonly Choice<string>[];

export const INVOCATION_PROTOCOLS = [
  { value: 'rsvp', label: 'RSVP' },
  { value: 'rsvp-te', label: 'RSVP-TE' },
  { value: 'igmp', label: 'IGMP' },
  { value: 'mld', label: 'MLD' },
] as const satisfies readonly Choice<string>[];

export const CHANNELS = [
  { value: 'cpnp', label: 'CPNP' },
  { value: 'email', label: 'E-mail' },
  { value: 'netconf', label: 'NETCONF' },
  { value: 'phone', label: 'Phone' },
  { value: 'snmp', label: 'SNMP' },
  { value: 'syslog', label: 'Syslog' },
] as const satisfies readonly Choice<string>[];

export const LOCATION_KINDS = [
  { value: 'none', label: 'Not given' },
  { value: 'text', label: 'Place name' },
  { value: 'geo', label: 'Coordinates' },
] as const satisfies readonly Choice<string>[];

export const TRI_STATE = [
  { value: 'unset', label: 'Not stated' },
  { value: 'yes', label: 'Yes' },
  { value: 'no', label: 'No' },
] as const satisfies readonly Choice<string>[];

export const SELECTION_RULES = [
  { value: 'manual', label: 'I choose the offer myself' },
  { value: 'cheapest', label: 'Cheapest offer that meets every bound' },
  { value: 'first', label: 'First acceptable offer' },
] as const satisfies readonly Choice<string>[];

export const PURPOSES = [
  { value: 'unset', label: 'Not stated' },
  { value: 'production', label: 'Production' },
  { value: 'test', label: 'Test (trial period)' },
] as const satisfies readonly Choice<string>[];

export const ACTIVATION_TYPES = [
  { value: 'unset', label: 'Not stated (active once agreed)' },
  { value: 'permanent', label: 'Permanent' },
  { value: 'scheduled', label: 'Scheduled (switched on and off with ACTIVATE)' },
] as const satisfies readonly Choice<string>[];

export const OPTION_SCOPES = [
  { value: 'unset', label: 'Not stated' },
  { value: 'any', label: 'Any (the provider may subcontract)' },
  { value: 'local', label: 'Local (no child orders, RFC 8921 8.8)' },
] as const satisfies readonly Choice<string>[];

type Values<T extends readonly Choice<string>[]> = T[number]['value'];

/** The values of a choice list, as the non-empty tuple z.enum wants. */
export function valuesOf<const T extends readonly Choice<string>[]>(choices: T): [Values<T>, ...Values<T>[]] {
  return choices.map((c) => c.value) as [Values<T>, ...Values<T>[]];
}

export function labelOf(choices: readonly Choice<string>[], value: string): string {
  return choices.find((c) => c.value === value)?.label ?? value;
}
