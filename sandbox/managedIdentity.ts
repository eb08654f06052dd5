import type { IncomingMessage, ServerResponse } from 'node:http';

import { sendJson } from './http.js';
import type { SandboxApp, SandboxTenant } from './tenant.js';

export const MANAGED_IDENTITY_PATH = '/msi/token';

/**
 * The App Service / Functions managed-identity endpoint (IDENTITY_ENDPOINT), API version
 * 2019-08-01: GET with `resource` and, for a user-assigned identity, `client_id`, and the
 * X-IDENTITY-HEADER the platform hands the process in IDENTITY_HEADER.
 */
export class SandboxManagedIdentity {
  /** Requests answered, for tests to see the identity was used. */
  readonly requests: { clientId: string | null; resource: string }[] = [];

  constructor(
    private readonly tenant: SandboxTenant,
    private readonly identities: () => SandboxApp[],
    readonly identityHeader: string,
  ) {}

  handle(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (request.headers['x-identity-header'] !== this.identityHeader) {
      sendJson(response, 401, {
        statusCode: 401,
        message: 'Unauthorized: the X-IDENTITY-HEADER is missing or wrong.',
      });
      return;
    }
    if (url.searchParams.get('api-version') !== '2019-08-01') {
      sendJson(response, 400, { statusCode: 400, message: 'An api-version of 2019-08-01 is required.' });
      return;
    }
    const resource = url.searchParams.get('resource') ?? '';
    const clientId = url.searchParams.get('client_id');
    this.requests.push({ clientId, resource });
    const assigned = this.identities();
    const identity =
      clientId === null ? assigned[0] : assigned.find((candidate) => candidate.clientId === clientId);
    if (!resource || identity === undefined) {
      // What the platform answers for an identity that is not assigned to the app.
      sendJson(response, 400, {
        statusCode: 400,
        message: `Unable to load the proper Managed Identity. client_id '${clientId ?? ''}' is not assigned to this app.`,
        correlationId: crypto.randomUUID(),
      });
      return;
    }
    const issued = this.tenant.issueManagedIdentityToken(identity, resource);
    sendJson(response, 200, {
      access_token: issued.token,
      expires_on: String(Math.floor(Date.now() / 1000) + issued.expiresIn),
      resource,
      token_type: 'Bearer',
      client_id: identity.clientId,
    });
  }
}
