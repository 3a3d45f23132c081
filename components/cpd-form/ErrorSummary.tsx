'use client';

import { useEffect, useRef, type MouseEvent } from 'react';
import { parsePath, formatPath } from '@/lib/portal/cpd-form/cpd-check';
import { describeField } from '@/lib/portal/cpd-form/field-labels';

/**
 * The list of problems at the top of the form, each a link that moves focus to its field. It
 * takes focus itself when a submission comes back with errors, so keyboard and screen-reader
 * users land on it.
 */
export function ErrorSummary({
  formId,
  status,
  errors,
  formErrors,
  attempt,
}: {
  formId: string;
  /** Changes with every submission (or server reply): the moment to take focus. */
  attempt: unknown;
  status: 'success' | 'error' | undefined;
  errors: Record<string, string[]>;
  formErrors: string[] | undefined;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const entries = Object.entries(errors).filter(([name]) => name !== '');
  const visible = status === 'error' && (entries.length > 0 || (formErrors?.length ?? 0) > 0);
  // Focus once per submission, when its errors are on screen (a server reply renders a beat
  // after it arrives); never on the keystrokes that revalidate.
  const owed = useRef(false);
  useEffect(() => {
    owed.current = true;
  }, [attempt]);
  useEffect(() => {
    if (visible && owed.current) {
      owed.current = false;
      ref.current?.focus();
    }
  }, [visible, attempt]);

  if (!visible) return null;
  const total = entries.length + (formErrors?.length ?? 0);
  return (
    <div ref={ref} tabIndex={-1} role="alert" aria-labelledby="error-summary-title" className="rounded-lg border-2 border-red-700 bg-white p-5 shadow-sm focus:outline-none focus-visible:ring-4 focus-visible:ring-red-300">
      <h2 id="error-summary-title" className="text-lg font-semibold text-red-800">
        <span aria-hidden="true">⚠ </span>
        {total === 1 ? 'There is a problem with this order' : `There are ${total} problems with this order`}
      </h2>
      <ul className="mt-2 list-disc space-y-1 pl-5 text-sm">
        {formErrors?.map((message) => (
          <li key={message} className="text-red-800">
            {message}
          </li>
        ))}
        {entries.map(([name, messages]) => (
          <li key={name}>
            <a href={`#${formId}-${name}`} onClick={(e) => focusField(e, formId, name)} className="font-medium text-red-800 underline decoration-red-300 underline-offset-2 hover:decoration-red-800">
              {describeField(name)}: {messages.join(' ')}
            </a>
          </li>
        ))}
      </ul>
    </div>
  );
}

const FOCUSABLE = 'input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]';

/** Focuses the field, or its nearest enclosing field or section that is in the page. */
function focusField(event: MouseEvent<HTMLAnchorElement>, formId: string, name: string) {
  const path = parsePath(name);
  for (let length = path.length; length > 0; length--) {
    const candidate = formatPath(path.slice(0, length));
    const element = document.getElementById(`${formId}-${candidate}`) ?? document.getElementById(`${formId}-${candidate}-error`);
    if (!element) continue;
    event.preventDefault();
    const target = element.matches(FOCUSABLE) ? element : (element.querySelector<HTMLElement>(FOCUSABLE) ?? element);
    if (!target.hasAttribute('tabindex') && !target.matches('input, select, textarea')) target.setAttribute('tabindex', '-1');
    target.scrollIntoView({ block: 'center' });
    target.focus({ preventScroll: true });
    return;
  }
}
