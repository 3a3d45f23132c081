import { parsePath } from './cpd-check';

/**
 * Words for a form field name, for the error summary: `cpd[0].nodes[1].id` reads
 * "Profile 1 › Site 2 › Node id". Unknown keys fall back to the key itself.
 */

const WORDS: Record<string, string> = {
  title: 'Title',
  providerIds: 'Providers',
  expectedResponseSeconds: 'Expected response time',
  selectionRule: 'Offer selection',
  options: 'Negotiation options',
  purpose: 'Purpose',
  testUntil: 'Test period ends',
  activationType: 'Activation',
  component: 'Component label',
  nodes: 'Site',
  id: 'Node id',
  link: 'Border link',
  site: 'Site name',
  locationKind: 'Location',
  location: 'Place name',
  lat: 'Latitude',
  lon: 'Longitude',
  scope: 'Scope',
  reach: 'Reach',
  model: 'Connectivity model',
  families: 'Address families',
  outbound: 'Outbound destinations',
  inbound: 'Inbound sources',
  ingress: 'Ingress points',
  egress: 'Egress points',
  multicastMode: 'Multicast',
  groups: 'Multicast groups',
  sources: 'Multicast sources',
  qos: 'QoS',
  kind: 'QoS kind',
  delayMs: 'Delay',
  jitterMs: 'Jitter',
  lossPct: 'Loss',
  statistic: 'Statistic',
  intervalSec: 'Interval',
  between: 'Measured between',
  class: 'QoS class',
  availability: 'Availability',
  percent: 'Availability',
  capacity: 'Capacity',
  inMbps: 'Inbound',
  outMbps: 'Outbound',
  perLink: 'Link',
  conformance: 'Conformance',
  policing: 'Policing',
  outOfProfile: 'Out-of-profile traffic',
  mtu: 'MTU',
  overall: 'Overall guarantees',
  delay: 'Delay',
  loss: 'Loss',
  throughput: 'Throughput',
  isolation: 'Isolation',
  required: 'Isolation required',
  security: 'Security measures',
  flows: 'Flow',
  src: 'Source prefix',
  dst: 'Destination prefix',
  srcPort: 'Source port',
  dstPort: 'Destination port',
  dscp: 'DSCP',
  tunnelEnd: 'Tunnel end',
  links: 'Links',
  remark: 'Remark DSCP',
  routing: 'Routing',
  avoid: 'Avoid',
  via: 'Via',
  regions: 'Regions',
  backupPath: 'Backup path',
  pdb: 'Per-domain behaviour',
  activation: 'Activation means',
  invocation: 'Invocation',
  type: 'Invocation',
  protocol: 'Signalling protocol',
  notifications: 'Notification',
  channel: 'Channel',
  events: 'Events',
  value: 'value',
  min: 'minimum',
  max: 'maximum',
  pref: 'preferred value',
};

/** Items of these lists are numbered in words ("Site 2"); other indexes are positions. */
const NUMBERED = new Set(['cpd', 'nodes', 'perLink', 'flows', 'notifications']);

export function describeField(name: string): string {
  const path = parsePath(name);
  const parts: string[] = [];
  for (let i = 0; i < path.length; i++) {
    const key = path[i];
    const next = path[i + 1];
    if (key === undefined || typeof key === 'number') continue;
    if (key === 'cpd') {
      parts.push(typeof next === 'number' ? `Profile ${next + 1}` : 'Profiles');
      continue;
    }
    if (key === 'between' && typeof next === 'number') {
      parts.push(next === 0 ? 'Measured from' : 'Measured to');
      continue;
    }
    const word = WORDS[key] ?? key;
    if (['value', 'min', 'max', 'pref'].includes(key)) {
      const last = parts.pop() ?? '';
      parts.push(key === 'value' ? last : `${last}, ${word}`);
      continue;
    }
    parts.push(NUMBERED.has(key) && typeof next === 'number' ? `${word} ${next + 1}` : word);
  }
  // A section-level error (e.g. cpd[0].conformance) already reads as its section.
  return parts.join(' › ');
}
