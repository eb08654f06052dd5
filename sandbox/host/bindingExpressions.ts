import { randomUUID } from 'node:crypto';

import type { Env } from '../../src/settings.js';

/**
 * Resolves a blob output binding path as the Functions host does: `%SETTING%` from app settings,
 * `{rand-guid}`, and `{DateTime}` / `{DateTime:<.NET custom format>}` in UTC, each token with its
 * own clock reading, taken when the output is bound (after the function returned), as the host's
 * `BindingParameterResolver.DateTimeResolver` reads `SystemBindingData.UtcNow` per token.
 */
export function resolveBindingPath(path: string, env: Env, clock: () => Date): string {
  const withSettings = path.replace(/%([^%]+)%/g, (_match, name: string) => {
    const value = env[name];
    if (value === undefined || value === '') {
      throw new Error(`The binding path "${path}" uses %${name}%, but the app setting ${name} is not set.`);
    }
    return value;
  });
  return withSettings.replace(
    /\{([^{}:]+)(?::([^{}]+))?\}/g,
    (match, name: string, format: string | undefined) => {
      const lower = name.toLowerCase();
      if (lower === 'rand-guid') return randomUUID();
      // The host's default is ISO 8601 with dashes, `yyyy-MM-ddTHH-mm-ssK`; K is Z for UTC.
      if (lower === 'datetime') return formatDateTime(clock(), format ?? "yyyy-MM-ddTHH-mm-ss'Z'");
      throw new Error(
        `The binding path "${path}" uses ${match}, which a timer-triggered function has no value for.`,
      );
    },
  );
}

const DOTNET_TOKENS: Record<string, (date: Date) => string> = {
  yyyy: (d) => String(d.getUTCFullYear()).padStart(4, '0'),
  yy: (d) => String(d.getUTCFullYear() % 100).padStart(2, '0'),
  MM: (d) => String(d.getUTCMonth() + 1).padStart(2, '0'),
  M: (d) => String(d.getUTCMonth() + 1),
  dd: (d) => String(d.getUTCDate()).padStart(2, '0'),
  d: (d) => String(d.getUTCDate()),
  HH: (d) => String(d.getUTCHours()).padStart(2, '0'),
  H: (d) => String(d.getUTCHours()),
  mm: (d) => String(d.getUTCMinutes()).padStart(2, '0'),
  m: (d) => String(d.getUTCMinutes()),
  ss: (d) => String(d.getUTCSeconds()).padStart(2, '0'),
  s: (d) => String(d.getUTCSeconds()),
  fff: (d) => String(d.getUTCMilliseconds()).padStart(3, '0'),
};
const TOKEN_PATTERN = /yyyy|yy|MM|M|dd|d|HH|H|mm|m|ss|s|fff|'[^']*'|\\./g;

/** The subset of .NET custom date and time format strings that blob paths use. */
export function formatDateTime(date: Date, format: string): string {
  return format.replace(TOKEN_PATTERN, (token) => {
    if (token.startsWith("'")) return token.slice(1, -1);
    if (token.startsWith('\\')) return token.slice(1);
    return DOTNET_TOKENS[token]!(date);
  });
}
