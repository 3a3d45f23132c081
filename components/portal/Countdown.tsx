'use client';
import { useEffect, useState } from 'react';
import { formatClock } from '@/lib/portal/labels';

function format(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}` : `${m}:${String(s).padStart(2, '0')}`;
}

/**
 * "Offer expected by 12:03, in 1:42": the deadline comes from the server; the remaining time
 * is computed here every second, corrected by the offset between the server's and the
 * browser's clocks (`serverNow` is when the server produced the data).
 */
export function Countdown({ label, deadline, serverNow }: { label: string; deadline: string; serverNow: string }) {
  const [now, setNow] = useState<number | null>(null);
  const [skew] = useState(() => Date.parse(serverNow) - Date.now());
  useEffect(() => {
    const tick = () => setNow(Date.now());
    tick();
    const timer = setInterval(tick, 1000);
    return () => clearInterval(timer);
  }, []);
  const at = Date.parse(deadline);
  const time = formatClock(new Date(at).toISOString());
  const left = now === null ? null : at - (now + skew);
  return (
    <span>
      {label} <time dateTime={deadline}>{time}</time>
      {left !== null && (left > 0 ? <span>, in {format(left)}</span> : <span className="font-semibold">, time is up</span>)}
    </span>
  );
}
