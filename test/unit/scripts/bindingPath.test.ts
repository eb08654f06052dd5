import { describe, expect, it } from 'vitest';

import { formatDateTime, resolveBindingPath } from '../../../scripts/localHost/bindingPath.js';
import { blobLayout } from '../../../src/export/blobLayout.js';

const at = new Date('2026-03-07T04:05:06.789Z');

describe('resolveBindingPath', () => {
  it('resolves the snapshot paths the function declares to one folder per run', () => {
    const layout = blobLayout('entra-users', 'csv.gz');
    expect(resolveBindingPath(layout.snapshotUsers, {}, at)).toBe(
      'entra-users/snapshots/2026/03/07/040506/users.csv.gz',
    );
    expect(resolveBindingPath(layout.snapshotManifest, {}, at)).toBe(
      'entra-users/snapshots/2026/03/07/040506/manifest.json',
    );
  });

  it('resolves %SETTING%, {DateTime} in the host default format, and {rand-guid}', () => {
    const path = resolveBindingPath(
      '%EXPORT_CONTAINER%/{DateTime}/{rand-guid}.json',
      { EXPORT_CONTAINER: 'c1' },
      at,
    );
    expect(path).toMatch(/^c1\/2026-03-07T04-05-06Z\/[0-9a-f-]{36}\.json$/);
  });

  it('names the missing app setting', () => {
    expect(() => resolveBindingPath('%NOPE%/x', {}, at)).toThrow(
      /uses %NOPE%, but the app setting NOPE is not set/,
    );
  });

  it('formats .NET custom date strings, with quoted literals', () => {
    expect(formatDateTime(at, "yyyy-MM-dd'T'HH:mm:ss.fff")).toBe('2026-03-07T04:05:06.789');
    expect(formatDateTime(at, 'yy/M/d H:m:s')).toBe('26/3/7 4:5:6');
  });
});
