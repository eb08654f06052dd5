import { readdirSync } from 'node:fs';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import {
  ALERT_NAME_RULES,
  BUILT_IN_ROLES,
  BUILT_IN_ROLES_SOURCE,
  durationMinutes,
  NAME_RULES,
  type Rule,
  RULES,
} from './azureRules.js';
import {
  type BicepFile,
  type BicepValue,
  INFRA,
  moduleParams,
  parameterDomain,
  parseBicep,
  propertyAt,
  resourcesOfType,
  text,
  valueOf,
} from './bicepTree.js';

/**
 * Every value the Bicep can produce for a property Azure constrains beyond its schema, checked
 * against what the service accepts (azureRules.ts, each rule with its public source). A value
 * comes from a parameter's default, its @allowed list or its @minValue..@maxValue range, passed
 * through main.bicep to the module that sets it.
 */

const bicepPaths = ['main.bicep', ...readdirSync(join(INFRA, 'app')).map((file) => `app/${file}`)];
const files = new Map<string, BicepFile>();
const file = (path: string) => files.get(path)!;
beforeAll(async () => {
  for (const path of bicepPaths) files.set(path, await parseBicep(path));
});

const expectAccepted = (rule: Rule, value: unknown, where: string) =>
  expect(
    rule.accepts(value),
    `${where}: ${JSON.stringify(value)} for ${rule.what}; Azure accepts ${rule.allowed} (${rule.source})`,
  ).toBe(true);

/** A parameter's values: its whole domain when small, else both ends and the default. */
function valuesOf(bicep: BicepFile, name: string): BicepValue[] {
  const domain = parameterDomain(bicep, name);
  const declared = bicep.params.get(name)!.defaultValue;
  const fallback = declared === undefined ? [] : [valueOf(declared, bicep)];
  if (domain === undefined) return fallback;
  if (domain.length <= 1000) return domain;
  return [domain[0]!, domain.at(-1)!, ...fallback];
}

describe('the table of what Azure enforces', () => {
  it('names a public source for every rule', () => {
    for (const rule of [...Object.values(RULES), ...NAME_RULES, ...ALERT_NAME_RULES])
      expect(rule.source, rule.what).toMatch(/^(https:\/\/|azure-rest-api-specs )/);
    expect(BUILT_IN_ROLES_SOURCE).toMatch(/^https:\/\//);
  });

  it('refuses the window that once blocked provisioning (PT26H) and accepts the ones the service lists', () => {
    expect(RULES.alertWindowSize.accepts('PT26H')).toBe(false);
    expect(RULES.alertWindowSize.accepts('P3D')).toBe(false);
    for (const accepted of ['PT5M', 'PT45M', 'PT1H', 'PT6H', 'P1D', 'P2D'])
      expect(RULES.alertWindowSize.accepts(accepted), accepted).toBe(true);
    expect(durationMinutes('P1DT1H')).toBe(1500);
    expect(durationMinutes('PT')).toBeUndefined();
  });
});

describe('log alerts (app/alerts.bicep)', () => {
  it('main.bicep can pass only silence hours the alerts module accepts, its default among them', () => {
    const accepted = parameterDomain(file('app/alerts.bicep'), 'silenceHours')!;
    const passable = parameterDomain(file('main.bicep'), 'silenceHours')!;
    expect(passable.filter((hours) => !accepted.includes(hours))).toEqual([]);
    expect(accepted).toContain(
      moduleParams(file('main.bicep'), 'alerts', { environmentName: 'prod' })['silenceHours'],
    );
  });

  it('sets windows, frequencies and severities the service accepts, for every silenceHours the Bicep allows', () => {
    const alerts = file('app/alerts.bicep');
    const rules = resourcesOfType(alerts, 'Microsoft.Insights/scheduledQueryRules');
    expect(rules.length).toBeGreaterThan(0);
    const values = valuesOf(file('main.bicep'), 'silenceHours');
    expect(values.length).toBeGreaterThan(1);
    for (const given of values) {
      const { silenceHours } = moduleParams(file('main.bicep'), 'alerts', {
        environmentName: 'prod',
        silenceHours: given,
      });
      for (const rule of rules) {
        const at = (path: string) =>
          valueOf(propertyAt(rule.body, path)!, alerts, { silenceHours: silenceHours! });
        const where = `${rule.symbol}, silenceHours ${text(silenceHours)}`;
        const windowSize = text(at('properties.windowSize'));
        const evaluationFrequency = text(at('properties.evaluationFrequency'));
        expectAccepted(RULES.alertWindowSize, windowSize, where);
        expectAccepted(RULES.alertEvaluationFrequency, evaluationFrequency, where);
        expectAccepted(RULES.alertSeverity, at('properties.severity'), where);
        expect(durationMinutes(evaluationFrequency)!, where).toBeLessThanOrEqual(
          durationMinutes(windowSize)!,
        );
        // A query bounded in time must fit in the window the service gives it.
        for (const query of at('properties.criteria.allOf') as { query: string }[]) {
          const bound = /ago\((\d+)h\)/.exec(query.query);
          if (bound) expect(Number(bound[1]) * 60, where).toBeLessThanOrEqual(durationMinutes(windowSize)!);
        }
      }
    }
  });

  it('names the action group and its rules as Azure allows, with a short name of at most 12 characters', () => {
    const alerts = file('app/alerts.bicep');
    const namePrefix = text(
      moduleParams(file('main.bicep'), 'alerts', { environmentName: 'x'.repeat(64) })['namePrefix'],
    );
    for (const { type, rule, what } of ALERT_NAME_RULES) {
      for (const resource of resourcesOfType(alerts, type)) {
        const name = text(valueOf(propertyAt(resource.body, 'name')!, alerts, { namePrefix }));
        expect(name, `${type}: ${what}`).toMatch(rule);
      }
    }
    const [group] = resourcesOfType(alerts, 'Microsoft.Insights/actionGroups');
    expectAccepted(
      RULES.actionGroupShortName,
      valueOf(propertyAt(group!.body, 'properties.groupShortName')!, alerts),
      'action group',
    );
  });
});

describe('Flex Consumption scale settings (app/functionApp.bicep)', () => {
  const scale = (path: string, params: Record<string, BicepValue>) => {
    const functionApp = file('app/functionApp.bicep');
    const [site] = resourcesOfType(functionApp, 'Microsoft.Web/sites');
    return valueOf(
      propertyAt(site!.body, `properties.functionAppConfig.scaleAndConcurrency.${path}`)!,
      functionApp,
      params,
    );
  };

  it('sets an instance memory Flex Consumption offers, for every instanceMemoryMB main.bicep allows', () => {
    const values = valuesOf(file('main.bicep'), 'instanceMemoryMB');
    expect(values.length).toBeGreaterThan(1);
    for (const instanceMemoryMB of values) {
      const passed = moduleParams(file('main.bicep'), 'functionApp', {
        environmentName: 'prod',
        instanceMemoryMB,
      });
      expectAccepted(
        RULES.flexInstanceMemory,
        scale('instanceMemoryMB', { instanceMemoryMB: passed['instanceMemoryMB']! }),
        `instanceMemoryMB ${text(instanceMemoryMB)}`,
      );
    }
  });

  it('sets a maximum instance count in the allowed range', () => {
    expectAccepted(RULES.flexMaximumInstanceCount, scale('maximumInstanceCount', {}), 'site');
  });
});

describe('retention (app/storage.bicep, app/keyVault.bicep, app/monitoring.bicep)', () => {
  /** Every number under a key that starts with "days", anywhere in a value. */
  const dayCounts = (value: BicepValue): number[] =>
    Array.isArray(value)
      ? value.flatMap(dayCounts)
      : value !== null && typeof value === 'object'
        ? Object.entries(value).flatMap(([key, inner]) =>
            key.startsWith('days') && typeof inner === 'number' ? [inner] : dayCounts(inner),
          )
        : [];

  it('keeps the current export for at least a week of runs that do not publish: snapshotRetentionDays starts at 7', () => {
    const values = valuesOf(file('main.bicep'), 'snapshotRetentionDays').map(Number);
    expect(Math.min(...values)).toBe(7);
  });

  it('gives the lifecycle rules day counts and prefixes Storage accepts, for every snapshotRetentionDays allowed', () => {
    const storage = file('app/storage.bicep');
    const [policy] = resourcesOfType(storage, 'Microsoft.Storage/storageAccounts/managementPolicies');
    const values = valuesOf(file('main.bicep'), 'snapshotRetentionDays');
    expect(values.length).toBeGreaterThanOrEqual(3);
    for (const snapshotRetentionDays of values) {
      const passed = moduleParams(file('main.bicep'), 'storage', {
        environmentName: 'prod',
        snapshotRetentionDays,
      });
      const rules = valueOf(propertyAt(policy!.body, 'properties.policy.rules')!, storage, {
        snapshotRetentionDays: passed['snapshotRetentionDays']!,
        exportContainer: passed['exportContainer']!,
      }) as { definition: { filters: { prefixMatch: string[] } } }[];
      const days = dayCounts(rules);
      expect(days.length).toBeGreaterThan(0);
      for (const count of days)
        expectAccepted(RULES.lifecycleDays, count, `snapshotRetentionDays ${text(snapshotRetentionDays)}`);
      for (const rule of rules)
        expectAccepted(RULES.lifecyclePrefix, rule.definition.filters.prefixMatch, 'lifecycle filter');
    }
  });

  it('keeps soft-deleted blobs, containers, vault objects and logs for periods the services accept', () => {
    const storage = file('app/storage.bicep');
    const [blobService] = resourcesOfType(storage, 'Microsoft.Storage/storageAccounts/blobServices');
    for (const path of [
      'properties.deleteRetentionPolicy.days',
      'properties.containerDeleteRetentionPolicy.days',
    ])
      expectAccepted(RULES.blobSoftDeleteDays, valueOf(propertyAt(blobService!.body, path)!, storage), path);
    const keyVault = file('app/keyVault.bicep');
    const [vault] = resourcesOfType(keyVault, 'Microsoft.KeyVault/vaults');
    expectAccepted(
      RULES.keyVaultSoftDeleteDays,
      valueOf(propertyAt(vault!.body, 'properties.softDeleteRetentionInDays')!, keyVault),
      'vault',
    );
    const monitoring = file('app/monitoring.bicep');
    const [workspace] = resourcesOfType(monitoring, 'Microsoft.OperationalInsights/workspaces');
    expect(valueOf(propertyAt(workspace!.body, 'properties.sku.name')!, monitoring)).toBe('PerGB2018');
    expectAccepted(
      RULES.workspaceRetentionDays,
      valueOf(propertyAt(workspace!.body, 'properties.retentionInDays')!, monitoring),
      'workspace',
    );
  });
});

describe('resource names, for every environment name azd accepts ([a-zA-Z0-9-_.()], 1-64)', () => {
  const names = [
    'A',
    'prod',
    'my_env.1',
    'Prod(EU)',
    'entra-export-prod-20',
    'abcdefghijklmnopqrs-',
    '()',
    'a--b__c..d',
    '-leading',
    'UPPER_CASE.env(2026)',
    'x'.repeat(64),
    'a-b-c-d-e-f-g-h-i-j-k-l-m-n-o-p-q-r-s-t-u-v-w-x-y-z-0-1-2-3-4-5',
  ];

  it.each(names)('%s gives valid names for every resource', (environmentName) => {
    expect(environmentName).toMatch(/^[a-zA-Z0-9\-_.()]{1,64}$/);
    for (const rule of NAME_RULES) {
      const name = text(moduleParams(file('main.bicep'), rule.module, { environmentName })[rule.param]);
      expect(name, `${rule.what} (${environmentName} -> ${name}; ${rule.source})`).toMatch(rule.rule);
    }
  });

  it('keeps names apart per environment and resource group (the token)', () => {
    const vault = (environmentName: string) =>
      text(moduleParams(file('main.bicep'), 'keyVault', { environmentName })['name']);
    expect(vault('prod')).not.toBe(vault('test'));
    expect(vault('prod')).toMatch(/^kv-prod-[a-z0-9]{13}$/);
  });
});

describe('role definitions', () => {
  it('every role assignment names a built-in role by its fixed ID', () => {
    const assigned = [...files.values()].flatMap((bicep) =>
      resourcesOfType(bicep, 'Microsoft.Authorization/roleAssignments').map((resource) => {
        const definition = propertyAt(resource.body, 'properties.roleDefinitionId')!.text;
        const variable = /'Microsoft\.Authorization\/roleDefinitions', (\w+)\)$/.exec(definition)?.[1] ?? '';
        return {
          where: `${bicep.path} ${resource.symbol}`,
          id: text(valueOf(bicep.vars.get(variable)!, bicep)),
        };
      }),
    );
    expect(assigned.length).toBeGreaterThan(0);
    for (const { where, id } of assigned)
      expect(Object.keys(BUILT_IN_ROLES), `${where} (${BUILT_IN_ROLES_SOURCE})`).toContain(id);
  });
});
