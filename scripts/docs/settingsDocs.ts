import { type Deployment, type Setting, SETTING_NAMES, SETTINGS } from '../../src/settings.js';

export const TABLE_START = '<!-- settings table: generated from src/settings.ts by `npm run docs` -->';
export const TABLE_END = '<!-- end of settings table -->';

const HEADER = ['setting', 'required', 'default', 'deployed (infra/main.bicep)', 'example / meaning'];

function deploymentCell(deployment: Deployment): string {
  if ('parameter' in deployment) {
    return deployment.deployedDefault
      ? `parameter \`${deployment.parameter}\` (default \`${deployment.deployedDefault.value}\`: ${deployment.deployedDefault.why})`
      : `parameter \`${deployment.parameter}\``;
  }
  if ('fromResource' in deployment) return `from ${deployment.fromResource}`;
  if ('fromParameter' in deployment) return `parameter \`${deployment.fromParameter}\`: ${deployment.how}`;
  return `not set: ${deployment.notDeployed}`;
}

/** The page that holds the configuration table, from the repository root. */
export const CONFIGURATION_PAGE = 'docs/configuration.md';

/** One table row per setting, as cells. */
export function settingsTableRows(): string[][] {
  return SETTING_NAMES.map((name) => {
    const definition: Setting<unknown> = SETTINGS[name];
    return [
      `\`${name}\``,
      definition.required,
      definition.default === undefined ? '' : `\`${definition.default}\``,
      deploymentCell(definition.deployment),
      definition.description,
    ];
  });
}

/** The configuration table in Markdown (Prettier aligns it). */
export function settingsTableMarkdown(): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(HEADER), line(HEADER.map(() => '---')), ...settingsTableRows().map(line)].join('\n');
}

/** The cells of the table between the markers in a documentation page. */
export function documentedTableRows(page: string): string[][] {
  const start = page.indexOf(TABLE_START);
  const end = page.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`${CONFIGURATION_PAGE} has no generated settings table.`);
  return markdownTableRows(page.slice(start + TABLE_START.length, end));
}

/** The body rows of the Markdown table in `text` (header and rule left out), as trimmed cells. */
export function markdownTableRows(text: string): string[][] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .slice(2)
    .map((line) =>
      line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim()),
    );
}

/** local.settings.json for `func start` against Azurite: the host's own settings, then every local one. */
export function localSettingsExample(): { IsEncrypted: false; Values: Record<string, string> } {
  const values: Record<string, string> = {
    FUNCTIONS_WORKER_RUNTIME: 'node',
    AzureWebJobsStorage: 'UseDevelopmentStorage=true',
  };
  for (const name of SETTING_NAMES) {
    const example = SETTINGS[name].example;
    if (example !== undefined) values[name] = example;
  }
  return { IsEncrypted: false, Values: values };
}
