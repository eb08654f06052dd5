import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';

import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DEFAULT_SELECT } from '../../src/settings.js';
import type { ExportManifest } from '../../src/export/manifest.js';
import { type Environment, expectedUsers, startEnvironment } from './harness.js';

const USERS = 25_000;
let env: Environment;
beforeAll(async () => {
  env = await startEnvironment({ users: USERS });
});
afterAll(async () => env.stop());

async function latest(name: string): Promise<Buffer> {
  return env.container.getBlobClient(`latest/${name}`).downloadToBuffer();
}

/** A cell a spreadsheet would run as a formula (OWASP): the export must never write one. */
const FORMULA = /^(?:[\t\r\n]|\s*[=+\-@])/;

/** CSV cells back to the values Graph sent: what a spreadsheet user would read. */
function fromCsvCell(name: string, cell: string): unknown {
  const value = cell.startsWith("'") && FORMULA.test(cell.slice(1)) ? cell.slice(1) : cell;
  if (name === 'businessPhones') return JSON.parse(value) as unknown;
  if (name === 'accountEnabled') return value === 'true';
  return value === '' ? null : value;
}

describe(`a directory of ${USERS} users`, () => {
  it.each([
    ['json', 'none'],
    ['json', 'gzip'],
    ['ndjson', 'none'],
    ['ndjson', 'gzip'],
    ['csv', 'none'],
    ['csv', 'gzip'],
  ] as const)('is exported exactly once per user as %s, compression %s', async (format, compression) => {
    const run = await env.runExport({ EXPORT_FORMAT: format, EXPORT_COMPRESS: compression });
    expect(run.exitCode, run.output).toBe(0);
    const blobName = `users.${format}${compression === 'gzip' ? '.gz' : ''}`;
    const stored = await latest(blobName);
    const manifest = JSON.parse((await latest('manifest.json')).toString('utf8')) as ExportManifest;
    expect(manifest).toMatchObject({
      userCount: USERS,
      pages: Math.ceil(USERS / 999),
      blobName,
      bytes: stored.length,
      format,
      compression,
    });
    expect(manifest.sha256).toBe(createHash('sha256').update(stored).digest('hex'));

    const text = (compression === 'gzip' ? gunzipSync(stored) : stored).toString('utf8');
    const expected = expectedUsers(env.sandbox, DEFAULT_SELECT);
    if (format === 'json') expect(JSON.parse(text)).toEqual(expected);
    if (format === 'ndjson')
      expect(
        text
          .trimEnd()
          .split('\n')
          .map((line) => JSON.parse(line) as unknown),
      ).toEqual(expected);
    if (format === 'csv') {
      const rows: Record<string, string>[] = parse(text, { columns: true, record_delimiter: '\r\n' });
      const formulas = rows.flatMap((row) => Object.values(row).filter((cell) => FORMULA.test(cell)));
      expect(formulas).toEqual([]);
      expect(rows.some((row) => row['department']!.startsWith("' =HYPERLINK"))).toBe(true);
      expect(
        rows.map((row) =>
          Object.fromEntries(DEFAULT_SELECT.map((name) => [name, fromCsvCell(name, row[name]!)])),
        ),
      ).toEqual(expected.map((user) => ({ ...user, accountEnabled: user['accountEnabled'] === true })));
    }
    expect(new Set(expected.map((user) => user['id'])).size).toBe(USERS);
  });

  it('sends $select and $filter to Graph as configured, and exports only what they return', async () => {
    const requestsBefore = env.sandbox.graph.requests.length;
    const run = await env.runExport({
      EXPORT_SELECT: 'id,userPrincipalName,userType',
      EXPORT_FILTER: "userType eq 'Guest'",
      // Guests only is a deliberate twentieth of the export before it: the guard would refuse it.
      EXPORT_SHRINK_LIMIT: '100%',
    });
    expect(run.exitCode, run.output).toBe(0);
    const requests = env.sandbox.graph.requests.slice(requestsBefore);
    expect(requests.length).toBeGreaterThan(0);
    for (const request of requests) {
      expect(request.query).toMatchObject({
        $top: '999',
        $select: 'id,userPrincipalName,userType',
        $filter: "userType eq 'Guest'",
      });
    }
    const users = JSON.parse((await latest('users.json')).toString('utf8')) as Record<string, unknown>[];
    const guests = expectedUsers(
      env.sandbox,
      ['id', 'userPrincipalName', 'userType'],
      (index) => env.sandbox.directory.user(index).userType === 'Guest',
    );
    expect(guests.length).toBeGreaterThan(100);
    expect(users).toEqual(guests);
  });
});
