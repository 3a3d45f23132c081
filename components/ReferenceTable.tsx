import type { ReactNode } from 'react';

interface ReferenceTableProps {
  /** id of the heading that names the table. */
  labelledBy: string;
  /** Headers of the columns after "Code". */
  columns: readonly string[];
  /** The body rows. */
  children: ReactNode;
}

/**
 * The frame of the home page's reference tables (methods, status codes): a bordered table
 * named by the heading `labelledBy`, whose first column is the narrow "Code" column.
 */
export function ReferenceTable({ labelledBy, columns, children }: ReferenceTableProps) {
  return (
    <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white shadow-sm">
      <table className="w-full text-left text-sm" aria-labelledby={labelledBy}>
        <thead className="bg-slate-100 text-slate-700">
          <tr>
            <th scope="col" className="w-20 px-4 py-2 font-semibold">Code</th>
            {columns.map((column) => (
              <th key={column} scope="col" className="px-4 py-2 font-semibold">{column}</th>
            ))}
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">{children}</tbody>
      </table>
    </div>
  );
}
