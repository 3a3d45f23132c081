/**
 * CSV export of a history filter: every matching order, not just a page, as a stream. Rows are
 * read in keyset batches and written as they come, so memory stays bounded by one batch
 * whatever the number of rows; the consumer's pace drives the reads (pull-based stream).
 */
import 'server-only';
import type { SessionUser } from '../auth/session';
import { ok, type ServiceResult } from '../result';
import { canReadHistory, HISTORY_FORBIDDEN } from './access';
import { csvLine, HISTORY_CSV_COLUMNS } from './csv';
import type { HistoryFilter } from './filter';
import { historyWhere, queryHistoryPage, type HistoryRow } from './service';

// Prisma loads relations with one IN (...) per batch; SQLite binds at most 999 values there.
export const EXPORT_BATCH = 500;

export function historyCsvRow(r: HistoryRow): string {
  return csvLine([
    r.id,
    r.title,
    r.organisation,
    r.author,
    r.state,
    r.stateReason,
    r.createdAt,
    r.updatedAt,
    r.submittedAt,
    r.negotiations.map((n) => n.provider).join('; '),
    r.negotiations.map((n) => n.customerOrderId).join('; '),
    r.negotiations.map((n) => n.providerOrderId ?? '').join('; '),
    r.negotiations.map((n) => n.clientState).join('; '),
  ]);
}

/** The CSV as a byte stream (UTF-8 with BOM so spreadsheets pick the encoding). */
export async function exportHistoryCsv(user: SessionUser, filter: HistoryFilter): Promise<ServiceResult<ReadableStream<Uint8Array>>> {
  if (!canReadHistory(user)) return HISTORY_FORBIDDEN;
  const where = await historyWhere(filter);
  const encoder = new TextEncoder();
  let after: string | undefined;
  let started = false;
  let done = false;
  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (!started) {
          started = true;
          controller.enqueue(encoder.encode(`\uFEFF${csvLine(HISTORY_CSV_COLUMNS)}`));
          return;
        }
        if (done) {
          controller.close();
          return;
        }
        const page = await queryHistoryPage(where, filter, { after, before: undefined, size: EXPORT_BATCH });
        if (page.rows.length > 0) controller.enqueue(encoder.encode(page.rows.map(historyCsvRow).join('')));
        if (page.next) after = page.next;
        else done = true;
      },
    },
    { highWaterMark: 1 },
  );
  return ok(stream);
}
