// The function app on Flex Consumption (Linux, Node.js 22): no 10-minute limit, identity-only
// storage. Every app setting the product reads is set here, from parameters.
param name string
param planName string
param location string
param tags object
param identityId string
param identityClientId string
param storageAccountName string
param blobEndpoint string
param deploymentContainer string
param applicationInsightsConnectionString string
param keyVaultUrl string
param graphTenantId string
param graphClientId string
param graphClientCertificateName string
param graphClientSecretName string
param graphFederatedIdentityClientId string
param graphEndpoint string
param graphAuthorityHost string
param exportSchedule string
param exportSelect string
param exportFilter string
param exportIncludeManager bool
param exportDelta bool
param exportFormat string
param exportCompress string
param exportWrite string
param exportContainer string
param exportParallelism int
param exportShrinkLimit string
param instanceMemoryMB int

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { tier: 'FlexConsumption', name: 'FC1' }
  properties: { reserved: true }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${blobEndpoint}${deploymentContainer}'
          authentication: { type: 'UserAssignedIdentity', userAssignedIdentityResourceId: identityId }
        }
      }
      scaleAndConcurrency: { instanceMemoryMB: instanceMemoryMB, maximumInstanceCount: 40 }
      runtime: { name: 'node', version: '22' }
    }
  }

  resource appSettings 'config' = {
    name: 'appsettings'
    properties: {
      // The host's own storage, by identity.
      AzureWebJobsStorage__accountName: storageAccountName
      AzureWebJobsStorage__credential: 'managedidentity'
      AzureWebJobsStorage__clientId: identityClientId
      APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
      APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
      // DefaultAzureCredential reads Key Vault as the user-assigned identity.
      AZURE_CLIENT_ID: identityClientId
      KEY_VAULT_URL: keyVaultUrl
      GRAPH_TENANT_ID: graphTenantId
      GRAPH_CLIENT_ID: graphClientId
      GRAPH_CLIENT_CERTIFICATE_NAME: graphClientCertificateName
      GRAPH_CLIENT_SECRET_NAME: graphClientSecretName
      GRAPH_FEDERATED_IDENTITY_CLIENT_ID: graphFederatedIdentityClientId
      GRAPH_ENDPOINT: graphEndpoint
      GRAPH_AUTHORITY_HOST: graphAuthorityHost
      EXPORT_SCHEDULE: exportSchedule
      EXPORT_SELECT: exportSelect
      EXPORT_FILTER: exportFilter
      EXPORT_INCLUDE_MANAGER: string(exportIncludeManager)
      EXPORT_DELTA: string(exportDelta)
      EXPORT_FORMAT: exportFormat
      EXPORT_COMPRESS: exportCompress
      EXPORT_WRITE: exportWrite
      EXPORT_CONTAINER: exportContainer
      EXPORT_PARALLELISM: string(exportParallelism)
      EXPORT_INSTANCE_MEMORY_MB: string(instanceMemoryMB)
      EXPORT_SHRINK_LIMIT: exportShrinkLimit
      EXPORT_STORAGE__blobServiceUri: blobEndpoint
      EXPORT_STORAGE__credential: 'managedidentity'
      EXPORT_STORAGE__clientId: identityClientId
    }
  }
}

output name string = site.name
output url string = 'https://${site.properties.defaultHostName}'
