import { readCpd } from '../../cpnp/cpd/validate';
import type { Cpd } from '../../cpnp/cpd/types';
import { isCpnpDecodeError } from '../../cpnp/errors';
import { SchemaReader } from '../../cpnp/schema-reader';

/**
 * lib/cpnp's CPD validator as the last word on a composed CPD, with its error path (JSON form,
 * e.g. `cpd[0].scope.multicast.sources[1]`) mapped onto the compose form's field path
 * (`cpd[0].scope.sources`), so the error shows beside the input that holds the value.
 */

export type FieldPath = (string | number)[];

export interface CpdProblem {
  /** Path in the compose form (zod issue path), starting with "cpd". */
  path: FieldPath;
  message: string;
  /** The validator's rule id, e.g. "rfc7297.overall". */
  rule: string;
}

const reader = new SchemaReader('json');

/** Undefined when lib/cpnp accepts the CPD, else the first problem it found. */
export function checkCpd(cpd: Cpd): CpdProblem | undefined {
  try {
    readCpd(cpd, 'cpd', reader);
    return undefined;
  } catch (error) {
    if (!isCpnpDecodeError(error)) throw error;
    return { path: cpdPathToFieldPath(error.path), message: withoutPath(error.message, error.path), rule: error.rule };
  }
}

function withoutPath(message: string, path: string): string {
  const text = message.startsWith(`${path}: `) ? message.slice(path.length + 2) : message;
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** `cpd[0].nodes[1].id` -> ['cpd', 0, 'nodes', 1, 'id']. */
export function parsePath(path: string): FieldPath {
  const out: FieldPath = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    if (m[2] !== undefined) out.push(Number(m[2]));
    else if (m[1] !== undefined) out.push(m[1]);
  }
  return out;
}

/** ['cpd', 0, 'nodes', 1, 'id'] -> `cpd[0].nodes[1].id` (Conform's field name). */
export function formatPath(path: FieldPath): string {
  return path.reduce<string>((name, key) => (typeof key === 'number' ? `${name}[${key}]` : name ? `${name}.${key}` : key), '');
}

/** Fields that the form edits as one text area (or one checkbox group): items have no field. */
const WHOLE_LISTS = new Set(['families', 'outbound', 'inbound', 'ingress', 'egress', 'groups', 'sources', 'security', 'links', 'avoid', 'via', 'regions', 'activation', 'events', 'srcPort', 'dstPort']);

/** Maps a validator path (JSON form of the CPD, rooted at "cpd") onto the form's field path. */
export function cpdPathToFieldPath(validatorPath: string): FieldPath {
  const p = parsePath(validatorPath);
  if (p[0] !== 'cpd') return ['cpd'];
  // Enum<...>: the checkbox group is the field, whatever member of "oneOf" is at fault.
  const oneOf = p.indexOf('oneOf');
  if (oneOf >= 0) p.splice(oneOf);
  // cpd[i].scope.multicast.x -> cpd[i].scope.(multicastMode | groups | sources)
  if (p[2] === 'scope' && p[3] === 'multicast') {
    const key = p[4];
    p.splice(3, p.length - 3, key === 'groups' || key === 'sources' ? key : 'multicastMode');
  }
  // cpd[i].nodes[j].location(.lat|.lon) -> cpd[i].nodes[j].(locationKind | lat | lon)
  if (p[2] === 'nodes' && p[4] === 'location') {
    const key = p[5];
    p.splice(4, p.length - 4, key === 'lat' || key === 'lon' ? key : 'location');
  }
  // A mix of QoS kinds (RFC 7297 3.3) is reported on the whole "qos": the kind chooser is the field.
  if (p[2] === 'qos' && p.length === 3) p.push('kind');
  // A list edited as one field: drop the item index (and anything below it).
  for (let i = 0; i < p.length - 1; i++) {
    const key = p[i];
    if (typeof key === 'string' && WHOLE_LISTS.has(key) && typeof p[i + 1] === 'number') {
      p.splice(i + 1);
      break;
    }
  }
  return p;
}
