import type { ExportConfig } from '../config.js';
import { ExportError } from '../errors.js';

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

/** Azure AD's AADSTS codes tell exactly what is wrong with an app's sign-in. */
const AADSTS_REMEDIES: Record<string, (config: ExportConfig) => string> = {
  '7000215': (config) =>
    `The client secret is wrong. Store the secret's Value (not its Secret ID) in Key Vault as "${config.graphCredential.name}": App registrations > Certificates & secrets.`,
  '7000222': () =>
    'The client secret has expired. Create a new one and store its Value in Key Vault, or better, move to a Key Vault certificate (GRAPH_CLIENT_CERTIFICATE_NAME), which Key Vault can renew.',
  '700027': (config) =>
    `The certificate "${config.graphCredential.name}" is not registered on the app registration ${config.clientId}, or this machine's clock is off. Upload the certificate's public part (.cer) under App registrations > Certificates & secrets, and check the clock.`,
  '700016': (config) =>
    `No application ${config.clientId} exists in tenant ${config.tenantId}. Check GRAPH_CLIENT_ID and GRAPH_TENANT_ID, and that GRAPH_AUTHORITY_HOST is the cloud the app lives in.`,
  '90002': (config) =>
    `Tenant ${config.tenantId} was not found at ${config.authorityHost}. Check GRAPH_TENANT_ID, and GRAPH_AUTHORITY_HOST for national clouds (login.microsoftonline.us, login.chinacloudapi.cn).`,
};

/** Explains a failure to get the app-only token for Graph. */
export function explainTokenError(error: unknown, config: ExportConfig): ExportError {
  if (error instanceof ExportError) return error;
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
    },
  );
}

/** Explains a failure to read the app's credential from Key Vault. */
export function explainKeyVaultError(error: unknown, config: ExportConfig): ExportError {
  if (error instanceof ExportError) return error;
  const failure = asFailure(error);
  const name = config.graphCredential.name;
  const setting = config.graphCredential.setting;
  const what = `${config.graphCredential.kind} "${name}" in ${config.keyVaultUrl}`;
  if (failure.name === 'CredentialUnavailableError' || failure.name === 'AggregateAuthenticationError') {
    return new ExportError(`No Azure identity was available to read the ${what}.`, {
      remedy:
        "In Azure, give the function app a managed identity (and set AZURE_CLIENT_ID to a user-assigned identity's client ID); locally, run `az login` or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET.",
      cause: error,
    });
  }
  if (failure.statusCode === 404) {
    return new ExportError(`Key Vault has no ${what} (404 ${codeOf(failure, 'NotFound')}).`, {
      remedy: `Check ${setting} and KEY_VAULT_URL, and that the ${config.graphCredential.kind} exists and is enabled.`,
      cause: error,
    });
  }
  if (failure.statusCode === 403) {
    return new ExportError(
      `Access to the ${what} was denied (403 ${codeOf(failure, 'Forbidden')}): ${firstLine(messageOf(error))}`,
      {
        remedy:
          'Give the function\'s identity the "Key Vault Secrets User" role on the vault (RBAC vaults), or a Get secret access policy; a disabled secret must be enabled again.',
        cause: error,
      },
    );
  }
  if (failure.statusCode === 401) {
    return new ExportError(`Key Vault rejected the identity's token reading the ${what} (401).`, {
      remedy: "Check that the vault is in the same tenant as the function's identity.",
      cause: error,
    });
  }
  if (failure.name === 'AuthenticationError' || failure.name === 'AuthenticationRequiredError') {
    return new ExportError(
      `The identity used for Key Vault could not sign in: ${firstLine(messageOf(error))}`,
      {
        remedy: 'Check the managed identity (AZURE_CLIENT_ID) or your local `az login`.',
        cause: error,
      },
    );
  }
  return new ExportError(`Could not read the ${what}: ${firstLine(messageOf(error))}`, {
    remedy: 'Check KEY_VAULT_URL and that the vault is reachable from the function.',
    cause: error,
  });
}

/** Explains a failed Graph request. */
export function explainGraphError(error: unknown, config: ExportConfig, retries: number): ExportError {
  if (error instanceof ExportError) return error;
  const failure = asFailure(error);
  const message = messageOf(error);
  if (/AADSTS\d+/.test(message)) return explainTokenError(error, config);
  const status = typeof failure.statusCode === 'number' ? failure.statusCode : -1;
  const code = typeof failure.code === 'string' ? failure.code : undefined;
  const where = `Microsoft Graph (${config.graphEndpoint}) answered GET /v1.0/users with ${status === -1 ? 'no response' : status}${code ? ` ${code}` : ''}: ${firstLine(message)}`;
  if (status === 403) {
    const consentUrl = `${config.authorityHost}/${config.tenantId}/adminconsent?client_id=${config.clientId}`;
    return new ExportError(where, {
      remedy: `Grant app ${config.clientId} the Microsoft Graph application permission User.Read.All and admin consent (API permissions > Grant admin consent), or open ${consentUrl} as a Global or Privileged Role Administrator.`,
      cause: error,
    });
  }
  if (status === 401) {
    return new ExportError(where, {
      remedy:
        'The token was not accepted: GRAPH_ENDPOINT and GRAPH_AUTHORITY_HOST must belong to the same cloud.',
      cause: error,
    });
  }
  if (status === 429 || status === 503 || status === 504) {
    return new ExportError(`${where} (after ${retries} retries in this run).`, {
      remedy:
        "Graph is throttling or unavailable; nothing was written, and the timer's retry policy or the next run will try again.",
      cause: error,
    });
  }
  if (status === 400) {
    return new ExportError(where, {
      remedy: "Check EXPORT_FILTER and EXPORT_SELECT against the user resource's properties.",
      cause: error,
    });
  }
  if (error instanceof SyntaxError || code === 'SyntaxError') {
    return new ExportError(
      `Microsoft Graph answered GET /v1.0/users with a body that is not valid JSON: ${firstLine(message)}`,
      {
        remedy: 'Nothing was written; the next run starts again.',
        cause: error,
      },
    );
  }
  return new ExportError(where, {
    remedy: 'Nothing was written; the next run starts again.',
    cause: error,
  });
}

/** A dropped connection or a gateway hiccup: worth trying the same page again. */
export function isTransientGraphFailure(error: unknown): boolean {
  const failure = asFailure(error);
  if (failure.statusCode === 500 || failure.statusCode === 502) return true;
  return (failure.statusCode === -1 || failure.statusCode === undefined) && failure.code === 'TypeError';
}

function firstLine(message: string): string {
  return message.split('\n', 1)[0]!.trim();
}
