import { METHOD_CODES, methodName, type MethodCode } from '@/lib/cpnp/method';

type Sender = 'Client' | 'Server' | 'Either';

/**
 * Who sends each method, from the method descriptions in RFC 8921 section 9.2.x. ACK and FAIL
 * go both ways: ACK closes a transaction (server) or grants more negotiation time (client, 9.2.6);
 * FAIL reports an error (server) or refuses a time extension (client, 9.2.10).
 */
const SENDER: Readonly<Record<MethodCode, Sender>> = {
  1: 'Client',
  2: 'Server',
  3: 'Server',
  4: 'Client',
  5: 'Client',
  6: 'Either',
  7: 'Client',
  8: 'Client',
  9: 'Client',
  10: 'Either',
  11: 'Client',
};

/** The 11 CPNP operations (RFC 8921 section 9.2, Table 1), rendered from the protocol library. */
export function MethodTable() {
  return (
    <div className="overflow-x-auto rounded-lg border border-slate-200 bg-white shadow-sm">
      <table className="w-full text-left text-sm" aria-labelledby="methods-heading">
        <thead className="bg-slate-100 text-slate-700">
          <tr>
            <th scope="col" className="w-20 px-4 py-2 font-semibold">Code</th>
            <th scope="col" className="px-4 py-2 font-semibold">Method</th>
            <th scope="col" className="px-4 py-2 font-semibold">Sent by</th>
            <th scope="col" className="px-4 py-2 font-semibold">RFC 8921</th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          {METHOD_CODES.map((code) => (
            <tr key={code}>
              <td className="px-4 py-2 font-mono tabular-nums">{code}</td>
              <th scope="row" className="px-4 py-2 font-mono font-medium">{methodName(code)}</th>
              <td className="px-4 py-2">{SENDER[code]}</td>
              {/* Each method is specified in section 9.2.<code>. */}
              <td className="px-4 py-2 text-slate-600">§9.2.{code}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
