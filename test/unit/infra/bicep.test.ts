import { readdirSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { type Deployment, SETTING_NAMES, SETTINGS } from '../../../src/settings.js';
import {
  blockAfter,
  guidVariables,
  INFRA,
  moduleCalls,
  paramsOf,
  readInfra,
  roleAssignments,
  topLevelKeys,
} from './bicepText.js';

/** Built-in roles the infrastructure may grant, by their well-known IDs. */
const KNOWN_ROLES: Record<string, string> = {
  'b7e6dc6d-f1e8-4753-8033-0f276bb0955b': 'Storage Blob Data Owner',
  'ba92f5b4-2d11-453d-a403-e96b0029c9fe': 'Storage Blob Data Contributor',
  '4633458b-17de-408a-b874-0445c86b69e6': 'Key Vault Secrets User',
  'a4417e6f-fecd-4de8-b567-7b0420556985': 'Key Vault Certificates Officer',
  'b86a8fe4-44ce-4948-aee5-eccb2c155cd7': 'Key Vault Secrets Officer',
  '3913510d-42f4-4e42-8a64-420c390055eb': 'Monitoring Metrics Publisher',
};

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

const bicepFiles = ['main.bicep', ...readdirSync(join(INFRA, 'app')).map((file) => `app/${file}`)];
const functionApp = readInfra('app/functionApp.bicep');
const appSettings = topLevelKeys(
  blockAfter(
    functionApp,
    functionApp.indexOf('properties:', functionApp.indexOf("resource appSettings 'config'")),
  ),
);

describe('the function app settings in Bicep', () => {
  it('sets every setting the product reads, from the same list', () => {
    const expected = [...SETTING_NAMES].filter((name) => !NOT_DEPLOYED.includes(name));
    expect(expected.filter((name) => !appSettings.includes(name))).toEqual([]);
  });

  it('sets each parameterised setting from the parameter the settings table names, passed through from main.bicep', () => {
    const main = readInfra('main.bicep');
    const call = moduleCalls(main).find((module) => module.path === 'app/functionApp.bicep')!;
    for (const setting of PARAMETERS) {
      expect(functionApp, setting.name).toMatch(
        new RegExp(`^\\s*${setting.name}: (?:string\\()?${setting.parameter}\\)?$`, 'm'),
      );
      expect(call.params, setting.name).toContain(setting.parameter);
      expect(main, setting.name).toMatch(new RegExp(`^\\s*${setting.parameter}: ${setting.parameter}$`, 'm'));
    }
  });

  it("starts from the product's defaults (or leaves the setting empty, which means the same)", () => {
    const main = readInfra('main.bicep');
    for (const setting of PARAMETERS) {
      const declared = new RegExp(`^param ${setting.parameter} (\\w+) = (.+)$`, 'm').exec(main);
      expect(declared, setting.parameter).not.toBeNull();
      const literal = declared![2]!.trim();
      const value = /^'(.*)'$/.exec(literal)?.[1] ?? literal;
      const allowed = setting.deployedDefault ? [setting.deployedDefault.value] : ['', setting.default ?? ''];
      expect(allowed, `${setting.parameter} defaults to ${literal}`).toContain(value);
    }
  });

  it("gives azd the product's defaults in main.parameters.json", async () => {
    const { parameters } = (await import('../../../infra/main.parameters.json', { with: { type: 'json' } }))
      .default as { parameters: Record<string, { value: unknown }> };
    for (const setting of PARAMETERS) {
      const entry = parameters[setting.parameter];
      if (entry === undefined) continue; // main.bicep's own default applies, checked above
      const fallback = /^\$\{\w+=(.*)\}$/.exec(String(entry.value))?.[1];
      expect(fallback, setting.parameter).toBeDefined();
      const allowed = setting.deployedDefault ? [setting.deployedDefault.value] : ['', setting.default ?? ''];
      expect(allowed, `${setting.parameter} falls back to ${fallback}`).toContain(fallback);
    }
  });

  it('sets nothing the product or the host does not read', () => {
    const known = new Set([...[...SETTING_NAMES], ...HOST_SETTINGS]);
    expect(appSettings.filter((name) => !known.has(name))).toEqual([]);
  });

  it('uses identities, not keys or connection strings, for storage and telemetry', () => {
    expect(functionApp).toMatch(/AzureWebJobsStorage__credential: 'managedidentity'/);
    expect(functionApp).toMatch(/EXPORT_STORAGE__credential: 'managedidentity'/);
    expect(functionApp).toMatch(
      /APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=\$\{identityClientId\};Authorization=AAD'/,
    );
    expect(functionApp).not.toMatch(/AccountKey|listKeys\(/);
  });
});

describe('security properties', () => {
  it.each([
    [
      'app/functionApp.bicep',
      [
        /httpsOnly: true/,
        /minTlsVersion: '1\.2'/,
        /ftpsState: 'Disabled'/,
        /tier: 'FlexConsumption'/,
        /runtime: \{ name: 'node', version: '22' \}/,
        /type: 'UserAssigned'/,
      ],
    ],
    [
      'app/storage.bicep',
      [
        /allowSharedKeyAccess: false/,
        /allowBlobPublicAccess: false/,
        /minimumTlsVersion: 'TLS1_2'/,
        /isVersioningEnabled: true/,
        /deleteRetentionPolicy: \{ enabled: true/,
        /prefixMatch: \['\$\{exportContainer\}\/snapshots\/'\]/,
        /daysAfterCreationGreaterThan: snapshotRetentionDays/,
      ],
    ],
    [
      'app/keyVault.bicep',
      [/enableRbacAuthorization: true/, /enableSoftDelete: true/, /enablePurgeProtection: true/],
    ],
    ['app/monitoring.bicep', [/DisableLocalAuth: true/, /WorkspaceResourceId: workspace\.id/]],
  ] as const)('%s sets them explicitly', (file, patterns) => {
    const text = readInfra(file);
    for (const pattern of patterns) expect(text).toMatch(pattern);
  });

  it('keeps every container private', () => {
    const storage = readInfra('app/storage.bicep');
    const containers = [...storage.matchAll(/resource \w+ 'containers' = \{/g)].map((match) =>
      blockAfter(storage, match.index),
    );
    expect(containers).toHaveLength(2);
    for (const container of containers) expect(container).toMatch(/publicAccess: 'None'/);
  });
});

describe('role assignments', () => {
  const assignments = bicepFiles.flatMap((file) => {
    const text = readInfra(file);
    return roleAssignments(file, text).map((assignment) => ({ ...assignment, guids: guidVariables(text) }));
  });

  it('grant the function identity what it needs and nothing more', () => {
    const granted = assignments.map((assignment) => {
      const roleVariable =
        /'Microsoft\.Authorization\/roleDefinitions', (\w+)\)/.exec(assignment.roleDefinitionId)?.[1] ?? '';
      return KNOWN_ROLES[assignment.guids.get(roleVariable) ?? ''];
    });
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
    expect(assignments.length).toBeGreaterThan(0);
    for (const assignment of assignments) {
      const roleVariable = /'Microsoft\.Authorization\/roleDefinitions', (\w+)\)$/.exec(
        assignment.roleDefinitionId,
      )?.[1];
      expect(roleVariable, `${assignment.file} ${assignment.symbol}`).toBeDefined();
      expect(Object.keys(KNOWN_ROLES)).toContain(assignment.guids.get(roleVariable!));
      expect(assignment.name).toMatch(
        new RegExp(`^guid\\(${assignment.scope}\\.id, \\w+, ${roleVariable!}\\)$`),
      );
    }
  });
});

describe('modules and parameters', () => {
  const main = readInfra('main.bicep');

  it('every module exists and gets exactly the parameters it declares, all required ones included', () => {
    for (const call of moduleCalls(main)) {
      const declared = paramsOf(readInfra(call.path));
      expect(
        call.params.filter((name) => !declared.has(name)),
        call.path,
      ).toEqual([]);
      const required = [...declared].filter(([, param]) => !param.hasDefault).map(([name]) => name);
      expect(
        required.filter((name) => !call.params.includes(name)),
        call.path,
      ).toEqual([]);
    }
  });

  it('main.parameters.json names only parameters of main.bicep, and every required one', async () => {
    const { parameters } = (await import('../../../infra/main.parameters.json', { with: { type: 'json' } }))
      .default as {
      parameters: Record<string, unknown>;
    };
    const declared = paramsOf(main);
    expect(Object.keys(parameters).filter((name) => !declared.has(name))).toEqual([]);
    const required = [...declared].filter(([, param]) => !param.hasDefault).map(([name]) => name);
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
      expect(main).toMatch(new RegExp(`^output ${output} string = `, 'm'));
    }
  });
});
