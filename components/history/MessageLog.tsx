import type { LadderMessage } from '@/lib/portal/history/ladder';
import { formatTime } from '@/lib/portal/labels';

/** Groups hex into bytes, 16 per line, so it can be read against the wire format. */
function hexLines(hex: string): string {
  const bytes = hex.match(/.{1,2}/g) ?? [];
  const lines: string[] = [];
  for (let i = 0; i < bytes.length; i += 16) lines.push(`${i.toString(16).padStart(4, '0')}  ${bytes.slice(i, i + 16).join(' ')}`);
  return lines.join('\n');
}

/** Every CPNP message in and out, expandable: the stored JSON form, the hex decoded again, the hex. */
export function MessageLog({ messages }: { messages: LadderMessage[] }) {
  if (messages.length === 0) return <p className="rounded-lg border border-dashed border-slate-300 bg-white p-4 text-slate-700">No CPNP message has been exchanged for this order yet.</p>;
  return (
    <ol className="space-y-2">
      {messages.map((m, i) => (
        <li key={m.id}>
          <details className="group rounded-lg border border-slate-200 bg-white shadow-sm">
            <summary className="flex cursor-pointer flex-wrap items-center gap-x-3 gap-y-1 px-3 py-2 text-sm">
              <span className="w-6 text-right text-slate-600">{i + 1}.</span>
              <span className="font-semibold">{m.method}</span>
              <span>{m.direction === 'out' ? `sent to ${m.provider}` : `received from ${m.provider}`}</span>
              <time dateTime={m.at} className="text-slate-600">
                {formatTime(m.at)}
              </time>
              {m.marks.map((mark) => (
                <span key={mark} className="rounded bg-amber-100 px-1.5 text-xs font-medium text-amber-900">
                  {mark}
                </span>
              ))}
              {!m.decoded.ok && <span className="rounded bg-rose-100 px-1.5 text-xs font-medium text-rose-900">hex does not decode</span>}
            </summary>
            <div className="grid gap-3 border-t border-slate-200 p-3 lg:grid-cols-2">
              <div>
                <h3 className="text-xs font-semibold uppercase text-slate-700">Decoded from the hex (lib/cpnp)</h3>
                <pre tabIndex={0} aria-label={`${m.method} decoded`} className="mt-1 max-h-96 overflow-auto rounded bg-slate-50 p-2 text-xs">
                  {m.decoded.ok ? JSON.stringify(m.decoded.message, null, 2) : `Not a valid CPNP message: ${m.decoded.error}`}
                </pre>
                {m.transactionId && <p className="mt-1 text-xs text-slate-700">Transaction {m.transactionId}</p>}
              </div>
              <div>
                <h3 className="text-xs font-semibold uppercase text-slate-700">Raw bytes ({m.hex.length / 2} B)</h3>
                <pre tabIndex={0} aria-label={`${m.method} bytes`} className="mt-1 max-h-96 overflow-auto rounded bg-slate-50 p-2 font-mono text-xs">{hexLines(m.hex)}</pre>
                <details className="mt-2 text-xs">
                  <summary className="cursor-pointer text-sky-800">JSON form as logged</summary>
                  <pre tabIndex={0} aria-label={`${m.method} as logged`} className="mt-1 max-h-64 overflow-auto rounded bg-slate-50 p-2">{JSON.stringify(m.json, null, 2)}</pre>
                </details>
              </div>
            </div>
          </details>
        </li>
      ))}
    </ol>
  );
}
