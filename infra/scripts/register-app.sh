#!/usr/bin/env bash
# Registers the Entra ID application that entra-user-export signs in as, and gives it its
# credential: a certificate kept in Key Vault (the default: one credential for the deployed app,
# func start and npm run export; Key Vault renews it), a federated trust of the function's managed
# identity (secretless, in Azure only), or a client secret kept in Key Vault. What the Graph quickstart does by hand in the portal. Safe to
# re-run: each step checks what exists first.
set -euo pipefail

readonly GRAPH_APP_ID='00000003-0000-0000-c000-000000000000'
readonly USER_READ_ALL_ROLE='df021288-bdef-4463-88db-98f22de89214'
readonly AUDIT_LOG_READ_ALL_ROLE='b0afded3-3588-46d8-8b3d-9842eff778da'

usage() {
  cat <<'USAGE'
Usage: infra/scripts/register-app.sh --vault NAME [options]
       infra/scripts/register-app.sh --credential federated --identity NAME [options]
       infra/scripts/register-app.sh --credential secret --vault NAME [options]

Creates (or finds) the app registration, gives it the Microsoft Graph User.Read.All application
permission with admin consent, gives it its credential, and prints the app settings.

  --credential KIND         certificate (default: a Key Vault certificate the deployed app,
                            func start and npm run export all sign in with; Key Vault renews it),
                            federated (secretless: the app trusts the function's managed
                            identity; signs in only in Azure) or secret
  --identity NAME           with federated: the function's user-assigned managed identity
                            (the infra output AZURE_FUNCTION_IDENTITY_NAME)
  --vault NAME              with certificate (the default) or secret: the Key Vault that holds it
                            (the infra output AZURE_KEY_VAULT_NAME)
  --app-name NAME           app registration display name (default: entra-user-export), matched exactly
  --app-id ID               use this app registration (its application ID) instead of finding it by name
  --certificate-name NAME   Key Vault certificate name (default: graph-client-certificate)
  --secret-name NAME        Key Vault secret name (default: graph-client-secret)
  --secret-years N          client secret lifetime in years (default: 1)
  --sign-in-activity        also add AuditLog.Read.All (application), which EXPORT_SELECT's
                            signInActivity needs (with an Entra ID P1 or P2 licence)
  --rotate                  with --credential secret: add a new client secret, store it as a new
                            version of the Key Vault secret, then remove the app's previous ones
  -h, --help                this text

With a certificate, every current version of it is registered on the app (Key Vault renews it
as a new version), and expired versions this script registered are removed.

Needs the Azure CLI, signed in (az login) as someone who may create app registrations (and with
Key Vault Certificates Officer / Secrets Officer on the vault for a certificate or secret). Admin consent needs a Global or
Privileged Role Administrator; otherwise the script prints the consent URL to hand to one.
USAGE
}

say() { printf '%s\n' "$*" >&2; }
fail() {
  say "error: $*"
  exit 1
}

vault=''
identity=''
app_name='entra-user-export'
app_id=''
credential='certificate'
certificate_name='graph-client-certificate'
secret_name='graph-client-secret'
secret_years='1'
rotate=false
sign_in_activity=false
readonly SECRET_DISPLAY_NAME='entra-user-export'

while [[ $# -gt 0 ]]; do
  case "$1" in
    --vault) vault="${2:-}"; shift 2 ;;
    --identity) identity="${2:-}"; shift 2 ;;
    --app-name) app_name="${2:-}"; shift 2 ;;
    --app-id) app_id="${2:-}"; shift 2 ;;
    --credential) credential="${2:-}"; shift 2 ;;
    --certificate-name) certificate_name="${2:-}"; shift 2 ;;
    --secret-name) secret_name="${2:-}"; shift 2 ;;
    --secret-years) secret_years="${2:-}"; shift 2 ;;
    --rotate) rotate=true; shift ;;
    --sign-in-activity) sign_in_activity=true; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; fail "unknown argument: $1" ;;
  esac
done

[[ "$credential" == federated || "$credential" == certificate || "$credential" == secret ]] ||
  fail "--credential must be federated, certificate or secret, not '$credential'"
if [[ "$credential" == federated ]]; then
  [[ -n "$identity" ]] || { usage >&2; fail "--identity is required with --credential federated: the function's managed identity (infra output AZURE_FUNCTION_IDENTITY_NAME)"; }
else
  [[ -n "$vault" ]] || { usage >&2; fail "--vault is required with --credential $credential (infra output AZURE_KEY_VAULT_NAME)"; }
fi
[[ "$secret_years" =~ ^[1-9][0-9]*$ ]] || fail "--secret-years must be a whole number of years"
[[ "$rotate" == false || "$credential" == secret ]] || fail '--rotate is for --credential secret (a Key Vault certificate renews itself)'
command -v az >/dev/null || fail 'the Azure CLI (az) is not installed'

work_dir=$(mktemp -d)
trap 'rm -rf "$work_dir"' EXIT
umask 077

tenant_id=$(az account show --query tenantId -o tsv) || fail 'not signed in: run az login'
vault_url=''
if [[ "$credential" != federated ]]; then
  vault_url=$(az keyvault show --name "$vault" --query properties.vaultUri -o tsv 2>/dev/null) ||
    fail "no Key Vault named '$vault' is visible to you: provision infra/main.bicep first, or check --vault"
else
  [[ "$identity" =~ ^[A-Za-z0-9][A-Za-z0-9_-]{2,127}$ ]] || fail "--identity must be a managed identity's name, not '$identity'"
  identity_ids=$(az identity list --query "[?name=='$identity'].[principalId, clientId]" -o tsv)
  [[ $(grep -c . <<<"$identity_ids" || true) -eq 1 ]] ||
    fail "expected one managed identity named '$identity' in this subscription, found $(grep -c . <<<"$identity_ids" || true): provision infra/main.bicep first, or check --identity"
  read -r identity_principal_id identity_client_id <<<"$identity_ids"
fi

# 1. The app registration and its service principal. `az ad app list --display-name` matches by
#    prefix (azure-cli #23053): an exact OData filter, quotes doubled, so that 'entra-user-export'
#    never picks 'entra-user-export-prod' and grants it consent.
if [[ -n "$app_id" ]]; then
  [[ "$app_id" =~ ^[0-9a-fA-F-]{36}$ ]] || fail "--app-id must be an application (client) ID, a GUID; got '$app_id'"
  az ad app show --id "$app_id" --query appId -o tsv >/dev/null 2>&1 ||
    fail "no app registration with application ID $app_id is visible to you"
  say "using app registration $app_id (--app-id)"
else
  [[ -n "$app_name" ]] || fail '--app-name must not be empty'
  odata_name=${app_name//\'/\'\'}
  matches=$(az ad app list --filter "displayName eq '$odata_name'" --query '[].appId' -o tsv)
  count=$(grep -c . <<<"$matches" || true)
  if [[ "$count" -gt 1 ]]; then
    say "$count app registrations are named exactly '$app_name':"
    say "$matches"
    fail "choose one with --app-id <application ID>, or give this export its own name with --app-name"
  elif [[ "$count" -eq 1 ]]; then
    app_id=$matches
    say "app registration '$app_name' exists ($app_id)"
  else
    app_id=$(az ad app create --display-name "$app_name" --sign-in-audience AzureADMyOrg --query appId -o tsv)
    say "created app registration '$app_name' ($app_id)"
  fi
fi
if ! az ad sp show --id "$app_id" --query id -o tsv >/dev/null 2>&1; then
  az ad sp create --id "$app_id" --query id -o tsv >/dev/null
  say 'created its service principal'
fi

# 2. Microsoft Graph User.Read.All (application), and AuditLog.Read.All when asked, with admin consent.
granted=$(az ad app permission list --id "$app_id" --query "[?resourceAppId=='$GRAPH_APP_ID'].resourceAccess[].id" -o tsv)
roles=("$USER_READ_ALL_ROLE:User.Read.All")
[[ "$sign_in_activity" == true ]] && roles+=("$AUDIT_LOG_READ_ALL_ROLE:AuditLog.Read.All")
for role in "${roles[@]}"; do
  if ! grep -qxF "${role%%:*}" <<<"$granted"; then
    az ad app permission add --id "$app_id" --api "$GRAPH_APP_ID" --api-permissions "${role%%:*}=Role" --output none
    say "added Microsoft Graph ${role#*:} (application)"
  fi
done
consent_url="https://login.microsoftonline.com/$tenant_id/adminconsent?client_id=$app_id"
if az ad app permission admin-consent --id "$app_id" --output none 2>/dev/null; then
  say 'admin consent granted'
else
  say "admin consent not granted (it needs a Global or Privileged Role Administrator): have one open $consent_url"
fi

# 3. The credential.
if [[ "$credential" == federated ]]; then
  # The identity's tokens for the token-exchange audience sign the app in: issuer, subject
  # (the identity's principal ID, not its client ID) and audience must match exactly.
  # The issuer is the one the identity's token carries, per cloud as Microsoft documents it
  # ("Configure an application to trust a managed identity", learn.microsoft.com and, for China,
  # docs.azure.cn). In China that is login.partner.microsoftonline.cn, not the sign-in host
  # az cloud show names (login.chinacloudapi.cn): tokens there carry
  # iss=https://login.partner.microsoftonline.cn/<tenant>/v2.0 (jenkinsci/azure-ad-plugin#679).
  cloud=$(az cloud show --query name -o tsv)
  case "$cloud" in
    AzureCloud) audience='api://AzureADTokenExchange' issuer_host='https://login.microsoftonline.com' ;;
    AzureUSGovernment) audience='api://AzureADTokenExchangeUSGov' issuer_host='https://login.microsoftonline.us' ;;
    AzureChinaCloud) audience='api://AzureADTokenExchangeChina' issuer_host='https://login.partner.microsoftonline.cn' ;;
    *) fail "no token-exchange audience is documented for the cloud '$cloud': use --credential certificate" ;;
  esac
  issuer="$issuer_host/$tenant_id/v2.0"
  trusted=$(az ad app federated-credential list --id "$app_id" \
    --query "[?issuer=='$issuer' && subject=='$identity_principal_id'].audiences[]" -o tsv)
  if grep -qxF "$audience" <<<"$trusted"; then
    say "the app already trusts managed identity '$identity' ($identity_principal_id)"
  else
    cat >"$work_dir/federated.json" <<JSON
{"name": "function-identity-${identity_principal_id:0:8}", "issuer": "$issuer", "subject": "$identity_principal_id", "audiences": ["$audience"], "description": "entra-user-export: the function app's managed identity '$identity'"}
JSON
    az ad app federated-credential create --id "$app_id" --parameters "@$work_dir/federated.json" --output none
    say "the app now trusts managed identity '$identity' ($identity_principal_id) as a federated credential"
  fi
  setting_line="GRAPH_FEDERATED_IDENTITY_CLIENT_ID=$identity_client_id"
  deploy_credential='federated'
elif [[ "$credential" == certificate ]]; then
  # Kept in Key Vault and never printed; only public parts reach the app.
  if ! az keyvault certificate show --vault-name "$vault" --name "$certificate_name" --query id -o tsv >/dev/null 2>&1; then
    # The default policy: self-signed, RSA 2048, exportable key, PKCS#12, renewed before expiry.
    az keyvault certificate create --vault-name "$vault" --name "$certificate_name" \
      --policy "$(az keyvault certificate get-default-policy)" --output none
    say "created certificate '$certificate_name' in $vault"
  fi
  # Every version Key Vault holds: the current ones are registered (a renewal is a new version
  # the function reads at once), and expired ones this script registered are taken off the app.
  now=$(date -u +%s)
  registered=$(az ad app credential list --id "$app_id" --cert --query '[].customKeyIdentifier' -o tsv)
  while IFS=$'\t' read -r thumbprint enabled expires version_id; do
    [[ -n "$thumbprint" ]] || continue
    version=${version_id##*/}
    expired=false
    [[ -n "$expires" && "$expires" != None && $(date -u -d "$expires" +%s) -le "$now" ]] && expired=true
    if [[ "$expired" == true ]]; then
      if grep -qixF "$thumbprint" <<<"$registered"; then
        key_ids=$(az ad app credential list --id "$app_id" --cert --query "[?customKeyIdentifier=='$thumbprint'].keyId" -o tsv </dev/null)
        while read -r key_id; do
          [[ -n "$key_id" ]] && az ad app credential delete --id "$app_id" --key-id "$key_id" --cert </dev/null
        done <<<"$key_ids"
        say "removed expired certificate version $version ($thumbprint) from the app"
      fi
    elif [[ "${enabled,,}" != true ]]; then
      say "certificate version $version ($thumbprint) is disabled in Key Vault: not registered"
    elif grep -qixF "$thumbprint" <<<"$registered"; then
      say "certificate version $version ($thumbprint) is registered on the app"
    else
      rm -f "$work_dir/public.pem"
      az keyvault certificate download --vault-name "$vault" --name "$certificate_name" --version "$version" \
        --file "$work_dir/public.pem" --encoding PEM </dev/null
      az ad app credential reset --id "$app_id" --cert "@$work_dir/public.pem" --append --output none </dev/null
      say "registered certificate version $version ($thumbprint) on the app"
    fi
  done < <(az keyvault certificate list-versions --vault-name "$vault" --name "$certificate_name" \
    --query '[].[x509ThumbprintHex, attributes.enabled, attributes.expires, id]' -o tsv)
  setting_line="GRAPH_CLIENT_CERTIFICATE_NAME=$certificate_name"
  deploy_credential="certificate:$certificate_name"
else
  if az keyvault secret show --vault-name "$vault" --name "$secret_name" --query id -o tsv >/dev/null 2>&1; then
    stored=true
  else
    stored=false
    # Soft delete and purge protection keep a deleted name: setting it would fail after the app
    # secret was made. Say so before touching the app.
    if az keyvault secret show-deleted --vault-name "$vault" --name "$secret_name" --query recoveryId -o tsv >/dev/null 2>&1; then
      fail "secret '$secret_name' was deleted and soft delete keeps it: recover it (az keyvault secret recover --vault-name $vault --name $secret_name) and run again with --rotate, or choose another --secret-name"
    fi
  fi
  if [[ "$stored" == true && "$rotate" == false ]]; then
    say "secret '$secret_name' exists in $vault (to rotate it, run again with --rotate)"
  else
    previous=$(az ad app credential list --id "$app_id" --query "[?displayName=='$SECRET_DISPLAY_NAME'].keyId" -o tsv)
    # Straight from az into a private file and into Key Vault: never on a command line or a screen.
    az ad app credential reset --id "$app_id" --append --display-name "$SECRET_DISPLAY_NAME" \
      --years "$secret_years" --query password -o tsv | tr -d '\r\n' >"$work_dir/secret"
    current=$(az ad app credential list --id "$app_id" --query "[?displayName=='$SECRET_DISPLAY_NAME'].keyId" -o tsv)
    added=$(comm -13 <(sort <<<"$previous") <(sort <<<"$current") | grep . || true)
    if ! az keyvault secret set --vault-name "$vault" --name "$secret_name" --file "$work_dir/secret" --encoding utf-8 --output none; then
      # A secret the function cannot read is only a liability: take it off the app again.
      while read -r key_id; do
        [[ -n "$key_id" ]] && az ad app credential delete --id "$app_id" --key-id "$key_id"
      done <<<"$added"
      fail "could not store the new client secret as '$secret_name' in $vault; it was removed from the app again, and the previous one still works"
    fi
    say "created a client secret valid for $secret_years year(s) and stored it as a new version of '$secret_name' in $vault"
    # Only now that Key Vault holds the new one: the function's next run reads it.
    while read -r key_id; do
      if [[ -n "$key_id" ]]; then
        az ad app credential delete --id "$app_id" --key-id "$key_id"
        say "removed the app's previous client secret $key_id"
      fi
    done <<<"$previous"
  fi
  setting_line="GRAPH_CLIENT_SECRET_NAME=$secret_name"
  deploy_credential="secret:$secret_name"
fi

say ''
say 'Next, deploy infra/main.bicep again with the app and this credential:'
say "  az deployment group create -g <group> -f infra/main.bicep -p environmentName=<env> graphClientId=$app_id graphCredential=$deploy_credential"
say "  or: azd env set GRAPH_CLIENT_ID $app_id && azd env set GRAPH_CREDENTIAL $deploy_credential && azd up"
if [[ "$credential" == federated ]]; then
  say 'The function app settings (the Bicep sets them; a federated credential signs in only where the'
  say "identity is, in Azure: for func start or npm run export on a workstation, use --credential certificate):"
  cat <<SETTINGS
GRAPH_TENANT_ID=$tenant_id
GRAPH_CLIENT_ID=$app_id
$setting_line
SETTINGS
else
  say 'The settings for local.settings.json (func start, npm run export):'
  cat <<SETTINGS
KEY_VAULT_URL=${vault_url%/}
GRAPH_TENANT_ID=$tenant_id
GRAPH_CLIENT_ID=$app_id
$setting_line
SETTINGS
fi
