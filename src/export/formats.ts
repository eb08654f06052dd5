import { stringify } from 'csv-stringify/sync';

import type { CsvFormulaGuard, ExportFormat } from '../settings.js';
import { csvColumns, flattenUser, MANAGER_FIELDS, MANAGER_PROPERTY } from './columns.js';

/** A user as Graph returns it: the selected properties, any JSON values. */
export type GraphUser = Readonly<Record<string, unknown>>;

/**
 * Turns users into bytes page by page, so a run never holds more than one page of users
 * and never builds one giant string.
 */
export interface UserSerializer {
  readonly contentType: string;
  /** Bytes for one page of users; the first call also carries the format's opening. */
  page(users: readonly GraphUser[]): Buffer;
  /**
   * The same for a page already projected: each user's line is `JSON.stringify(projector(...)(user))`
   * (the run has it for its state), so JSON and NDJSON reuse it; `users` is read only by a format
   * that needs the objects.
   */
  pageOfLines(lines: readonly string[], users: () => readonly GraphUser[]): Buffer;
  /** The format's closing bytes (an empty buffer where there are none). */
  end(): Buffer;
}

/**
 * A user as exported: exactly the selected properties, in the selected order, and nothing else
 * Graph may have sent (`@odata.*` annotations, properties nobody asked for). A property Graph
 * left out is null, as Graph writes an unset selected property.
 */
export function projector(columns: readonly string[]): (user: GraphUser) => GraphUser {
  return (user) => {
    const projected: Record<string, unknown> = {};
    for (const column of columns) {
      projected[column] = column === MANAGER_PROPERTY ? projectManager(user[column]) : (user[column] ?? null);
    }
    return projected;
  };
}

/** The expanded manager as selected, without Graph's `@odata.type`; null when there is none. */
function projectManager(value: unknown): Record<string, unknown> | null {
  if (typeof value !== 'object' || value === null) return null;
  const manager = value as Record<string, unknown>;
  return Object.fromEntries(MANAGER_FIELDS.map((field) => [field, manager[field] ?? null]));
}

/** How a CSV export is written for the tools that open it (EXPORT_CSV_BOM, EXPORT_CSV_FORMULA_GUARD). */
export interface CsvOptions {
  bom: boolean;
  formulaGuard: CsvFormulaGuard;
}

/** The CSV the export has always written: no byte order mark, formulas neutralised. */
const DEFAULT_CSV: CsvOptions = { bom: false, formulaGuard: 'apostrophe' };

/**
 * JSON text as every export writes it, state lines included. Two things JSON.stringify leaves
 * that break readers of a UTF-8 file: U+2028 and U+2029 written raw (legal JSON, but a reader
 * that splits on Unicode line breaks, JavaScript source before ES2019, sees a line end there),
 * which are escaped; and a lone surrogate, which it writes as a `\ud800` escape that names no
 * character, so many parsers refuse or mangle it, and which UTF-8 cannot encode at all: it becomes
 * U+FFFD, the replacement character, as it does in CSV (UTF-8 encoding replaces it), so a lone
 * surrogate reads the same in every format.
 */
export function jsonText(value: unknown): string {
  const text = JSON.stringify(value);
  return NEEDS_ESCAPING.test(text) ? text.replace(ESCAPED, escapeMatch) : text;
}

/** The user's line: what the state keeps and JSON and NDJSON write. */
export function lineProjector(columns: readonly string[]): (user: GraphUser) => string {
  const project = projector(columns);
  return (user) => jsonText(project(user));
}

const NEEDS_ESCAPING = /[\u2028\u2029]|\\ud[89a-f]/;
/** U+2028, U+2029, or JSON.stringify's escape of a lone surrogate (not itself an escaped backslash). */
const ESCAPED = /[\u2028\u2029]|(?<!\\)((?:\\\\)*)\\ud[89a-f][0-9a-f]{2}/g;

function escapeMatch(match: string, backslashes: string | undefined): string {
  if (match === '\u2028') return '\\u2028';
  if (match === '\u2029') return '\\u2029';
  return `${backslashes ?? ''}\ufffd`;
}

export function createSerializer(
  format: ExportFormat,
  columns: readonly string[],
  csv: CsvOptions = DEFAULT_CSV,
): UserSerializer {
  const lineOf = lineProjector(columns);
  const lineSerializer = (
    contentType: string,
    pageOfLines: (lines: readonly string[]) => Buffer,
    end: () => Buffer,
  ): UserSerializer => ({
    contentType,
    page: (users) => pageOfLines(users.map(lineOf)),
    pageOfLines,
    end,
  });
  switch (format) {
    case 'json':
      return createJsonArraySerializer(lineSerializer);
    case 'ndjson':
      return lineSerializer(
        'application/x-ndjson',
        (lines) => Buffer.from(lines.length === 0 ? '' : `${lines.join('\n')}\n`),
        () => Buffer.alloc(0),
      );
    case 'csv':
      return createCsvSerializer(columns, csv);
  }
}

function createJsonArraySerializer(
  lineSerializer: (
    contentType: string,
    pageOfLines: (lines: readonly string[]) => Buffer,
    end: () => Buffer,
  ) => UserSerializer,
): UserSerializer {
  let started = false;
  let wroteUser = false;
  return lineSerializer(
    'application/json',
    (lines) => {
      let text = started ? '' : '[';
      started = true;
      if (lines.length > 0) {
        text += `${wroteUser ? ',' : ''}\n${lines.join(',\n')}`;
        wroteUser = true;
      }
      return Buffer.from(text);
    },
    () => Buffer.from(`${started ? '' : '['}\n]\n`),
  );
}

/**
 * A cell a spreadsheet could run as a formula (OWASP, CSV injection): one whose first non-blank
 * character is = + - or @, or which starts with a tab, CR or LF. It gets a leading apostrophe.
 * Blank is Unicode's White_Space (U+0085, which `\s` misses, U+00A0, U+3000 ...) and the
 * invisible zero-width characters (U+200B-U+200D, U+2060, U+FEFF) a pasted value may carry.
 */
const FORMULA_START = /^(?:[\t\r\n]|[\p{White_Space}\u200b-\u200d\u2060\ufeff]*[=+\-@])/u;

export function neutraliseFormula(text: string): string {
  return FORMULA_START.test(text) ? `'${text}` : text;
}

/**
 * RFC 4180 CSV (CRLF, quoted where needed), one column per selected property, and one per field
 * of the objects Graph returns (`signInActivity.lastSignInDateTime`, `manager.displayName`). An
 * array is written as its JSON text (`["a; b"]` and `["a","b"]` stay apart, and JSON.parse reads
 * it back); any other object likewise; text is neutralised where a spreadsheet would run it.
 */
function createCsvSerializer(properties: readonly string[], csv: CsvOptions): UserSerializer {
  let wroteHeader = false;
  const columns = csvColumns(properties);
  const options = {
    columns,
    record_delimiter: 'windows' as const,
    quote_record_delimiter: true,
    cast: {
      boolean: (value: boolean) => String(value),
      string: csv.formulaGuard === 'apostrophe' ? neutraliseFormula : (value: string) => value,
      object: (value: Record<string, unknown>) => jsonText(value),
    },
  };
  const header = () => {
    wroteHeader = true;
    // U+FEFF encoded as UTF-8 (EF BB BF): how Excel tells a UTF-8 file from the ANSI code page.
    return (csv.bom ? '\ufeff' : '') + stringify([columns], { record_delimiter: 'windows' });
  };
  const page = (users: readonly GraphUser[]) => {
    const rows = users.map((user) => flattenUser(user, properties));
    const text = (wroteHeader ? '' : header()) + stringify(rows, options);
    return Buffer.from(text);
  };
  return {
    contentType: 'text/csv; charset=utf-8',
    page,
    pageOfLines: (_lines, users) => page(users()),
    end: () => Buffer.from(wroteHeader ? '' : header()),
  };
}
