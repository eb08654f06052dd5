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

  // The export is personal data, and so is the state kept beside it (state/ holds the whole
  // directory). Three rules, one retention period:
  // - replaced versions under latest/ and state/ (every run writes a new version) expire;
  // - current blobs there that no run rewrites any more (a previous format's latest/users.json,
  //   an old latest/changes.ndjson) are deleted once unmodified for the period. A blob the runs
  //   do rewrite is modified by every run, so its age stays below one schedule interval and this
  //   rule never reaches it, unless no run completes for the whole period (the silence alert has
  //   fired for weeks by then) and the last export goes too: retention outranks keeping it;
  // - the dated snapshots releases before the versioned layout wrote.
  // Day counts: 0-99999 (Storage lifecycle management, "Rule actions").
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
              filters: { blobTypes: ['blockBlob'], prefixMatch: ['${exportContainer}/latest/', '${exportContainer}/state/'] }
              actions: {
                version: { delete: { daysAfterCreationGreaterThan: snapshotRetentionDays } }
              }
            }
          }
          {
            name: 'expire-abandoned-exports'
            enabled: true
            type: 'Lifecycle'
            definition: {
              filters: { blobTypes: ['blockBlob'], prefixMatch: ['${exportContainer}/latest/', '${exportContainer}/state/'] }
              actions: {
                baseBlob: { delete: { daysAfterModificationGreaterThan: snapshotRetentionDays } }
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
