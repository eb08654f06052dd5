import { describe, expect, it } from 'vitest';

import { isRefusedDeltaLink, keptLinkProblem } from '../../../src/azure/deltaListing.js';
import { loadConfig } from '../../../src/config.js';
import { validEnv } from '../validEnv.js';

const config = loadConfig(validEnv({ EXPORT_SELECT: 'id,displayName', EXPORT_DELTA: 'true' }));
const graph = 'https://graph.microsoft.com';

describe('a kept delta link, read back from Storage', () => {
  it('is followed when it is what Graph issues: the round query encoded in the token, either form of the function', () => {
    for (const link of [
      `${graph}/v1.0/users/delta?$deltatoken=oEcOySpF_abc`,
      `${graph}/v1.0/users/microsoft.graph.delta()?$deltatoken=abc`,
      `${graph}/v1.0/users/delta?$select=id,displayName&$deltatoken=abc`,
    ])
      expect(keptLinkProblem(config, link), link).toBeUndefined();
  });

  it('is not followed to another origin, over http, at another path, for another selection, or with a filter', () => {
    expect(keptLinkProblem(config, 'https://graph.example.net/v1.0/users/delta?$deltatoken=a')).toMatch(
      /points at https:\/\/graph.example.net, not GRAPH_ENDPOINT/,
    );
    expect(keptLinkProblem(config, 'http://graph.microsoft.com/v1.0/users/delta?$deltatoken=a')).toMatch(
      /a plain http URL/,
    );
    expect(keptLinkProblem(config, `${graph}/v1.0/groups/delta?$deltatoken=a`)).toMatch(
      /not a \/v1.0\/users\/delta/,
    );
    expect(keptLinkProblem(config, `${graph}/v1.0/users/delta?$select=id&$deltatoken=a`)).toMatch(
      /another \$select \(id\)/,
    );
    expect(keptLinkProblem(config, `${graph}/v1.0/users/delta?$filter=id eq 'x'&$deltatoken=a`)).toMatch(
      /\$filter/,
    );
    expect(keptLinkProblem(config, 'not a url')).toBe('is not a URL');
  });

  it('refused by Graph with 400, 404, 410 or a resync code means one full round; other failures do not', () => {
    for (const error of [
      { statusCode: 400 },
      { statusCode: 404 },
      { statusCode: 410 },
      { code: 'resyncRequired' },
    ])
      expect(isRefusedDeltaLink(error), JSON.stringify(error)).toBe(true);
    for (const error of [{ statusCode: 403 }, { statusCode: 500 }, new Error('socket hang up')])
      expect(isRefusedDeltaLink(error), JSON.stringify(error)).toBe(false);
  });
});
