import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { SandboxAppInsights } from './appInsights.js';
import { type AppCertificate, createAppCertificate, createCertificateAuthority } from './certificates.js';
import { type PropertyProfile, SandboxDirectory } from './directory.js';
import { handleEntraRequest } from './entra.js';
import { SandboxGraph } from './graph.js';
import { sendJson } from './http.js';
import { SandboxKeyVault } from './keyVault.js';
import { MANAGED_IDENTITY_PATH, SandboxManagedIdentity } from './managedIdentity.js';
import { startTunnelProxy } from './proxy.js';
import { LOGIN_HOST, type SandboxApp, SandboxTenant, TOKEN_EXCHANGE_AUDIENCE } from './tenant.js';

export const VAULT_HOST = 'sandbox-vault.vault.azure.net';
export const SECRET_NAME = 'graph-client-secret';
export const CERTIFICATE_NAME = 'graph-client-certificate';
export const PEM_CERTIFICATE_NAME = 'graph-client-certificate-pem';

export interface SandboxOptions {
  users?: number;
  profile?: PropertyProfile;
}

/**
 * A local Entra ID tenant: token endpoint, Key Vault, Microsoft Graph and Application Insights
 * ingestion behind one TLS server whose certificate a generated CA signs. The Azure host names
 * (login.microsoftonline.com, *.vault.azure.net) reach it through a CONNECT proxy.
 */
export interface Sandbox {
  tenant: SandboxTenant;
  directory: SandboxDirectory;
  vault: SandboxKeyVault;
  graph: SandboxGraph;
  appInsights: SandboxAppInsights;
  /** The app registration the export signs in as. */
  exportApp: SandboxApp;
  exportAppSecret: string;
  exportAppCertificate: AppCertificate;
  /**
   * The function's user-assigned managed identity: reads Key Vault, and is trusted by the export
   * app as a federated credential (secretless sign-in).
   */
  functionIdentity: SandboxApp;
  /** The App Service managed-identity endpoint the function's processes reach through IDENTITY_ENDPOINT. */
  managedIdentity: SandboxManagedIdentity;
  origin: string;
  proxyUrl: string;
  /** A CA bundle for NODE_EXTRA_CA_CERTS: the machine's extra CAs, if any, and the sandbox CA. */
  caBundlePath: string;
  /** The app settings that point the product at the sandbox, as local.settings.json would hold them. */
  appSettings(): Record<string, string>;
  /** The process environment a Node process needs to reach the sandbox: CA, proxy, identity. */
  processEnvironment(): Record<string, string>;
  stop(): Promise<void>;
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const tenant = new SandboxTenant();
  const directory = new SandboxDirectory({
    size: options.users ?? 2500,
    profile: options.profile ?? 'small',
  });
  const appInsights = new SandboxAppInsights();
  const vault = new SandboxKeyVault(tenant, VAULT_HOST);
  let origin = '';
  const graph = new SandboxGraph(tenant, directory, () => origin);

  const exportAppSecret = `sbx~${randomBytes(24).toString('base64url')}`;
  const exportAppCertificate = createAppCertificate('CN=entra-user-export sandbox');
  const exportApp = tenant.registerApp({
    displayName: 'entra-user-export',
    secret: exportAppSecret,
    certificates: [exportAppCertificate.certificatePem],
    graphRoles: ['User.Read.All', 'AuditLog.Read.All'],
  });
  const functionIdentity = tenant.registerApp({
    displayName: 'function app identity',
    vaultReader: true,
  });
  // What infra/scripts/register-app.sh --credential federated sets up on the app.
  exportApp.federatedCredentials.push({
    issuer: tenant.federationIssuer,
    subject: functionIdentity.objectId,
    audiences: [TOKEN_EXCHANGE_AUDIENCE],
  });
  const managedIdentity = new SandboxManagedIdentity(
    tenant,
    () => [functionIdentity],
    randomBytes(24).toString('base64url'),
  );
  vault.set(SECRET_NAME, { value: exportAppSecret });
  vault.set(CERTIFICATE_NAME, {
    value: exportAppCertificate.pkcs12Base64,
    contentType: 'application/x-pkcs12',
  });
  vault.set(PEM_CERTIFICATE_NAME, {
    value: `${exportAppCertificate.keyPem}${exportAppCertificate.certificatePem}`,
    contentType: 'application/x-pem-file',
  });

  const ca = createCertificateAuthority();
  const serverCertificate = ca.issueServerCertificate([
    'localhost',
    '127.0.0.1',
    LOGIN_HOST,
    '*.vault.azure.net',
  ]);
  const workDir = mkdtempSync(join(tmpdir(), 'entra-sandbox-'));
  const caBundlePath = join(workDir, 'ca-bundle.pem');
  const inherited = process.env['NODE_EXTRA_CA_CERTS'];
  const inheritedPem =
    inherited && existsSync(inherited) ? `${readFileSync(inherited, 'utf8').trim()}\n` : '';
  writeFileSync(caBundlePath, `${inheritedPem}${ca.certificatePem}`);

  const route = async (request: IncomingMessage, response: ServerResponse) => {
    const host = (request.headers.host ?? '').split(':')[0]!.toLowerCase();
    const path = request.url ?? '/';
    if (host === LOGIN_HOST) return handleEntraRequest(tenant, request, response);
    if (host === VAULT_HOST) return vault.handle(request, response);
    if (host.endsWith('.vault.azure.net')) {
      request.socket.destroy(); // No such vault: its name does not resolve.
      return;
    }
    if (host === '127.0.0.1' && path.startsWith(MANAGED_IDENTITY_PATH)) {
      managedIdentity.handle(request, response);
      return;
    }
    if (host === 'localhost' && path.startsWith('/v1.0/')) return graph.handleForeign(request, response);
    if (path.startsWith('/v1.0/')) return graph.handle(request, response);
    if (/^\/v2(\.1)?\/track/.test(path)) return appInsights.handle(request, response);
    sendJson(response, 404, { error: `The sandbox has nothing at ${host}${path}` });
  };
  const server: Server = createServer(
    { key: serverCertificate.keyPem, cert: serverCertificate.certificatePem },
    (request, response) => {
      route(request, response).catch((error: unknown) => {
        if (!response.headersSent)
          sendJson(response, 500, { error: { code: 'SandboxFailure', message: String(error) } });
        else response.destroy();
      });
    },
  );
  // Tunnelled TLS sockets are not tracked by closeAllConnections: stop() ends them itself.
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('The sandbox has no port.');
  const port = address.port;
  origin = `https://127.0.0.1:${port}`;

  const proxy = await startTunnelProxy((host, targetPort) => {
    if ((host === LOGIN_HOST || host.endsWith('.vault.azure.net')) && targetPort === 443) return port;
    if (host === '127.0.0.1' || host === 'localhost') return targetPort;
    return undefined;
  });

  return {
    tenant,
    directory,
    vault,
    graph,
    appInsights,
    exportApp,
    exportAppSecret,
    exportAppCertificate,
    functionIdentity,
    managedIdentity,
    origin,
    proxyUrl: proxy.url,
    caBundlePath,
    appSettings: () => ({
      KEY_VAULT_URL: vault.url,
      GRAPH_CLIENT_CERTIFICATE_NAME: CERTIFICATE_NAME,
      GRAPH_TENANT_ID: tenant.tenantId,
      GRAPH_CLIENT_ID: exportApp.clientId,
      GRAPH_ENDPOINT: origin,
      GRAPH_AUTHORITY_HOST: `https://${LOGIN_HOST}`,
      APPLICATIONINSIGHTS_CONNECTION_STRING: `InstrumentationKey=${tenant.tenantId};IngestionEndpoint=${origin}/`,
    }),
    processEnvironment: () => ({
      NODE_EXTRA_CA_CERTS: caBundlePath,
      HTTPS_PROXY: proxy.url,
      NO_PROXY: '127.0.0.1,localhost',
      // As the Functions host sets them for an app with a managed identity; AZURE_CLIENT_ID picks
      // the user-assigned one, as the Bicep sets it.
      IDENTITY_ENDPOINT: `${origin}${MANAGED_IDENTITY_PATH}`,
      IDENTITY_HEADER: managedIdentity.identityHeader,
      AZURE_CLIENT_ID: functionIdentity.clientId,
    }),
    stop: async () => {
      const closed = new Promise((resolve) => server.close(resolve));
      for (const socket of sockets) socket.destroy();
      await Promise.all([closed, proxy.close()]);
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}
