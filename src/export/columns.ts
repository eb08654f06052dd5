/**
 * The user properties Graph returns as objects, and the fields each has. CSV gives every field a
 * dotted column of its own (`signInActivity.lastSignInDateTime`), fixed by the selection rather
 * than by what a page happens to hold, so every file of one configuration has the same header.
 * JSON and NDJSON keep the objects as Graph sends them.
 */
export const OBJECT_PROPERTIES: Readonly<Record<string, readonly string[]>> = {
  // Microsoft Graph v1.0 signInActivity resource type.
  signInActivity: [
    'lastSignInDateTime',
    'lastSignInRequestId',
    'lastNonInteractiveSignInDateTime',
    'lastNonInteractiveSignInRequestId',
    'lastSuccessfulSignInDateTime',
    'lastSuccessfulSignInRequestId',
  ],
  onPremisesExtensionAttributes: Array.from({ length: 15 }, (_, index) => `extensionAttribute${index + 1}`),
  employeeOrgData: ['division', 'costCenter'],
  /** The manager relationship, expanded with these properties (EXPORT_INCLUDE_MANAGER). */
  manager: ['id', 'displayName', 'userPrincipalName', 'mail'],
};

/**
 * The properties of the v1.0 user resource, in Graph's spelling (Microsoft Graph, "user resource
 * type", Properties table). Graph matches `$select` names case-insensitively but answers with its
 * own spelling, so a selection is written this way: `DisplayName` and `displayName` are one
 * column, not two (and never two names in one `$select`, which Graph refuses with 400).
 */
export const USER_PROPERTIES: readonly string[] = [
  'aboutMe',
  'accountEnabled',
  'ageGroup',
  'assignedLicenses',
  'assignedPlans',
  'authorizationInfo',
  'birthday',
  'businessPhones',
  'city',
  'companyName',
  'consentProvidedForMinor',
  'country',
  'createdDateTime',
  'creationType',
  'customSecurityAttributes',
  'deletedDateTime',
  'department',
  'displayName',
  'employeeHireDate',
  'employeeId',
  'employeeLeaveDateTime',
  'employeeOrgData',
  'employeeType',
  'externalUserState',
  'externalUserStateChangeDateTime',
  'faxNumber',
  'givenName',
  'hireDate',
  'id',
  'identities',
  'imAddresses',
  'interests',
  'isManagementRestricted',
  'isResourceAccount',
  'jobTitle',
  'lastPasswordChangeDateTime',
  'legalAgeGroupClassification',
  'licenseAssignmentStates',
  'mail',
  'mailboxSettings',
  'mailNickname',
  'mobilePhone',
  'mySite',
  'officeLocation',
  'onPremisesDistinguishedName',
  'onPremisesDomainName',
  'onPremisesExtensionAttributes',
  'onPremisesImmutableId',
  'onPremisesLastSyncDateTime',
  'onPremisesProvisioningErrors',
  'onPremisesSamAccountName',
  'onPremisesSecurityIdentifier',
  'onPremisesSyncEnabled',
  'onPremisesUserPrincipalName',
  'otherMails',
  'passwordPolicies',
  'passwordProfile',
  'pastProjects',
  'postalCode',
  'preferredDataLocation',
  'preferredLanguage',
  'preferredName',
  'provisionedPlans',
  'proxyAddresses',
  'responsibilities',
  'schools',
  'securityIdentifier',
  'serviceProvisioningErrors',
  'showInAddressList',
  'signInActivity',
  'signInSessionsValidFromDateTime',
  'skills',
  'state',
  'streetAddress',
  'surname',
  'usageLocation',
  'userPrincipalName',
  'userType',
];

const GRAPH_SPELLING = new Map(USER_PROPERTIES.map((property) => [property.toLowerCase(), property]));

/** A property name as Graph spells it; a name Graph does not list (a directory extension) as given. */
export function graphSpelling(property: string): string {
  return GRAPH_SPELLING.get(property.toLowerCase()) ?? property;
}

export const MANAGER_PROPERTY = 'manager';
export const MANAGER_FIELDS = OBJECT_PROPERTIES[MANAGER_PROPERTY]!;

/** What one exported user holds, in order: the selection, then the manager when it is included. */
export function exportedProperties(select: readonly string[], includeManager: boolean): string[] {
  return includeManager ? [...select, MANAGER_PROPERTY] : [...select];
}

/** The CSV header for these properties: each object property as one column per field. */
export function csvColumns(properties: readonly string[]): string[] {
  return properties.flatMap((property) => {
    const fields = OBJECT_PROPERTIES[property];
    return fields === undefined ? [property] : fields.map((field) => `${property}.${field}`);
  });
}

/**
 * One user as a CSV row: object properties spread over their dotted columns (a missing object,
 * a user who never signed in or has no manager, leaves them empty); anything else as it is.
 */
export function flattenUser(
  user: Readonly<Record<string, unknown>>,
  properties: readonly string[],
): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const property of properties) {
    const fields = OBJECT_PROPERTIES[property];
    const value = user[property] ?? null;
    if (fields === undefined) {
      row[property] = value;
      continue;
    }
    const object = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
    for (const field of fields) row[`${property}.${field}`] = object[field] ?? null;
  }
  return row;
}
