import { cpdPathToFieldPath, formatPath } from './cpd-check';

/**
 * The orders service reports field errors under JSON-form paths of NewOrderInput
 * (`title`, `providerIds`, `options.testUntil`, `cpd[0].scope.multicast.sources[1]`). The form's
 * names differ inside the CPD; this maps each key onto the form field that holds the value, so
 * an error the service finds still lands beside the right input. `clonedFrom` and other keys
 * with no field become form-level messages.
 */
const ORDER_FIELDS = new Set(['title', 'providerIds', 'expectedResponseSeconds', 'selectionRule']);

export function serviceErrorsToForm(fieldErrors: Record<string, string[]> | undefined): { fieldErrors: Record<string, string[]>; formErrors: string[] } {
  const out: Record<string, string[]> = {};
  const formErrors: string[] = [];
  for (const [key, messages] of Object.entries(fieldErrors ?? {})) {
    let name: string | undefined;
    if (key === 'cpd' || key.startsWith('cpd[') || key.startsWith('cpd.')) name = formatPath(cpdPathToFieldPath(key.replace(/^cpd\.(\d+)/, 'cpd[$1]')));
    else if (key === 'options' || key.startsWith('options.')) name = key;
    else if (ORDER_FIELDS.has(key)) name = key;
    if (name === undefined) formErrors.push(...messages);
    else (out[name] ??= []).push(...messages);
  }
  return { fieldErrors: out, formErrors };
}
