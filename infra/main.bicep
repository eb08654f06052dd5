// entra-user-export: a Flex Consumption function app that exports the Entra ID user directory
// nightly to a private container, reading its Graph credential from Key Vault with a
// user-assigned managed identity. No shared keys, no secrets in app settings.
targetScope = 'resourceGroup'

@minLength(1)
@maxLength(64)
@description('Name resource names derive from (azd sets it to the environment name: letters, digits, - _ . ( ) in any case); normalised below for each resource type.')
param environmentName string

@description('Region for every resource.')
param location string = resourceGroup().location

@description('Application (client) ID of the app registration the export signs in as (infra/scripts/register-app.sh prints it). Empty on the first deployment, which creates the vault the script needs; the function refuses to run until it is set.')
param graphClientId string = ''

@description('Directory (tenant) ID to export; defaults to the tenant of this subscription.')
param graphTenantId string = tenant().tenantId

@description('How the app registration signs in, one choice: certificate:<name> (the default: a Key Vault certificate, the one credential the deployed app, func start and npm run export share, renewed by Key Vault; infra/scripts/register-app.sh creates it), federated (secretless: the app trusts the function\'s managed identity, in Azure only; register-app.sh --credential federated) or secret:<name> (a Key Vault secret; --credential secret).')
param graphCredential string = 'certificate:graph-client-certificate'

@description('Microsoft Graph for this cloud.')
param graphEndpoint string = 'https://graph.microsoft.com'

@description('Entra ID sign-in host for this cloud.')
param graphAuthorityHost string = 'https://login.microsoftonline.com'

@description('6-field NCRONTAB schedule (UTC).')
param exportSchedule string = '0 0 2 * * *'

@description('Comma-separated user properties; empty for the product\'s default list.')
param exportSelect string = ''

@description('Optional OData $filter for /users.')
param exportFilter string = ''

@description('List only what changed since the last run (/users/delta) and rebuild the full export from the kept state; README, Delta listing.')
param exportDelta bool = false

@description('Add each user\'s manager (id, displayName, userPrincipalName, mail) through $expand=manager.')
param exportIncludeManager bool = false

@allowed(['json', 'ndjson', 'csv'])
param exportFormat string = 'json'

@allowed(['none', 'gzip'])
@description('gzip for large tenants: a smaller blob and less memory (README, Performance).')
param exportCompress string = 'none'

@allowed(['bindings', 'stream'])
@description('stream for tenants of millions: the run writes its blobs itself in bounded memory, the manifest last (docs/performance.md, Stream mode).')
param exportWrite string = 'bindings'

@minValue(1)
@maxValue(16)
@description('Partitions of the directory listed at once; 1 keeps one nextLink chain. See the README\'s Performance section.')
param exportParallelism int = 1

@allowed([512, 2048, 4096])
@description('Memory of each Flex Consumption instance. 4096 holds a 1M-user uncompressed JSON export with the copies the Functions host keeps; 2048 holds about 480k (1.5M with gzip). See the README\'s Performance section.')
param instanceMemoryMB int = 4096

@description('Publication guard: how far the user count may fall from the last export (500 users or 10%) before a run refuses to replace latest/. See the README\'s Reliability section.')
param exportShrinkLimit string = '10%'

@description('Private container the export is written to.')
param exportContainer string = 'entra-users'

// At least a week: the rule for blobs no run rewrites also takes the current export and state
// when no run has published for this long, so it must outlast a few failed or refused runs.
@minValue(7)
@maxValue(99999)
@description('Days personal data is kept: a replaced version under latest/ or state/, and a blob there no run has rewritten for this long (a previous format\'s export). At least 7, and longer than the schedule\'s interval, or the current export goes too.')
param snapshotRetentionDays int = 30

@description('E-mail address alerts go to (a failed run, no completed export in silenceHours); empty for none.')
param alertEmail string = ''

@minValue(2)
@maxValue(48)
@description('Hours without a completed export before the silence alert fires: 26 for the default daily schedule. 2-48: the alert reads a two-day window (the longest a log alert accepts) and counts the last silenceHours of it.')
param silenceHours int = 26

@description('Object ID of the person or pipeline deploying, given Key Vault Certificates Officer and Secrets Officer so the registration script can create the credential. Empty to skip.')
param deployerPrincipalId string = ''

@allowed(['User', 'ServicePrincipal'])
param deployerPrincipalType string = 'User'

var token = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))
// Resource names allow less than environment names: lower case, letters, digits and single
// hyphens, never a hyphen at either end (Key Vault: 3-24 characters, no "--"; storage: 3-24
// letters and digits). The slug keeps the readable part; the token keeps names unique.
var environmentWords = filter(split(toLower(replace(replace(replace(replace(environmentName, '_', '-'), '.', '-'), '(', '-'), ')', '-')), '-'), word => !empty(word))
var environmentSlug = empty(environmentWords) ? 'env' : join(filter(split(take(join(environmentWords, '-'), 16), '-'), word => !empty(word)), '-')
var vaultSlug = join(filter(split(take(environmentSlug, 7), '-'), word => !empty(word)), '-')
// graphCredential is "federated" or "<kind>:<name>"; anything else sets no credential setting, and
// every run then says so.
var graphCredentialFederated = toLower(trim(graphCredential)) == 'federated'
var graphCredentialParts = split(graphCredential, ':')
var graphCredentialKind = length(graphCredentialParts) == 2 ? toLower(graphCredentialParts[0]) : ''
var graphCredentialName = length(graphCredentialParts) == 2 ? graphCredentialParts[1] : ''
var tags = { 'azd-env-name': environmentName, application: 'entra-user-export' }
var functionAppName = 'func-${environmentSlug}-${token}'

module identity 'app/identity.bicep' = {
  name: 'identity'
  params: {
    name: 'id-${environmentSlug}-${token}'
    location: location
    tags: tags
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    logAnalyticsName: 'log-${environmentSlug}-${token}'
    applicationInsightsName: 'appi-${environmentSlug}-${token}'
    location: location
    tags: tags
    publisherPrincipalId: identity.outputs.principalId
  }
}

module alerts 'app/alerts.bicep' = {
  name: 'alerts'
  params: {
    namePrefix: '${environmentSlug}-${token}'
    location: location
    tags: tags
    applicationInsightsId: monitoring.outputs.id
    alertEmail: alertEmail
    silenceHours: silenceHours
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  params: {
    name: take('st${replace(environmentSlug, '-', '')}${token}', 24)
    location: location
    tags: tags
    exportContainer: exportContainer
    snapshotRetentionDays: snapshotRetentionDays
    functionPrincipalId: identity.outputs.principalId
  }
}

module keyVault 'app/keyVault.bicep' = {
  name: 'keyVault'
  params: {
    name: 'kv-${vaultSlug}-${token}'
    location: location
    tags: tags
    readerPrincipalId: identity.outputs.principalId
    deployerPrincipalId: deployerPrincipalId
    deployerPrincipalType: deployerPrincipalType
  }
}

module functionApp 'app/functionApp.bicep' = {
  name: 'functionApp'
  params: {
    name: functionAppName
    planName: 'plan-${environmentSlug}-${token}'
    location: location
    tags: union(tags, { 'azd-service-name': 'export' })
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    blobEndpoint: storage.outputs.blobEndpoint
    deploymentContainer: storage.outputs.deploymentContainer
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    keyVaultUrl: keyVault.outputs.url
    graphTenantId: graphTenantId
    graphClientId: graphClientId
    graphClientCertificateName: graphCredentialKind == 'certificate' ? graphCredentialName : ''
    graphClientSecretName: graphCredentialKind == 'secret' ? graphCredentialName : ''
    graphFederatedIdentityClientId: graphCredentialFederated ? identity.outputs.clientId : ''
    graphEndpoint: graphEndpoint
    graphAuthorityHost: graphAuthorityHost
    exportSchedule: exportSchedule
    exportSelect: exportSelect
    exportFilter: exportFilter
    exportIncludeManager: exportIncludeManager
    exportDelta: exportDelta
    exportFormat: exportFormat
    exportCompress: exportCompress
    exportWrite: exportWrite
    exportContainer: exportContainer
    exportParallelism: exportParallelism
    instanceMemoryMB: instanceMemoryMB
    exportShrinkLimit: exportShrinkLimit
  }
}

output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_APP_URL string = functionApp.outputs.url
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_KEY_VAULT_URL string = keyVault.outputs.url
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output EXPORT_CONTAINER string = exportContainer
output AZURE_FUNCTION_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output AZURE_FUNCTION_IDENTITY_NAME string = identity.outputs.name
