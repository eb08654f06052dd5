import { ConfigError } from './errors.js';

export type ExportFormat = 'json' | 'ndjson' | 'csv';
export type Compression = 'none' | 'gzip';

export type GraphCredentialSource =
  { kind: 'secret'; secretName: string } | { kind: 'certificate'; certificateName: string };

export interface ExportConfig {
  keyVaultUrl: string;
  graphCredential: GraphCredentialSource;
  tenantId: string;
  clientId: string;
  /** Origin of Microsoft Graph, without a trailing slash: `https://graph.microsoft.com`. */
  graphEndpoint: string;
  authorityHost: string;
  schedule: string;
  select: readonly string[];
  filter: string | undefined;
  format: ExportFormat;
  compression: Compression;
  container: string;
  /** Partitions listed at once; 1 lists the directory on one nextLink chain. */
  parallelism: number;
}

export type Env = Readonly<Record<string, string | undefined>>;

export const DEFAULT_SCHEDULE = '0 0 2 * * *';
export const DEFAULT_CONTAINER = 'entra-users';
export const DEFAULT_GRAPH_ENDPOINT = 'https://graph.microsoft.com';
export const DEFAULT_AUTHORITY_HOST = 'https://login.microsoftonline.com';
export const DEFAULT_SELECT: readonly string[] = [
  'id',
  'displayName',
  'givenName',
  'surname',
  'userPrincipalName',
  'mail',
  'jobTitle',
  'department',
  'officeLocation',
  'mobilePhone',
  'businessPhones',
  'accountEnabled',
  'userType',
  'createdDateTime',
];

/** The storage connection's name as the blob output bindings see it. */
export const STORAGE_CONNECTION = 'EXPORT_STORAGE';

/**
 * Every app setting the product reads. The infrastructure, the README and the example local
 * settings are checked against this list, so a setting cannot be added without being deployed
 * and documented.
 */
export const SETTING_NAMES = [
  'KEY_VAULT_URL',
  'GRAPH_CLIENT_SECRET_NAME',
  'GRAPH_CLIENT_CERTIFICATE_NAME',
  'GRAPH_TENANT_ID',
  'GRAPH_CLIENT_ID',
  'GRAPH_ENDPOINT',
  'GRAPH_AUTHORITY_HOST',
  'EXPORT_SCHEDULE',
  'EXPORT_SELECT',
  'EXPORT_FILTER',
  'EXPORT_FORMAT',
  'EXPORT_COMPRESS',
  'EXPORT_CONTAINER',
  'EXPORT_PARALLELISM',
  'EXPORT_STORAGE',
  'EXPORT_STORAGE__blobServiceUri',
  'APPLICATIONINSIGHTS_CONNECTION_STRING',
  'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
  'AZURE_CLIENT_ID',
] as const;

export type SettingName = (typeof SETTING_NAMES)[number];

/** Far below Graph's budget of 8,000 requests per 10 s per app and tenant, even at 100 ms a page. */
export const MAX_PARALLELISM = 16;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DOMAIN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;
const KEY_VAULT_OBJECT_NAME = /^[0-9a-zA-Z-]{1,127}$/;
const CONTAINER_NAME = /^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
const PROPERTY_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
const FORMATS: readonly ExportFormat[] = ['json', 'ndjson', 'csv'];
const COMPRESSIONS: readonly Compression[] = ['none', 'gzip'];

/**
 * Reads and validates every setting. Returns one typed object, or throws one ConfigError that
 * lists every problem, each naming its setting.
 */
export function loadConfig(env: Env): ExportConfig {
  const problems: string[] = [];
  const read = (name: SettingName): string | undefined => {
    const value = env[name]?.trim();
    return value === '' ? undefined : value;
  };
  const required = (name: SettingName, what: string): string | undefined => {
    const value = read(name);
    if (value === undefined) problems.push(`${name} is missing: set it to ${what}.`);
    return value;
  };
  const httpsOrigin = (name: SettingName, fallback: string | undefined, what: string) => {
    const value = fallback === undefined ? required(name, what) : (read(name) ?? fallback);
    if (value === undefined) return '';
    const origin = parseHttpsOrigin(value);
    if (origin === undefined) {
      problems.push(`${name} must be an https URL with no path, such as ${what}; got "${value}".`);
      return '';
    }
    return origin;
  };

  const keyVaultUrl = httpsOrigin(
    'KEY_VAULT_URL',
    undefined,
    "the vault's URL, such as https://kv-entra-export.vault.azure.net",
  );

  const tenantId = required('GRAPH_TENANT_ID', 'the directory (tenant) ID of the app registration') ?? '';
  if (tenantId && !GUID.test(tenantId) && !DOMAIN.test(tenantId)) {
    problems.push(
      `GRAPH_TENANT_ID must be the tenant's GUID or one of its domains (contoso.onmicrosoft.com); got "${tenantId}".`,
    );
  }
  const clientId = required('GRAPH_CLIENT_ID', 'the application (client) ID of the app registration') ?? '';
  if (clientId && !GUID.test(clientId)) {
    problems.push(`GRAPH_CLIENT_ID must be the application (client) ID, a GUID; got "${clientId}".`);
  }

  const graphCredential = readGraphCredential(read, problems);
  const graphEndpoint = httpsOrigin('GRAPH_ENDPOINT', DEFAULT_GRAPH_ENDPOINT, DEFAULT_GRAPH_ENDPOINT);
  const authorityHost = httpsOrigin('GRAPH_AUTHORITY_HOST', DEFAULT_AUTHORITY_HOST, DEFAULT_AUTHORITY_HOST);

  const schedule = read('EXPORT_SCHEDULE') ?? DEFAULT_SCHEDULE;
  const scheduleProblem = describeNcrontabProblem(schedule);
  if (scheduleProblem) problems.push(`EXPORT_SCHEDULE ${scheduleProblem}`);

  const select = parseSelect(read('EXPORT_SELECT'), problems);
  const format = oneOf('EXPORT_FORMAT', read('EXPORT_FORMAT') ?? 'json', FORMATS, problems);
  const compression = oneOf('EXPORT_COMPRESS', read('EXPORT_COMPRESS') ?? 'none', COMPRESSIONS, problems);

  const container = read('EXPORT_CONTAINER') ?? DEFAULT_CONTAINER;
  if (!CONTAINER_NAME.test(container)) {
    problems.push(
      `EXPORT_CONTAINER must be a blob container name: 3-63 lowercase letters, digits and single hyphens; got "${container}".`,
    );
  }

  const parallelismText = read('EXPORT_PARALLELISM') ?? '1';
  const parallelism = Number(parallelismText);
  if (!/^\d+$/.test(parallelismText) || parallelism < 1 || parallelism > MAX_PARALLELISM) {
    problems.push(
      `EXPORT_PARALLELISM must be a whole number from 1 (one nextLink chain) to ${MAX_PARALLELISM}; got "${parallelismText}".`,
    );
  }

  if (!hasStorageConnection(env)) {
    problems.push(
      `${STORAGE_CONNECTION} is missing: set it to a storage connection string, or set ${STORAGE_CONNECTION}__blobServiceUri (with a managed identity that has Storage Blob Data Contributor).`,
    );
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    keyVaultUrl,
    graphCredential: graphCredential!,
    tenantId,
    clientId,
    graphEndpoint,
    authorityHost,
    schedule,
    select,
    filter: read('EXPORT_FILTER'),
    format,
    compression,
    container,
    parallelism,
  };
}

function readGraphCredential(
  read: (name: SettingName) => string | undefined,
  problems: string[],
): GraphCredentialSource | undefined {
  const secretName = read('GRAPH_CLIENT_SECRET_NAME');
  const certificateName = read('GRAPH_CLIENT_CERTIFICATE_NAME');
  if (secretName !== undefined && certificateName !== undefined) {
    problems.push(
      'GRAPH_CLIENT_SECRET_NAME and GRAPH_CLIENT_CERTIFICATE_NAME are both set: set exactly one (a certificate is preferred).',
    );
    return undefined;
  }
  if (secretName === undefined && certificateName === undefined) {
    problems.push(
      'Neither GRAPH_CLIENT_CERTIFICATE_NAME nor GRAPH_CLIENT_SECRET_NAME is set: set exactly one, the name of the Key Vault certificate or secret that holds the app registration credential.',
    );
    return undefined;
  }
  const [name, value] =
    certificateName !== undefined
      ? (['GRAPH_CLIENT_CERTIFICATE_NAME', certificateName] as const)
      : (['GRAPH_CLIENT_SECRET_NAME', secretName!] as const);
  if (!KEY_VAULT_OBJECT_NAME.test(value)) {
    problems.push(
      `${name} must be a Key Vault object name (1-127 letters, digits and hyphens); got "${value}".`,
    );
    return undefined;
  }
  return certificateName !== undefined
    ? { kind: 'certificate', certificateName: value }
    : { kind: 'secret', secretName: value };
}

function parseSelect(value: string | undefined, problems: string[]): readonly string[] {
  if (value === undefined) return DEFAULT_SELECT;
  const properties = value
    .split(',')
    .map((property) => property.trim())
    .filter((property) => property !== '');
  const invalid = properties.filter((property) => !PROPERTY_NAME.test(property));
  if (invalid.length > 0) {
    problems.push(
      `EXPORT_SELECT must be a comma-separated list of user property names (such as id,displayName,mail); not a property name: ${invalid.map((p) => `"${p}"`).join(', ')}.`,
    );
  }
  // The id is always exported: it is what tells two users apart in every format.
  return [...new Set(['id', ...properties])];
}

function oneOf<T extends string>(
  name: SettingName,
  value: string,
  allowed: readonly T[],
  problems: string[],
): T {
  const normalised = value.toLowerCase();
  const match = allowed.find((candidate) => candidate === normalised);
  if (match === undefined) {
    problems.push(`${name} must be one of ${allowed.join(', ')}; got "${value}".`);
    return allowed[0]!;
  }
  return match;
}

function parseHttpsOrigin(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' || url.pathname.replace(/\/+$/, '') !== '' || url.search || url.hash) {
    return undefined;
  }
  return url.origin;
}

function hasStorageConnection(env: Env): boolean {
  // A connection string, or the identity-based forms the Functions host accepts for blobs.
  return ['', '__blobServiceUri', '__serviceUri', '__accountName'].some(
    (suffix) => (env[`${STORAGE_CONNECTION}${suffix}`] ?? '').trim() !== '',
  );
}

const NCRONTAB_FIELDS = ['second', 'minute', 'hour', 'day of month', 'month', 'day of week'] as const;
const NCRONTAB_FIELD =
  /^(?:\*|[0-9A-Za-z]+(?:-[0-9A-Za-z]+)?)(?:\/\d+)?(?:,(?:\*|[0-9A-Za-z]+(?:-[0-9A-Za-z]+)?)(?:\/\d+)?)*$/;

/** Returns why a schedule is not a 6-field NCRONTAB expression, or undefined when it is one. */
export function describeNcrontabProblem(schedule: string): string | undefined {
  const fields = schedule.trim().split(/\s+/);
  const hint = `Azure Functions uses 6 fields, "{second} {minute} {hour} {day} {month} {day-of-week}", such as "${DEFAULT_SCHEDULE}" for 02:00 UTC daily`;
  if (fields.length !== NCRONTAB_FIELDS.length) {
    return `must be an NCRONTAB expression with 6 fields; "${schedule}" has ${fields.length}. ${hint}.`;
  }
  const bad = fields.findIndex((field) => !NCRONTAB_FIELD.test(field));
  if (bad >= 0) {
    return `has an invalid ${NCRONTAB_FIELDS[bad]} field "${fields[bad]}" in "${schedule}". ${hint}.`;
  }
  return undefined;
}

/** The blob names' extension: the format, then the compression (`csv.gz`). */
export function fileExtension(format: ExportFormat, compression: Compression): string {
  return compression === 'gzip' ? `${format}.gz` : format;
}
