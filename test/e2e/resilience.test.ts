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
