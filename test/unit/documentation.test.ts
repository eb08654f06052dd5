import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { SETTING_NAMES } from '../../src/config.js';

const ROOT = join(import.meta.dirname, '..', '..');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const configurationTable = readme.slice(
  readme.indexOf('## Configuration'),
  readme.indexOf('## App registration'),
);
const example = JSON.parse(readFileSync(join(ROOT, 'local.settings.example.json'), 'utf8')) as {
  Values: Record<string, string>;
};

/** Settings that only make sense in Azure (identity-based), not with Azurite on a laptop. */
const AZURE_ONLY = [
  'EXPORT_STORAGE__blobServiceUri',
  'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
  'AZURE_CLIENT_ID',
];

describe('the documentation of settings', () => {
  it("lists every setting in the README's configuration table", () => {
    expect(SETTING_NAMES.filter((name) => !configurationTable.includes(`| \`${name}\``))).toEqual([]);
  });

  it('holds every local setting in local.settings.example.json', () => {
    const expected = SETTING_NAMES.filter((name) => !AZURE_ONLY.includes(name));
    expect(expected.filter((name) => !(name in example.Values))).toEqual([]);
  });
});
