import type { Cpd } from '../../../cpnp/cpd/types';

/**
 * FormData the way the composer's inputs post it: nested names (`cpd[0].nodes[1].id`), checkbox
 * groups as repeated names, a checked box as "on", an unchecked one absent, numbers as text.
 */
export function toFormData(value: unknown, form = new FormData(), name = ''): FormData {
  if (value === undefined || value === null || value === false) return form;
  if (value === true) {
    form.append(name, 'on');
  } else if (typeof value === 'number' || typeof value === 'string') {
    form.append(name, String(value));
  } else if (Array.isArray(value)) {
    // qos.between is two separate selects (indexed names); other scalar lists are checkbox groups.
    const indexed = value.some((item) => typeof item === 'object' && item !== null) || name.endsWith('.between');
    value.forEach((item, i) => toFormData(item, form, indexed ? `${name}[${i}]` : name));
  } else if (typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) toFormData(item, form, name ? `${name}.${key}` : key);
  }
  return form;
}

/** A text a form field can hold unchanged: not empty, not padded, no list separators. */
export function isFormSafeText(text: string): boolean {
  return text !== '' && text.trim() === text && !/[,\n\r]/.test(text);
}

/** Injective: distinct texts stay distinct, so node-id references keep pointing at their node. */
function safeText(text: string): string {
  if (isFormSafeText(text)) return text;
  return `Ω${[...text].map((c) => c.codePointAt(0)?.toString(16)).join('.')}`;
}

/**
 * Narrows a generated CPD to what a person can type into the form (schema.ts conventions):
 * texts made form-safe, empty optional lists removed ("groups" of a multicast is required).
 * The round trip is then asserted exactly on the narrowed CPD.
 */
export function formRepresentable(cpd: Cpd): Cpd {
  const walk = (value: unknown, key: string): unknown => {
    if (typeof value === 'string') return safeText(value);
    if (Array.isArray(value)) return value.map((item) => walk(item, key));
    if (typeof value === 'object' && value !== null) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        if (Array.isArray(v) && v.length === 0 && k !== 'groups') continue;
        out[k] = walk(v, k);
      }
      return out;
    }
    return value;
  };
  return walk(cpd, '') as Cpd;
}
