// Alerts on the export's own telemetry: a run that failed, and no successful run for longer than
// the schedule allows. An e-mail receiver is added when alertEmail is given; the rules fire
// (and show in the portal) either way.
param namePrefix string
param location string
param tags object
@description('Application Insights component the function reports to.')
param applicationInsightsId string
@description('Where alerts are e-mailed; empty for none.')
param alertEmail string
@minValue(2)
@maxValue(48)
@description('Hours without a completed export before the silence alert fires (a daily schedule: 26). At most 48: the rule reads a two-day window, the longest a log alert accepts.')
param silenceHours int

// Log alerts accept only these windows (minutes): 5, 10, 15, 30, 45, 60, 120, 180, 240, 300, 360,
// 1440, 2880; anything else (PT26H) is refused at deployment with "Supported granularities are:
// ..." (Azure/azure-rest-api-specs issue 21258; hashicorp/terraform-provider-azurerm issue 18886).
// The silence rule therefore reads the longest window, two days, and its query keeps only the last
// silenceHours of it.
var silenceWindow = 'P2D'

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(alertEmail)) {
  name: 'ag-${namePrefix}'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'entraexport'
    enabled: true
    emailReceivers: [{ name: 'export-owner', emailAddress: alertEmail, useCommonAlertSchema: true }]
  }
}

var actionGroups = empty(alertEmail) ? [] : [actionGroup.id]

// Every failure carries a stable errorCode (README, Reliability), shown in the alert's dimensions.
resource exportFailed 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: 'alert-${namePrefix}-export-failed'
  location: location
  tags: tags
  properties: {
    displayName: 'Entra user export: a run failed'
    description: 'An exportUsers run failed and published nothing; the last export stays. The errorCode dimension says why.'
    severity: 2
    enabled: true
    scopes: [applicationInsightsId]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: 'exceptions | where tostring(customDimensions.operation) == "exportUsers" | extend errorCode = tostring(customDimensions.errorCode)'
          timeAggregation: 'Count'
          dimensions: [{ name: 'errorCode', operator: 'Include', values: ['*'] }]
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
        }
      ]
    }
    actions: { actionGroups: actionGroups }
  }
}

// Silence is the failure no exception reports: the timer did not fire, or runs were killed.
resource exportSilent 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: 'alert-${namePrefix}-export-silent'
  location: location
  tags: tags
  properties: {
    displayName: 'Entra user export: no completed export'
    description: 'No EntraUserExportCompleted event for longer than the schedule allows.'
    severity: 1
    enabled: true
    scopes: [applicationInsightsId]
    evaluationFrequency: 'PT1H'
    windowSize: silenceWindow
    criteria: {
      allOf: [
        {
          query: 'customEvents | where timestamp > ago(${silenceHours}h) | where name == "EntraUserExportCompleted"'
          timeAggregation: 'Count'
          operator: 'LessThan'
          threshold: 1
          failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
        }
      ]
    }
    actions: { actionGroups: actionGroups }
  }
}

// A renewed Key Vault certificate the app does not know yet: runs still succeed with the earlier
// version, for as long as it lasts. Fires on the first such run, weeks before sign-in would fail.
resource credentialWarning 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: 'alert-${namePrefix}-credential-warning'
  location: location
  tags: tags
  properties: {
    displayName: 'Entra user export: register the renewed certificate'
    description: 'A run signed in with an earlier certificate version: the newest one is not registered on the app registration. Run infra/scripts/register-app.sh before the earlier one expires.'
    severity: 2
    enabled: true
    scopes: [applicationInsightsId]
    evaluationFrequency: 'PT1H'
    windowSize: 'PT1H'
    criteria: {
      allOf: [
        {
          query: 'customEvents | where name == "EntraUserExportCompleted" and isnotempty(tostring(customDimensions.credentialWarning))'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
        }
      ]
    }
    actions: { actionGroups: actionGroups }
  }
}

// What the host saw: an invocation that failed after the handler returned (a blob upload, so
// latest/users.* and latest/manifest.json may now be from different runs), timed out, or whose
// worker died. Runs that fail in the handler fire this too, beside the errorCode alert.
resource invocationFailed 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: 'alert-${namePrefix}-invocation-failed'
  location: location
  tags: tags
  properties: {
    displayName: 'Entra user export: the Functions host recorded a failed invocation'
    description: 'An exportUsers invocation failed as the host saw it. If no export-failed alert came with it, a blob upload failed after the run: compare the SHA-256 of latest/users.* with latest/manifest.json (README, Output layout); the next run writes both again.'
    severity: 2
    enabled: true
    scopes: [applicationInsightsId]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT15M'
    criteria: {
      allOf: [
        {
          query: 'requests | where name == "exportUsers" and success == false'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
        }
      ]
    }
    actions: { actionGroups: actionGroups }
  }
}
