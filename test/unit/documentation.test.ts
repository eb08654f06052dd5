import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { localSettingsExample, readmeTableRows, settingsTableRows } from '../../scripts/docs/settingsDocs.js';
import { SETTING_NAMES, SETTINGS } from '../../src/settings.js';

const ROOT = join(import.meta.dirname, '..', '..');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const example = JSON.parse(readFileSync(join(ROOT, 'local.settings.example.json'), 'utf8')) as unknown;

describe('the documentation of settings (run `npm run docs` after changing src/settings.ts)', () => {
  it("the README's configuration table is the settings table, defaults included", () => {
    expect(readmeTableRows(readme)).toEqual(settingsTableRows());
  });

  it('every setting is in the table, each once', () => {
    expect(readmeTableRows(readme).map((row) => row[0])).toEqual(SETTING_NAMES.map((name) => `\`${name}\``));
  });

  it('local.settings.example.json holds every local setting with its documented value', () => {
    expect(example).toEqual(localSettingsExample());
    const values = (example as { Values: Record<string, string> }).Values;
    for (const name of SETTING_NAMES) {
      const { default: fallback, example: documented } = SETTINGS[name];
      if (documented !== undefined && fallback !== undefined) expect(values[name], name).toBe(fallback);
    }
  });
});
