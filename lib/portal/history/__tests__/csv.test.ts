import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { csvField, csvLine, HISTORY_CSV_COLUMNS } from '../csv';

/** A strict RFC 4180 reader for one line (what a spreadsheet does before evaluating cells). */
function readLine(line: string): string[] {
  assert.ok(line.endsWith('\r\n'));
  const text = line.slice(0, -2);
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (text[i] === '"' && text[i + 1] === '"') {
          field += '"';
          i += 2;
        } else if (text[i] === '"') {
          i++;
          break;
        } else if (i >= text.length) throw new Error('unterminated quote');
        else field += text[i++];
      }
    } else {
      while (i < text.length && text[i] !== ',') {
        assert.ok(text[i] !== '"' && text[i] !== '\r' && text[i] !== '\n', `bare special character in ${JSON.stringify(text)}`);
        field += text[i++];
      }
    }
    out.push(field);
    if (i >= text.length) return out;
    assert.equal(text[i], ',');
    i++;
  }
}

describe('history CSV', () => {
  test('formula starts are neutralised with an apostrophe', () => {
    for (const danger of ['=1+2', '+SUM(A1)', '-2+3', '@cmd', '\tx', '\rx', '=HYPERLINK("http://evil","x")']) {
      const [cell] = readLine(csvLine([danger]));
      assert.equal(cell, `'${danger}`, danger);
    }
  });

  test('ordinary text, empty values and numbers are unchanged', () => {
    assert.deepEqual(readLine(csvLine(['Paris–Lyon VPN', null, undefined, 42, -7, 'a-b', 'x=y'])), ['Paris–Lyon VPN', '', '', '42', '-7', 'a-b', 'x=y']);
  });

  test('quotes, commas and line breaks are quoted (RFC 4180)', () => {
    assert.equal(csvField('say "hi", then\nleave'), '"say ""hi"", then\nleave"');
  });

  test('property: any text reads back as itself, or as itself behind one apostrophe when it could be a formula', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary' }), { minLength: 1, maxLength: 6 }), (fields) => {
        const cells = readLine(csvLine(fields));
        assert.equal(cells.length, fields.length);
        cells.forEach((cell, k) => {
          assert.ok(!/^[=+\-@\t\r]/.test(cell), `formula start survived: ${JSON.stringify(cell)}`);
          assert.equal(cell, /^[=+\-@\t\r]/.test(fields[k]!) ? `'${fields[k]}` : fields[k]);
        });
      }),
      { numRuns: 500 },
    );
  });

  test('the column set is stable (docs/portal.md, History export)', () => {
    assert.equal(
      HISTORY_CSV_COLUMNS.join(','),
      'order_id,title,organisation,author,state,state_reason,created_at,updated_at,submitted_at,providers,customer_order_ids,provider_order_ids,client_states',
    );
  });
});
