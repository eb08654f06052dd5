import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { CoreToolsIgnore, coreToolsPackage } from './coreToolsIgnore.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const funcignore = new CoreToolsIgnore(readFileSync(join(ROOT, '.funcignore'), 'utf8'));

let files: Set<string>;
beforeAll(() => {
  expect(existsSync(join(ROOT, 'dist', 'src', 'index.js')), 'run `npm run build` first').toBe(true);
  files = new Set(coreToolsPackage(ROOT, funcignore));
});

describe('the package `func azure functionapp publish` makes of this checkout (Core Tools rules)', () => {
  it('holds the host configuration, the compiled app and the entry point package.json names', () => {
    const { main } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { main: string };
    for (const path of ['host.json', 'package.json', main, 'dist/src/functions/exportUsers.js']) {
      expect(files.has(path), path).toBe(true);
    }
  });

  it('holds every production dependency (development ones go with npm prune --omit=dev, or npm run deploy)', () => {
    const { dependencies } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    for (const name of Object.keys(dependencies))
      expect(files.has(`node_modules/${name}/package.json`), name).toBe(true);
  });

  it('leaves out sources, tests, scripts, the sandbox, infrastructure and local settings', () => {
    const leaked = [...files].filter(
      (path) =>
        /^(src|test|scripts|sandbox|infra|bench|\.ci|\.github|dist\/test|dist\/scripts|dist\/sandbox)\//.test(
          path,
        ) ||
        /^(local\.settings(\.example)?\.json|README\.md|tsconfig.*\.json|eslint\.config\.js|azure\.yaml|vitest\.config\.ts)$/.test(
          path,
        ),
    );
    expect(leaked).toEqual([]);
  });

  it.each([
    '__blobstorage__/7f0c2d1e-users.json',
    '__queuestorage__/x',
    '__azurite_db_blob__.json',
    '__azurite_db_blob_extent__.json',
    'AzuriteConfig',
    '.azurite/__azurite_db_blob__.json',
    'sandbox-export/azurite/__blobstorage__/7f0c2d1e',
    '.azure/prod/.env',
    '.azure/config.json',
    'coverage/index.html',
    'bench/results/bench.json',
    'local.settings.json',
  ])('leaves out %s (Azurite data holds exported users; .azure holds azd environments)', (path) => {
    expect(funcignore.accepts(path)).toBe(false);
  });

  it('keeps a dependency whose own folders are named like ours (anchored patterns)', () => {
    for (const path of [
      'node_modules/some-lib/src/index.js',
      'node_modules/x/test/y.js',
      'node_modules/x/infra/z.js',
    ]) {
      expect(funcignore.accepts(path), path).toBe(true);
    }
  });
});

describe('CoreToolsIgnore reads patterns as Core Tools does', () => {
  it('anchors every pattern at the root, even without a leading /', () => {
    const rules = new CoreToolsIgnore('src/\n*.log');
    expect(rules.accepts('src/index.ts')).toBe(false);
    expect(rules.accepts('dist/src/index.js')).toBe(true);
    expect(rules.accepts('error.log')).toBe(false);
    expect(rules.accepts('logs/error.log')).toBe(true);
  });

  it('reads * as one or more characters, and honours ! negations', () => {
    const rules = new CoreToolsIgnore('__azurite_db_*\n.git*\nnode_modules/*\n!node_modules/keep');
    expect(rules.accepts('__azurite_db_blob__.json')).toBe(false);
    expect(rules.accepts('__azurite_db_')).toBe(true);
    expect(rules.accepts('.github/workflows/ci.yml')).toBe(false);
    expect(rules.accepts('node_modules/drop/index.js')).toBe(false);
    expect(rules.accepts('node_modules/keep/index.js')).toBe(true);
  });
});
