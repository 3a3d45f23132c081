/**
 * The message sequence chart of one order (the picture RFC 8921's figures draw, e.g. Figure 3,
 * for a real exchange): one lane for the portal's CPNP client and one per provider, one arrow
 * per logged message in time order. Framework-free; the SVG is drawn by components/history.
 *
 * Marks (derived from the log, RFC 8921 8.4 and 11.2: a request is retransmitted with the same
 * TRANSACTION_ID until answered):
 * - retransmission: the same method in the same direction and transaction, sent again;
 * - lost: a copy that was followed by a retransmission before the other side said anything in
 *   that transaction, i.e. it (or its answer) never arrived;
 * - unanswered: the last copy of a request whose transaction holds no message from the other
 *   side at all.
 */
export interface LoggedMessage {
  id: string;
  negotiationId: string;
  direction: 'out' | 'in';
  method: string;
  transactionId: string | null;
  at: string;
}

export type ArrowMark = 'retransmission' | 'lost' | 'unanswered';

export interface Arrow {
  id: string;
  /** 0 = the portal's client; 1.. = providers in `lanes` order. */
  from: number;
  to: number;
  method: string;
  at: string;
  marks: ArrowMark[];
}

/** Methods a client sends that expect an answer in their transaction (9.2). */
const REQUESTS = new Set(['QUOTATION', 'ACCEPT', 'DECLINE', 'CANCEL', 'WITHDRAW', 'UPDATE', 'ACTIVATE']);

export function sequenceChart(lanesByNegotiation: ReadonlyMap<string, number>, messages: readonly LoggedMessage[]): Arrow[] {
  const sorted = [...messages].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.id < b.id ? -1 : 1));
  const arrows: Arrow[] = sorted.map((m) => {
    const lane = lanesByNegotiation.get(m.negotiationId) ?? 1;
    return { id: m.id, from: m.direction === 'out' ? 0 : lane, to: m.direction === 'out' ? lane : 0, method: m.method, at: m.at, marks: [] };
  });
  sorted.forEach((m, i) => {
    if (!m.transactionId) return;
    const sameTx = (x: LoggedMessage) => x.negotiationId === m.negotiationId && x.transactionId === m.transactionId;
    const earlier = sorted.slice(0, i).some((x) => sameTx(x) && x.direction === m.direction && x.method === m.method);
    if (earlier) arrows[i]!.marks.push('retransmission');
    const later = sorted.slice(i + 1).filter(sameTx);
    const nextCopy = later.findIndex((x) => x.direction === m.direction && x.method === m.method);
    const firstReply = later.findIndex((x) => x.direction !== m.direction);
    if (nextCopy >= 0 && (firstReply < 0 || nextCopy < firstReply)) arrows[i]!.marks.push('lost');
    else if (m.direction === 'out' && REQUESTS.has(m.method) && !sorted.some((x) => sameTx(x) && x.direction !== m.direction)) {
      arrows[i]!.marks.push('unanswered');
    }
  });
  return arrows;
}
