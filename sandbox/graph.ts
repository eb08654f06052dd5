import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

import { type SandboxDirectory, KNOWN_PROPERTIES } from './directory.js';
import { bearerToken, sendJson } from './http.js';
import { compileFilter, FilterSyntaxError } from './odataFilter.js';
import type { SandboxTenant } from './tenant.js';

/** A fault the sandbox's Graph injects on one page of every listing. */
export interface GraphFault {
  /** 1-based page of a listing (the first page is 1). */
  page: number;
  kind:
    | 'throttle'
    | 'unavailable'
    /** Any error status (500, 502, 503, 504 ...), with Retry-After when one is given. */
    | 'status'
    /** The connection closed before any answer. */
    | 'reset'
    /** The headers and half the body sent, then the connection closed. */
    | 'reset-mid-body'
    /** The connection accepted and the request read, then nothing: no headers, held open. */
    | 'stall-before-headers'
    /** The headers, then the body one byte every delayMs (default 1000), as long as the client waits. */
    | 'trickle'
    | 'malformed'
    | 'slow'
    /** The page's nextLink is the URL of the page itself. */
    | 'repeat-next-link'
    /** The page's nextLink points at another origin, which answers with users of its own. */
    | 'foreign-next-link'
    /** A 302 to the same request at another origin, which answers with users of its own. */
    | 'redirect'
    /** Users carry @odata annotations and properties nobody selected. */
    | 'annotations';
  /** How many requests for that page it affects; Infinity for every one. Default 1. */
  times?: number;
  retryAfterSeconds?: number;
  /** The Retry-After header exactly as sent (a date, or text), instead of retryAfterSeconds. */
  retryAfter?: string;
  status?: number;
  delayMs?: number;
}

/** The origin the sandbox plays "somewhere that is not Graph" on: same server, another origin. */
export function foreignOrigin(origin: string): string {
  return origin.replace('127.0.0.1', 'localhost');
}

export interface GraphRequestRecord {
  path: string;
  query: Record<string, string>;
  page: number;
  status: number;
}

const READ_ROLES = ['User.Read.All', 'Directory.Read.All'];
/** Graph's error codes for the statuses the sandbox answers with. */
const STATUS_CODES: Record<number, string> = {
  429: 'TooManyRequests',
  500: 'InternalServerError',
  502: 'BadGateway',
  503: 'ServiceUnavailable',
  504: 'GatewayTimeout',
};
const DEFAULT_TOP = 100;
const MAX_TOP = 999;
/** With signInActivity selected, Graph serves at most 500 users a page, whatever $top asks. */
const SIGN_IN_ACTIVITY_MAX_TOP = 500;
/** Graph decides a delta round's page size; the sandbox uses 200. */
const DELTA_PAGE_SIZE = 200;
const MANAGER_EXPAND = /^manager(?:\(\$select=([A-Za-z0-9_,]+)\))?$/;

function graphError(
  response: ServerResponse,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
) {
  sendJson(
    response,
    status,
    {
      error: {
        code,
        message,
        innerError: {
          date: new Date().toISOString(),
          'request-id': randomUUID(),
          'client-request-id': randomUUID(),
        },
      },
    },
    headers,
  );
}

/** Microsoft Graph's /v1.0/users collection over a generated directory. */
export class SandboxGraph {
  faults: GraphFault[] = [];
  /** Added before every page, as a real tenant's page takes time. */
  latencyMs = 0;
  /** Filters Graph refuses (400), to try what the product does when a filter is not supported. */
  rejectedFilters: RegExp | undefined;
  /** Whether the tenant has Entra ID P1 or P2, which signInActivity needs. */
  premiumLicence = true;
  /** Answer every kept delta link with 410 Gone, as Graph does once one has expired. */
  expireDeltaLinks = false;
  /** Send each changed user twice in a delta round, an earlier state first: the last must win. */
  duplicateDeltaEntries = false;
  /** Later delta rounds leave out the users added since the link: a round that misses changes. */
  omitDeltaAdditions = false;
  /** Answer a kept delta link ($deltatoken) with this status instead (400, 404: a link Graph no longer reads). */
  refuseDeltaLinksWith: number | undefined;
  /**
   * Added to the next /users/$count answers, one each (then the count is true again): the
   * advanced-query index lagging the directory, which Graph documents as eventually consistent;
   * `unavailable` answers that request with 503.
   */
  countLag: (number | 'unavailable')[] = [];
  /** Called before a /users or /users/delta page is served; a test may change the directory or hold the request. */
  beforePage: ((record: GraphRequestRecord) => Promise<void> | void) | undefined;
  /**
   * Users a userPrincipalName range leaves out although they are in it: a Graph whose ge/le
   * disagree with its listing (an unknown collation, a replica behind), to try what the product
   * does when partitions come up short of /users/$count.
   */
  set rangesMiss(miss: ((userPrincipalName: string) => boolean) | undefined) {
    this.missedByRanges = miss;
    this.matches.clear();
  }
  private missedByRanges: ((userPrincipalName: string) => boolean) | undefined;
  readonly requests: GraphRequestRecord[] = [];
  private readonly hits = new Map<GraphFault, number>();
  private readonly matches = new Map<string, Int32Array>();
  private byUpn: { order: Int32Array; keys: string[]; revision: number } | undefined;

  constructor(
    readonly tenant: SandboxTenant,
    readonly directory: SandboxDirectory,
    /** The origin clients use, and so the audience Graph tokens must carry. */
    readonly origin: () => string,
  ) {}

  /** What a host that is not Graph answers: users of its own, with no token asked for. */
  handleForeign(request: IncomingMessage, response: ServerResponse): void {
    this.requests.push({ path: `foreign:${request.url ?? ''}`, query: {}, page: 0, status: 200 });
    sendJson(response, 200, {
      value: [
        {
          id: 'foreign-user-1',
          displayName: 'Not from Graph',
          userPrincipalName: 'foreign@elsewhere.example',
        },
      ],
    });
  }

  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', this.origin());
    const query = Object.fromEntries(url.searchParams);
    const record: GraphRequestRecord = { path: url.pathname, query, page: 0, status: 0 };
    this.requests.push(record);
    const finish = (status: number) => (record.status = status);
    const fail = (status: number, code: string, message: string, headers: Record<string, string> = {}) => {
      finish(status);
      graphError(response, status, code, message, headers);
    };

    const check = this.tenant.checkAccessToken(bearerToken(request), this.origin());
    if (!check.ok) {
      finish(401);
      const message =
        check.reason === 'expired'
          ? 'Lifetime validation failed, the token is expired.'
          : check.reason === 'missing'
            ? 'Access token is empty.'
            : 'Access token validation failure. Invalid audience.';
      graphError(response, 401, 'InvalidAuthenticationToken', message);
      return;
    }
    const roles = Array.isArray(check.claims['roles']) ? (check.claims['roles'] as unknown[]) : [];
    if (!roles.some((role) => READ_ROLES.includes(String(role)))) {
      fail(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
      return;
    }

    if (url.pathname === '/v1.0/users/$count') {
      if (request.headers['consistencylevel'] !== 'eventual') {
        fail(400, 'Request_BadRequest', 'Count is not currently supported.');
        return;
      }
      const matches = this.matching(query['$filter']);
      if (matches instanceof Error) {
        fail(400, 'Request_UnsupportedQuery', matches.message);
        return;
      }
      const lag = this.countLag.shift() ?? 0;
      if (lag === 'unavailable') {
        fail(503, 'ServiceUnavailable', 'The service answered 503.');
        return;
      }
      finish(200);
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.end(String(matches.length + lag));
      return;
    }
    if (url.pathname === '/v1.0/users/delta') {
      // Injected failures apply to every delta request as to page 1 of a listing.
      const fault = this.takeFault(1);
      if (fault?.kind === 'status') {
        fail(
          fault.status ?? 500,
          STATUS_CODES[fault.status ?? 500] ?? 'UnknownError',
          `The service answered ${fault.status ?? 500}.`,
        );
        return;
      }
      await this.beforePage?.(record);
      const answer = this.delta(query);
      if ('error' in answer) {
        fail(answer.status, answer.error, answer.message);
        return;
      }
      if (this.latencyMs > 0) await sleep(this.latencyMs);
      finish(200);
      sendJson(response, 200, answer.body);
      return;
    }
    if (url.pathname !== '/v1.0/users') {
      fail(400, 'Request_BadRequest', `Unsupported request in the sandbox: ${url.pathname}`);
      return;
    }

    const top = query['$top'] === undefined ? DEFAULT_TOP : Number(query['$top']);
    if (!Number.isInteger(top) || top < 1 || top > MAX_TOP) {
      fail(
        400,
        'Request_UnsupportedQuery',
        `Invalid page size specified: '${query['$top'] ?? ''}'. Must be between 1 and ${MAX_TOP} inclusive.`,
      );
      return;
    }
    const select = query['$select']
      ?.split(',')
      .map((name) => name.trim())
      .filter(Boolean);
    const unknown = select?.find((name) => !KNOWN_PROPERTIES.has(name));
    if (unknown !== undefined) {
      fail(
        400,
        'Request_BadRequest',
        `Could not find a property named '${unknown}' on type 'Microsoft.DirectoryServices.User'.`,
      );
      return;
    }
    if (select?.includes('signInActivity')) {
      if (!roles.includes('AuditLog.Read.All')) {
        fail(
          403,
          'Authentication_MSGraphPermissionMissing',
          'Calling principal does not have required MSGraph permissions AuditLog.Read.All',
        );
        return;
      }
      if (!this.premiumLicence) {
        fail(
          403,
          'Authentication_RequestFromNonPremiumTenantOrB2CTenant',
          "Tenant is not a B2C tenant and doesn't have premium license",
        );
        return;
      }
    }
    const expand = query['$expand'] === undefined ? undefined : MANAGER_EXPAND.exec(query['$expand']);
    if (expand === null) {
      fail(400, 'Request_BadRequest', `Parsing OData Select and Expand failed: '${query['$expand'] ?? ''}'.`);
      return;
    }
    const managerSelect = expand?.[1]?.split(',');
    if (query['$filter'] !== undefined && this.rejectedFilters?.test(query['$filter'])) {
      fail(400, 'Request_UnsupportedQuery', 'Unsupported Query.');
      return;
    }
    // Before the page's users are chosen (its number is not known yet: a test reads the query).
    await this.beforePage?.(record);
    const matches = this.matching(query['$filter']);
    if (matches instanceof Error) {
      fail(400, 'Request_UnsupportedQuery', matches.message);
      return;
    }
    const listing = listingKey(query);
    const offset = readSkipToken(query['$skiptoken'], listing);
    if (offset === undefined) {
      fail(
        400,
        'Directory_ExpiredPageToken',
        'The specified page token value has expired and can no longer be included in your request.',
      );
      return;
    }
    const page =
      Math.floor(
        offset / (select?.includes('signInActivity') ? Math.min(top, SIGN_IN_ACTIVITY_MAX_TOP) : top),
      ) + 1;
    record.page = page;

    if (this.latencyMs > 0) await sleep(this.latencyMs);
    const fault = this.takeFault(page);
    if (fault?.kind === 'slow') await sleep(fault.delayMs ?? 1000);
    if (fault?.kind === 'reset') {
      finish(-1);
      request.socket.destroy();
      return;
    }
    if (fault?.kind === 'throttle' || fault?.kind === 'unavailable' || fault?.kind === 'status') {
      const status =
        fault.kind === 'throttle' ? 429 : fault.kind === 'unavailable' ? 503 : (fault.status ?? 500);
      finish(status);
      const retryAfter =
        fault.retryAfter ??
        (fault.kind === 'status' && fault.retryAfterSeconds === undefined
          ? undefined
          : String(fault.retryAfterSeconds ?? 1));
      graphError(
        response,
        status,
        STATUS_CODES[status] ?? 'UnknownError',
        status === 429 ? 'Too many requests.' : `The service answered ${status}.`,
        retryAfter === undefined ? {} : { 'retry-after': retryAfter },
      );
      return;
    }
    if (fault?.kind === 'redirect') {
      finish(302);
      response.writeHead(302, { location: `${foreignOrigin(this.origin())}${url.pathname}${url.search}` });
      response.end();
      return;
    }
    if (fault?.kind === 'malformed') {
      finish(200);
      response.writeHead(200, { 'content-type': 'application/json; odata.metadata=minimal' });
      response.end(
        '{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#users","value":[{"id":"trunc',
      );
      return;
    }

    const pageSize = select?.includes('signInActivity') ? Math.min(top, SIGN_IN_ACTIVITY_MAX_TOP) : top;
    const end = Math.min(offset + pageSize, matches.length);
    const value: Record<string, unknown>[] = [];
    for (let position = offset; position < end; position += 1) {
      const index = matches[position]!;
      const user = this.directory.user(index, select);
      const listed = select ? Object.fromEntries(select.map((name) => [name, user[name] ?? null])) : user;
      if (expand !== undefined) {
        // As Graph: the expanded manager with its type, and no manager property for a user without one.
        const managerIndex = this.directory.managerIndex(index);
        if (managerIndex !== undefined) {
          const manager = this.directory.user(managerIndex, managerSelect);
          listed['manager'] = {
            '@odata.type': '#microsoft.graph.user',
            ...(managerSelect
              ? Object.fromEntries(managerSelect.map((name) => [name, manager[name] ?? null]))
              : manager),
          };
        }
      }
      value.push(listed);
    }
    if (fault?.kind === 'annotations') {
      for (const user of value) {
        user['@odata.type'] = '#microsoft.graph.user';
        user['onPremisesImmutableId@odata.type'] = '#Edm.String';
        user['passwordPolicies'] = 'DisablePasswordExpiration';
      }
    }
    const body: Record<string, unknown> = {
      '@odata.context': `${this.origin()}/v1.0/$metadata#users${select ? `(${select.join(',')})` : ''}`,
      value,
    };
    if (end < matches.length) {
      const next = new URLSearchParams(url.searchParams);
      next.set('$skiptoken', makeSkipToken(end, listing));
      body['@odata.nextLink'] = `${this.origin()}/v1.0/users?${next.toString()}`;
    }
    if (fault?.kind === 'repeat-next-link')
      body['@odata.nextLink'] = `${this.origin()}${url.pathname}${url.search}`;
    if (fault?.kind === 'foreign-next-link') {
      body['@odata.nextLink'] = `${foreignOrigin(this.origin())}/v1.0/users?$skiptoken=elsewhere`;
    }
    finish(200);
    const headers = {
      'content-type': 'application/json; odata.metadata=minimal; odata.streaming=true; charset=utf-8',
    };
    if (fault?.kind === 'stall-before-headers') return;
    if (fault?.kind === 'trickle') {
      const bytes = Buffer.from(JSON.stringify(body));
      response.writeHead(200, { ...headers, 'content-length': String(bytes.length) });
      let sent = 0;
      const timer = setInterval(() => {
        if (sent < bytes.length) response.write(bytes.subarray(sent, (sent += 1)));
        if (sent === bytes.length) response.end();
        if (sent === bytes.length || response.destroyed) clearInterval(timer);
      }, fault.delayMs ?? 1000);
      response.once('close', () => clearInterval(timer));
      return;
    }
    if (fault?.kind === 'reset-mid-body') {
      const bytes = Buffer.from(JSON.stringify(body));
      response.writeHead(200, { ...headers, 'content-length': String(bytes.length) });
      response.write(bytes.subarray(0, Math.floor(bytes.length / 2)), () => request.socket.destroy());
      return;
    }
    sendJson(response, 200, body, headers);
  }

  /** Users that match a filter, as indexes into the directory (cached per filter). */
  /**
   * /users/delta as Graph documents it: an initial round of every user in pages ending with a
   * deltaLink; later rounds with the users changed since (all selected properties except those
   * never set; a property set to null is sent as null), `@removed` for users gone; an expired link
   * is 410 Gone. Tokens are the sandbox's own (opaque to the product).
   */
  private delta(
    query: Record<string, string>,
  ): { body: Record<string, unknown> } | { status: number; error: string; message: string } {
    const base = `${this.origin()}/v1.0/users/delta`;
    type Token = { select: string[]; since: number; upTo: number; offset: number; initial: boolean };
    const encode = (token: Token) => Buffer.from(JSON.stringify(token)).toString('base64url');
    let token: Token;
    const raw = query['$deltatoken'] ?? query['$skiptoken'];
    if (raw === undefined) {
      const select = (query['$select'] ?? 'id,displayName,userPrincipalName')
        .split(',')
        .map((name) => name.trim());
      const unknown = select.find((name) => !KNOWN_PROPERTIES.has(name));
      if (unknown !== undefined) {
        return {
          status: 400,
          error: 'Request_BadRequest',
          message: `Could not find a property named '${unknown}' on type 'Microsoft.DirectoryServices.User'.`,
        };
      }
      if (query['$filter'] !== undefined && !/^id eq '/.test(query['$filter'])) {
        return {
          status: 400,
          error: 'Request_UnsupportedQuery',
          message: 'Unsupported query: delta supports $filter only on id.',
        };
      }
      token = { select, since: 0, upTo: this.directory.revision, offset: 0, initial: true };
    } else {
      try {
        token = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as Token;
      } catch {
        return { status: 400, error: 'Request_BadRequest', message: 'The delta token is not valid.' };
      }
      if (query['$deltatoken'] !== undefined) {
        if (this.refuseDeltaLinksWith !== undefined) {
          return {
            status: this.refuseDeltaLinksWith,
            error: this.refuseDeltaLinksWith === 404 ? 'Request_ResourceNotFound' : 'Request_BadRequest',
            message: 'The delta token is not valid for this request.',
          };
        }
        if (this.expireDeltaLinks) {
          return {
            status: 410,
            error: 'syncStateNotFound',
            message: 'The sync state of this delta token is no longer available; start a new round.',
          };
        }
        token = { ...token, since: token.upTo, upTo: this.directory.revision, offset: 0, initial: false };
      }
    }
    const selected = (user: Record<string, unknown>, changed: readonly string[] | undefined) =>
      Object.fromEntries(
        token.select
          .filter((name) => user[name] !== null || changed?.includes(name) === true || name === 'id')
          .map((name) => [name, user[name] ?? null]),
      );
    const entries: Record<string, unknown>[] = [];
    if (token.initial) {
      const end = Math.min(token.offset + DELTA_PAGE_SIZE, this.directory.size);
      for (let index = token.offset; index < end; index += 1) {
        if (this.directory.exists(index)) entries.push(selected(this.directory.user(index), undefined));
      }
      const body: Record<string, unknown> = {
        '@odata.context': `${this.origin()}/v1.0/$metadata#users`,
        value: entries,
      };
      if (end < this.directory.size)
        body['@odata.nextLink'] = `${base}?$skiptoken=${encode({ ...token, offset: end })}`;
      else
        body['@odata.deltaLink'] = `${base}?$deltatoken=${encode({ ...token, offset: 0, initial: false })}`;
      return { body };
    }
    // Users changed between the two revisions, each once, in the order of their last change.
    const last = new Map<number, string[]>();
    for (const change of this.directory.changeLog) {
      if (change.revision <= token.since || change.revision > token.upTo) continue;
      if (this.omitDeltaAdditions && change.kind === 'added') continue;
      const before = last.get(change.index) ?? [];
      last.delete(change.index);
      last.set(change.index, [...before, ...change.properties]);
    }
    const changed = [...last.entries()];
    const end = Math.min(token.offset + DELTA_PAGE_SIZE, changed.length);
    for (const [index, properties] of changed.slice(token.offset, end)) {
      const id = this.directory.user(index).id;
      if (!this.directory.exists(index)) {
        // user: delta: `changed` for a user in the deleted items, `deleted` for one gone for good.
        entries.push({ id, '@removed': { reason: this.directory.isPurged(index) ? 'deleted' : 'changed' } });
        continue;
      }
      if (this.duplicateDeltaEntries) entries.push({ id, displayName: 'an earlier state in the same round' });
      entries.push(selected(this.directory.user(index), properties));
    }
    const body: Record<string, unknown> = {
      '@odata.context': `${this.origin()}/v1.0/$metadata#users`,
      value: entries,
    };
    if (end < changed.length)
      body['@odata.nextLink'] = `${base}?$skiptoken=${encode({ ...token, offset: end })}`;
    else body['@odata.deltaLink'] = `${base}?$deltatoken=${encode({ ...token, offset: 0 })}`;
    return { body };
  }

  private matching(filter: string | undefined): Int32Array | Error {
    const key = `${this.directory.revision}:${filter ?? ''}`;
    const cached = this.matches.get(key);
    if (cached) return cached;
    let predicate;
    try {
      predicate = filter === undefined ? undefined : compileFilter(filter, KNOWN_PROPERTIES);
    } catch (error) {
      if (error instanceof FilterSyntaxError) return error;
      throw error;
    }
    const indexes: number[] = [];
    const range = filter === undefined ? undefined : upnRangeOf(filter);
    const consider = (index: number) => {
      if (!this.directory.exists(index)) return;
      if (!predicate || predicate(this.directory.lazyUser(index))) indexes.push(index);
    };
    if (range) {
      const miss = this.missedByRanges;
      this.usersInUpnRange(range).forEach((index) => {
        if (!miss?.(this.directory.userPrincipalName(index))) consider(index);
      });
    } else for (let index = 0; index < this.directory.size; index += 1) consider(index);
    const result = Int32Array.from(indexes);
    this.matches.set(key, result);
    return result;
  }

  /** Users whose lower-cased UPN is within a range, from an index built once: partitions scan only their own. */
  private usersInUpnRange(range: { from?: string; to?: string }): Int32Array {
    if (this.byUpn?.revision !== this.directory.revision) {
      const keys = Array.from({ length: this.directory.size }, (_, index) =>
        this.directory.userPrincipalName(index).toLowerCase(),
      );
      const order = Int32Array.from(keys.keys()).sort((a, b) =>
        keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : 0,
      );
      this.byUpn = { order, keys, revision: this.directory.revision };
    }
    const { order, keys } = this.byUpn;
    const firstAtLeast = (bound: string, inclusive: boolean) => {
      let low = 0;
      let high = order.length;
      while (low < high) {
        const middle = (low + high) >>> 1;
        const key = keys[order[middle]!]!;
        if (inclusive ? key < bound : key <= bound) low = middle + 1;
        else high = middle;
      }
      return low;
    };
    const start = range.from === undefined ? 0 : firstAtLeast(range.from, true);
    const end = range.to === undefined ? order.length : firstAtLeast(range.to, false);
    return order.slice(start, Math.max(start, end));
  }

  private takeFault(page: number): GraphFault | undefined {
    const fault = this.faults.find(
      (candidate) => candidate.page === page && (this.hits.get(candidate) ?? 0) < (candidate.times ?? 1),
    );
    if (fault) this.hits.set(fault, (this.hits.get(fault) ?? 0) + 1);
    return fault;
  }
}

/** The userPrincipalName range (ge / le, lower-cased) a filter ends with, as the product's partitions write it. */
function upnRangeOf(filter: string): { from?: string; to?: string } | undefined {
  const match = /(?:^|\) and \()((?:userPrincipalName (?:ge|le) '(?:[^']|'')*'(?: and )?)+)\)?$/.exec(
    filter.trim(),
  );
  if (!match) return undefined;
  const range: { from?: string; to?: string } = {};
  for (const [, operator, literal] of match[1]!.matchAll(/userPrincipalName (ge|le) '((?:[^']|'')*)'/g)) {
    const value = literal!.replace(/''/g, "'").toLowerCase();
    if (operator === 'ge') range.from = value;
    else range.to = value;
  }
  return range;
}

function listingKey(query: Record<string, string>): string {
  return createHash('sha256')
    .update(`${query['$filter'] ?? ''}|${query['$top'] ?? ''}`)
    .digest('base64url')
    .slice(0, 12);
}

function makeSkipToken(offset: number, listing: string): string {
  return `RFNwdAIAAQAAA${Buffer.from(JSON.stringify({ o: offset, l: listing })).toString('base64url')}`;
}

function readSkipToken(token: string | undefined, listing: string): number | undefined {
  if (token === undefined) return 0;
  try {
    const parsed = JSON.parse(
      Buffer.from(token.slice('RFNwdAIAAQAAA'.length), 'base64url').toString('utf8'),
    ) as { o: unknown; l: unknown };
    return parsed.l === listing && typeof parsed.o === 'number' ? parsed.o : undefined;
  } catch {
    return undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
