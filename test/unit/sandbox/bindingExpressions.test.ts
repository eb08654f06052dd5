import { describe, expect, it } from 'vitest';

import { formatDateTime, resolveBindingPath } from '../../../sandbox/host/bindingExpressions.js';
import { blobLayout } from '../../../src/export/blobLayout.js';

const at = new Date('2026-03-07T04:05:06.789Z');
const fixed = () => at;

describe('resolveBindingPath', () => {
  it('resolves the paths the function declares to themselves: no clock reading decides where a run goes', () => {
    const layout = blobLayout({ container: 'entra-users', format: 'csv', compression: 'gzip' });
    const clockRead = () => {
      throw new Error('the clock was read');
    };
    expect(resolveBindingPath(layout.latestUsers, {}, clockRead)).toBe('entra-users/latest/users.csv.gz');
    expect(resolveBindingPath(layout.latestManifest, {}, clockRead)).toBe('entra-users/latest/manifest.json');
  });

  it('like the host, reads the clock once per {DateTime} token, so a path can straddle midnight', () => {
    const readings = [new Date('2026-12-31T23:59:59.999Z'), new Date('2027-01-01T00:00:00.001Z')];
    let read = 0;
    const clock = () => readings[Math.min(read++, readings.length - 1)]!;
    expect(resolveBindingPath('c/{DateTime:yyyy}/{DateTime:MM}/{DateTime:dd}', {}, clock)).toBe(
      'c/2026/01/01',
    );
    expect(read).toBe(3);
  });

  it("resolves %SETTING%, {DateTime} in the host's default format, and {rand-guid}", () => {
    const path = resolveBindingPath(
      '%EXPORT_CONTAINER%/{DateTime}/{rand-guid}.json',
      { EXPORT_CONTAINER: 'c1' },
      fixed,
    );
    expect(path).toMatch(/^c1\/2026-03-07T04-05-06Z\/[0-9a-f-]{36}\.json$/);
  });

  it('names the missing app setting', () => {
    expect(() => resolveBindingPath('%NOPE%/x', {}, fixed)).toThrow(
      /uses %NOPE%, but the app setting NOPE is not set/,
    );
  });

  it('formats .NET custom date strings, with quoted literals', () => {
    expect(formatDateTime(at, "yyyy-MM-dd'T'HH:mm:ss.fff")).toBe('2026-03-07T04:05:06.789');
    expect(formatDateTime(at, 'yy/M/d H:m:s')).toBe('26/3/7 4:5:6');
  });
});
