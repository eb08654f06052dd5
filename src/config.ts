import { ConfigError } from './errors.js';
import {
  type Compression,
  type CsvFormulaGuard,
  type EntraTelemetryAuthentication,
  type Env,
  type ExportFormat,
  type ExportWrite,
  MAX_ACCEPT_SHRINK_DAYS,
  readSetting,
  type SettingName,
  type SettingValue,
  settingOrDefault,
  SETTINGS,
  type ShrinkLimit,
} from './settings.js';
import { resolveStorageConnection, STORAGE_CONNECTION } from './storageConnection.js';

const DAY_MS = 24 * 60 * 60_000;

/** Which Key Vault object holds the app registration's credential, and the setting that names it. */
export interface VaultCredentialSource {
  kind: 'secret' | 'certificate';
  name: string;
  setting: 'GRAPH_CLIENT_SECRET_NAME' | 'GRAPH_CLIENT_CERTIFICATE_NAME';
  keyVaultUrl: string;
}

/**
 * Secretless: the app registration trusts the function's user-assigned managed identity as a
 * federated credential, and a managed-identity token for the cloud's token-exchange audience is
 * the app's client assertion.
 */
export interface FederatedCredentialSource {
  kind: 'federated';
  managedIdentityClientId: string;
  setting: 'GRAPH_FEDERATED_IDENTITY_CLIENT_ID';
  /** `api://AzureADTokenExchange` in the public cloud; each national cloud has its own. */
  audience: string;
}

export type GraphCredentialSource = VaultCredentialSource | FederatedCredentialSource;

/**
 * What a federated credential for the function's managed identity holds, by sign-in host: the
 * audience of the identity's token, and the issuer that token carries (Microsoft Learn and, for
 * China, docs.azure.cn: "Configure an application to trust a managed identity"). In Azure China
 * the issuer is login.partner.microsoftonline.cn whichever sign-in host is used (tokens there
 * carry it: jenkinsci/azure-ad-plugin#679). The docs name no audience for the US air-gapped
 * clouds (USNat, USSec), so none is guessed: those use a Key Vault certificate.
 */
const FEDERATED_CREDENTIAL_CLOUDS: Record<string, { audience: string; issuerHost: string }> = {
  'login.microsoftonline.com': {
    audience: 'api://AzureADTokenExchange',
    issuerHost: 'https://login.microsoftonline.com',
  },
  'login.microsoftonline.us': {
    audience: 'api://AzureADTokenExchangeUSGov',
    issuerHost: 'https://login.microsoftonline.us',
  },
  'login.chinacloudapi.cn': {
    audience: 'api://AzureADTokenExchangeChina',
    issuerHost: 'https://login.partner.microsoftonline.cn',
  },
  'login.partner.microsoftonline.cn': {
    audience: 'api://AzureADTokenExchangeChina',
    issuerHost: 'https://login.partner.microsoftonline.cn',
  },
};

const federatedCloud = (authorityHost: string) =>
  FEDERATED_CREDENTIAL_CLOUDS[new URL(authorityHost).hostname.toLowerCase()];

export function tokenExchangeAudience(authorityHost: string): string | undefined {
  return federatedCloud(authorityHost)?.audience;
}

/** The issuer the app registration's federated credential must name for the function's identity. */
export function federatedCredentialIssuer(authorityHost: string, tenantId: string): string | undefined {
  const cloud = federatedCloud(authorityHost);
  return cloud === undefined ? undefined : `${cloud.issuerHost}/${tenantId}/v2.0`;
}

export interface ExportConfig {
  /** Set with a Key Vault credential; a federated credential needs no vault. */
  keyVaultUrl: string | undefined;
  graphCredential: GraphCredentialSource;
  tenantId: string;
  clientId: string;
  /** Origin of Microsoft Graph, without a trailing slash: `https://graph.microsoft.com`. */
  graphEndpoint: string;
  authorityHost: string;
  schedule: string;
  select: readonly string[];
  filter: string | undefined;
  /** Whether each user's manager is expanded into the export. */
  includeManager: boolean;
  /** Whether runs list /users/delta and rebuild the export from the kept state. */
  delta: boolean;
  deltaResyncDays: number;
  format: ExportFormat;
  compression: Compression;
  /** Output bindings, or the run writing its blobs itself (stream). */
  write: ExportWrite;
  /** CSV only: a UTF-8 byte order mark first, for Excel. */
  csvBom: boolean;
  csvFormulaGuard: CsvFormulaGuard;
  container: string;
  /** Partitions listed at once; 1 lists the directory on one nextLink chain. */
  parallelism: number;
  /** The instance's memory, for the warning when an export grows near it. */
  instanceMemoryMB: number;
  shrinkLimit: ShrinkLimit;
  /** Until when a drop beyond the limit is accepted. */
  acceptShrinkUntil: Date | undefined;
}

/**
 * Reads and validates every setting a run uses. Returns one typed object, or throws one
 * ConfigError that lists every problem, each naming its setting.
 */
export function loadConfig(env: Env, now: Date = new Date()): ExportConfig {
  const problems: string[] = [];
  function read<N extends SettingName>(name: N, required = false): SettingValue<N> | undefined {
    const reading = readSetting(env, name);
    if (reading.state === 'invalid') problems.push(reading.problem);
    if (reading.state === 'unset' && required) {
      problems.push(`${name} is missing: set it to ${SETTINGS[name].missing ?? SETTINGS[name].description}.`);
    }
    return reading.state === 'set' || reading.state === 'default' ? reading.value : undefined;
  }

  const config = {
    keyVaultUrl: read('KEY_VAULT_URL'),
    tenantId: read('GRAPH_TENANT_ID', true),
    clientId: read('GRAPH_CLIENT_ID', true),
    graphCredential: readGraphCredential(env, problems),
    graphEndpoint: read('GRAPH_ENDPOINT'),
    authorityHost: read('GRAPH_AUTHORITY_HOST'),
    schedule: read('EXPORT_SCHEDULE'),
    select: read('EXPORT_SELECT'),
    filter: read('EXPORT_FILTER'),
    includeManager: read('EXPORT_INCLUDE_MANAGER'),
    delta: read('EXPORT_DELTA'),
    deltaResyncDays: read('EXPORT_DELTA_RESYNC_DAYS'),
    format: read('EXPORT_FORMAT'),
    compression: read('EXPORT_COMPRESS'),
    write: read('EXPORT_WRITE'),
    csvBom: read('EXPORT_CSV_BOM'),
    csvFormulaGuard: read('EXPORT_CSV_FORMULA_GUARD'),
    container: read('EXPORT_CONTAINER'),
    parallelism: read('EXPORT_PARALLELISM'),
    instanceMemoryMB: read('EXPORT_INSTANCE_MEMORY_MB'),
    shrinkLimit: read('EXPORT_SHRINK_LIMIT'),
    acceptShrinkUntil: read('EXPORT_ACCEPT_SHRINK_UNTIL'),
  };
  // Read by the Functions host and the Azure SDKs rather than by the run; checked here so that a
  // mistake is reported with the others instead of as a confusing failure later.
  read('EXPORT_STORAGE__blobServiceUri');
  read('EXPORT_STORAGE__clientId');
  read('EXPORT_STORAGE__credential');
  read('APPLICATIONINSIGHTS_AUTHENTICATION_STRING');
  read('AZURE_CLIENT_ID');
  if (resolveStorageConnection(env) === undefined) {
    problems.push(
      `${STORAGE_CONNECTION} is missing: set it to a storage connection string, or set ${STORAGE_CONNECTION}__blobServiceUri (with a managed identity that has Storage Blob Data Contributor).`,
    );
  }

  if (config.delta === true) problems.push(...deltaProblems(config));
  const acceptUntil = config.acceptShrinkUntil;
  if (acceptUntil !== undefined && acceptUntil.getTime() - now.getTime() > MAX_ACCEPT_SHRINK_DAYS * DAY_MS) {
    problems.push(
      `EXPORT_ACCEPT_SHRINK_UNTIL is ${acceptUntil.toISOString()}, more than ${MAX_ACCEPT_SHRINK_DAYS} days ahead: it accepts the drop the guard refused for the next runs, not for good. Set a time within ${MAX_ACCEPT_SHRINK_DAYS} days, or change EXPORT_SHRINK_LIMIT if the limit itself is wrong.`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  // Every value is defined now: a required setting that is unset, or any invalid one, is a problem
  // above, and each optional one has a default (EXPORT_FILTER and EXPORT_ACCEPT_SHRINK_UNTIL may stay undefined).
  return config as ExportConfig;
}

const CREDENTIAL_SETTINGS = [
  'GRAPH_FEDERATED_IDENTITY_CLIENT_ID',
  'GRAPH_CLIENT_CERTIFICATE_NAME',
  'GRAPH_CLIENT_SECRET_NAME',
] as const;

/** What /users/delta cannot do, said before any request (Microsoft Graph, user: delta). */
function deltaProblems(config: {
  filter?: string | undefined;
  includeManager?: boolean | undefined;
  select?: readonly string[] | undefined;
}): string[] {
  const problems: string[] = [];
  if (config.filter !== undefined) {
    problems.push(
      'EXPORT_DELTA and EXPORT_FILTER are both set: /users/delta filters only by id, so it cannot list what EXPORT_FILTER selects. Leave EXPORT_FILTER empty (and filter the export downstream), or set EXPORT_DELTA=false.',
    );
  }
  if (config.includeManager === true) {
    problems.push(
      'EXPORT_DELTA and EXPORT_INCLUDE_MANAGER are both set: a delta round reports a changed manager as a relationship change, which this export does not merge yet. Set one of them to false.',
    );
  }
  if (config.select?.includes('signInActivity') === true) {
    problems.push(
      'EXPORT_DELTA with signInActivity in EXPORT_SELECT: /users/delta does not track sign-in activity. Remove signInActivity, or set EXPORT_DELTA=false.',
    );
  }
  return problems;
}

/** The app's credential: a federated managed identity, a Key Vault certificate or a Key Vault secret, exactly one. */
function readGraphCredential(env: Env, problems: string[]): GraphCredentialSource | undefined {
  const set = CREDENTIAL_SETTINGS.filter((name) => readSetting(env, name).state !== 'unset');
  if (set.length > 1) {
    problems.push(
      `${set.join(' and ')} are ${set.length === 2 ? 'both' : 'all'} set: set exactly one (GRAPH_FEDERATED_IDENTITY_CLIENT_ID, secretless, is recommended).`,
    );
    return undefined;
  }
  const setting = set[0];
  if (setting === undefined) {
    problems.push(
      'None of GRAPH_FEDERATED_IDENTITY_CLIENT_ID, GRAPH_CLIENT_CERTIFICATE_NAME and GRAPH_CLIENT_SECRET_NAME is set: set exactly one, the client ID of the managed identity the app trusts (secretless, recommended), or the name of the Key Vault certificate or secret that holds the app registration credential.',
    );
    return undefined;
  }
  const reading = readSetting(env, setting);
  if (reading.state === 'invalid') {
    problems.push(reading.problem);
    return undefined;
  }
  if (reading.state !== 'set') return undefined;
  if (setting === 'GRAPH_FEDERATED_IDENTITY_CLIENT_ID') {
    const authority = readSetting(env, 'GRAPH_AUTHORITY_HOST');
    // An invalid host is reported with the setting itself.
    if (authority.state !== 'set' && authority.state !== 'default') return undefined;
    const host = authority.value;
    const audience = tokenExchangeAudience(host);
    if (audience === undefined) {
      problems.push(
        `GRAPH_FEDERATED_IDENTITY_CLIENT_ID needs a cloud whose token-exchange audience is known, and GRAPH_AUTHORITY_HOST is ${host}: use the cloud's sign-in host (login.microsoftonline.com, login.microsoftonline.us, login.chinacloudapi.cn), or a Key Vault certificate.`,
      );
      return undefined;
    }
    return { kind: 'federated', managedIdentityClientId: reading.value, setting, audience };
  }
  const vault = readSetting(env, 'KEY_VAULT_URL');
  if (vault.state === 'unset') {
    problems.push(
      `KEY_VAULT_URL is missing: ${setting} names a Key Vault object, so set it to ${SETTINGS.KEY_VAULT_URL.missing ?? 'the vault URL'}.`,
    );
  }
  if (vault.state !== 'set') return undefined;
  return {
    kind: setting === 'GRAPH_CLIENT_CERTIFICATE_NAME' ? 'certificate' : 'secret',
    name: reading.value,
    setting,
    keyVaultUrl: vault.value,
  };
}

/** `certificate "graph-client-certificate"`: how messages name the credential. */
export function describeCredential(source: GraphCredentialSource): string {
  if (source.kind === 'federated')
    return `managed identity ${source.managedIdentityClientId} (federated credential)`;
  return `${source.kind === 'certificate' ? 'certificate' : 'client secret'} "${source.name}"`;
}

/** Where the credential comes from, for the run's first log line. */
export function describeCredentialSource(source: GraphCredentialSource): string {
  if (source.kind === 'federated') return `${describeCredential(source)}, audience ${source.audience}`;
  return `${describeCredential(source)} in ${source.keyVaultUrl}`;
}

/**
 * What the host must know when it loads the function, before any run can report a problem:
 * the schedule and where the blobs go. An invalid value falls back to its default here, so that
 * the function still loads, and its runs fail with the configuration error.
 */
export interface Registration {
  schedule: string;
  container: string;
  format: ExportFormat;
  compression: Compression;
  /** Whether the function binds its blobs (and so declares them) or writes them itself. */
  write: ExportWrite;
}

export function registrationSettings(env: Env): Registration {
  return {
    write: settingOrDefault(env, 'EXPORT_WRITE'),
    schedule: settingOrDefault(env, 'EXPORT_SCHEDULE'),
    container: settingOrDefault(env, 'EXPORT_CONTAINER'),
    format: settingOrDefault(env, 'EXPORT_FORMAT'),
    compression: settingOrDefault(env, 'EXPORT_COMPRESS'),
  };
}

export interface TelemetrySettings {
  connectionString: string | undefined;
  entraAuthentication: EntraTelemetryAuthentication | undefined;
}

/** Telemetry reports even a run whose configuration is invalid, so it reads its settings on its own. */
export function telemetrySettings(env: Env): TelemetrySettings {
  const connection = readSetting(env, 'APPLICATIONINSIGHTS_CONNECTION_STRING');
  const authentication = readSetting(env, 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING');
  return {
    connectionString: connection.state === 'set' ? connection.value : undefined,
    entraAuthentication: authentication.state === 'set' ? authentication.value : undefined,
  };
}
