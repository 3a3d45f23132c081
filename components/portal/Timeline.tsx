import { formatTime } from '@/lib/portal/labels';
import type { StateChangeView } from '@/lib/portal/orders/service';

/** Every transition with cause, actor and time, oldest first. */
export function Timeline({ changes }: { changes: StateChangeView[] }) {
  if (changes.length === 0) return <p className="text-sm text-slate-600">No state changes yet.</p>;
  return (
    <ol className="relative space-y-3 border-l border-slate-300 pl-4">
      {changes.map((c) => (
        <li key={c.id} className="text-sm">
          <span aria-hidden="true" className="absolute -left-1.5 mt-1.5 h-3 w-3 rounded-full border border-white bg-slate-400" />
          <p>
            <span className="font-medium">
              {c.from ? `${c.from} → ${c.to}` : c.to}
            </span>
            {c.provider && <span className="text-slate-600"> · {c.provider}</span>}
          </p>
          <p className="text-slate-700">
            {c.cause} — by {c.actor}, <time dateTime={c.at}>{formatTime(c.at)}</time>
          </p>
        </li>
      ))}
    </ol>
  );
}
