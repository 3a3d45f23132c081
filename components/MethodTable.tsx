import { METHOD_CODES, methodName, type MethodCode } from '@/lib/cpnp/method';
import { ReferenceTable } from './ReferenceTable';

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
    <ReferenceTable labelledBy="methods-heading" columns={['Method', 'Sent by', 'RFC 8921']}>
      {METHOD_CODES.map((code) => (
        <tr key={code}>
          <td className="px-4 py-2 font-mono tabular-nums">{code}</td>
          <th scope="row" className="px-4 py-2 font-mono font-medium">{methodName(code)}</th>
          <td className="px-4 py-2">{SENDER[code]}</td>
          {/* Each method is specified in section 9.2.<code>. */}
          <td className="px-4 py-2 text-slate-600">§9.2.{code}</td>
        </tr>
      ))}
    </ReferenceTable>
  );
}
