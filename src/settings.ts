/**
 * Every app setting the product reads, each described once: its name, default, parser, meaning,
 * how the Bicep deploys it, and whether its value is a secret. The configuration loader, the
 * binding registration, telemetry and the host emulator read settings through this table; the
 * table in docs/configuration.md, local.settings.example.json and the Bicep are tested against it.
 */

import { graphSpelling } from './export/columns.js';
import { cronFieldProblem, NCRONTAB_FIELDS } from './schedule.js';

/** A value a parser refused, and why ("must be ..."). */
export class Invalid {
  constructor(readonly reason: string) {}
}

/** How the infrastructure (infra/main.bicep) sets a setting on the function app. */
export type Deployment =
  | {
      /** A parameter of main.bicep. Its default is the setting's default, or empty (unset). */
      parameter: string;
      /** Where the deployment deliberately starts from another value than the product's default: that value, and why. */
      deployedDefault?: { value: string; why: string };
    }
  /** Set from a resource the Bicep creates (the vault's URL, the identity's client ID). */
  | { fromResource: string }
  /** Derived from a parameter of main.bicep that sets more than this setting. */
  | { fromParameter: string; how: string }
  /** Not set in Azure; why. */
  | { notDeployed: string };

export interface Setting<T> {
  /** What the configuration table's "required" column says: empty when optional. */
  required: string;
  /** The text applied when the setting is unset or empty, parsed like any other value. */
  default: string | undefined;
  /** The configuration table's "example / meaning" column. */
  description: string;
  /** For a required setting: what to set it to, said when it is missing. */
  missing?: string;
  /** Its value in local.settings.example.json; undefined where it only makes sense in Azure. */
  example: string | undefined;
  deployment: Deployment;
  /** A secret's value is never repeated in a message. */
  secret: boolean;
  /**
   * `masked`: a value that may be a secret pasted into the wrong setting, or that identifies the
   * tenant or the app, is shown in a message only as its first characters and its length.
   */
  echo?: 'masked';
  parse(text: string): T | Invalid;
}

function setting<T>(definition: Setting<T>): Setting<T> {
  return definition;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DOMAIN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;
const KEY_VAULT_OBJECT_NAME = /^[0-9a-zA-Z-]{1,127}$/;
const CONTAINER_NAME = /^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
const PROPERTY_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

export type ExportFormat = 'json' | 'ndjson' | 'csv';
export type Compression = 'none' | 'gzip';
/** How a run's blobs reach Storage: handed to the Functions host (output bindings), or written by the run itself. */
export type ExportWrite = 'bindings' | 'stream';
/** What a CSV cell that a spreadsheet would run as a formula gets: a leading `'`, or nothing. */
export type CsvFormulaGuard = 'apostrophe' | 'none';

/** Far below Graph's budget of 8,000 requests per 10 s per app and tenant, even at 100 ms a page. */
export const MAX_PARALLELISM = 16;

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

function httpsOrigin(example: string) {
  return (text: string): string | Invalid => {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return new Invalid(`must be an https URL with no path, such as ${example}`);
    }
    if (url.protocol !== 'https:' || url.pathname.replace(/\/+$/, '') !== '' || url.search || url.hash) {
      return new Invalid(`must be an https URL with no path, such as ${example}`);
    }
    return url.origin;
  };
}

function httpsUrl(example: string) {
  return (text: string): string | Invalid => {
    try {
      if (new URL(text).protocol === 'https:') return text;
    } catch {
      // Reported below, as for any other value that is not an https URL.
    }
    return new Invalid(`must be an https URL, such as ${example}`);
  };
}

function oneOf<T extends string>(allowed: readonly T[]) {
  return (text: string): T | Invalid =>
    allowed.find((candidate) => candidate === text.toLowerCase()) ??
    new Invalid(`must be one of ${allowed.join(', ')}`);
}

function keyVaultObjectName(text: string): string | Invalid {
  return KEY_VAULT_OBJECT_NAME.test(text)
    ? text
    : new Invalid('must be a Key Vault object name (1-127 letters, digits and hyphens)');
}

function guid(what: string) {
  return (text: string): string | Invalid =>
    GUID.test(text) ? text : new Invalid(`must be ${what}, a GUID`);
}

function anyText(text: string): string {
  return text;
}

export const DEFAULT_SCHEDULE = '0 0 2 * * *';

/** A 6-field NCRONTAB expression, checked field by field as the Functions host reads it (schedule.ts). */
export function parseSchedule(schedule: string): string | Invalid {
  const fields = schedule.trim().split(/\s+/);
  const hint = `Azure Functions uses 6 fields, "{second} {minute} {hour} {day} {month} {day-of-week}", such as "${DEFAULT_SCHEDULE}" for 02:00 UTC daily`;
  if (fields.length !== NCRONTAB_FIELDS.length) {
    return new Invalid(
      `must be an NCRONTAB expression with 6 fields; this one has ${fields.length}. ${hint}`,
    );
  }
  for (const [index, field] of NCRONTAB_FIELDS.entries()) {
    const text = fields[index]!;
    const problem = cronFieldProblem(text, field);
    if (problem !== undefined) {
      return new Invalid(`has an invalid ${field.name} field "${text}": it ${problem}. ${hint}`);
    }
  }
  return fields.join(' ');
}

function parseBoolean(text: string): boolean | Invalid {
  const value = text.trim().toLowerCase();
  if (value === 'true') return true;
  if (value === 'false') return false;
  return new Invalid('must be true or false');
}

function parseSelect(text: string): readonly string[] | Invalid {
  const properties = text
    .split(',')
    .map((property) => property.trim())
    .filter((property) => property !== '');
  const parentOf = (property: string) => property.split(/[./]/)[0]!;
  const relationship = properties.find((property) => parentOf(property).toLowerCase() === 'manager');
  if (relationship !== undefined) {
    return new Invalid(
      `must not name "${relationship}": the manager is a relationship, not a property; set EXPORT_INCLUDE_MANAGER=true for the manager's id, displayName, userPrincipalName and mail`,
    );
  }
  const nested = properties.find((property) => /^[A-Za-z][A-Za-z0-9_]*[./][A-Za-z]/.test(property));
  if (nested !== undefined) {
    return new Invalid(
      `names "${nested}": Graph selects whole properties; select "${parentOf(nested)}" (CSV gives each of its fields a column of its own, such as ${parentOf(nested)}.<field>)`,
    );
  }
  const invalid = properties.filter((property) => !PROPERTY_NAME.test(property));
  if (invalid.length > 0) {
    return new Invalid(
      `must be a comma-separated list of user property names (such as id,displayName,mail); not a property name: ${invalid.map((p) => `"${p}"`).join(', ')}`,
    );
  }
  if (properties.length === 0) {
    return new Invalid(
      'must name at least one user property (such as id,displayName,mail); leave it unset for the default selection',
    );
  }
  const spelled = properties.map(graphSpelling);
  const seen = new Map<string, string>();
  for (const [index, property] of spelled.entries()) {
    const earlier = seen.get(property.toLowerCase());
    if (earlier !== undefined) {
      return new Invalid(
        `names one property twice ("${earlier}" and "${properties[index]}"; Graph reads names case-insensitively): list each once`,
      );
    }
    seen.set(property.toLowerCase(), properties[index]!);
  }
  // The id is always exported: it is what tells two users apart in every format.
  return ['id', ...spelled.filter((property) => property !== 'id')];
}

/**
 * An OData $filter that can be combined with others: its quotes closed, its parentheses balanced
 * (outside string literals, where `''` is a quote), no control characters. Graph checks the rest.
 */
export function parseFilter(text: string): string | Invalid {
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(text)) {
    return new Invalid('must not contain control characters (a line break or tab pasted with it?)');
  }
  let depth = 0;
  let inString = false;
  for (let at = 0; at < text.length; at += 1) {
    const char = text[at];
    if (inString) {
      if (char === "'" && text[at + 1] === "'") at += 1;
      else if (char === "'") inString = false;
    } else if (char === "'") {
      inString = true;
    } else if (char === '(') {
      depth += 1;
    } else if (char === ')') {
      depth -= 1;
      if (depth < 0) return new Invalid(`has a ")" without its "(" at position ${at + 1}`);
    }
  }
  if (inString)
    return new Invalid("has a string literal that is not closed (write a quote inside one as '')");
  if (depth > 0) return new Invalid(`has ${depth} "(" without ")"`);
  return text;
}

/** How far the user count may fall from the last export before the run refuses to publish. */
export type ShrinkLimit = { kind: 'users'; value: number } | { kind: 'percent'; value: number };

function parseShrinkLimit(text: string): ShrinkLimit | Invalid {
  const match = /^(\d+)\s*(%?)$/.exec(text);
  const value = Number(match?.[1]);
  if (!match || (match[2] === '%' && value > 100)) {
    return new Invalid(
      'must be a number of users (such as 500) or a percentage from 0% to 100% (such as 10%)',
    );
  }
  return match[2] === '%' ? { kind: 'percent', value } : { kind: 'users', value };
}

/**
 * How far ahead EXPORT_ACCEPT_SHRINK_UNTIL may reach: the override is for the runs that publish an
 * expected drop, not a switch that turns the guard off; a week covers a weekend and a full
 * resync (EXPORT_DELTA_RESYNC_DAYS defaults to 7).
 */
export const MAX_ACCEPT_SHRINK_DAYS = 7;

const UTC_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * An ISO 8601 instant with its zone, read strictly: `Date.parse` rolls `2026-02-30` over to
 * March 2nd, so each field is checked against the calendar date it produces.
 */
export function parseUtcTime(text: string): Date | Invalid {
  const invalid = new Invalid('must be a date and time with its zone, such as 2026-11-26T06:00:00Z');
  const match = UTC_TIME.exec(text);
  if (!match) return invalid;
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((group) =>
    Number(match[group] ?? 0),
  );
  const zone = match[7] ?? 'Z';
  const fields = [year, month, day, hour, minute, second];
  const calendar = new Date(Date.UTC(year ?? 0, (month ?? 0) - 1, day, hour, minute, second));
  const readBack = [
    calendar.getUTCFullYear(),
    calendar.getUTCMonth() + 1,
    calendar.getUTCDate(),
    calendar.getUTCHours(),
    calendar.getUTCMinutes(),
    calendar.getUTCSeconds(),
  ];
  const sameFields = readBack.every((value, index) => value === fields[index]);
  const zoneValid = zone === 'Z' || (Number(zone.slice(1, 3)) <= 14 && Number(zone.slice(4, 6)) <= 59);
  if (!sameFields || !zoneValid) {
    return new Invalid(
      'must be a date and time that exists (no February 30th, no hour 24), with its zone, such as 2026-11-26T06:00:00Z',
    );
  }
  return new Date(Date.parse(text));
}

function parseParallelism(text: string): number | Invalid {
  const value = Number(text);
  return /^\d+$/.test(text) && value >= 1 && value <= MAX_PARALLELISM
    ? value
    : new Invalid(`must be a whole number from 1 (one nextLink chain) to ${MAX_PARALLELISM}`);
}

/** The instance sizes Flex Consumption offers. */
export const INSTANCE_MEMORY_SIZES_MB = [512, 2048, 4096] as const;

function parseInstanceMemory(text: string): number | Invalid {
  const value = Number(text);
  return INSTANCE_MEMORY_SIZES_MB.some((size) => size === value) && /^\d+$/.test(text)
    ? value
    : new Invalid(
        `must be one of ${INSTANCE_MEMORY_SIZES_MB.join(', ')} (MB, a Flex Consumption instance size)`,
      );
}

/** `Authorization=AAD[;ClientId=<user-assigned identity>]`, as the Functions host reads it. */
export interface EntraTelemetryAuthentication {
  clientId: string | undefined;
}

function parseTelemetryAuthentication(text: string): EntraTelemetryAuthentication | Invalid {
  const parts = new Map(
    text.split(';').map((part) => {
      const [key = '', ...rest] = part.split('=');
      return [key.trim().toLowerCase(), rest.join('=').trim()] as const;
    }),
  );
  if (parts.get('authorization')?.toUpperCase() !== 'AAD') {
    return new Invalid('must be "Authorization=AAD" or "ClientId=<identity client id>;Authorization=AAD"');
  }
  return { clientId: parts.get('clientid') || undefined };
}

const identityConnection = 'the user-assigned identity the Bicep creates';

export const SETTINGS = {
  KEY_VAULT_URL: setting({
    required: 'with a Key Vault credential',
    default: undefined,
    description: '`https://kv-entra-export.vault.azure.net`: the vault holding the certificate or secret',
    missing: "the vault's URL, such as https://kv-entra-export.vault.azure.net",
    example: 'https://<your-vault>.vault.azure.net',
    deployment: { fromResource: 'the Key Vault the Bicep creates' },
    secret: false,
    parse: httpsOrigin('https://kv-entra-export.vault.azure.net'),
  }),
  GRAPH_FEDERATED_IDENTITY_CLIENT_ID: setting({
    required: 'one of these three',
    default: undefined,
    description:
      "client ID of the function's user-assigned managed identity that the app registration trusts as a **federated credential** (secretless, nothing to store or renew; signs in only in Azure, so recommended where the export never runs on a workstation)",
    example: '',
    deployment: {
      fromParameter: 'graphCredential',
      how: "`federated`: the function's own identity, which infra/scripts/register-app.sh --credential federated makes the app trust",
    },
    secret: false,
    echo: 'masked',
    parse: guid("the managed identity's client ID"),
  }),
  GRAPH_CLIENT_CERTIFICATE_NAME: setting({
    required: 'one of these three',
    default: undefined,
    description: 'name of the Key Vault **certificate** registered on the app',
    example: 'graph-client-certificate',
    deployment: {
      fromParameter: 'graphCredential',
      how: '`certificate:<name>`; the default, `certificate:graph-client-certificate`, is what infra/scripts/register-app.sh creates',
    },
    secret: false,
    echo: 'masked',
    parse: keyVaultObjectName,
  }),
  GRAPH_CLIENT_SECRET_NAME: setting({
    required: 'one of these three',
    default: undefined,
    description: "name of the Key Vault **secret** holding the app's client secret value",
    example: '',
    deployment: { fromParameter: 'graphCredential', how: '`secret:<name>`' },
    secret: false,
    echo: 'masked',
    parse: keyVaultObjectName,
  }),
  GRAPH_TENANT_ID: setting({
    required: 'yes',
    default: undefined,
    description: "the tenant's GUID or a domain (`contoso.onmicrosoft.com`)",
    missing: 'the directory (tenant) ID of the app registration',
    example: '<directory (tenant) id>',
    deployment: {
      parameter: 'graphTenantId',
      deployedDefault: { value: 'tenant().tenantId', why: 'the tenant of the subscription deployed to' },
    },
    secret: false,
    echo: 'masked',
    parse: (text) =>
      GUID.test(text) || DOMAIN.test(text)
        ? text
        : new Invalid("must be the tenant's GUID or one of its domains (contoso.onmicrosoft.com)"),
  }),
  GRAPH_CLIENT_ID: setting({
    required: 'yes',
    default: undefined,
    description: "the app registration's application (client) ID",
    missing: 'the application (client) ID of the app registration',
    example: '<application (client) id>',
    deployment: { parameter: 'graphClientId' },
    secret: false,
    echo: 'masked',
    parse: guid('the application (client) ID'),
  }),
  GRAPH_ENDPOINT: setting({
    required: '',
    default: 'https://graph.microsoft.com',
    description:
      '`https://graph.microsoft.us`, `https://dod-graph.microsoft.us`, `https://microsoftgraph.chinacloudapi.cn`',
    example: 'https://graph.microsoft.com',
    deployment: { parameter: 'graphEndpoint' },
    secret: false,
    parse: httpsOrigin('https://graph.microsoft.com'),
  }),
  GRAPH_AUTHORITY_HOST: setting({
    required: '',
    default: 'https://login.microsoftonline.com',
    description: '`https://login.microsoftonline.us`, `https://login.chinacloudapi.cn`',
    example: 'https://login.microsoftonline.com',
    deployment: { parameter: 'graphAuthorityHost' },
    secret: false,
    parse: httpsOrigin('https://login.microsoftonline.com'),
  }),
  EXPORT_SCHEDULE: setting({
    required: '',
    default: DEFAULT_SCHEDULE,
    description:
      '6-field NCRONTAB (UTC): `{second} {minute} {hour} {day} {month} {day-of-week}`, checked as the host reads it (ranges, names, a step of 1 or more)',
    example: DEFAULT_SCHEDULE,
    deployment: { parameter: 'exportSchedule' },
    secret: false,
    parse: parseSchedule,
  }),
  EXPORT_SELECT: setting({
    required: '',
    default: DEFAULT_SELECT.join(','),
    description:
      'user properties, comma-separated, each once, in any case (written as Graph spells them; `id` is always included); also `signInActivity` (needs AuditLog.Read.All and Entra ID P1/P2), `onPremisesExtensionAttributes`, `employeeOrgData` and directory extensions (`extension_<appId>_<name>`): see [Recipes](#recipes)',
    example: DEFAULT_SELECT.join(','),
    deployment: { parameter: 'exportSelect' },
    secret: false,
    parse: parseSelect,
  }),
  EXPORT_INCLUDE_MANAGER: setting({
    required: '',
    default: 'false',
    description:
      "`true` adds each user's manager (`id`, `displayName`, `userPrincipalName`, `mail`) through `$expand=manager`: a `manager` object in JSON, `manager.*` columns in CSV (see [Recipes](#recipes))",
    example: 'false',
    deployment: { parameter: 'exportIncludeManager' },
    secret: false,
    parse: parseBoolean,
  }),
  EXPORT_DELTA: setting({
    required: '',
    default: 'false',
    description:
      '`true` lists only what changed since the last run (`/users/delta`) and rebuilds the full export from the kept state; a full listing every `EXPORT_DELTA_RESYNC_DAYS`, and whenever Graph refuses the delta link (see [Delta listing](delta-listing.md))',
    example: 'false',
    deployment: { parameter: 'exportDelta' },
    secret: false,
    parse: parseBoolean,
  }),
  EXPORT_DELTA_RESYNC_DAYS: setting({
    required: '',
    default: '7',
    description:
      'with `EXPORT_DELTA`: days between full listings (1-30); Graph keeps a delta link for directory objects about 7 days',
    example: '7',
    deployment: {
      notDeployed:
        'the product default (7 days) is what the delta link lasts; set it as an app setting to change it',
    },
    secret: false,
    parse: (text) => {
      const value = Number(text);
      return /^\d+$/.test(text) && value >= 1 && value <= 30
        ? value
        : new Invalid('must be a whole number of days from 1 to 30');
    },
  }),
  EXPORT_FILTER: setting({
    required: '',
    default: undefined,
    description: 'an OData `$filter`, such as `accountEnabled eq true`',
    example: '',
    deployment: { parameter: 'exportFilter' },
    secret: false,
    parse: parseFilter,
  }),
  EXPORT_FORMAT: setting({
    required: '',
    default: 'json',
    description: '`json`, `ndjson` or `csv`',
    example: 'json',
    deployment: { parameter: 'exportFormat' },
    secret: false,
    parse: oneOf<ExportFormat>(['json', 'ndjson', 'csv']),
  }),
  EXPORT_COMPRESS: setting({
    required: '',
    default: 'none',
    description:
      '`none` or `gzip` (for large tenants: a smaller blob and less memory, see [Performance](performance.md))',
    example: 'none',
    deployment: { parameter: 'exportCompress' },
    secret: false,
    parse: oneOf<Compression>(['none', 'gzip']),
  }),
  EXPORT_WRITE: setting({
    required: '',
    default: 'bindings',
    description:
      'how the blobs reach Storage: `bindings` hands them to the Functions host when the run ends (output bindings: the whole export in memory, at most 2 GiB together); `stream` has the run write them itself through the same connection as it lists (blocks staged, committed in order on conditions, the manifest last), in memory bounded by the work in flight, for tenants of millions (see [Performance](performance.md#stream-mode))',
    example: 'bindings',
    deployment: { parameter: 'exportWrite' },
    secret: false,
    parse: oneOf<ExportWrite>(['bindings', 'stream']),
  }),
  EXPORT_CSV_BOM: setting({
    required: '',
    default: 'false',
    description:
      "with `EXPORT_FORMAT=csv`: `true` starts the file with a UTF-8 byte order mark, so that Excel on Windows reads accents right when the file is opened directly; off by default, since programs that read the CSV (Go's `encoding/csv`, Python's `csv` with `utf-8`, csv-parse) keep it as part of the first column's name (see [Use the export](use-the-export.md#excel))",
    example: 'false',
    deployment: {
      notDeployed:
        'the product default (no byte order mark, as before); set it as an app setting for Excel users',
    },
    secret: false,
    parse: parseBoolean,
  }),
  EXPORT_CSV_FORMULA_GUARD: setting({
    required: '',
    default: 'apostrophe',
    description:
      "with `EXPORT_FORMAT=csv`: `apostrophe` puts a `'` before any cell a spreadsheet would run as a formula (first non-blank character `=`, `+`, `-`, `@`, or a leading tab or line break), as OWASP advises against CSV injection, so a `+1 425...` phone number shows a `'` in Excel; `none` writes cells as they are, for exports only programs read (see [Use the export](use-the-export.md#excel))",
    example: 'apostrophe',
    deployment: {
      notDeployed:
        'the product default (the guard on, as OWASP advises); set it as an app setting to turn it off',
    },
    secret: false,
    parse: oneOf<CsvFormulaGuard>(['apostrophe', 'none']),
  }),
  EXPORT_CONTAINER: setting({
    required: '',
    default: 'entra-users',
    description: 'the blob container (created if missing)',
    example: 'entra-users',
    deployment: { parameter: 'exportContainer' },
    secret: false,
    parse: (text) =>
      CONTAINER_NAME.test(text)
        ? text
        : new Invalid('must be a blob container name: 3-63 lowercase letters, digits and single hyphens'),
  }),
  EXPORT_PARALLELISM: setting({
    required: '',
    default: '1',
    description: `1 to ${MAX_PARALLELISM}: partitions of the directory listed at once (see [Performance](performance.md)); 1 is one \`@odata.nextLink\` chain`,
    example: '1',
    deployment: { parameter: 'exportParallelism' },
    secret: false,
    parse: parseParallelism,
  }),
  EXPORT_INSTANCE_MEMORY_MB: setting({
    required: '',
    default: '4096',
    description:
      "the Flex Consumption instance's memory, `512`, `2048` or `4096` (the Bicep sets it from `instanceMemoryMB`); a run warns in the log when an export the size of the last one comes near it (see [Performance](performance.md))",
    example: '4096',
    deployment: { parameter: 'instanceMemoryMB' },
    secret: false,
    parse: parseInstanceMemory,
  }),
  EXPORT_SHRINK_LIMIT: setting({
    required: '',
    default: '10%',
    description:
      'the publication guard: how far the user count may fall from the last export (`500` users or `10%`); a bigger drop, or any drop to zero, is refused and `latest/` kept (see [Reliability](reliability.md#the-publication-guard))',
    example: '10%',
    deployment: { parameter: 'exportShrinkLimit' },
    secret: false,
    parse: parseShrinkLimit,
  }),
  EXPORT_ACCEPT_SHRINK_UNTIL: setting({
    required: '',
    default: undefined,
    description: `accepts a drop the guard refused, for runs until this time with its zone (\`2026-11-26T06:00:00Z\`), at most ${MAX_ACCEPT_SHRINK_DAYS} days ahead; it expires by itself`,
    example: '',
    deployment: { notDeployed: 'a one-off override, set on the app by hand when a refused drop is expected' },
    secret: false,
    parse: parseUtcTime,
  }),
  EXPORT_STORAGE: setting({
    required: 'this or `__blobServiceUri`',
    default: undefined,
    description: 'a storage connection string (`UseDevelopmentStorage=true` for Azurite)',
    example: 'UseDevelopmentStorage=true',
    deployment: { notDeployed: 'the deployment uses the identity-based form, never an account key' },
    secret: true,
    parse: anyText,
  }),
  EXPORT_STORAGE__blobServiceUri: setting({
    required: 'this or `EXPORT_STORAGE`',
    default: undefined,
    description: 'identity-based: `https://<account>.blob.core.windows.net`',
    example: undefined,
    deployment: { fromResource: 'the storage account the Bicep creates' },
    secret: false,
    parse: httpsUrl('https://<account>.blob.core.windows.net'),
  }),
  EXPORT_STORAGE__credential: setting({
    required: 'with `__blobServiceUri`',
    default: undefined,
    description: "`managedidentity`: the identity-based connection signs in as the app's managed identity",
    example: undefined,
    deployment: { fromResource: identityConnection },
    secret: false,
    parse: oneOf(['managedidentity']),
  }),
  EXPORT_STORAGE__clientId: setting({
    required: 'with a user-assigned identity',
    default: undefined,
    description: "the user-assigned identity's client ID, for the identity-based connection",
    example: undefined,
    deployment: { fromResource: identityConnection },
    secret: false,
    echo: 'masked',
    parse: guid("the identity's client ID"),
  }),
  APPLICATIONINSIGHTS_CONNECTION_STRING: setting({
    required: '',
    default: undefined,
    description: 'run telemetry; nothing is sent without it',
    example: '',
    deployment: { fromResource: 'the Application Insights resource the Bicep creates' },
    secret: false,
    parse: anyText,
  }),
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: setting({
    required: '',
    default: undefined,
    description:
      '`ClientId=<identity client id>;Authorization=AAD`: telemetry signed in with the managed identity, for Application Insights with local auth disabled',
    example: undefined,
    deployment: { fromResource: 'the user-assigned identity the Bicep creates' },
    secret: false,
    echo: 'masked',
    parse: parseTelemetryAuthentication,
  }),
  AZURE_CLIENT_ID: setting({
    required: 'with a user-assigned identity',
    default: undefined,
    description: "the identity's client ID, so `DefaultAzureCredential` reads Key Vault as it",
    example: undefined,
    deployment: { fromResource: 'the user-assigned identity the Bicep creates' },
    secret: false,
    echo: 'masked',
    parse: guid("the managed identity's client ID"),
  }),
} as const;

export type SettingName = keyof typeof SETTINGS;
export type SettingValue<N extends SettingName> = Exclude<ReturnType<(typeof SETTINGS)[N]['parse']>, Invalid>;

export const SETTING_NAMES = Object.keys(SETTINGS) as SettingName[];

/** App settings as the process sees them. */
export type Env = Readonly<Record<string, string | undefined>>;

/** A setting's text, or undefined when it is unset or blank (which the host treats alike). */
export function settingText(env: Env, name: SettingName): string | undefined {
  const value = env[name]?.trim();
  return value === '' ? undefined : value;
}

export type SettingReading<T> =
  { state: 'set' | 'default'; value: T } | { state: 'unset' } | { state: 'invalid'; problem: string };

/** Reads one setting through its parser, falling back to its default when it is unset. */
export function readSetting<N extends SettingName>(env: Env, name: N): SettingReading<SettingValue<N>> {
  const definition: Setting<unknown> = SETTINGS[name];
  const text = settingText(env, name);
  const source = text ?? definition.default;
  if (source === undefined) return { state: 'unset' };
  if (text !== undefined && isPlaceholder(name, text)) {
    const shown = definition.secret ? '' : ` "${text}"`;
    return {
      state: 'invalid',
      problem: `${name} still holds the example's placeholder${shown}: set it to ${definition.missing ?? definition.description}.`,
    };
  }
  const parsed = definition.parse(source);
  if (parsed instanceof Invalid) {
    return {
      state: 'invalid',
      problem: `${name} ${parsed.reason}${quoted(definition, source)}.${secretHint(name, source)}`,
    };
  }
  return { state: text === undefined ? 'default' : 'set', value: parsed as SettingValue<N> };
}

/**
 * A value still holding a `<...>` placeholder where local.settings.example.json has one: only
 * there, since elsewhere (a filter on `'<Admins>'`) angle brackets can be meant.
 */
export function isPlaceholder(name: SettingName, text: string): boolean {
  const example: string | undefined = SETTINGS[name].example;
  return example !== undefined && PLACEHOLDER.test(example) && PLACEHOLDER.test(text);
}

const PLACEHOLDER = /<[^<>]+>/;

/** The value as an error message may show it: not at all for a secret, masked where it may be one. */
function quoted(definition: Setting<unknown>, value: string): string {
  if (definition.secret) return '';
  if (definition.echo === 'masked' || looksLikeClientSecret(value)) return `; got ${maskValue(value)}`;
  return `; got "${value}"`;
}

/** `"Abc…" (40 characters)`: enough to recognise a value, not enough to use it. */
export function maskValue(value: string): string {
  return `"${value.slice(0, 3)}…" (${value.length} characters)`;
}

/**
 * An Entra client secret's value: three characters, a digit, `Q~`, then 31 to 34 more (the
 * pattern of gitleaks' `azure-ad-client-secret` rule, cmd/generate/config/rules/azure.go).
 */
const CLIENT_SECRET_VALUE = /^[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34}$/;

export function looksLikeClientSecret(value: string): boolean {
  return CLIENT_SECRET_VALUE.test(value.trim());
}

function secretHint(name: SettingName, value: string): string {
  if (!looksLikeClientSecret(value)) return '';
  return ` The value looks like a client secret itself, not ${name === 'GRAPH_CLIENT_SECRET_NAME' ? 'the name of the Key Vault secret that holds it' : `what ${name} takes`}: store the secret's value in Key Vault (az keyvault secret set --vault-name <vault> --name graph-client-secret --file <file>), set ${name === 'GRAPH_CLIENT_SECRET_NAME' ? 'this setting to that name' : `${name} to what it describes`}, and, since the value has been in an app setting, consider creating a new client secret and deleting this one.`;
}

/**
 * A setting's value for what must be decided before any run (binding paths, the schedule):
 * an invalid value falls back to the default here, and the run itself then reports it.
 */
export function settingOrDefault<N extends SettingName>(env: Env, name: N): SettingValue<N> {
  const reading = readSetting(env, name);
  if (reading.state === 'set' || reading.state === 'default') return reading.value;
  const fallback = readSetting({}, name);
  if (fallback.state !== 'default') throw new Error(`The setting ${name} has no valid default.`);
  return fallback.value;
}
