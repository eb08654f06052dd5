import { generateKeyPairSync, type KeyObject, randomBytes, randomUUID } from 'node:crypto';

import { type Claims, decodeJwt, signRs256, verifyRs256 } from './jwt.js';

export interface SandboxSecret {
  value: string;
  expiresAt: Date;
}

/** An app registration in the sandbox tenant, with what it may reach. */
export interface SandboxApp {
  clientId: string;
  displayName: string;
  secrets: SandboxSecret[];
  /** PEM certificates registered under Certificates & secrets. */
  certificates: string[];
  /** Microsoft Graph application permissions with admin consent. */
  graphRoles: string[];
  /** Whether the app holds "Key Vault Secrets User" on the sandbox vault. */
  vaultReader: boolean;
}

export type TokenCheck =
  { ok: true; claims: Claims } | { ok: false; reason: 'missing' | 'invalid' | 'expired' | 'audience' };

export const LOGIN_HOST = 'login.microsoftonline.com';
export const VAULT_RESOURCE = 'https://vault.azure.net';

/** The tenant: its apps, and the key it signs access tokens with. */
export class SandboxTenant {
  readonly tenantId = randomUUID();
  readonly apps = new Map<string, SandboxApp>();
  /** How long issued access tokens live; short values make tokens expire mid-run. */
  tokenLifetimeSeconds = 3600;
  readonly issued: { clientId: string; audience: string; token: string }[] = [];
  private readonly signingKey: { privateKey: KeyObject; publicKey: KeyObject };
  private readonly kid = randomBytes(8).toString('hex');

  constructor() {
    this.signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
  }

  registerApp(
    options: Partial<Omit<SandboxApp, 'clientId' | 'secrets'>> & {
      secret?: string;
      secretExpiresAt?: Date;
    } = {},
  ): SandboxApp {
    const app: SandboxApp = {
      clientId: randomUUID(),
      displayName: options.displayName ?? 'sandbox app',
      secrets: options.secret
        ? [
            {
              value: options.secret,
              expiresAt: options.secretExpiresAt ?? new Date(Date.now() + 365 * 86_400_000),
            },
          ]
        : [],
      certificates: options.certificates ?? [],
      graphRoles: options.graphRoles ?? [],
      vaultReader: options.vaultReader ?? false,
    };
    this.apps.set(app.clientId, app);
    return app;
  }

  issueAccessToken(app: SandboxApp, audience: string): { token: string; expiresIn: number } {
    const now = Math.floor(Date.now() / 1000);
    const claims: Claims = {
      aud: audience,
      iss: `https://sts.windows.net/${this.tenantId}/`,
      iat: now,
      nbf: now,
      exp: now + this.tokenLifetimeSeconds,
      appid: app.clientId,
      azp: app.clientId,
      tid: this.tenantId,
      oid: app.clientId,
      roles: audience === VAULT_RESOURCE ? [] : app.graphRoles,
      idtyp: 'app',
    };
    const token = signRs256(claims, this.signingKey.privateKey, this.kid);
    this.issued.push({ clientId: app.clientId, audience, token });
    return { token, expiresIn: this.tokenLifetimeSeconds };
  }

  checkAccessToken(token: string | undefined, audience: string): TokenCheck {
    if (token === undefined) return { ok: false, reason: 'missing' };
    const jwt = decodeJwt(token);
    if (!jwt || !verifyRs256(jwt, this.signingKey.publicKey) || jwt.claims['tid'] !== this.tenantId) {
      return { ok: false, reason: 'invalid' };
    }
    if (typeof jwt.claims['exp'] !== 'number' || jwt.claims['exp'] * 1000 <= Date.now()) {
      return { ok: false, reason: 'expired' };
    }
    if (jwt.claims['aud'] !== audience) return { ok: false, reason: 'audience' };
    return { ok: true, claims: jwt.claims };
  }
}
