import {
  type ExportConfig,
  federatedCredentialIssuer,
  type FederatedCredentialSource,
  type VaultCredentialSource,
} from '../config.js';
import { ExportError } from '../errors.js';
import { type FailureKind, parseRetryAfter, RetriesExhaustedError } from '../export/retryPolicy.js';
import { untrustedCertificateCode, untrustedCertificateHint } from './networkFailure.js';

/** The fields of an Azure SDK RestError, or of a Graph client GraphError, that we read. */
interface ServiceFailure {
  name?: unknown;
  message?: unknown;
  statusCode?: unknown;
  code?: unknown;
}

function asFailure(error: unknown): ServiceFailure {
  return typeof error === 'object' && error !== null ? error : {};
}

function codeOf(failure: ServiceFailure, fallback: string): string {
  return typeof failure.code === 'string' ? failure.code : fallback;
}

function messageOf(error: unknown): string {
  const message = asFailure(error).message;
  return typeof message === 'string' ? message : String(error);
}

function credentialName(config: ExportConfig): string {
  return config.graphCredential.kind === 'federated' ? '' : config.graphCredential.name;
}

/** The federated credential the app registration must hold for the function's identity. */
function federatedCredentialNeeded(config: ExportConfig): { identity: string; wanted: string } {
  const source = config.graphCredential;
  const audience = source.kind === 'federated' ? source.audience : 'api://AzureADTokenExchange';
  const identity = source.kind === 'federated' ? source.managedIdentityClientId : '(none)';
  const issuer =
    federatedCredentialIssuer(config.authorityHost, config.tenantId) ??
    `${config.authorityHost}/${config.tenantId}/v2.0`;
  return {
    identity,
    wanted: `a federated credential with issuer ${issuer}, subject = that identity's principal (object) ID, and audience ${audience}`,
  };
}

/** AADSTS70025: the app has no federated credential at all (step 2 of the secretless set-up was skipped). */
function noFederatedCredential(config: ExportConfig): string {
  const { identity, wanted } = federatedCredentialNeeded(config);
  return (
    `The app registration ${config.clientId} has no federated credential, so it cannot trust the managed identity ${identity} (GRAPH_FEDERATED_IDENTITY_CLIENT_ID): the step that registers it was skipped. ` +
    `Run infra/scripts/register-app.sh --credential federated --identity <identity name> (the infra output AZURE_FUNCTION_IDENTITY_NAME), which adds ${wanted}; or deploy with graphCredential=certificate:graph-client-certificate.`
  );
}

function noMatchingFederatedCredential(config: ExportConfig): string {
  const { identity, wanted } = federatedCredentialNeeded(config);
  return (
    `The app registration ${config.clientId} does not trust the managed identity ${identity} (GRAPH_FEDERATED_IDENTITY_CLIENT_ID): it needs ${wanted}. Run infra/scripts/register-app.sh --credential federated --identity <identity name>, ` +
    "or check under App registrations > Certificates & secrets > Federated credentials that the subject is the identity's object ID, not its client ID."
  );
}

/** Azure AD's AADSTS codes tell exactly what is wrong with an app's sign-in. */
const AADSTS_REMEDIES: Record<string, (config: ExportConfig) => string> = {
  '7000215': (config) =>
    `The client secret is wrong. Store the secret's Value (not its Secret ID) in Key Vault as "${credentialName(config)}": App registrations > Certificates & secrets.`,
  '70025': noFederatedCredential,
  '70021': noMatchingFederatedCredential,
  '700211': noMatchingFederatedCredential,
  '700212': noMatchingFederatedCredential,
  '700213': noMatchingFederatedCredential,
  '7000222': () =>
    'The client secret has expired. Create a new one and store its Value in Key Vault, or better, move to a Key Vault certificate (GRAPH_CLIENT_CERTIFICATE_NAME), which Key Vault can renew.',
  '700027': (config) =>
    `The certificate "${credentialName(config)}" is not registered on the app registration ${config.clientId}, or this machine's clock is off. Upload the certificate's public part (.cer) under App registrations > Certificates & secrets (after Key Vault renews a certificate, infra/scripts/register-app.sh --credential certificate --vault <vault> registers the new version), and check the clock.`,
  '700016': (config) =>
    `No application ${config.clientId} exists in tenant ${config.tenantId}. Check GRAPH_CLIENT_ID and GRAPH_TENANT_ID, and that GRAPH_AUTHORITY_HOST is the cloud the app lives in.`,
  '90002': (config) =>
    `Tenant ${config.tenantId} was not found at ${config.authorityHost}. Check GRAPH_TENANT_ID, and GRAPH_AUTHORITY_HOST for national clouds (login.microsoftonline.us, login.chinacloudapi.cn).`,
};

/** Explains a failure to get the app-only token for Graph. */
export function explainTokenError(error: unknown, config: ExportConfig): ExportError {
  // A credential that wraps our own explanation (a federated assertion that could not be had) keeps it as the cause.
  const explained = explainedCause(error);
  if (explained !== undefined) return explained;
  const message = messageOf(error);
  const code = /AADSTS(\d+)/.exec(message)?.[1];
  const remedy = code !== undefined ? AADSTS_REMEDIES[code]?.(config) : undefined;
  const summary = firstLine(message);
  return new ExportError(
    `Could not get a Microsoft Graph token for app ${config.clientId} in tenant ${config.tenantId}${code ? ` (AADSTS${code})` : ''}: ${summary}`,
    {
      remedy:
        remedy ??
        `Check GRAPH_TENANT_ID, GRAPH_CLIENT_ID, GRAPH_AUTHORITY_HOST and the credential in Key Vault.`,
      cause: error,
      code: 'CredentialRejected',
    },
  );
}

function explainedCause(error: unknown): ExportError | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth += 1) {
    if (current instanceof ExportError) return current;
    current = current.cause;
  }
  return undefined;
}

/** Explains a failure to read the app's credential from Key Vault. */
export function explainKeyVaultError(error: unknown, source: VaultCredentialSource): ExportError {
  if (error instanceof ExportError) return error;
  const failure = asFailure(error);
  const setting = source.setting;
  const what = `${source.kind} "${source.name}" in ${source.keyVaultUrl}`;
  if (failure.name === 'CredentialUnavailableError' || failure.name === 'AggregateAuthenticationError') {
    return new ExportError(`No Azure identity was available to read the ${what}.`, {
      remedy:
        "In Azure, give the function app a managed identity (and set AZURE_CLIENT_ID to a user-assigned identity's client ID); locally, run `az login` or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET.",
      cause: error,
      code: 'KeyVaultDenied',
    });
  }
  if (failure.statusCode === 404) {
    return new ExportError(`Key Vault has no ${what} (404 ${codeOf(failure, 'NotFound')}).`, {
      remedy: `Check ${setting} and KEY_VAULT_URL, and that the ${source.kind} exists and is enabled.`,
      cause: error,
      code: 'KeyVaultNotFound',
    });
  }
  if (failure.statusCode === 403) {
    return new ExportError(
      `Access to the ${what} was denied (403 ${codeOf(failure, 'Forbidden')}): ${firstLine(messageOf(error))}`,
      {
        remedy:
          'Give the function\'s identity the "Key Vault Secrets User" role on the vault (RBAC vaults), or a Get secret access policy; a disabled secret must be enabled again.',
        cause: error,
        code: 'KeyVaultDenied',
      },
    );
  }
  if (failure.statusCode === 401) {
    return new ExportError(`Key Vault rejected the identity's token reading the ${what} (401).`, {
      remedy: "Check that the vault is in the same tenant as the function's identity.",
      cause: error,
      code: 'KeyVaultDenied',
    });
  }
  if (failure.name === 'AuthenticationError' || failure.name === 'AuthenticationRequiredError') {
    return new ExportError(
      `The identity used for Key Vault could not sign in: ${firstLine(messageOf(error))}`,
      {
        remedy: 'Check the managed identity (AZURE_CLIENT_ID) or your local `az login`.',
        cause: error,
        code: 'KeyVaultDenied',
      },
    );
  }
  const untrusted = untrustedCertificateCode(error);
  if (untrusted !== undefined) {
    return new ExportError(`Could not read the ${what}: a TLS trust failure, not a wrong KEY_VAULT_URL.`, {
      remedy: untrustedCertificateHint(new URL(source.keyVaultUrl).host, untrusted),
      cause: error,
      code: 'KeyVaultUnreachable',
    });
  }
  return new ExportError(`Could not read the ${what}: ${firstLine(messageOf(error))}`, {
    remedy: 'Check KEY_VAULT_URL and that the vault is reachable from the function.',
    cause: error,
    code: 'KeyVaultUnreachable',
  });
}

/** Explains a failure to get the managed-identity token a federated credential presents. */
export function explainManagedIdentityError(error: unknown, source: FederatedCredentialSource): ExportError {
  if (error instanceof ExportError) return error;
  const failure = asFailure(error);
  const identity = `managed identity ${source.managedIdentityClientId}`;
  // The endpoint answered (an identity that is not assigned, for one), or there was none to ask.
  const endpointAnswered = /Authentication failed|Description:/.test(messageOf(error));
  if (failure.name === 'CredentialUnavailableError' && !endpointAnswered) {
    return new ExportError(
      `GRAPH_FEDERATED_IDENTITY_CLIENT_ID is set, but no managed identity is available here to get the ${source.audience} token for ${identity}.`,
      {
        remedy:
          'The secretless credential works where the function has its user-assigned identity (in Azure; the Functions host sets IDENTITY_ENDPOINT). On a workstation, use a Key Vault certificate (GRAPH_CLIENT_CERTIFICATE_NAME) instead.',
        cause: error,
        code: 'CredentialRejected',
      },
    );
  }
  return new ExportError(
    `The ${identity} could not get a ${source.audience} token: ${firstLine(messageOf(error))}`,
    {
      remedy:
        "Set GRAPH_FEDERATED_IDENTITY_CLIENT_ID to the client ID of a user-assigned identity assigned to this function app (the Bicep's identity, the same as AZURE_CLIENT_ID).",
      cause: error,
      code: 'CredentialRejected',
    },
  );
}

/** Explains a failed Graph request. */
export function explainGraphError(error: unknown, config: ExportConfig, retries: RetryCounts): ExportError {
  if (error instanceof ExportError) return error;
  const untrusted = untrustedCertificateCode(
    error instanceof RetriesExhaustedError ? error.lastError : error,
  );
  if (untrusted !== undefined) {
    return new ExportError(
      `Microsoft Graph (${config.graphEndpoint}) could not be reached: a TLS trust failure.`,
      {
        remedy: untrustedCertificateHint(new URL(config.graphEndpoint).host, untrusted),
        cause: error,
        code: 'GraphUnavailable',
      },
    );
  }
  if (error instanceof RetriesExhaustedError) return explainExhaustedRetries(error, config, retries);
  const failure = asFailure(error);
  const message = messageOf(error);
  if (/AADSTS\d+/.test(message)) return explainTokenError(error, config);
  const status = typeof failure.statusCode === 'number' ? failure.statusCode : -1;
  const code = typeof failure.code === 'string' ? failure.code : undefined;
  const where = `Microsoft Graph (${config.graphEndpoint}) answered GET /v1.0/users with ${status === -1 ? 'no response' : status}${code ? ` ${code}` : ''}: ${firstLine(message)}`;
  if (code === 'DeadlineError' || code === 'RunBudgetError') {
    return new ExportError(`GET /v1.0/users failed: ${firstLine(message)}`, {
      remedy:
        'Nothing was written; the next run starts again. If it persists, check the network path to Graph (a proxy or firewall that holds connections open).',
      cause: error,
      code: 'GraphUnavailable',
    });
  }
  if (status >= 300 && status < 400) {
    return new ExportError(
      `Microsoft Graph (${config.graphEndpoint}) redirected GET /v1.0/users to another origin (${redirectOrigin(failure)}); the export does not follow it, and exported nothing from there.`,
      {
        remedy: 'Check GRAPH_ENDPOINT, and any proxy between the function and Graph. Nothing was written.',
        cause: error,
        code: 'GraphForeignOrigin',
      },
    );
  }
  if (status === 403) {
    const consentUrl = `${config.authorityHost}/${config.tenantId}/adminconsent?client_id=${config.clientId}`;
    if (code === 'Authentication_RequestFromNonPremiumTenantOrB2CTenant') {
      return new ExportError(where, {
        remedy:
          'signInActivity needs a Microsoft Entra ID P1 or P2 licence in the tenant. Remove signInActivity from EXPORT_SELECT, or license the tenant; the rest of the export works without it.',
        cause: error,
        code: 'GraphLicenseRequired',
      });
    }
    if (code === 'Authentication_MSGraphPermissionMissing' || /AuditLog\.Read\.All/.test(message)) {
      return new ExportError(where, {
        remedy: `signInActivity needs the Microsoft Graph application permission AuditLog.Read.All as well as User.Read.All: run infra/scripts/register-app.sh --sign-in-activity (or add it under API permissions and grant admin consent: ${consentUrl}), or remove signInActivity from EXPORT_SELECT.`,
        cause: error,
        code: 'GraphForbidden',
      });
    }
    return new ExportError(where, {
      remedy: `Grant app ${config.clientId} the Microsoft Graph application permission User.Read.All and admin consent (API permissions > Grant admin consent), or open ${consentUrl} as a Global or Privileged Role Administrator.`,
      cause: error,
      code: 'GraphForbidden',
    });
  }
  if (status === 401) {
    return new ExportError(where, {
      remedy: /expired/i.test(message)
        ? "Graph kept rejecting the token as expired although a new one was fetched for each attempt: check this machine's clock, and the token lifetime policies of the tenant."
        : 'The token was not accepted: GRAPH_ENDPOINT and GRAPH_AUTHORITY_HOST must belong to the same cloud.',
      cause: error,
      code: 'GraphUnauthorized',
    });
  }
  if (status === 400) {
    return new ExportError(where, {
      remedy: "Check EXPORT_FILTER and EXPORT_SELECT against the user resource's properties.",
      cause: error,
      code: 'GraphBadRequest',
    });
  }
  if (error instanceof SyntaxError || code === 'SyntaxError') {
    return new ExportError(
      `Microsoft Graph answered GET /v1.0/users with a body that is not valid JSON: ${firstLine(message)}`,
      { remedy: 'Nothing was written; the next run starts again.', cause: error, code: 'GraphMalformedPage' },
    );
  }
  return new ExportError(where, {
    remedy: 'Nothing was written; the next run starts again.',
    cause: error,
    code: 'GraphUnavailable',
  });
}

/** Retries made so far in a run, by kind. */
export interface RetryCounts {
  throttled: number;
  transient: number;
}

function explainExhaustedRetries(
  error: RetriesExhaustedError,
  config: ExportConfig,
  retries: RetryCounts,
): ExportError {
  const last = asFailure(error.lastError);
  const status =
    typeof last.statusCode === 'number' && last.statusCode > 0
      ? String(last.statusCode)
      : last.code === 'DeadlineError'
        ? `none in time; ${firstLine(messageOf(error.lastError))}`
        : 'a dropped connection';
  const throttled = classifyGraphFailure(error.lastError, Date.now()).kind === 'throttled';
  return new ExportError(
    `Microsoft Graph (${config.graphEndpoint}) ${throttled ? 'kept throttling' : 'kept failing'} GET /v1.0/users (last answer: ${status}${typeof last.code === 'string' && last.code !== 'DeadlineError' ? ` ${last.code}` : ''}): ${error.message} (${retries.throttled} throttled and ${retries.transient} transient retries in this run).`,
    {
      remedy:
        "Nothing was written; the timer's retry policy and then the next scheduled run try again. If it persists, lower EXPORT_PARALLELISM, or look for other apps sharing this tenant's Graph budget.",
      cause: error.lastError,
      code: throttled ? 'GraphThrottled' : 'GraphUnavailable',
    },
  );
}

function redirectOrigin(failure: ServiceFailure): string {
  const recorded = (failure as { redirectedTo?: unknown }).redirectedTo;
  if (typeof recorded === 'string') return recorded;
  const headers = (failure as { headers?: { get?: (name: string) => string | null } }).headers;
  const location = typeof headers?.get === 'function' ? headers.get('location') : null;
  try {
    return location ? new URL(location).origin : 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * What a failed Graph request calls for. Throttling (429, 503, 504) waits as `Retry-After` says;
 * a connection dropped before or while the body is read (the Graph client reports the latter as
 * status 200 with code `TypeError`), a 500 or 502, and a token found expired are tried again.
 */
export function classifyGraphFailure(error: unknown, now: number): FailureKind {
  const failure = asFailure(error);
  const status = typeof failure.statusCode === 'number' ? failure.statusCode : -1;
  if (status === 429 || status === 503 || status === 504) {
    const headers = (failure as { headers?: { get?: (name: string) => string | null } }).headers;
    const retryAfter = typeof headers?.get === 'function' ? headers.get('retry-after') : undefined;
    return { kind: 'throttled', retryAfterMs: parseRetryAfter(retryAfter, now) };
  }
  if (status === 500 || status === 502) return { kind: 'transient' };
  if (failure.code === 'TypeError' || error instanceof TypeError) return { kind: 'transient' };
  // A request that passed its deadline (deadlines.ts) is tried again; one the run's budget ended is not.
  if (failure.code === 'DeadlineError' || (error instanceof Error && error.name === 'DeadlineError')) {
    return { kind: 'transient' };
  }
  if (status === 401 && /expired/i.test(messageOf(error))) return { kind: 'transient' };
  return { kind: 'fatal' };
}

function firstLine(message: string): string {
  return message.split('\n', 1)[0]!.trim();
}
