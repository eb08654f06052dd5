import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { defineConfig } from 'vitest/config';

// Node's module compile cache (Node 22.1+, NODE_COMPILE_CACHE): the test workers and the runs the
// end-to-end tests spawn (the harness passes it on) reuse V8's compiled SDK code instead of
// compiling it again in every process: about 0.2 s of CPU saved per run on 2 cores.
process.env['NODE_COMPILE_CACHE'] ??= join(tmpdir(), 'entra-user-export-compile-cache');

/**
 * Unit-level tests of the command-line tools: they spawn the build, stage the deployment package
 * or run shell scripts against stand-ins (the Azure CLI, Core Tools), seconds each, so they run
 * with `npm test` and not with `npm run test:unit`.
 */
const TOOL_TESTS = ['test/unit/scripts/deploy.test.ts', 'test/unit/infra/registerApp.test.ts'];
/** azd's prepackage hook runs `npm run build`, which rewrites dist/ while other tests run from it. */
const REBUILDS_DIST = ['test/unit/infra/azdPackage.test.ts'];

/**
 * Test files run in parallel, 3 at a time (vitest's default is one fewer than the cores: 1 on this
 * 2-core machine). An end-to-end file spends much of its time waiting: on the runs it spawns,
 * Retry-After and slow pages, token lifetimes. The file that rebuilds dist/ runs first, alone.
 */
const PARALLEL = { maxWorkers: 3, sequence: { groupOrder: 1 } };

export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: { name: 'build', include: REBUILDS_DIST, maxWorkers: 1, sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          exclude: [...TOOL_TESTS, ...REBUILDS_DIST],
          ...PARALLEL,
        },
      },
      { extends: true, test: { name: 'tools', include: TOOL_TESTS, ...PARALLEL } },
      { extends: true, test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], ...PARALLEL } },
    ],
  },
});
