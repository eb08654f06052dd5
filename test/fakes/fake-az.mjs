#!/usr/bin/env node
// A stand-in for the Azure CLI: answers the commands infra/scripts/register-app.sh uses as `az`
// would (same arguments, same -o tsv / JSON shapes), keeping the tenant's state in a JSON file.
import { randomUUID, randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';

const statePath = process.env.FAKE_AZ_STATE;
const state = existsSync(statePath)
  ? JSON.parse(readFileSync(statePath, 'utf8'))
  : { apps: {}, vault: { certificates: {}, secrets: {} } };
const save = () => writeFileSync(statePath, JSON.stringify(state, null, 2));

const args = process.argv.slice(2);
appendFileSync(process.env.FAKE_AZ_LOG, `${JSON.stringify(args)}\n`);
const words = [];
const options = {};
for (let i = 0; i < args.length; i += 1) {
  if (args[i].startsWith('--') || /^-[a-z]$/.test(args[i])) {
    const next = args[i + 1];
    if (next === undefined || next.startsWith('-')) options[args[i]] = true;
    else options[args[i]] = ((i += 1), next);
  } else words.push(args[i]);
}
const command = words.join(' ');
const out = (text) => process.stdout.write(`${text}\n`);
const error = (code, message) => {
  process.stderr.write(`ERROR: ${message}\n`);
  process.exit(code);
};
const app = () => state.apps[options['--id']] ?? error(3, `Resource '${options['--id']}' does not exist.`);

switch (command) {
  case 'account show':
    out(state.tenantId);
    break;
  case 'keyvault show':
    if (options['--name'] !== state.vault.name) error(3, `The Vault '${options['--name']}' not found.`);
    out(`https://${state.vault.name}.vault.azure.net/`);
    break;
  case 'ad app list': {
    // As the real CLI: --display-name is a startswith() match (azure-cli #23053); --filter takes
    // OData, of which this fake knows `displayName eq '...'` with quotes doubled.
    let found = Object.values(state.apps);
    if (options['--display-name'] !== undefined) {
      const prefix = options['--display-name'].toLowerCase();
      found = found.filter((a) => a.displayName.toLowerCase().startsWith(prefix));
    }
    if (options['--filter'] !== undefined) {
      const match = /^displayName eq '((?:[^']|'')*)'$/.exec(options['--filter']);
      if (!match) error(1, `fake az cannot read the filter ${options['--filter']}`);
      const name = match[1].replace(/''/g, "'");
      found = found.filter((a) => a.displayName === name);
    }
    if (options['--query'] === '[0].appId') out(found[0]?.appId ?? '');
    else if (options['--query'] === '[].appId') out(found.map((a) => a.appId).join('\n'));
    else error(1, `fake az does not know the query ${options['--query']}`);
    break;
  }
  case 'ad app show':
    out(app().appId);
    break;
  case 'ad app create': {
    const appId = randomUUID();
    state.apps[appId] = {
      appId,
      displayName: options['--display-name'],
      sp: false,
      permissions: [],
      consented: false,
      certificates: [],
      passwords: [],
    };
    out(appId);
    break;
  }
  case 'ad sp show':
    if (!app().sp) error(3, 'Resource does not exist.');
    out(randomUUID());
    break;
  case 'ad sp create':
    app().sp = true;
    out(randomUUID());
    break;
  case 'ad app permission list':
    out(app().permissions.join('\n'));
    break;
  case 'ad app permission add':
    if (options['--api'] !== '00000003-0000-0000-c000-000000000000') error(1, 'unexpected API');
    app().permissions.push(options['--api-permissions'].replace(/=Role$/, ''));
    break;
  case 'ad app permission admin-consent':
    if (process.env.FAKE_AZ_NOT_ADMIN === '1') error(1, 'Insufficient privileges to complete the operation.');
    app().consented = true;
    break;
  case 'keyvault certificate show': {
    const certificate = state.vault.certificates[options['--name']] ?? error(3, 'Certificate not found');
    out(options['--query'] === 'x509ThumbprintHex' ? certificate.thumbprint : certificate.id);
    break;
  }
  case 'keyvault certificate get-default-policy':
    out(
      JSON.stringify({
        keyProperties: { exportable: true, keyType: 'RSA', keySize: 2048 },
        secretProperties: { contentType: 'application/x-pkcs12' },
      }),
    );
    break;
  case 'keyvault certificate create': {
    if (!JSON.parse(options['--policy']).keyProperties.exportable) error(1, 'policy');
    // Each certificate keeps its versions; the default policy's lifetime is 12 months.
    const thumbprint = randomBytes(20).toString('hex').toUpperCase();
    state.vault.certificates[options['--name']] = {
      id: randomUUID(),
      thumbprint,
      versions: [
        {
          version: randomBytes(16).toString('hex'),
          thumbprint,
          enabled: true,
          expires: new Date(Date.now() + 365 * 86_400_000).toISOString().replace('Z', '+00:00'),
        },
      ],
    };
    break;
  }
  case 'keyvault certificate list-versions': {
    if (options['--query'] !== '[].[x509ThumbprintHex, attributes.enabled, attributes.expires, id]')
      error(1, `fake az does not know the query ${options['--query']}`);
    const certificate = state.vault.certificates[options['--name']] ?? error(3, 'Certificate not found');
    const name = options['--name'];
    out(
      certificate.versions
        .map((v) =>
          [
            v.thumbprint,
            v.enabled ? 'True' : 'False',
            v.expires ?? 'None',
            `https://${state.vault.name}.vault.azure.net/certificates/${name}/${v.version}`,
          ].join('\t'),
        )
        .join('\n'),
    );
    break;
  }
  case 'keyvault certificate download': {
    if (existsSync(options['--file'])) error(1, `File ${options['--file']} already exists.`);
    const certificate = state.vault.certificates[options['--name']] ?? error(3, 'Certificate not found');
    const version =
      options['--version'] === undefined
        ? certificate.versions.at(-1)
        : (certificate.versions.find((v) => v.version === options['--version']) ??
          error(3, 'Version not found'));
    writeFileSync(
      options['--file'],
      `-----BEGIN CERTIFICATE-----\n${version.thumbprint}\n-----END CERTIFICATE-----\n`,
    );
    break;
  }
  case 'identity list': {
    const match = /^\[\?name=='([^']*)'\]\.\[principalId, clientId\]$/.exec(options['--query'] ?? '');
    if (!match) error(1, `fake az does not know the query ${options['--query']}`);
    out(
      (state.identities ?? [])
        .filter((identity) => identity.name === match[1])
        .map((identity) => `${identity.principalId}\t${identity.clientId}`)
        .join('\n'),
    );
    break;
  }
  case 'cloud show':
    if (options['--query'] === 'name') out(state.cloud ?? 'AzureCloud');
    else if (options['--query'] === 'endpoints.activeDirectory')
      out(
        // What az cloud show answers for each cloud (azure-cli's cloud.py endpoints).
        {
          AzureUSGovernment: 'https://login.microsoftonline.us',
          AzureChinaCloud: 'https://login.chinacloudapi.cn',
        }[state.cloud] ?? 'https://login.microsoftonline.com',
      );
    else error(1, `fake az does not know the query ${options['--query']}`);
    break;
  case 'ad app federated-credential list': {
    const match = /^\[\?issuer=='([^']*)' && subject=='([^']*)'\]\.audiences\[\]$/.exec(
      options['--query'] ?? '',
    );
    if (!match) error(1, `fake az does not know the query ${options['--query']}`);
    out(
      (app().federatedCredentials ?? [])
        .filter((credential) => credential.issuer === match[1] && credential.subject === match[2])
        .flatMap((credential) => credential.audiences)
        .join('\n'),
    );
    break;
  }
  case 'ad app federated-credential create': {
    const parameters = JSON.parse(readFileSync(options['--parameters'].slice(1), 'utf8'));
    const existing = app().federatedCredentials ?? [];
    if (existing.some((credential) => credential.name === parameters.name))
      error(
        1,
        `(Request_BadRequest) FederatedIdentityCredential with name ${parameters.name} already exists.`,
      );
    app().federatedCredentials = [...existing, parameters];
    break;
  }
  case 'ad app credential list':
    if (options['--cert'] === true) {
      // customKeyIdentifier is the thumbprint; the fake's keyId is derived from it.
      const byThumbprint = /^\[\?customKeyIdentifier=='([^']*)'\]\.keyId$/.exec(options['--query'] ?? '');
      if (byThumbprint)
        out(
          app()
            .certificates.filter((t) => t === byThumbprint[1])
            .map((t) => `key-${t}`)
            .join('\n'),
        );
      else if (options['--query'] === '[].customKeyIdentifier') out(app().certificates.join('\n'));
      else error(1, `fake az does not know the query ${options['--query']}`);
    } else {
      // As the CLI: a JMESPath filter on displayName, the keyIds of the client secrets.
      const match = /^\[\?displayName=='([^']*)'\]\.keyId$/.exec(options['--query'] ?? '');
      if (!match) error(1, `fake az does not know the query ${options['--query']}`);
      out(
        app()
          .passwords.filter((p) => p.displayName === match[1])
          .map((p) => p.keyId)
          .join('\n'),
      );
    }
    break;
  case 'ad app credential reset':
    if (options['--append'] !== true) error(1, 'the fake refuses to replace credentials: pass --append');
    if (options['--cert']) {
      app().certificates.push(readFileSync(options['--cert'].slice(1), 'utf8').split('\n')[1]);
    } else {
      const value = `fake~${randomBytes(16).toString('hex')}`;
      app().passwords.push({ keyId: randomUUID(), displayName: options['--display-name'] ?? null, value });
      out(value);
    }
    break;
  case 'ad app credential delete': {
    if (options['--cert'] === true) {
      const before = app().certificates.length;
      app().certificates = app().certificates.filter((t) => `key-${t}` !== options['--key-id']);
      if (app().certificates.length === before) error(3, `No credential with key ID ${options['--key-id']}.`);
      break;
    }
    const before = app().passwords.length;
    app().passwords = app().passwords.filter((p) => p.keyId !== options['--key-id']);
    if (app().passwords.length === before) error(3, `No credential with key ID ${options['--key-id']}.`);
    break;
  }
  case 'keyvault secret show':
    if (!(options['--name'] in state.vault.secrets)) error(3, 'SecretNotFound');
    out(randomUUID());
    break;
  case 'keyvault secret show-deleted':
    if (!(state.vault.deletedSecrets ?? []).includes(options['--name'])) error(3, 'DeletedSecretNotFound');
    out(`https://${state.vault.name}.vault.azure.net/deletedsecrets/${options['--name']}`);
    break;
  case 'keyvault secret set':
    // Soft delete with purge protection: a deleted name cannot be set again until recovered or purged.
    if ((state.vault.deletedSecrets ?? []).includes(options['--name'])) {
      error(1, `(Conflict) Secret ${options['--name']} is currently in a deleted but recoverable state.`);
    }
    if (process.env.FAKE_AZ_FAIL_SECRET_SET === '1')
      error(1, '(Forbidden) Caller is not authorized to perform action.');
    state.vault.secrets[options['--name']] = readFileSync(options['--file'], 'utf8');
    state.vault.secretVersions = state.vault.secretVersions ?? {};
    state.vault.secretVersions[options['--name']] = (state.vault.secretVersions[options['--name']] ?? 0) + 1;
    break;
  case 'functionapp show':
    if (options['-n'] !== state.functionApp?.name)
      error(3, `The function app '${options['-n']}' was not found.`);
    out(state.functionApp.defaultHostName);
    break;
  case 'functionapp keys list':
    if (options['-n'] !== state.functionApp?.name)
      error(3, `The function app '${options['-n']}' was not found.`);
    out(state.functionApp.masterKey);
    break;
  default:
    error(2, `fake az does not know '${command}'`);
}
save();
