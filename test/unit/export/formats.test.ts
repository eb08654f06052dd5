import { describe, expect, it } from 'vitest';

import { createSerializer, type GraphUser } from '../../../src/export/formats.js';

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

describe('NDJSON', () => {
  it('writes one user per line, newlines inside values escaped', () => {
    const lines = serialise('ndjson', [tricky.slice(0, 1), tricky.slice(1)]).split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual(tricky);
  });
});

describe('CSV', () => {
  it('writes a header, CRLF records, RFC 4180 quoting, arrays joined, and neutralised formulas', () => {
    const text = serialise('csv', [tricky.slice(0, 1), tricky.slice(1)]);
    expect(text).toBe(
      'id,displayName,jobTitle,businessPhones,accountEnabled\r\n' +
        `1,"Zoë O'Brien, Jr.","'=HYPERLINK(""http://x"")",'+1 555 0100; +1 555 0101,true\r\n` +
        `2,"Line\nBreak ""Quoted""",'@SUM(A1),,false\r\n` +
        `3,'-minus,,'-2,\r\n`,
    );
  });

  it('writes only the header for an empty directory', () => {
    expect(serialise('csv', [], ['id', 'mail'])).toBe('id,mail\r\n');
  });

  it('leaves an absent property empty', () => {
    expect(serialise('csv', [[{ id: 'x' }]], ['id', 'mail'])).toBe('id,mail\r\nx,\r\n');
  });
});
