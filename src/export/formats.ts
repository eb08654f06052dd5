import { stringify } from 'csv-stringify/sync';

import type { ExportFormat } from '../settings.js';

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
  /** The format's closing bytes (an empty buffer where there are none). */
  end(): Buffer;
}

export function createSerializer(format: ExportFormat, columns: readonly string[]): UserSerializer {
  switch (format) {
    case 'json':
      return createJsonArraySerializer();
    case 'ndjson':
      return {
        contentType: 'application/x-ndjson',
        page: (users) => Buffer.from(users.map((user) => `${JSON.stringify(user)}\n`).join('')),
        end: () => Buffer.alloc(0),
      };
    case 'csv':
      return createCsvSerializer(columns);
  }
}

function createJsonArraySerializer(): UserSerializer {
  let started = false;
  let wroteUser = false;
  return {
    contentType: 'application/json',
    page(users) {
      let text = started ? '' : '[';
      started = true;
      for (const user of users) {
        text += `${wroteUser ? ',' : ''}\n${JSON.stringify(user)}`;
        wroteUser = true;
      }
      return Buffer.from(text);
    },
    end: () => Buffer.from(`${started ? '' : '['}\n]\n`),
  };
}

/** RFC 4180 CSV (CRLF, quoted where needed), one column per selected property. */
function createCsvSerializer(columns: readonly string[]): UserSerializer {
  let wroteHeader = false;
  const options = {
    columns: [...columns],
    record_delimiter: 'windows' as const,
    quote_record_delimiter: true,
    // A cell that starts with = + - @ (or a tab or CR) would run as a formula in Excel.
    escape_formulas: true,
    cast: {
      boolean: (value: boolean) => String(value),
      object: (value: Record<string, unknown>) =>
        Array.isArray(value) ? value.map(formatArrayItem).join('; ') : JSON.stringify(value),
    },
  };
  const header = () => {
    wroteHeader = true;
    return stringify([columns], { record_delimiter: 'windows' });
  };
  return {
    contentType: 'text/csv; charset=utf-8',
    page(users) {
      const text = (wroteHeader ? '' : header()) + stringify([...users], options);
      return Buffer.from(text);
    },
    end: () => Buffer.from(wroteHeader ? '' : header()),
  };
}

function formatArrayItem(item: unknown): string {
  if (item === null || item === undefined) return '';
  if (typeof item === 'string') return item;
  return JSON.stringify(item);
}
