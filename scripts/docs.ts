/**
 * `npm run docs`: rewrites what is derived from the settings table (src/settings.ts): the
 * configuration table in docs/configuration.md and local.settings.example.json. The documentation
 * test fails until it runs. It says which files it changed, or that none needed it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { format, resolveConfig } from 'prettier';

import {
  CONFIGURATION_PAGE,
  localSettingsExample,
  settingsTableMarkdown,
  TABLE_END,
  TABLE_START,
} from './docs/settingsDocs.js';

const ROOT = join(import.meta.dirname, '..', '..');

/** Writes `text` to `path` unless it already holds it; true when it wrote. */
function writeIfChanged(path: string, text: string): boolean {
  let current: string | undefined;
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    current = undefined;
  }
  if (current === text) return false;
  writeFileSync(path, text);
  return true;
}

async function main(): Promise<void> {
  const pagePath = join(ROOT, CONFIGURATION_PAGE);
  const page = readFileSync(pagePath, 'utf8');
  const start = page.indexOf(TABLE_START);
  const end = page.indexOf(TABLE_END);
  if (start < 0 || end < start)
    throw new Error(`${CONFIGURATION_PAGE} needs the markers ${TABLE_START} and ${TABLE_END}.`);
  const updated = `${page.slice(0, start + TABLE_START.length)}\n\n${settingsTableMarkdown()}\n\n${page.slice(end)}`;
  const style = (await resolveConfig(pagePath)) ?? {};
  const changed: string[] = [];
  if (writeIfChanged(pagePath, await format(updated, { ...style, parser: 'markdown', filepath: pagePath })))
    changed.push(`${CONFIGURATION_PAGE} (configuration table)`);

  const examplePath = join(ROOT, 'local.settings.example.json');
  const example = await format(JSON.stringify(localSettingsExample()), {
    ...style,
    parser: 'json',
    filepath: examplePath,
  });
  if (writeIfChanged(examplePath, example)) changed.push('local.settings.example.json');
  console.log(
    changed.length > 0
      ? `Updated ${changed.join(' and ')} from src/settings.ts.`
      : `${CONFIGURATION_PAGE} and local.settings.example.json already match src/settings.ts; nothing changed.`,
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
