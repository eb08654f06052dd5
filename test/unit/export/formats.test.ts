import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';

import { createSerializer, type GraphUser, neutraliseFormula } from '../../../src/export/formats.js';

const tricky: GraphUser[] = [
  {
    id: '1',
    displayName: "Zoë O'Brien, Jr.",
    jobTitle: '=HYPERLINK("http://x")',
    businessPhones: ['+1 555 0100', '+1 555 0101'],
    accountEnabled: true,
  },
  {
    id: '2',
    displayName: 'Line\nBreak "Quoted"',
    jobTitle: '@SUM(A1)',
    businessPhones: [],
    accountEnabled: false,
  },
  { id: '3', displayName: '-minus', jobTitle: null, businessPhones: ['-2'], accountEnabled: null },
];

function serialise(
  format: 'json' | 'ndjson' | 'csv',
  pages: GraphUser[][],
  columns = ['id', 'displayName', 'jobTitle', 'businessPhones', 'accountEnabled'],
) {
  const serializer = createSerializer(format, columns);
  return Buffer.concat([...pages.map((page) => serializer.page(page)), serializer.end()]).toString('utf8');
}

describe('JSON array', () => {
  it('parses back to exactly the users of every page, in order', () => {
    const text = serialise('json', [tricky.slice(0, 2), [], tricky.slice(2)]);
    expect(JSON.parse(text)).toEqual(tricky);
  });

  it('is an empty array for an empty directory, with or without pages', () => {
    expect(JSON.parse(serialise('json', []))).toEqual([]);
    expect(JSON.parse(serialise('json', [[], []]))).toEqual([]);
  });
});

describe('JSON and NDJSON hold exactly what was selected', () => {
  const withExtras: GraphUser[] = [
    {
      '@odata.type': '#microsoft.graph.user',
      id: '1',
      displayName: 'A',
      mail: 'a@x',
      'mail@odata.context': 'x',
      passwordProfile: { password: 'never asked for' },
    },
    { id: '2' },
  ];

  it.each(['json', 'ndjson'] as const)(
    '%s drops annotations and unselected properties, and nulls what is missing',
    (format) => {
      const text = serialise(format, [withExtras], ['id', 'displayName']);
      const users =
        format === 'json'
          ? (JSON.parse(text) as unknown[])
          : text
              .trimEnd()
              .split('\n')
              .map((line) => JSON.parse(line) as unknown);
      expect(users).toEqual([
        { id: '1', displayName: 'A' },
        { id: '2', displayName: null },
      ]);
      expect(text).not.toContain('odata');
      expect(text).not.toContain('never asked for');
    },
  );
});

describe('a page given as projected lines (how a run hands pages over)', () => {
  it.each(['json', 'ndjson', 'csv'] as const)('%s: the same bytes as the page of users', (format) => {
    const columns = ['id', 'displayName', 'jobTitle', 'businessPhones', 'accountEnabled'];
    const pages = [tricky.slice(0, 2), [], tricky.slice(2)];
    const fromLines = createSerializer(format, columns);
    const text = Buffer.concat([
      ...pages.map((page) =>
        fromLines.pageOfLines(
          page.map((user) => JSON.stringify(user)),
          () => page,
        ),
      ),
      fromLines.end(),
    ]).toString('utf8');
    expect(text).toBe(serialise(format, pages, columns));
  });
});

describe('NDJSON', () => {
  it('writes one user per line, newlines inside values escaped', () => {
    const lines = serialise('ndjson', [tricky.slice(0, 1), tricky.slice(1)]).split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual(tricky);
  });
});

describe('CSV', () => {
  it('writes a header, CRLF records, RFC 4180 quoting, arrays as JSON, and neutralised formulas', () => {
    const text = serialise('csv', [tricky.slice(0, 1), tricky.slice(1)]);
    expect(text).toBe(
      'id,displayName,jobTitle,businessPhones,accountEnabled\r\n' +
        `1,"Zoë O'Brien, Jr.","'=HYPERLINK(""http://x"")","[""+1 555 0100"",""+1 555 0101""]",true\r\n` +
        `2,"Line\nBreak ""Quoted""",'@SUM(A1),[],false\r\n` +
        `3,'-minus,,"[""-2""]",\r\n`,
    );
  });

  it.each([
    ['=1+1', "'=1+1"],
    ['\n=1+1', "'\n=1+1"],
    [' =HYPERLINK("x")', '\' =HYPERLINK("x")'],
    ['\t@cmd', "'\t@cmd"],
    ['\rx', "'\rx"],
    ['   +44 20', "'   +44 20"],
    ['\u00a0-1', "'\u00a0-1"],
    ['\u0085=1+1', "'\u0085=1+1"],
    ['\u3000@cmd', "'\u3000@cmd"],
    ['\u200b\ufeff=cmd', "'\u200b\ufeff=cmd"],
    ['O=K', 'O=K'],
    ['plain text', 'plain text'],
    ['', ''],
  ])('neutralises %j as OWASP advises', (cell, expected) => {
    expect(neutraliseFormula(cell)).toBe(expected);
  });

  it('writes arrays so that they read back as the arrays they were', () => {
    const arrays = [['a; b'], ['a', 'b'], [], ['=1+1', '"quoted", comma'], ['line\nbreak']];
    const users = arrays.map((phones, index) => ({ id: String(index), businessPhones: phones }));
    const rows = parse<Record<string, string>>(serialise('csv', [users], ['id', 'businessPhones']), {
      columns: true,
    });
    expect(rows.map((row) => JSON.parse(row['businessPhones']!) as unknown)).toEqual(arrays);
  });

  it('writes only the header for an empty directory', () => {
    expect(serialise('csv', [], ['id', 'mail'])).toBe('id,mail\r\n');
  });

  it('leaves an absent property empty', () => {
    expect(serialise('csv', [[{ id: 'x' }]], ['id', 'mail'])).toBe('id,mail\r\nx,\r\n');
  });
});

describe('text every format writes alike', () => {
  const user: GraphUser = {
    id: '1',
    displayName: 'one\u2028two\u2029three',
    jobTitle: 'lone \ud800 high, lone \udc00 low, a pair \ud83d\ude00, a backslash \\ud800',
    businessPhones: [],
    accountEnabled: true,
  };

  it('escapes U+2028 and U+2029 in JSON and NDJSON, so a reader splitting on Unicode line breaks sees one line a user', () => {
    for (const format of ['json', 'ndjson'] as const) {
      const text = serialise(format, [[user]]);
      expect(text).not.toMatch(/[\u2028\u2029]/);
      expect(text).toContain('one\\u2028two\\u2029three');
    }
    const ndjson = serialise('ndjson', [[user, user]]);
    expect(ndjson.split(/\r\n|[\n\r\u2028\u2029\u0085]/).filter(Boolean)).toHaveLength(2);
  });

  it('writes a lone surrogate as U+FFFD in JSON, NDJSON and CSV alike, and keeps pairs and escaped backslashes', () => {
    const expected = 'lone \ufffd high, lone \ufffd low, a pair \ud83d\ude00, a backslash \\ud800';
    const json = JSON.parse(serialise('json', [[user]])) as GraphUser[];
    const ndjson = JSON.parse(serialise('ndjson', [[user]])) as GraphUser;
    const csv = parse<Record<string, string>>(serialise('csv', [[user]]), { columns: true });
    expect(json[0]?.['jobTitle']).toBe(expected);
    expect(ndjson['jobTitle']).toBe(expected);
    expect(csv[0]?.['jobTitle']).toBe(expected);
    expect(csv[0]?.['displayName']).toBe(user['displayName']);
  });
});
