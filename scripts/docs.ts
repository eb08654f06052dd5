/**
 * `npm run docs`: rewrites what is derived from the settings table (src/settings.ts): the README's
 * configuration table and local.settings.example.json. The documentation test fails until it runs.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { format, resolveConfig } from 'prettier';

import { localSettingsExample, settingsTableMarkdown, TABLE_END, TABLE_START } from './docs/settingsDocs.js';

const ROOT = join(import.meta.dirname, '..', '..');

async function main(): Promise<void> {
  const readmePath = join(ROOT, 'README.md');
  const readme = readFileSync(readmePath, 'utf8');
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start)
    throw new Error(`README.md needs the markers ${TABLE_START} and ${TABLE_END}.`);
  const updated = `${readme.slice(0, start + TABLE_START.length)}\n\n${settingsTableMarkdown()}\n\n${readme.slice(end)}`;
  const style = (await resolveConfig(readmePath)) ?? {};
  writeFileSync(readmePath, await format(updated, { ...style, parser: 'markdown', filepath: readmePath }));

  const examplePath = join(ROOT, 'local.settings.example.json');
  writeFileSync(
    examplePath,
    await format(JSON.stringify(localSettingsExample()), { ...style, parser: 'json', filepath: examplePath }),
  );
  console.log(
    'Updated README.md (configuration table) and local.settings.example.json from src/settings.ts.',
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
