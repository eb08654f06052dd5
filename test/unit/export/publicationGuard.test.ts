import { describe, expect, it } from 'vitest';

import { ExportError } from '../../../src/errors.js';
import { checkPublication, readPreviousExport } from '../../../src/export/publicationGuard.js';

const now = new Date('2026-11-25T02:00:00Z');
const previous = (userCount: number, filter: string | null = null) =>
  readPreviousExport(Buffer.from(JSON.stringify({ userCount, generatedAt: '2026-11-24T02:00:00Z', filter })));
const config = (overrides: Partial<Parameters<typeof checkPublication>[2]> = {}) => ({
  shrinkLimit: { kind: 'percent', value: 10 } as const,
  acceptShrinkUntil: undefined,
  filter: undefined,
  ...overrides,
});

function refusal(run: () => unknown): ExportError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ExportError);
    return error as ExportError;
  }
  throw new Error('expected the guard to refuse');
}

describe('the publication guard', () => {
  it('publishes the first export (no manifest yet)', () => {
    expect(checkPublication(readPreviousExport(null), 0, config(), now)).toMatchObject({
      decision: 'first-export',
    });
  });

  it('publishes growth and drops within the limit', () => {
    expect(checkPublication(previous(1000), 1200, config(), now).decision).toBe('within-limit');
    expect(checkPublication(previous(1000), 900, config(), now).decision).toBe('within-limit');
  });

  it('refuses a drop beyond the limit, naming the setting and the override, with a stable code', () => {
    const error = refusal(() => checkPublication(previous(1000), 899, config(), now));
    expect(error.code).toBe('GuardRefused');
    expect(error.message).toMatch(
      /found 899 users where the last export .* has 1000, a drop of 101 \(10\.1%\), more than EXPORT_SHRINK_LIMIT \(10%\)/,
    );
    expect(error.message).toMatch(/EXPORT_ACCEPT_SHRINK_UNTIL to a UTC time .* such as 2026-11-25T04:00:00Z/);
  });

  it('refuses a drop to zero whatever the limit', () => {
    const error = refusal(() =>
      checkPublication(previous(3), 0, config({ shrinkLimit: { kind: 'percent', value: 100 } }), now),
    );
    expect(error.message).toMatch(/to none at all/);
  });

  it('takes a limit in users as well as in percent', () => {
    const limit = { shrinkLimit: { kind: 'users', value: 500 } } as const;
    expect(checkPublication(previous(100_000), 99_500, config(limit), now).decision).toBe('within-limit');
    refusal(() => checkPublication(previous(100_000), 99_499, config(limit), now));
  });

  it('accepts a refused drop until EXPORT_ACCEPT_SHRINK_UNTIL, and not after', () => {
    const until = new Date('2026-11-25T03:00:00Z');
    expect(checkPublication(previous(1000), 10, config({ acceptShrinkUntil: until }), now).decision).toBe(
      'accepted-by-override',
    );
    refusal(() =>
      checkPublication(
        previous(1000),
        10,
        config({ acceptShrinkUntil: until }),
        new Date('2026-11-25T03:00:01Z'),
      ),
    );
  });

  it('says when EXPORT_FILTER changed, and judges the drop like any other', () => {
    const error = refusal(() =>
      checkPublication(previous(1000, null), 10, config({ filter: "userType eq 'Guest'" }), now),
    );
    expect(error.message).toMatch(/EXPORT_FILTER changed since then \(was none\)/);
  });

  it('publishes without a comparison when the last manifest cannot be read', () => {
    expect(readPreviousExport('not json')).toEqual({ state: 'unreadable', reason: 'it is not JSON' });
    expect(readPreviousExport('{"users":1}')).toEqual({ state: 'unreadable', reason: 'it has no userCount' });
    expect(checkPublication(readPreviousExport('not json'), 1, config(), now).decision).toBe('no-baseline');
  });

  it('reads the size of every blob the last manifest names: what that run handed to the host in one message', () => {
    const reading = readPreviousExport(
      JSON.stringify({
        userCount: 2,
        bytes: 10,
        blobs: {
          users: { name: 'latest/users.json', bytes: 10, sha256: 'a'.repeat(64) },
          changes: { name: 'latest/changes.ndjson', bytes: 3, sha256: 'b'.repeat(64) },
          state: { name: 'state/users.ndjson.gz', bytes: 7, sha256: 'c'.repeat(64) },
          deltaState: null,
        },
      }),
    );
    expect(reading.state === 'found' && reading.previous.blobBytes).toEqual([10, 3, 7]);
  });
});
