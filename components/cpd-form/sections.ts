/**
 * The sections of one connectivity profile, in the order of RFC 7297 section 3: anchor key,
 * title, and the profile fields whose errors count against the section in the nav.
 */
export const PROFILE_SECTIONS = [
  ['sites', 'Sites', ['nodes']],
  ['scope', 'Scope', ['scope']],
  ['qos', 'QoS', ['qos']],
  ['availability', 'Availability', ['availability']],
  ['capacity', 'Capacity & conformance', ['capacity', 'conformance']],
  ['overall', 'Overall guarantees', ['overall']],
  ['isolation', 'Isolation', ['isolation']],
  ['flows', 'Flows', ['flows']],
  ['routing', 'Routing', ['routing']],
  ['means', 'Activation & invocation', ['activation', 'invocation']],
  ['notifications', 'Notifications', ['notifications']],
] as const satisfies readonly (readonly [string, string, readonly string[]])[];

export const sectionId = (profile: number, section: string): string => `profile-${profile + 1}-${section}`;
