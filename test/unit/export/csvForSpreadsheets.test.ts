import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';

import { loadConfig } from '../../../src/config.js';
import { ConfigError } from '../../../src/errors.js';
import { createSerializer, type CsvOptions, type GraphUser } from '../../../src/export/formats.js';
import { validEnv } from '../validEnv.js';

const users: GraphUser[] = [
  { id: '1', displayName: 'Zoë Núñez', mobilePhone: '+1 425 555 0100', department: '=1+1' },
  { id: '2', displayName: 'Łukasz Øster', mobilePhone: null, department: 'R&D' },
];
const columns = ['id', 'displayName', 'mobilePhone', 'department'];

function csvBytes(options: CsvOptions, pages: GraphUser[][] = [users]): Buffer {
  const serializer = createSerializer('csv', columns, options);
  return Buffer.concat([...pages.map((page) => serializer.page(page)), serializer.end()]);
}

const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

describe('CSV for spreadsheets: EXPORT_CSV_BOM', () => {
  it('starts the file with the UTF-8 byte order mark, once, when set', () => {
    const bytes = csvBytes({ bom: true, formulaGuard: 'apostrophe' }, [users.slice(0, 1), users.slice(1)]);
    expect(bytes.subarray(0, 3)).toEqual(UTF8_BOM);
    expect(bytes.indexOf(UTF8_BOM, 3)).toBe(-1);
    // A reader that knows the mark (csv-parse's bom option, Excel, Power BI) sees the same table.
    expect(parse(bytes, { bom: true, columns: true })).toEqual(
      parse(csvBytes({ bom: false, formulaGuard: 'apostrophe' }), { columns: true }),
    );
  });

  it('marks an empty export too (the header alone)', () => {
    expect(csvBytes({ bom: true, formulaGuard: 'apostrophe' }, []).toString('utf8')).toBe(
      '\ufeffid,displayName,mobilePhone,department\r\n',
    );
  });

  it('writes no mark by default, as before the setting', () => {
    const config = loadConfig(validEnv({ EXPORT_FORMAT: 'csv' }));
    expect(config.csvBom).toBe(false);
    expect(
      csvBytes({ bom: config.csvBom, formulaGuard: config.csvFormulaGuard }).subarray(0, 2).toString(),
    ).toBe('id');
  });
});

describe('CSV for spreadsheets: EXPORT_CSV_FORMULA_GUARD', () => {
  it("puts a ' before a formula or a + phone number by default (OWASP)", () => {
    const config = loadConfig(validEnv());
    expect(config.csvFormulaGuard).toBe('apostrophe');
    const rows = parse<Record<string, string>>(
      csvBytes({ bom: false, formulaGuard: config.csvFormulaGuard }),
      { columns: true },
    );
    expect(rows[0]).toMatchObject({ mobilePhone: "'+1 425 555 0100", department: "'=1+1" });
  });

  it('with none, writes every cell as Graph gave it', () => {
    const config = loadConfig(validEnv({ EXPORT_CSV_FORMULA_GUARD: 'none' }));
    const rows = parse<Record<string, string>>(
      csvBytes({ bom: false, formulaGuard: config.csvFormulaGuard }),
      { columns: true },
    );
    expect(rows.map((row) => [row['mobilePhone'], row['department']])).toEqual([
      ['+1 425 555 0100', '=1+1'],
      ['', 'R&D'],
    ]);
  });

  it('refuses another value, and a BOM setting that is not true or false, naming both settings', () => {
    let thrown: unknown;
    try {
      loadConfig(validEnv({ EXPORT_CSV_FORMULA_GUARD: 'tab', EXPORT_CSV_BOM: 'yes' }));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as Error).message).toMatch(/EXPORT_CSV_FORMULA_GUARD[^\n]*apostrophe, none/);
    expect((thrown as Error).message).toMatch(/EXPORT_CSV_BOM[^\n]*true or false/);
  });
});
