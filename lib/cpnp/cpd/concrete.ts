import { join } from '../schema-reader';
import type { Cpd, Cpp, Negotiable, Num } from './types';

/**
 * RFC 8921 8.7: a CPD is concrete when every clause has a fixed value. In the model of
 * cpp-model.md the only places a loose value can sit are the `Num` and `Enum<...>` fields,
 * listed here one by one.
 */

type Negotiated = Num | Negotiable<string> | undefined;

function isLoose(value: Negotiated): boolean {
  return typeof value === 'object';
}

/** Every negotiable field of a CPP with its path, present or not. */
function negotiableFields(cpp: Cpp, path: string): [string, Negotiated][] {
  const at = (...keys: (string | number)[]): string => keys.reduce<string>((p, k) => join(p, k), path);
  const fields: [string, Negotiated][] = [];
  if (cpp.scope) fields.push([at('scope', 'reach'), cpp.scope.reach], [at('scope', 'model'), cpp.scope.model]);
  if (cpp.qos?.kind === 'quantitative') {
    fields.push([at('qos', 'delayMs'), cpp.qos.delayMs], [at('qos', 'jitterMs'), cpp.qos.jitterMs], [at('qos', 'lossPct'), cpp.qos.lossPct]);
  }
  if (cpp.qos?.kind === 'qualitative') fields.push([at('qos', 'class'), cpp.qos.class]);
  if (cpp.availability) fields.push([at('availability', 'percent'), cpp.availability.percent]);
  if (cpp.capacity) {
    fields.push([at('capacity', 'inMbps'), cpp.capacity.inMbps], [at('capacity', 'outMbps'), cpp.capacity.outMbps]);
    cpp.capacity.perLink?.forEach((link, i) => {
      fields.push([at('capacity', 'perLink', i, 'inMbps'), link.inMbps], [at('capacity', 'perLink', i, 'outMbps'), link.outMbps]);
    });
  }
  if (cpp.conformance) {
    fields.push([at('conformance', 'policing'), cpp.conformance.policing], [at('conformance', 'outOfProfile'), cpp.conformance.outOfProfile]);
  }
  if (cpp.overall) {
    const { delay, loss, throughput } = cpp.overall;
    fields.push([at('overall', 'delay'), delay], [at('overall', 'loss'), loss], [at('overall', 'throughput'), throughput]);
  }
  return fields;
}

/** Paths (JSON form, rooted at `root`) of the values that are still loose, in document order. */
export function looseValuePaths(cpd: Cpd, root = 'cpd'): string[] {
  return cpd.flatMap((cpp, i) =>
    negotiableFields(cpp, join(root, i))
      .filter(([, value]) => isLoose(value))
      .map(([path]) => path),
  );
}

/** True when no value of the CPD is loose (RFC 8921 8.7); the Empty CPD is concrete. */
export function isConcrete(cpd: Cpd): boolean {
  return looseValuePaths(cpd).length === 0;
}
