/**
 * What Azure enforces beyond the resource schemas, for every constrained value the Bicep sets,
 * each with the public source it was taken from. The schemas (and so a Bicep build) accept
 * values the services refuse at deployment, e.g. a log alert window of PT26H.
 */

export interface Rule {
  /** The resource type and property, as the Bicep names them. */
  what: string;
  /** What the service accepts, in words. */
  allowed: string;
  accepts: (value: unknown) => boolean;
  /** A public page or file that states it. */
  source: string;
}

/** An ISO 8601 duration of days, hours and minutes (`P2D`, `PT15M`) in minutes; undefined otherwise. */
export function durationMinutes(duration: string): number | undefined {
  const match = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$/.exec(duration);
  if (!match || duration === 'P' || duration.endsWith('T')) return undefined;
  const [, days = '0', hours = '0', minutes = '0'] = match;
  return Number(days) * 1440 + Number(hours) * 60 + Number(minutes);
}

/** The only windows a log alert accepts, in minutes; the service's error lists them. */
export const LOG_ALERT_GRANULARITIES = [5, 10, 15, 30, 45, 60, 120, 180, 240, 300, 360, 1440, 2880];

const integerIn = (low: number, high: number) => (value: unknown) =>
  typeof value === 'number' && Number.isInteger(value) && value >= low && value <= high;

export const RULES = {
  alertWindowSize: {
    what: 'Microsoft.Insights/scheduledQueryRules properties.windowSize',
    allowed: `one of ${LOG_ALERT_GRANULARITIES.join(', ')} minutes (PT5M ... PT6H, P1D, P2D)`,
    accepts: (value) =>
      typeof value === 'string' && LOG_ALERT_GRANULARITIES.includes(durationMinutes(value) ?? -1),
    source:
      'https://github.com/Azure/azure-rest-api-specs/issues/21258 (the service answers "Supported granularities are: 5, 10, 15, 30, 45, 60, 120, 180, 240, 300, 360, 1440, 2880"); https://github.com/hashicorp/terraform-provider-azurerm/issues/18886',
  },
  alertEvaluationFrequency: {
    what: 'Microsoft.Insights/scheduledQueryRules properties.evaluationFrequency',
    allowed:
      'the same granularities (1 minute only for allow-listed subscriptions), not longer than windowSize',
    accepts: (value) =>
      typeof value === 'string' && LOG_ALERT_GRANULARITIES.includes(durationMinutes(value) ?? -1),
    source:
      'https://github.com/Azure/azure-rest-api-specs/issues/21258; https://github.com/Azure/azure-powershell/issues/10929 ("The subscription is not whitelisted for using 1 minute frequency"); https://learn.microsoft.com/azure/azure-monitor/alerts/alerts-create-log-alert-rule',
  },
  alertSeverity: {
    what: 'Microsoft.Insights/scheduledQueryRules properties.severity',
    allowed: 'an integer 0-4',
    accepts: integerIn(0, 4),
    source:
      'azure-rest-api-specs specification/monitor/resource-manager/Microsoft.Insights/preview/2023-03-15-preview/scheduledQueryRule_API.json (severity enum)',
  },
  actionGroupShortName: {
    what: 'Microsoft.Insights/actionGroups properties.groupShortName',
    allowed: '1-12 characters',
    accepts: (value) => typeof value === 'string' && value.length >= 1 && value.length <= 12,
    source:
      'azure-rest-api-specs specification/monitor/resource-manager/Microsoft.Insights/stable/2023-01-01/actionGroups_API.json (groupShortName maxLength 12)',
  },
  flexInstanceMemory: {
    what: 'Microsoft.Web/sites properties.functionAppConfig.scaleAndConcurrency.instanceMemoryMB',
    allowed: '512, 2048 or 4096',
    accepts: (value) => value === 512 || value === 2048 || value === 4096,
    source: 'https://learn.microsoft.com/azure/azure-functions/flex-consumption-plan#instance-memory',
  },
  flexMaximumInstanceCount: {
    what: 'Microsoft.Web/sites properties.functionAppConfig.scaleAndConcurrency.maximumInstanceCount',
    // At general availability the lowest allowed value was 40; the docs have since lowered it.
    // 40-1000 holds under either statement.
    allowed: '40-1000',
    accepts: integerIn(40, 1000),
    source:
      'https://learn.microsoft.com/azure/azure-functions/flex-consumption-how-to#set-instance-scaling-limits',
  },
  lifecycleDays: {
    what: 'Microsoft.Storage/storageAccounts/managementPolicies days* conditions',
    allowed: 'an integer 0-99999',
    accepts: integerIn(0, 99999),
    source: 'https://learn.microsoft.com/azure/storage/blobs/lifecycle-management-overview#rule-actions',
  },
  lifecyclePrefix: {
    what: 'Microsoft.Storage/storageAccounts/managementPolicies filters.prefixMatch',
    allowed: 'at most 10 prefixes, each starting with a container name',
    accepts: (value) =>
      Array.isArray(value) &&
      value.length <= 10 &&
      value.every(
        (prefix) => typeof prefix === 'string' && /^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])?\//.test(prefix),
      ),
    source: 'https://learn.microsoft.com/azure/storage/blobs/lifecycle-management-overview#rule-filters',
  },
  blobSoftDeleteDays: {
    what: 'Microsoft.Storage/storageAccounts/blobServices deleteRetentionPolicy.days, containerDeleteRetentionPolicy.days',
    allowed: 'an integer 1-365',
    accepts: integerIn(1, 365),
    source:
      'https://learn.microsoft.com/azure/storage/blobs/soft-delete-blob-overview#how-blob-soft-delete-works',
  },
  keyVaultSoftDeleteDays: {
    what: 'Microsoft.KeyVault/vaults properties.softDeleteRetentionInDays',
    allowed: 'an integer 7-90',
    accepts: integerIn(7, 90),
    source: 'https://learn.microsoft.com/azure/key-vault/general/soft-delete-overview',
  },
  workspaceRetentionDays: {
    what: 'Microsoft.OperationalInsights/workspaces properties.retentionInDays (PerGB2018)',
    allowed: 'an integer 30-730 (4-730 on the free tier only)',
    accepts: integerIn(30, 730),
    source: 'https://learn.microsoft.com/azure/azure-monitor/logs/data-retention-configure',
  },
} satisfies Record<string, Rule>;

/** Resource names, per type (https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules). */
const NAMING = 'https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules';
export const NAME_RULES: { module: string; param: string; rule: RegExp; what: string; source: string }[] = [
  {
    module: 'functionApp',
    param: 'name',
    rule: /^[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])$/,
    what: 'Microsoft.Web/sites: 2-60, letters, digits, hyphens, not at the ends',
    source: `${NAMING}#microsoftweb`,
  },
  {
    module: 'functionApp',
    param: 'planName',
    rule: /^[a-zA-Z0-9-]{1,60}$/,
    what: 'Microsoft.Web/serverfarms: 1-60 letters, digits, hyphens',
    source: `${NAMING}#microsoftweb`,
  },
  {
    module: 'identity',
    param: 'name',
    rule: /^[a-zA-Z0-9][a-zA-Z0-9_-]{2,127}$/,
    what: 'Microsoft.ManagedIdentity/userAssignedIdentities: 3-128, starts with a letter or digit',
    source: `${NAMING}#microsoftmanagedidentity`,
  },
  {
    module: 'monitoring',
    param: 'logAnalyticsName',
    rule: /^[a-zA-Z0-9][a-zA-Z0-9-]{2,61}[a-zA-Z0-9]$/,
    what: 'Microsoft.OperationalInsights/workspaces: 4-63',
    source: `${NAMING}#microsoftoperationalinsights`,
  },
  {
    module: 'monitoring',
    param: 'applicationInsightsName',
    rule: /^[^%&\\?/]{1,259}[^%&\\?/. ]$/,
    what: 'Microsoft.Insights/components: 1-260, no %&\\?/, not ending in . or space',
    source: `${NAMING}#microsoftinsights`,
  },
  {
    module: 'storage',
    param: 'name',
    rule: /^[a-z0-9]{3,24}$/,
    what: 'Microsoft.Storage/storageAccounts: 3-24 lower-case letters and digits',
    source: `${NAMING}#microsoftstorage`,
  },
  {
    module: 'keyVault',
    param: 'name',
    rule: /^(?!.*--)[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/,
    what: 'Microsoft.KeyVault/vaults: 3-24, starts with a letter, no "--", not ending in "-"',
    source: `${NAMING}#microsoftkeyvault`,
  },
];

/** Names inside app/alerts.bicep, built from the namePrefix main.bicep passes. */
export const ALERT_NAME_RULES: { type: string; rule: RegExp; what: string; source: string }[] = [
  {
    type: 'Microsoft.Insights/scheduledQueryRules',
    rule: /^[^*<>%{}&:\\?/#|]{1,260}$/,
    what: '1-260, none of *<>%{}&:\\?/#|',
    source: `${NAMING}#microsoftinsights`,
  },
  {
    type: 'Microsoft.Insights/actionGroups',
    rule: /^[a-zA-Z0-9_.()-]{1,260}$/,
    what: '1-260, letters, digits, _ - . ( )',
    source: `${NAMING}#microsoftinsights`,
  },
];

/** Built-in roles the infrastructure may grant, by their fixed IDs (the same in every tenant). */
export const BUILT_IN_ROLES: Record<string, string> = {
  'b7e6dc6d-f1e8-4753-8033-0f276bb0955b': 'Storage Blob Data Owner',
  'ba92f5b4-2d11-453d-a403-e96b0029c9fe': 'Storage Blob Data Contributor',
  '4633458b-17de-408a-b874-0445c86b69e6': 'Key Vault Secrets User',
  'a4417e6f-fecd-4de8-b567-7b0420556985': 'Key Vault Certificates Officer',
  'b86a8fe4-44ce-4948-aee5-eccb2c155cd7': 'Key Vault Secrets Officer',
  '3913510d-42f4-4e42-8a64-420c390055eb': 'Monitoring Metrics Publisher',
};
export const BUILT_IN_ROLES_SOURCE =
  'https://learn.microsoft.com/azure/role-based-access-control/built-in-roles';
