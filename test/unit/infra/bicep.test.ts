import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { EXPORT_COMPLETED_EVENT } from '../../../src/azure/telemetry.js';
import { loadConfig } from '../../../src/config.js';
import { FUNCTION_NAME } from '../../../src/functions/exportUsers.js';
import { type Deployment, SETTING_NAMES, SETTINGS } from '../../../src/settings.js';
import { BUILT_IN_ROLES as KNOWN_ROLES } from './azureRules.js';
import {
  type BicepFile,
  type BicepResource,
  INFRA,
  moduleParams,
  objectProperties,
  parseBicep,
  parseBicepText,
  propertyAt,
  resourcesOfType,
  syntaxErrors,
  text,
  valueOf,
} from './bicepTree.js';

/** Settings the Functions host reads for its own storage. */
const HOST_SETTINGS = [
  'AzureWebJobsStorage__accountName',
  'AzureWebJobsStorage__credential',
  'AzureWebJobsStorage__clientId',
];
const NOT_DEPLOYED = SETTING_NAMES.filter((name) => 'notDeployed' in SETTINGS[name].deployment);
const PARAMETERS = SETTING_NAMES.flatMap((name) => {
  const deployment: Deployment = SETTINGS[name].deployment;
  return 'parameter' in deployment ? [{ name, ...deployment, default: SETTINGS[name].default }] : [];
});

const bicepPaths = ['main.bicep', ...readdirSync(join(INFRA, 'app')).map((file) => `app/${file}`)];
const files = new Map<string, BicepFile>();
let main: BicepFile;
let functionApp: BicepFile;
let appSettings: Map<string, ReturnType<typeof objectProperties> extends Map<string, infer V> ? V : never>;

beforeAll(async () => {
  for (const path of bicepPaths) files.set(path, await parseBicep(path));
  main = files.get('main.bicep')!;
  functionApp = files.get('app/functionApp.bicep')!;
  const config = resourcesOfType(functionApp, 'Microsoft.Web/sites/config')[0]!;
  expect(valueOf(propertyAt(config.body, 'name')!, functionApp)).toBe('appsettings');
  appSettings = objectProperties(propertyAt(config.body, 'properties')!);
});

/** The literal value of a property of a resource (parameters left opaque). */
const valueIn = (file: BicepFile, resource: BicepResource, path: string) => {
  const node = propertyAt(resource.body, path);
  return node === undefined ? undefined : valueOf(node, file);
};

describe('the Bicep parses', () => {
  it.each(bicepPaths)('%s has no syntax error', (path) => {
    expect(syntaxErrors(files.get(path)!.root)).toEqual([]);
  });

  it.each([
    ['a missing brace', (text: string) => text.replace(/\n}\n/, '\n')],
    ['a broken property', (text: string) => text.replace('httpsOnly: true', 'httpsOnly true')],
    ['an unterminated string', (text: string) => text.replace("'1.2'", "'1.2")],
  ])('and a file with %s does not', async (_what, breakIt) => {
    const broken = await parseBicepText(
      breakIt(readFileSync(join(INFRA, 'app', 'functionApp.bicep'), 'utf8')),
    );
    expect(syntaxErrors(broken.root).length).toBeGreaterThan(0);
  });
});

describe('the function app settings', () => {
  it('sets every setting the product reads, inside the app settings resource of the site', () => {
    const expected = SETTING_NAMES.filter((name) => !NOT_DEPLOYED.includes(name));
    expect(expected.filter((name) => !appSettings.has(name))).toEqual([]);
  });

  it('sets nothing the product or the host does not read', () => {
    const known = new Set<string>([...SETTING_NAMES, ...HOST_SETTINGS]);
    expect([...appSettings.keys()].filter((name) => !known.has(name))).toEqual([]);
  });

  it('sets each parameterised setting from the parameter the settings table names, passed through from main.bicep', () => {
    const passed = moduleParams(main, 'functionApp', { environmentName: 'prod' });
    for (const setting of PARAMETERS) {
      const value = appSettings.get(setting.name)!;
      expect(value.text.replace(/^string\((\w+)\)$/, '$1'), setting.name).toBe(setting.parameter);
      expect(main.params.has(setting.parameter), setting.parameter).toBe(true);
      const defaultNode = main.params.get(setting.parameter)!.defaultValue;
      expect(passed[setting.parameter], setting.name).toEqual(
        defaultNode ? valueOf(defaultNode, main) : undefined,
      );
    }
  });

  it("starts from the product's defaults (or leaves the setting empty, which means the same)", () => {
    for (const setting of PARAMETERS) {
      const declared = main.params.get(setting.parameter)!;
      // A deliberate deployed default may be an expression (tenant().tenantId): compared as written.
      const value =
        declared.defaultValue === undefined
          ? undefined
          : setting.deployedDefault
            ? declared.defaultValue.text
            : text(valueOf(declared.defaultValue, main));
      const allowed = setting.deployedDefault ? [setting.deployedDefault.value] : ['', setting.default ?? ''];
      expect(allowed, `${setting.parameter} defaults to ${String(value)}`).toContain(value);
    }
  });

  it('lets azd set every parameter that sets an app setting, through an environment variable named like the setting', async () => {
    const { parameters } = (await import('../../../infra/main.parameters.json', { with: { type: 'json' } }))
      .default as { parameters: Record<string, { value: unknown }> };
    for (const setting of PARAMETERS)
      expect(String(parameters[setting.parameter]?.value), setting.parameter).toMatch(
        new RegExp(`^\\$\\{${setting.name}=.*\\}$`),
      );
    // And every other parameter: nothing is left to editing main.bicep.
    expect([...main.params.keys()].filter((name) => !(name in parameters))).toEqual([]);
    expect(parameters['exportSchedule']?.value).toBe('${EXPORT_SCHEDULE=0 0 2 * * *}');
  });

  it("gives azd the product's defaults in main.parameters.json", async () => {
    const { parameters } = (await import('../../../infra/main.parameters.json', { with: { type: 'json' } }))
      .default as {
      parameters: Record<string, { value: unknown }>;
    };
    for (const setting of PARAMETERS) {
      const entry = parameters[setting.parameter];
      if (entry === undefined) continue; // main.bicep's own default applies, checked above
      const fallback = /^\$\{\w+=(.*)\}$/.exec(String(entry.value))?.[1];
      // Empty: azd passes no value (armParameterFileValue in azure-dev's bicep_provider.go) and main.bicep's default applies.
      const allowed = setting.deployedDefault
        ? ['', setting.deployedDefault.value]
        : ['', setting.default ?? ''];
      expect(allowed, `${setting.parameter} falls back to ${String(fallback)}`).toContain(fallback);
    }
  });

  it('uses identities, not keys or connection strings, for storage and telemetry', () => {
    expect(valueOf(appSettings.get('AzureWebJobsStorage__credential')!, functionApp)).toBe('managedidentity');
    expect(valueOf(appSettings.get('EXPORT_STORAGE__credential')!, functionApp)).toBe('managedidentity');
    expect(valueOf(appSettings.get('APPLICATIONINSIGHTS_AUTHENTICATION_STRING')!, functionApp)).toBe(
      'ClientId=<identityClientId>;Authorization=AAD',
    );
    for (const file of files.values()) expect(file.root.text, file.path).not.toMatch(/AccountKey|listKeys\(/);
  });
});

describe('one credential choice (graphCredential)', () => {
  const settingsFor = (graphCredential: string) => {
    const passed = moduleParams(main, 'functionApp', { environmentName: 'prod', graphCredential });
    return {
      GRAPH_CLIENT_CERTIFICATE_NAME: text(passed['graphClientCertificateName']),
      GRAPH_CLIENT_SECRET_NAME: text(passed['graphClientSecretName']),
      GRAPH_FEDERATED_IDENTITY_CLIENT_ID: text(passed['graphFederatedIdentityClientId']),
    };
  };
  // What the identity module's clientId output evaluates to in these tests.
  const IDENTITY_CLIENT_ID = '0f0e0d0c-0b0a-4909-8807-060504030201';
  const withIdentity = (settings: Record<string, string>) => ({
    ...settings,
    GRAPH_FEDERATED_IDENTITY_CLIENT_ID: settings['GRAPH_FEDERATED_IDENTITY_CLIENT_ID']
      ? IDENTITY_CLIENT_ID
      : '',
  });
  const accepted = (settings: Record<string, string>) =>
    loadConfig({
      KEY_VAULT_URL: 'https://kv-prod.vault.azure.net',
      GRAPH_TENANT_ID: '11111111-2222-4333-8444-555555555555',
      GRAPH_CLIENT_ID: '66666666-7777-4888-9999-000000000000',
      EXPORT_STORAGE__blobServiceUri: 'https://st.blob.core.windows.net',
      ...settings,
    }).graphCredential;

  it('deploys the Key Vault certificate by default, alone: the credential publish, func start and the admin trigger share', () => {
    expect(valueOf(main.params.get('graphCredential')!.defaultValue!, main)).toBe(
      'certificate:graph-client-certificate',
    );
    expect(settingsFor('certificate:graph-client-certificate')).toEqual({
      GRAPH_CLIENT_CERTIFICATE_NAME: 'graph-client-certificate',
      GRAPH_CLIENT_SECRET_NAME: '',
      GRAPH_FEDERATED_IDENTITY_CLIENT_ID: '',
    });
    expect(accepted(settingsFor('certificate:graph-client-certificate'))).toMatchObject({
      kind: 'certificate',
    });
  });

  it("deploys the secretless credential when asked: the function's own identity, no Key Vault object", () => {
    expect(settingsFor('federated')).toEqual({
      GRAPH_CLIENT_CERTIFICATE_NAME: '',
      GRAPH_CLIENT_SECRET_NAME: '',
      GRAPH_FEDERATED_IDENTITY_CLIENT_ID: '<identity>.outputs.clientId',
    });
    expect(accepted(withIdentity(settingsFor('federated')))).toMatchObject({
      kind: 'federated',
      managedIdentityClientId: IDENTITY_CLIENT_ID,
      audience: 'api://AzureADTokenExchange',
    });
  });

  it('deploys a client secret alone when asked, never with the certificate default beside it', () => {
    expect(settingsFor('secret:graph-client-secret')).toEqual({
      GRAPH_CLIENT_CERTIFICATE_NAME: '',
      GRAPH_CLIENT_SECRET_NAME: 'graph-client-secret',
      GRAPH_FEDERATED_IDENTITY_CLIENT_ID: '',
    });
    expect(accepted(settingsFor('secret:graph-client-secret'))).toMatchObject({
      kind: 'secret',
      name: 'graph-client-secret',
    });
  });

  it('sets none for a value that is neither federated nor kind:name, so each run says what is wrong', () => {
    expect(settingsFor('graph-client-secret')).toEqual({
      GRAPH_CLIENT_CERTIFICATE_NAME: '',
      GRAPH_CLIENT_SECRET_NAME: '',
      GRAPH_FEDERATED_IDENTITY_CLIENT_ID: '',
    });
    expect(() => accepted(withIdentity(settingsFor('graph-client-secret')))).toThrow(
      /None of GRAPH_FEDERATED_IDENTITY_CLIENT_ID, GRAPH_CLIENT_CERTIFICATE_NAME and GRAPH_CLIENT_SECRET_NAME is set/,
    );
  });
});

describe('security properties, each inside the resource it belongs to', () => {
  it.each([
    ['app/functionApp.bicep', 'Microsoft.Web/sites', 'properties.httpsOnly', true],
    ['app/functionApp.bicep', 'Microsoft.Web/sites', 'properties.siteConfig.minTlsVersion', '1.2'],
    ['app/functionApp.bicep', 'Microsoft.Web/sites', 'properties.siteConfig.ftpsState', 'Disabled'],
    [
      'app/functionApp.bicep',
      'Microsoft.Web/sites',
      'properties.functionAppConfig.runtime',
      { name: 'node', version: '22' },
    ],
    ['app/functionApp.bicep', 'Microsoft.Web/sites', 'identity.type', 'UserAssigned'],
    ['app/functionApp.bicep', 'Microsoft.Web/serverfarms', 'sku.tier', 'FlexConsumption'],
    ['app/storage.bicep', 'Microsoft.Storage/storageAccounts', 'properties.allowSharedKeyAccess', false],
    ['app/storage.bicep', 'Microsoft.Storage/storageAccounts', 'properties.allowBlobPublicAccess', false],
    ['app/storage.bicep', 'Microsoft.Storage/storageAccounts', 'properties.minimumTlsVersion', 'TLS1_2'],
    [
      'app/storage.bicep',
      'Microsoft.Storage/storageAccounts/blobServices',
      'properties.isVersioningEnabled',
      true,
    ],
    [
      'app/storage.bicep',
      'Microsoft.Storage/storageAccounts/blobServices',
      'properties.deleteRetentionPolicy.enabled',
      true,
    ],
    ['app/keyVault.bicep', 'Microsoft.KeyVault/vaults', 'properties.enableRbacAuthorization', true],
    ['app/keyVault.bicep', 'Microsoft.KeyVault/vaults', 'properties.enableSoftDelete', true],
    ['app/keyVault.bicep', 'Microsoft.KeyVault/vaults', 'properties.enablePurgeProtection', true],
    ['app/monitoring.bicep', 'Microsoft.Insights/components', 'properties.DisableLocalAuth', true],
    [
      'app/monitoring.bicep',
      'Microsoft.Insights/components',
      'properties.WorkspaceResourceId',
      '<workspace>.id',
    ],
  ] as const)('%s: %s %s', (path, type, property, expected) => {
    const file = files.get(path)!;
    const resources = resourcesOfType(file, type);
    expect(resources, type).toHaveLength(1);
    expect(valueIn(file, resources[0]!, property)).toEqual(expected);
  });

  it('keeps every container private, and expires snapshots, replaced exports and state, and blobs no run rewrites', () => {
    const storage = files.get('app/storage.bicep')!;
    const containers = resourcesOfType(storage, 'Microsoft.Storage/storageAccounts/blobServices/containers');
    expect(containers).toHaveLength(2);
    for (const container of containers)
      expect(valueIn(storage, container, 'properties.publicAccess')).toBe('None');
    const policy = resourcesOfType(storage, 'Microsoft.Storage/storageAccounts/managementPolicies')[0]!;
    const rules = valueOf(propertyAt(policy.body, 'properties.policy.rules')!, storage, {
      snapshotRetentionDays: 30,
    }) as { name: string; definition: { filters: { prefixMatch: string[] }; actions: unknown } }[];
    expect(
      rules.map((rule) => [rule.name, rule.definition.filters.prefixMatch, rule.definition.actions]),
    ).toEqual([
      [
        'expire-export-snapshots',
        ['<exportContainer>/snapshots/'],
        {
          baseBlob: { delete: { daysAfterCreationGreaterThan: 30 } },
          version: { delete: { daysAfterCreationGreaterThan: 30 } },
        },
      ],
      // Every run writes a new version of latest/* and state/*: the replaced ones expire.
      [
        'expire-replaced-exports',
        ['<exportContainer>/latest/', '<exportContainer>/state/'],
        { version: { delete: { daysAfterCreationGreaterThan: 30 } } },
      ],
      // A blob no run rewrites any more (a previous format's latest/users.json) goes after the
      // period; one the runs rewrite is never that old.
      [
        'expire-abandoned-exports',
        ['<exportContainer>/latest/', '<exportContainer>/state/'],
        { baseBlob: { delete: { daysAfterModificationGreaterThan: 30 } } },
      ],
    ]);
  });
});

describe('role assignments', () => {
  const assignments = () =>
    [...files.values()].flatMap((file) =>
      resourcesOfType(file, 'Microsoft.Authorization/roleAssignments').map((resource) => ({
        file,
        resource,
      })),
    );
  const roleOf = (file: BicepFile, resource: BicepResource) => {
    const definition = propertyAt(resource.body, 'properties.roleDefinitionId')!;
    const roleVariable =
      /'Microsoft\.Authorization\/roleDefinitions', (\w+)\)$/.exec(definition.text)?.[1] ?? '';
    return { roleVariable, roleId: text(valueOf(file.vars.get(roleVariable)!, file)) };
  };

  it('grant the function identity what it needs and nothing more', () => {
    const granted = assignments().map(({ file, resource }) => KNOWN_ROLES[roleOf(file, resource).roleId]);
    expect(granted.sort()).toEqual(
      [
        'Key Vault Certificates Officer',
        'Key Vault Secrets Officer',
        'Key Vault Secrets User',
        'Monitoring Metrics Publisher',
        'Storage Blob Data Owner',
      ].sort(),
    );
  });

  it('each uses a known built-in role and is named guid(scope, principal, role)', () => {
    expect(assignments().length).toBeGreaterThan(0);
    for (const { file, resource } of assignments()) {
      const { roleVariable, roleId } = roleOf(file, resource);
      expect(Object.keys(KNOWN_ROLES), `${file.path} ${resource.symbol}`).toContain(roleId);
      const scope = propertyAt(resource.body, 'scope')!.text;
      expect(propertyAt(resource.body, 'name')!.text).toMatch(
        new RegExp(`^guid\\(${scope}\\.id, \\w+, ${roleVariable}\\)$`),
      );
    }
  });
});

describe('modules and parameters', () => {
  it('every module exists and gets exactly the parameters it declares, all required ones included', () => {
    for (const module of main.modules) {
      const declared = files.get(module.path)!.params;
      const passed = [...objectProperties(propertyAt(module.body, 'params')!).keys()];
      expect(
        passed.filter((name) => !declared.has(name)),
        module.path,
      ).toEqual([]);
      const required = [...declared]
        .filter(([, param]) => param.defaultValue === undefined)
        .map(([name]) => name);
      expect(
        required.filter((name) => !passed.includes(name)),
        module.path,
      ).toEqual([]);
    }
  });

  it('main.parameters.json names only parameters of main.bicep, and every required one', async () => {
    const { parameters } = (await import('../../../infra/main.parameters.json', { with: { type: 'json' } }))
      .default as {
      parameters: Record<string, unknown>;
    };
    expect(Object.keys(parameters).filter((name) => !main.params.has(name))).toEqual([]);
    const required = [...main.params]
      .filter(([, param]) => param.defaultValue === undefined)
      .map(([name]) => name);
    expect(required.filter((name) => !(name in parameters))).toEqual([]);
  });

  it('outputs what a user needs next: the app, the vault, the storage account and container', () => {
    for (const output of [
      'AZURE_FUNCTION_APP_NAME',
      'AZURE_KEY_VAULT_NAME',
      'AZURE_KEY_VAULT_URL',
      'AZURE_STORAGE_ACCOUNT_NAME',
      'EXPORT_CONTAINER',
    ]) {
      expect(main.outputs.has(output), output).toBe(true);
    }
  });
});

describe('alerts (app/alerts.bicep)', () => {
  const rule = (file: BicepFile, suffix: string) =>
    resourcesOfType(file, 'Microsoft.Insights/scheduledQueryRules').find((resource) =>
      text(valueOf(propertyAt(resource.body, 'name')!, file)).endsWith(suffix),
    )!;
  const query = (file: BicepFile, resource: BicepResource) =>
    (valueIn(file, resource, 'properties.criteria.allOf') as { query: string }[])[0]!.query;

  it('fire on a failed run, on the exceptions the function reports, split by their stable errorCode', () => {
    const alerts = files.get('app/alerts.bicep')!;
    const failed = rule(alerts, '-export-failed');
    expect(query(alerts, failed)).toContain(`tostring(customDimensions.operation) == "${FUNCTION_NAME}"`);
    expect(query(alerts, failed)).toContain('customDimensions.errorCode');
    expect(valueIn(alerts, failed, 'properties.scopes')).toEqual(['<applicationInsightsId>']);
  });

  it('fire when no completed export was recorded for longer than the schedule allows (26 h by default)', () => {
    const alerts = files.get('app/alerts.bicep')!;
    const silent = rule(alerts, '-export-silent');
    // The window is two days (the longest a log alert accepts); the query counts the last silenceHours.
    expect(
      valueOf(propertyAt(silent.body, 'properties.criteria.allOf')!, alerts, { silenceHours: 26 }),
    ).toMatchObject([
      { query: `customEvents | where timestamp > ago(26h) | where name == "${EXPORT_COMPLETED_EVENT}"` },
    ]);
    expect(valueIn(alerts, silent, 'properties.criteria.allOf')).toMatchObject([
      { operator: 'LessThan', threshold: 1 },
    ]);
    const passed = moduleParams(main, 'alerts', { environmentName: 'prod' });
    expect(passed).toMatchObject({
      silenceHours: 26,
      alertEmail: '',
      applicationInsightsId: '<monitoring>.outputs.id',
    });
    expect(valueOf(propertyAt(silent.body, 'properties.windowSize')!, alerts, { silenceHours: 26 })).toBe(
      'P2D',
    );
  });

  it('fire when a run had to sign in with an earlier certificate version (the renewed one is not registered)', () => {
    const alerts = files.get('app/alerts.bicep')!;
    expect(query(alerts, rule(alerts, '-credential-warning'))).toBe(
      `customEvents | where name == "${EXPORT_COMPLETED_EVENT}" and isnotempty(tostring(customDimensions.credentialWarning))`,
    );
  });

  it("fire when the host recorded the function's invocation as failed (an upload after the run, a timeout)", () => {
    const alerts = files.get('app/alerts.bicep')!;
    const failedInvocation = rule(alerts, '-invocation-failed');
    expect(query(alerts, failedInvocation)).toBe(
      `requests | where name == "${FUNCTION_NAME}" and success == false`,
    );
    expect(valueIn(alerts, failedInvocation, 'properties.actions.actionGroups')).toEqual(
      valueIn(alerts, rule(alerts, '-export-failed'), 'properties.actions.actionGroups'),
    );
  });

  it('e-mail the address given, through an action group that exists only when there is one', () => {
    const alerts = files.get('app/alerts.bicep')!;
    const [group] = resourcesOfType(alerts, 'Microsoft.Insights/actionGroups');
    expect(group!.condition?.text).toBe('(!empty(alertEmail))');
    expect(valueIn(alerts, group!, 'properties.emailReceivers')).toMatchObject([
      { emailAddress: '<alertEmail>' },
    ]);
    expect(valueOf(alerts.vars.get('actionGroups')!, alerts, { alertEmail: '' })).toEqual([]);
  });
});
