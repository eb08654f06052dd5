import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

import { bearerToken, sendJson } from './http.js';
import { LOGIN_HOST, type SandboxTenant, VAULT_RESOURCE } from './tenant.js';

export interface VaultEntry {
  value: string;
  contentType?: string;
  enabled?: boolean;
}

/** One Key Vault: secrets, and certificates' private keys as Key Vault serves them through /secrets. */
export class SandboxKeyVault {
  readonly entries = new Map<string, VaultEntry & { version: string; created: number }>();
  readonly requests: string[] = [];

  constructor(
    readonly tenant: SandboxTenant,
    readonly host: string,
  ) {}

  get url(): string {
    return `https://${this.host}`;
  }

  set(name: string, entry: VaultEntry): void {
    this.entries.set(name, {
      ...entry,
      version: randomBytes(16).toString('hex'),
      created: Math.floor(Date.now() / 1000),
    });
  }

  handle(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', this.url);
    this.requests.push(`${request.method ?? ''} ${url.pathname}`);
    const token = bearerToken(request);
    if (token === undefined) {
      // The challenge that tells the SDK which authority and resource to get a token for.
      response.writeHead(401, {
        'www-authenticate': `Bearer authorization="https://${LOGIN_HOST}/${this.tenant.tenantId}", resource="${VAULT_RESOURCE}"`,
        'content-type': 'application/json; charset=utf-8',
      });
      response.end(
        JSON.stringify({
          error: { code: 'Unauthorized', message: 'AKV10000: Request is missing a Bearer or PoP token.' },
        }),
      );
      return;
    }
    const check = this.tenant.checkAccessToken(token, VAULT_RESOURCE);
    if (!check.ok) {
      sendJson(response, 401, {
        error: { code: 'Unauthorized', message: `AKV10022: Invalid audience or token (${check.reason}).` },
      });
      return;
    }
    const app = this.tenant.apps.get(String(check.claims['appid']));
    const match = /^\/secrets\/([^/]+)\/?([^/]*)$/.exec(url.pathname);
    if (request.method !== 'GET' || !match) {
      sendJson(response, 400, {
        error: { code: 'BadParameter', message: 'Unsupported operation in the sandbox vault.' },
      });
      return;
    }
    if (!app?.vaultReader) {
      sendJson(response, 403, {
        error: {
          code: 'Forbidden',
          message: `Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\nCaller: appid=${String(check.claims['appid'])}\r\nAction: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'`,
          innererror: { code: 'ForbiddenByRbac' },
        },
      });
      return;
    }
    const name = decodeURIComponent(match[1]!);
    const entry = this.entries.get(name);
    if (!entry) {
      sendJson(response, 404, {
        error: {
          code: 'SecretNotFound',
          message: `A secret with (name/id) ${name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command.`,
        },
      });
      return;
    }
    if (entry.enabled === false) {
      sendJson(response, 403, {
        error: {
          code: 'Forbidden',
          message: 'Operation get is not allowed on a disabled secret.',
          innererror: { code: 'SecretDisabled' },
        },
      });
      return;
    }
    sendJson(response, 200, {
      value: entry.value,
      contentType: entry.contentType,
      id: `${this.url}/secrets/${name}/${entry.version}`,
      attributes: {
        enabled: true,
        created: entry.created,
        updated: entry.created,
        recoveryLevel: 'Recoverable+Purgeable',
      },
      ...(entry.contentType?.startsWith('application/x-')
        ? { kid: `${this.url}/keys/${name}/${entry.version}`, managed: true }
        : {}),
    });
  }
}
