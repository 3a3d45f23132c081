import type { Arrow } from '@/lib/portal/history/sequence';
import { formatClock } from '@/lib/portal/labels';

const LANE_W = 240;
const ROW_H = 34;
const TOP = 48;
const LEFT = 96;

const MARK_TEXT = { retransmission: 'retransmitted', lost: 'lost', unanswered: 'unanswered' } as const;

/**
 * The order's message sequence chart as SVG: lanes for the client and each provider, one arrow
 * per message in time order, like RFC 8921's figures. A lost copy is drawn dashed and ends in a
 * cross; a retransmission is labelled; marks are words too, never colour alone.
 */
export function SequenceChart({ lanes, arrows }: { lanes: string[]; arrows: Arrow[] }) {
  const width = LEFT + LANE_W * (lanes.length - 1) + 140;
  const height = TOP + ROW_H * (arrows.length + 1);
  const x = (lane: number) => LEFT + lane * LANE_W;
  return (
    <figure tabIndex={0} aria-label="Message sequence chart (scrolls sideways when wide)" className="overflow-x-auto rounded-lg border border-slate-200 bg-white p-3 shadow-sm">
      <svg
        role="img"
        aria-labelledby="ladder-title ladder-desc"
        width={width}
        height={height}
        viewBox={`0 0 ${width} ${height}`}
        className="font-sans text-[12px]"
      >
        <title id="ladder-title">Message sequence chart</title>
        <desc id="ladder-desc">
          {arrows.length} CPNP messages between {lanes.join(', ')}, in time order. The message log below lists the same messages.
        </desc>
        <defs>
          <marker id="arrowhead" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse">
            <path d="M0,0 L10,5 L0,10 z" fill="#0f172a" />
          </marker>
        </defs>
        {lanes.map((name, i) => (
          <g key={name}>
            <text x={x(i)} y={18} textAnchor="middle" fontWeight={600} fill="#0f172a">
              {name}
            </text>
            <line x1={x(i)} x2={x(i)} y1={28} y2={height - 8} stroke="#64748b" strokeWidth={1.5} />
          </g>
        ))}
        {arrows.map((a, i) => {
          const y = TOP + ROW_H * i + 12;
          const lost = a.marks.includes('lost');
          const from = x(a.from);
          const to = x(a.to);
          // A lost message stops two thirds of the way, with a cross.
          const end = lost ? from + (to - from) * 0.66 : to + (to > from ? -2 : 2);
          const mid = (from + to) / 2;
          const note = a.marks.map((m) => MARK_TEXT[m]).join(', ');
          return (
            <g key={a.id}>
              <text x={8} y={y + 4} fill="#475569">
                {formatClock(a.at).replace(' UTC', '')}
              </text>
              <line
                x1={from}
                x2={end}
                y1={y}
                y2={y}
                stroke={lost ? '#b91c1c' : '#0f172a'}
                strokeWidth={1.5}
                strokeDasharray={lost ? '6 4' : undefined}
                markerEnd={lost ? undefined : 'url(#arrowhead)'}
              />
              {lost && <path d={`M${end - 5},${y - 5} L${end + 5},${y + 5} M${end - 5},${y + 5} L${end + 5},${y - 5}`} stroke="#b91c1c" strokeWidth={2} />}
              <text x={mid} y={y - 5} textAnchor="middle" fill="#0f172a" fontWeight={600}>
                {a.method}
                {note && (
                  <tspan fontWeight={400} fill={lost ? '#b91c1c' : '#92400e'}>
                    {` (${note})`}
                  </tspan>
                )}
              </text>
            </g>
          );
        })}
      </svg>
      <figcaption className="mt-2 text-xs text-slate-700">
        Time (UTC) on the left. Dashed arrow ending in ✕ = a copy that was lost and sent again; “retransmitted” = the same message sent again in its
        transaction (RFC 8921 11.4); “unanswered” = a request that got no reply.
      </figcaption>
    </figure>
  );
}
