import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

import { X509Certificate } from 'node:crypto';

import { readBody, sendJson } from './http.js';
import { decodeJwt, verifyPs256 } from './jwt.js';
import { LOGIN_HOST, type SandboxApp, type SandboxTenant } from './tenant.js';

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

function aadError(response: ServerResponse, status: number, error: string, code: number, text: string): void {
  const traceId = randomUUID();
  const correlationId = randomUUID();
  const timestamp = new Date().toISOString().replace('T', ' ').replace('Z', 'Z');
  sendJson(response, status, {
    error,
    error_description: `AADSTS${code}: ${text} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
    error_codes: [code],
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
    error_uri: `https://${LOGIN_HOST}/error?code=${code}`,
  });
}

/**
 * The Entra ID v2 endpoints MSAL uses for the client-credentials grant: OpenID metadata and the
 * token endpoint, checking secrets and certificate assertions the way Entra does.
 */
export async function handleEntraRequest(
  tenant: SandboxTenant,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const url = new URL(request.url ?? '/', `https://${LOGIN_HOST}`);
  const [tenantSegment, ...rest] = url.pathname.split('/').filter(Boolean);
  const path = rest.join('/');

  if (request.method === 'GET' && url.pathname === '/common/discovery/instance') {
    sendJson(response, 200, {
      tenant_discovery_endpoint: `https://${LOGIN_HOST}/{tenant}/v2.0/.well-known/openid-configuration`,
      'api-version': '1.1',
      metadata: [{ preferred_network: LOGIN_HOST, preferred_cache: LOGIN_HOST, aliases: [LOGIN_HOST] }],
    });
    return;
  }
  if (tenantSegment !== tenant.tenantId) {
    aadError(
      response,
      400,
      'invalid_request',
      90002,
      `Tenant '${tenantSegment ?? ''}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
    );
    return;
  }
  if (request.method === 'GET' && path === 'v2.0/.well-known/openid-configuration') {
    const base = `https://${LOGIN_HOST}/${tenant.tenantId}`;
    sendJson(response, 200, {
      token_endpoint: `${base}/oauth2/v2.0/token`,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      issuer: `${base}/v2.0`,
      jwks_uri: `https://${LOGIN_HOST}/${tenant.tenantId}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    });
    return;
  }
  if (request.method !== 'POST' || path !== 'oauth2/v2.0/token') {
    sendJson(response, 404, { error: 'not_found' });
    return;
  }

  const form = new URLSearchParams((await readBody(request)).toString('utf8'));
  const clientId = form.get('client_id') ?? '';
  const app = tenant.apps.get(clientId);
  if (form.get('grant_type') !== 'client_credentials') {
    aadError(response, 400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
    return;
  }
  if (!app) {
    aadError(
      response,
      400,
      'unauthorized_client',
      700016,
      `Application with identifier '${clientId}' was not found in the directory '${tenant.tenantId}'. This can happen if the application has not been installed by the administrator of the tenant.`,
    );
    return;
  }
  const tokenEndpoint = `https://${LOGIN_HOST}/${tenant.tenantId}/oauth2/v2.0/token`;
  const rejection = form.has('client_assertion')
    ? isFederatedAssertion(form)
      ? checkFederatedAssertion(tenant, app, form)
      : checkAssertion(app, form, tokenEndpoint)
    : checkSecret(app, form.get('client_secret'));
  if (rejection) {
    aadError(response, 401, 'invalid_client', rejection.code, rejection.text);
    return;
  }
  const scope = (form.get('scope') ?? '').split(' ').find((item) => item.endsWith('/.default'));
  if (!scope) {
    aadError(
      response,
      400,
      'invalid_scope',
      1002012,
      'The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.',
    );
    return;
  }
  const issued = tenant.issueAccessToken(app, scope.slice(0, -'/.default'.length));
  sendJson(response, 200, {
    token_type: 'Bearer',
    expires_in: issued.expiresIn,
    ext_expires_in: issued.expiresIn,
    access_token: issued.token,
  });
}

function checkSecret(app: SandboxApp, secret: string | null): { code: number; text: string } | undefined {
  const match = app.secrets.find((candidate) => candidate.value === secret);
  if (!match) {
    return {
      code: 7000215,
      text: `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${app.clientId}'.`,
    };
  }
  if (match.expiresAt.getTime() <= Date.now()) {
    return {
      code: 7000222,
      text: `The provided client secret keys for app '${app.clientId}' are expired. Visit the Azure portal to create new keys for your app.`,
    };
  }
  return undefined;
}

/** A certificate assertion names its key by thumbprint; a token from another issuer does not. */
function isFederatedAssertion(form: URLSearchParams): boolean {
  const jwt = decodeJwt(form.get('client_assertion') ?? '');
  return jwt !== undefined && jwt.header['x5t#S256'] === undefined && jwt.header['x5t'] === undefined;
}

/**
 * Workload identity federation: the assertion is a token from a trusted issuer, accepted only when
 * one of the app's federated credentials names its issuer, subject and audience, matched
 * case-sensitively, as Entra does (AADSTS700211, 700212, 700213).
 */
function checkFederatedAssertion(
  tenant: SandboxTenant,
  app: SandboxApp,
  form: URLSearchParams,
): { code: number; text: string } | undefined {
  if (form.get('client_assertion_type') !== ASSERTION_TYPE) {
    return {
      code: 700027,
      text: 'Client assertion failed signature validation. [Reason - Unsupported client_assertion_type.]',
    };
  }
  const claims = tenant.verifySignedToken(form.get('client_assertion') ?? '');
  if (claims === undefined) {
    return {
      code: 700024,
      text: 'Client assertion is not within its valid time range, or its signature is not valid.',
    };
  }
  const { iss, sub, aud } = claims;
  const byIssuer = app.federatedCredentials.filter((credential) => credential.issuer === iss);
  if (byIssuer.length === 0) {
    return {
      code: 700211,
      text: `No matching federated identity record found for presented assertion issuer '${String(iss)}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation`,
    };
  }
  const bySubject = byIssuer.filter((credential) => credential.subject === sub);
  if (bySubject.length === 0) {
    return {
      code: 700213,
      text: `No matching federated identity record found for presented assertion subject '${String(sub)}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation`,
    };
  }
  if (!bySubject.some((credential) => credential.audiences.includes(String(aud)))) {
    return {
      code: 700212,
      text: `No matching federated identity record found for presented assertion audience '${String(aud)}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation`,
    };
  }
  return undefined;
}

function checkAssertion(
  app: SandboxApp,
  form: URLSearchParams,
  tokenEndpoint: string,
): { code: number; text: string } | undefined {
  const invalid = (reason: string) => ({
    code: 700027,
    text: `Client assertion failed signature validation. [Reason - ${reason}]`,
  });
  if (form.get('client_assertion_type') !== ASSERTION_TYPE)
    return invalid('Unsupported client_assertion_type.');
  const jwt = decodeJwt(form.get('client_assertion') ?? '');
  if (!jwt) return invalid('The assertion is not a JWT.');
  const thumbprint = jwt.header['x5t#S256'];
  const certificate = app.certificates.find(
    (pem) =>
      Buffer.from(new X509Certificate(pem).fingerprint256.replace(/:/g, ''), 'hex').toString('base64url') ===
      thumbprint,
  );
  if (!certificate)
    return invalid(`The key was not found., Thumbprint of key used by client: '${String(thumbprint)}'`);
  if (!verifyPs256(jwt, certificate)) return invalid('The signature is not valid.');
  const { aud, iss, sub, exp, nbf } = jwt.claims;
  const now = Date.now() / 1000;
  if (aud !== tokenEndpoint)
    return {
      code: 700212,
      text: `No matching federated identity record found for presented assertion audience '${String(aud)}'.`,
    };
  if (iss !== app.clientId || sub !== app.clientId)
    return {
      code: 700021,
      text: "Client assertion application identifier doesn't match 'client_id' parameter.",
    };
  if (typeof exp !== 'number' || exp <= now || (typeof nbf === 'number' && nbf > now + 300)) {
    return { code: 700024, text: 'Client assertion is not within its valid time range.' };
  }
  return undefined;
}
