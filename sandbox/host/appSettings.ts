import { existsSync, readFileSync } from 'node:fs';

import { type Env, isPlaceholder, SETTING_NAMES, type SettingName, SETTINGS } from '../../src/settings.js';

/**
 * App settings as Core Tools sees them: the process environment first, then the `Values` of
 * local.settings.json for anything the environment leaves unset.
 */
export function readSettings(environment: Env, localSettingsPath: string): Env {
  if (!existsSync(localSettingsPath)) return environment;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(localSettingsPath, 'utf8'));
  } catch (error) {
    throw new Error(`${localSettingsPath} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  const values = (parsed as { Values?: unknown }).Values;
  if (typeof values !== 'object' || values === null) return environment;
  const fromFile = Object.fromEntries(
    Object.entries(values).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
  );
  const fromEnvironment = Object.fromEntries(
    Object.entries(environment).filter(([, value]) => value !== undefined),
  );
  return { ...fromFile, ...fromEnvironment };
}

/** Settings that say which tenant to export; with none of them, the runner uses the sandbox. */
export const TENANT_SETTINGS = [
  'KEY_VAULT_URL',
  'GRAPH_TENANT_ID',
  'GRAPH_CLIENT_ID',
  'GRAPH_CLIENT_SECRET_NAME',
  'GRAPH_CLIENT_CERTIFICATE_NAME',
] as const satisfies readonly SettingName[];

export function namesATenant(settings: Env): boolean {
  return TENANT_SETTINGS.some((name) => (settings[name] ?? '').trim() !== '');
}

/** The settings that still hold local.settings.example.json's placeholders, as `NAME "value"`. */
export function placeholderSettings(settings: Env): string[] {
  return SETTING_NAMES.filter((name) => isPlaceholder(name, settings[name] ?? '')).map((name) =>
    SETTINGS[name].secret ? name : `${name} "${settings[name] ?? ''}"`,
  );
}
