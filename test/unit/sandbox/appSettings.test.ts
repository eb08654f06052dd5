import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { namesATenant, readSettings } from '../../../sandbox/host/appSettings.js';

function settingsFile(content: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'settings-')), 'local.settings.json');
  writeFileSync(path, content);
  return path;
}

describe('readSettings', () => {
  it('takes the environment first, then local.settings.json Values', () => {
    const path = settingsFile(
      JSON.stringify({ IsEncrypted: false, Values: { EXPORT_FORMAT: 'csv', GRAPH_CLIENT_ID: 'from-file' } }),
    );
    expect(readSettings({ GRAPH_CLIENT_ID: 'from-env' }, path)).toMatchObject({
      EXPORT_FORMAT: 'csv',
      GRAPH_CLIENT_ID: 'from-env',
    });
  });

  it('works without the file, and says which file is not JSON', () => {
    expect(readSettings({ A: 'b' }, '/nonexistent/local.settings.json')).toEqual({ A: 'b' });
    const path = settingsFile('{ not json');
    expect(() => readSettings({}, path)).toThrow(`${path} is not valid JSON`);
  });
});

describe('namesATenant', () => {
  it('is false with only export options, so the demo can use them', () => {
    expect(namesATenant({ EXPORT_FORMAT: 'csv' })).toBe(false);
    expect(namesATenant({ GRAPH_TENANT_ID: 'contoso.onmicrosoft.com' })).toBe(true);
  });
});
