import type { ExportConfig } from '../config.js';

import { MANAGER_FIELDS } from '../export/columns.js';

/** Graph's largest page for /users. */
export const USERS_PAGE_SIZE = 999;
/** Graph's largest page for /users when signInActivity is selected (Microsoft Graph, List users). */
export const SIGN_IN_ACTIVITY_PAGE_SIZE = 500;

/**
 * The first /users URL: every page as large as Graph allows, only the selected properties, and
 * the manager expanded in the same request when it is included (one request a page, not one a
 * user). Graph may serve smaller pages than asked; the nextLinks are followed either way.
 */
export function firstUsersUrl(config: ExportConfig, filter = config.filter): string {
  const top = config.select.includes('signInActivity') ? SIGN_IN_ACTIVITY_PAGE_SIZE : USERS_PAGE_SIZE;
  const query = new URLSearchParams({ $top: String(top), $select: config.select.join(',') });
  if (config.includeManager) query.set('$expand', `manager($select=${MANAGER_FIELDS.join(',')})`);
  if (filter !== undefined) query.set('$filter', filter);
  return `${config.graphEndpoint}/v1.0/users?${readableQuery(query)}`;
}

/** Graph's own count of the users the export's filter selects (an advanced query). */
export function usersCountUrl(config: ExportConfig): string {
  const query = new URLSearchParams();
  if (config.filter !== undefined) query.set('$filter', config.filter);
  const text = readableQuery(query);
  return `${config.graphEndpoint}/v1.0/users/$count${text === '' ? '' : `?${text}`}`;
}

/** `$` and `,` left as they are, as Graph's own examples write them; everything else encoded. */
function readableQuery(query: URLSearchParams): string {
  return query
    .toString()
    .replace(/%24/g, '$')
    .replace(/%2C/g, ',')
    .replace(/%28/g, '(')
    .replace(/%29/g, ')')
    .replace(/%3D/g, '=');
}
