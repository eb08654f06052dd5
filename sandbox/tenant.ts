import { generateKeyPairSync, type KeyObject, randomBytes, randomUUID } from 'node:crypto';

import { type Claims, decodeJwt, signRs256, verifyRs256 } from './jwt.js';

export interface SandboxSecret {
  value: string;
  expiresAt: Date;
}

/** A trust on an app registration: tokens from this issuer, for this subject and audience, sign it in. */
export interface FederatedCredential {
  issuer: string;
  subject: string;
  audiences: string[];
}

/** An app registration in the sandbox tenant (or a managed identity's service principal), with what it may reach. */
export interface SandboxApp {
  clientId: string;
  /** The service principal's object ID: a managed identity's "principal ID", the subject of its tokens. */
  objectId: string;
  displayName: string;
  secrets: SandboxSecret[];
  /** PEM certificates registered under Certificates & secrets. */
  certificates: string[];
  /** Microsoft Graph application permissions with admin consent. */
  graphRoles: string[];
  /** Whether the app holds "Key Vault Secrets User" on the sandbox vault. */
  vaultReader: boolean;
  /** Federated identity credentials registered on the app. */
  federatedCredentials: FederatedCredential[];
}

/** The audience a managed-identity token must carry to be exchanged, in the public cloud. */
export const TOKEN_EXCHANGE_AUDIENCE = 'api://AzureADTokenExchange';

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
    options: Partial<Omit<SandboxApp, 'clientId' | 'objectId' | 'secrets'>> & {
      secret?: string;
      secretExpiresAt?: Date;
    } = {},
  ): SandboxApp {
    const app: SandboxApp = {
      clientId: randomUUID(),
      objectId: randomUUID(),
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
      federatedCredentials: options.federatedCredentials ?? [],
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
      oid: app.objectId,
      roles: audience === VAULT_RESOURCE ? [] : app.graphRoles,
      idtyp: 'app',
    };
    const token = signRs256(claims, this.signingKey.privateKey, this.kid);
    this.issued.push({ clientId: app.clientId, audience, token });
    return { token, expiresIn: this.tokenLifetimeSeconds };
  }

  /** The issuer of the tokens a managed identity gets for the token-exchange audience (v2). */
  get federationIssuer(): string {
    return `https://${LOGIN_HOST}/${this.tenantId}/v2.0`;
  }

  /**
   * What the managed-identity endpoint hands out: for the token-exchange audience, a v2 token
   * whose subject is the identity's principal (object) ID; for any other resource, an access token.
   */
  issueManagedIdentityToken(identity: SandboxApp, resource: string): { token: string; expiresIn: number } {
    if (!resource.startsWith('api://AzureADTokenExchange')) return this.issueAccessToken(identity, resource);
    const now = Math.floor(Date.now() / 1000);
    const claims: Claims = {
      aud: resource,
      iss: this.federationIssuer,
      sub: identity.objectId,
      oid: identity.objectId,
      azp: identity.clientId,
      tid: this.tenantId,
      iat: now,
      nbf: now,
      exp: now + this.tokenLifetimeSeconds,
    };
    const token = signRs256(claims, this.signingKey.privateKey, this.kid);
    this.issued.push({ clientId: identity.clientId, audience: resource, token });
    return { token, expiresIn: this.tokenLifetimeSeconds };
  }

  /** Whether a token is one this tenant signed and still valid, whatever its audience. */
  verifySignedToken(token: string): Claims | undefined {
    const jwt = decodeJwt(token);
    if (!jwt || !verifyRs256(jwt, this.signingKey.publicKey)) return undefined;
    if (typeof jwt.claims['exp'] !== 'number' || jwt.claims['exp'] * 1000 <= Date.now()) return undefined;
    return jwt.claims;
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
