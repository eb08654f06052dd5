import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { DEFAULT_SELECT } from '../../src/settings.js';
import type { ExportManifest } from '../../src/export/manifest.js';
import { type Environment, expectedUsers, startEnvironment } from './harness.js';

let env: Environment;
beforeAll(async () => {
  env = await startEnvironment({ users: 5000 });
});
afterEach(() => {
  env.sandbox.graph.faults = [];
  env.sandbox.graph.latencyMs = 0;
  env.sandbox.tenant.tokenLifetimeSeconds = 3600;
});
afterAll(async () => env.stop());

async function exportedUsersAndManifest() {
  const users = JSON.parse(
    (await env.container.getBlobClient('latest/users.json').downloadToBuffer()).toString('utf8'),
  ) as unknown;
  const manifest = JSON.parse(
    (await env.container.getBlobClient('latest/manifest.json').downloadToBuffer()).toString('utf8'),
  ) as ExportManifest;
  return { users, manifest };
}

describe('a run that meets trouble on the way', () => {
  it('when Graph throttles pages with Retry-After, waits, completes, and counts the retries', async () => {
    env.sandbox.graph.faults = [
      { page: 2, kind: 'throttle', retryAfterSeconds: 1 },
      { page: 4, kind: 'throttle', retryAfterSeconds: 1, times: 2 },
      { page: 5, kind: 'unavailable', retryAfterSeconds: 1 },
    ];
    const requestsBefore = env.sandbox.graph.requests.length;
    const run = await env.runExport();
    expect(run.exitCode, run.output).toBe(0);
    const { users, manifest } = await exportedUsersAndManifest();
    expect(users).toEqual(expectedUsers(env.sandbox, DEFAULT_SELECT));
    expect(manifest).toMatchObject({ userCount: 5000, pages: 6, retries: 4 });
    expect(manifest.listing.retries).toEqual({ throttled: 4, transient: 0 });
    const statuses = env.sandbox.graph.requests.slice(requestsBefore).map((request) => request.status);
    expect(statuses.filter((status) => status === 429)).toHaveLength(3);
    expect(statuses.filter((status) => status === 503)).toHaveLength(1);
  });

  it('when a connection is reset mid-page, tries the page again and completes', async () => {
    env.sandbox.graph.faults = [{ page: 3, kind: 'reset' }];
    const run = await env.runExport();
    expect(run.exitCode, run.output).toBe(0);
    const { users, manifest } = await exportedUsersAndManifest();
    expect(users).toEqual(expectedUsers(env.sandbox, DEFAULT_SELECT));
    expect(manifest.retries).toBe(1);
  });

  it('when a connection is reset in the middle of a page body, tries the page again and completes', async () => {
    env.sandbox.graph.faults = [{ page: 2, kind: 'reset-mid-body', times: 2 }];
    const run = await env.runExport();
    expect(run.exitCode, run.output).toBe(0);
    const { users, manifest } = await exportedUsersAndManifest();
    expect(users).toEqual(expectedUsers(env.sandbox, DEFAULT_SELECT));
    expect(manifest.listing.retries).toEqual({ throttled: 0, transient: 2 });
  });

  it('when throttling outlasts the token, each attempt gets a token that is still valid, and the run completes', async () => {
    env.sandbox.tenant.tokenLifetimeSeconds = 2;
    env.sandbox.graph.faults = [{ page: 2, kind: 'throttle', retryAfterSeconds: 1, times: 4 }];
    const requestsBefore = env.sandbox.graph.requests.length;
    const run = await env.runExport();
    expect(run.exitCode, run.output).toBe(0);
    const statuses = env.sandbox.graph.requests.slice(requestsBefore).map((request) => request.status);
    expect(statuses.filter((status) => status === 401)).toEqual([]);
    expect(statuses.filter((status) => status === 429)).toHaveLength(4);
    const { users } = await exportedUsersAndManifest();
    expect(users).toEqual(expectedUsers(env.sandbox, DEFAULT_SELECT));
  });

  it.each([
    ['a date in the past', 'Wed, 21 Oct 2015 07:28:00 GMT'],
    ['text that is not a wait', 'soon'],
  ])('when Retry-After is %s, backs off on its own and completes', async (_what, retryAfter) => {
    env.sandbox.graph.faults = [{ page: 2, kind: 'throttle', retryAfter }];
    const run = await env.runExport();
    expect(run.exitCode, run.output).toBe(0);
    const { manifest } = await exportedUsersAndManifest();
    expect(manifest.listing.retries).toEqual({ throttled: 1, transient: 0 });
    expect(manifest.durationMs).toBeGreaterThanOrEqual(2000);
  });

  it('rides out a short storm of 500, 502, 503 and 504 answers, counting retries by kind', async () => {
    env.sandbox.graph.faults = [
      { page: 2, kind: 'status', status: 502, times: 2 },
      { page: 3, kind: 'status', status: 504, retryAfterSeconds: 1 },
      { page: 4, kind: 'status', status: 500 },
      { page: 5, kind: 'unavailable', retryAfterSeconds: 1 },
    ];
    const run = await env.runExport();
    expect(run.exitCode, run.output).toBe(0);
    const { users, manifest } = await exportedUsersAndManifest();
    expect(users).toEqual(expectedUsers(env.sandbox, DEFAULT_SELECT));
    expect(manifest.listing.retries).toEqual({ throttled: 2, transient: 3 });
  });

  it.each(['json', 'ndjson'] as const)(
    'exports only the selected properties as %s, without the annotations and extras Graph sends',
    async (format) => {
      env.sandbox.graph.faults = [{ page: 1, kind: 'annotations', times: Infinity }];
      const run = await env.runExport({ EXPORT_FORMAT: format });
      expect(run.exitCode, run.output).toBe(0);
      const text = (await env.container.getBlobClient(`latest/users.${format}`).downloadToBuffer()).toString(
        'utf8',
      );
      const users = (
        format === 'json'
          ? JSON.parse(text)
          : text
              .trimEnd()
              .split('\n')
              .map((line) => JSON.parse(line) as unknown)
      ) as Record<string, unknown>[];
      expect(users).toEqual(expectedUsers(env.sandbox, DEFAULT_SELECT));
      expect(text).not.toMatch(/@odata|passwordPolicies/);
    },
  );

  it('when a page is slow, waits for it', async () => {
    env.sandbox.graph.faults = [{ page: 2, kind: 'slow', delayMs: 2000 }];
    const run = await env.runExport();
    expect(run.exitCode, run.output).toBe(0);
    const { manifest } = await exportedUsersAndManifest();
    expect(manifest.durationMs).toBeGreaterThanOrEqual(2000);
    expect(manifest.userCount).toBe(5000);
  });

  it('when the Graph token expires mid-run, gets a new one and completes', async () => {
    env.sandbox.tenant.tokenLifetimeSeconds = 1;
    env.sandbox.graph.latencyMs = 400;
    const issuedBefore = env.sandbox.tenant.issued.length;
    const run = await env.runExport();
    expect(run.exitCode, run.output).toBe(0);
    const graphTokens = env.sandbox.tenant.issued
      .slice(issuedBefore)
      .filter((issued) => issued.clientId === env.sandbox.exportApp.clientId);
    expect(graphTokens.length).toBeGreaterThan(2);
    const { users } = await exportedUsersAndManifest();
    expect(users).toEqual(expectedUsers(env.sandbox, DEFAULT_SELECT));
  });
});
