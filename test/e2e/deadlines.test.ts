import { afterAll, beforeAll, expect, it } from 'vitest';

import { type Environment, startEnvironment } from './harness.js';

let env: Environment;

beforeAll(async () => {
  env = await startEnvironment({ users: 200 });
});
afterAll(async () => env.stop());

it('npm run export writes its blobs and exits when Application Insights accepts the telemetry and never answers', async () => {
  env.sandbox.appInsights.neverAnswer = true;
  try {
    const run = await env.runExport();
    expect(run.exitCode, run.output).toBe(0);
    expect(run.output).toMatch(
      /Application Insights did not accept the run's telemetry: Application Insights \([^)]+\) did not answer within 30 s/,
    );
    expect([...(await env.blobs()).keys()]).toContain('latest/manifest.json');
  } finally {
    env.sandbox.appInsights.neverAnswer = false;
  }
});
