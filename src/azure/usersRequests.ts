import type { ExportConfig } from '../config.js';

/** Graph's largest page for /users. */
export const USERS_PAGE_SIZE = 999;

/** The first /users URL: every page as large as Graph allows, only the selected properties. */
export function firstUsersUrl(config: ExportConfig, filter = config.filter): string {
  const query = new URLSearchParams({ $top: String(USERS_PAGE_SIZE), $select: config.select.join(',') });
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
  return query.toString().replace(/%24/g, '$').replace(/%2C/g, ',');
}
