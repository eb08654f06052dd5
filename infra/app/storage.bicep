// One storage account for the Functions host, the deployment package and the export. Identity
// only: shared keys and anonymous access are off.
param name string
param location string
param tags object
param exportContainer string
param snapshotRetentionDays int
@description('The function app identity: the host needs Storage Blob Data Owner.')
param functionPrincipalId string

var storageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var deploymentContainer = 'deploymentpackage'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    defaultToOAuthAuthentication: true
    allowCrossTenantReplication: false
  }

  resource blobService 'blobServices' = {
    name: 'default'
    properties: {
      isVersioningEnabled: true
      deleteRetentionPolicy: { enabled: true, days: 7 }
      containerDeleteRetentionPolicy: { enabled: true, days: 7 }
    }

    resource deployment 'containers' = {
      name: deploymentContainer
      properties: { publicAccess: 'None' }
    }

    resource export 'containers' = {
      name: exportContainer
      properties: { publicAccess: 'None' }
    }
  }

  // The export is personal data: replaced versions of latest/ expire (its history), and so do the
  // dated snapshots that releases before the versioned layout wrote.
  resource lifecycle 'managementPolicies' = {
    name: 'default'
    properties: {
      policy: {
        rules: [
          {
            name: 'expire-export-snapshots'
            enabled: true
            type: 'Lifecycle'
            definition: {
              filters: { blobTypes: ['blockBlob'], prefixMatch: ['${exportContainer}/snapshots/'] }
              actions: {
                baseBlob: { delete: { daysAfterCreationGreaterThan: snapshotRetentionDays } }
                version: { delete: { daysAfterCreationGreaterThan: snapshotRetentionDays } }
              }
            }
          }
          {
            name: 'expire-replaced-exports'
            enabled: true
            type: 'Lifecycle'
            definition: {
              filters: { blobTypes: ['blockBlob'], prefixMatch: ['${exportContainer}/latest/'] }
              actions: {
                version: { delete: { daysAfterCreationGreaterThan: snapshotRetentionDays } }
              }
            }
          }
        ]
      }
    }
  }
}

resource hostBlobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, functionPrincipalId, storageBlobDataOwner)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwner)
    principalId: functionPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output name string = storage.name
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output deploymentContainer string = deploymentContainer
