import { isOneOf, ORDER_STATES } from '@/lib/portal/db/types';
import { ORDER_STATE_LABELS, TONE_CLASSES } from '@/lib/portal/labels';

/** An order's state as words with an icon; the colour only repeats what the text says. */
export function StateBadge({ state }: { state: string }) {
  const s = isOneOf(ORDER_STATES, state) ? ORDER_STATE_LABELS[state] : { label: state, tone: 'neutral' as const, icon: '•' };
  return (
    <span className={`inline-flex items-center gap-1 rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset ${TONE_CLASSES[s.tone]}`}>
      <span aria-hidden="true">{s.icon}</span>
      {s.label}
    </span>
  );
}
