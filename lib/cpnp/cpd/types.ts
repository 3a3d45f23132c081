/**
 * The Connectivity Provisioning Document (RFC 8921 section 8.7, 9.1.9.1) and its
 * Connectivity Provisioning Profiles (RFC 7297 sections 3 and 4), as fixed by cpp-model.md.
 * The same shape is used for the JSON form and (with text-keyed CBOR maps) on the wire.
 */

/** A loose numeric value (cpp-model.md "Negotiable values"): at least one of min/max. */
export interface LooseNumber {
  min?: number;
  max?: number;
  pref?: number;
}
/** `Num`: a fixed number or a loose range. */
export type Num = number | LooseNumber;

/** `Enum<T>`: a fixed choice or a loose set of two or more acceptable choices. */
export interface OneOf<T extends string> {
  oneOf: T[];
}
export type Negotiable<T extends string> = T | OneOf<T>;

export type Level = 'low' | 'medium' | 'high';

export interface GeoLocation {
  lat: number;
  lon: number;
}

/** RFC 7297 3.1 Customer Nodes Map entry. */
export interface CustomerNode {
  id: string;
  link: string;
  location?: string | GeoLocation;
  site?: string;
}

export interface Multicast {
  mode: 'asm' | 'ssm';
  groups: string[];
  sources?: string[];
}

/** RFC 7297 3.2 Scope. */
export interface Scope {
  reach: Negotiable<'global' | 'restricted'>;
  model: Negotiable<'1:1' | '1:N' | '1:any'>;
  families?: ('ipv4' | 'ipv6')[];
  outbound?: string[];
  inbound?: string[];
  ingress?: string[];
  egress?: string[];
  multicast?: Multicast;
}

/** RFC 7297 3.3 QoS Guarantees: quantitative or qualitative, never both. */
export interface QuantitativeQos {
  kind: 'quantitative';
  delayMs?: Num;
  jitterMs?: Num;
  lossPct?: Num;
  statistic?: 'avg' | 'max' | 'p95' | 'p99';
  intervalSec?: number;
  between?: [string, string];
}
export interface QualitativeQos {
  kind: 'qualitative';
  class: Negotiable<Level>;
}
export type Qos = QuantitativeQos | QualitativeQos;

/** RFC 7297 3.4 Availability. */
export interface Availability {
  percent: Num;
  statistic?: 'max' | 'avg';
}

export interface LinkCapacity {
  link: string;
  inMbps?: Num;
  outMbps?: Num;
}
/** RFC 7297 3.5 Capacity. */
export interface Capacity {
  inMbps?: Num;
  outMbps?: Num;
  perLink?: LinkCapacity[];
}

/** RFC 7297 3.6 Conformance Traffic. */
export interface Conformance {
  policing: Negotiable<'police' | 'shape'>;
  outOfProfile: Negotiable<'drop' | 'lower-effort'>;
  mtu?: number;
}

/** RFC 7297 3.7 Overall Traffic Guarantees. */
export interface Overall {
  delay?: Negotiable<Level>;
  loss?: Negotiable<Level>;
  throughput?: Negotiable<Level>;
}

/** RFC 7297 3.8 Traffic Isolation. */
export interface Isolation {
  required: boolean;
  security?: string[];
}

export type PortSpec = number | [number, number];
/** RFC 7297 3.9 Flow Identification. */
export interface Flow {
  src?: string;
  dst?: string;
  srcPort?: PortSpec;
  dstPort?: PortSpec;
  dscp?: number;
  tunnelEnd?: string;
  links?: string[] | 'all';
  remark?: number;
}

/** RFC 7297 3.10 Routing and Forwarding. */
export interface Routing {
  avoid?: string[];
  via?: string[];
  regions?: string[];
  backupPath?: boolean;
  pdb?: string;
}

/** RFC 7297 3.12 Invocation Means. */
export type Invocation =
  | { type: 'implicit' }
  | { type: 'explicit'; protocol: 'rsvp' | 'rsvp-te' | 'igmp' | 'mld' };

export type NotificationChannel = 'snmp' | 'syslog' | 'cpnp' | 'netconf' | 'email' | 'phone';
/** RFC 7297 3.13 Notifications. */
export interface Notification {
  channel: NotificationChannel;
  events?: string[];
  intervalSec?: number;
}

/** One Connectivity Provisioning Profile (a CPP map of cpp-model.md). */
export interface Cpp {
  component?: string;
  nodes: CustomerNode[];
  scope?: Scope;
  qos?: Qos;
  availability?: Availability;
  capacity?: Capacity;
  conformance?: Conformance;
  overall?: Overall;
  isolation?: Isolation;
  flows?: Flow[];
  routing?: Routing;
  activation?: string[];
  invocation?: Invocation;
  notifications?: Notification[];
}

/** A CPD: 0..64 CPPs; [] is the Empty CPD (RFC 8921 9.2.6). */
export type Cpd = Cpp[];

export const MAX_CPPS_PER_CPD = 64;
export const MAX_NODES_PER_CPP = 256;
