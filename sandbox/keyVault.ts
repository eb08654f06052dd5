import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

import { bearerToken, sendJson } from './http.js';
import { LOGIN_HOST, type SandboxTenant, VAULT_RESOURCE } from './tenant.js';

export interface VaultEntry {
  value: string;
  contentType?: string;
  enabled?: boolean;
  /** When the entry stops being valid (a certificate's notAfter), epoch seconds. */
  expires?: number;
}

type StoredVersion = VaultEntry & { version: string; created: number };

/** One Key Vault: secrets, and certificates' private keys as Key Vault serves them through /secrets. */
export class SandboxKeyVault {
  /** Each name's versions, oldest first; the newest is what a read without a version returns. */
  readonly versions = new Map<string, StoredVersion[]>();

  /** The newest version of each entry. */
  get entries(): Map<string, StoredVersion> {
    return new Map([...this.versions].map(([name, list]) => [name, list.at(-1)!]));
  }
  readonly requests: string[] = [];

  constructor(
    readonly tenant: SandboxTenant,
    readonly host: string,
  ) {}

  get url(): string {
    return `https://${this.host}`;
  }

  /** Adds a new version, as `az keyvault secret set` and a certificate renewal do. */
  set(name: string, entry: VaultEntry): string {
    const version = randomBytes(16).toString('hex');
    const list = this.versions.get(name) ?? [];
    // Created times increase with each version, even within one second.
    const created = Math.max(Math.floor(Date.now() / 1000), (list.at(-1)?.created ?? 0) + 1);
    list.push({ ...entry, version, created });
    this.versions.set(name, list);
    return version;
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
    const listing = match?.[2] === 'versions';
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
    const all = this.versions.get(name) ?? [];
    if (listing && all.length > 0) {
      sendJson(response, 200, {
        value: all.map((version) => ({
          id: `${this.url}/secrets/${name}/${version.version}`,
          contentType: version.contentType,
          attributes: this.attributes(version),
        })),
      });
      return;
    }
    const wanted = match[2] ? decodeURIComponent(match[2]) : undefined;
    const entry = wanted === undefined ? all.at(-1) : all.find((version) => version.version === wanted);
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
      attributes: this.attributes(entry),
      ...(entry.contentType?.startsWith('application/x-')
        ? { kid: `${this.url}/keys/${name}/${entry.version}`, managed: true }
        : {}),
    });
  }

  private attributes(entry: StoredVersion) {
    return {
      enabled: entry.enabled !== false,
      created: entry.created,
      updated: entry.created,
      ...(entry.expires === undefined ? {} : { exp: entry.expires }),
      recoveryLevel: 'Recoverable+Purgeable',
    };
  }
}
