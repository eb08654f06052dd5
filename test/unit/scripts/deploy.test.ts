import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import {
  deployedPackageJson,
  isRuntimeFile,
  productionPackagePaths,
} from '../../../scripts/deploy/stagePackage.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const DEPLOY = join(ROOT, 'dist', 'scripts', 'deploy.js');
const FAKE_FUNC = join(ROOT, 'test', 'fakes', 'fake-func.mjs');
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

interface Published {
  args: string[];
  cwd: string;
  files: string[];
  packageJson: Record<string, unknown>;
}

let published: Published;
let output: string;
beforeAll(() => {
  const bin = mkdtempSync(join(tmpdir(), 'fake-func-'));
  symlinkSync(FAKE_FUNC, join(bin, 'func'));
  const log = join(bin, 'published.json');
  const result = spawnSync(process.execPath, [DEPLOY, '--app', 'func-entraexport-abc123'], {
    cwd: tmpdir(),
    env: { PATH: `${bin}:${process.env['PATH'] ?? ''}`, FAKE_FUNC_LOG: log },
    encoding: 'utf8',
  });
  output = result.stdout + result.stderr;
  expect(result.status, output).toBe(0);
  published = JSON.parse(readFileSync(log, 'utf8')) as Published;
}, 120_000);

describe('npm run deploy', () => {
  it('runs func azure functionapp publish with the app and the worker runtime named', () => {
    expect(published.args).toEqual([
      'azure',
      'functionapp',
      'publish',
      'func-entraexport-abc123',
      '--typescript',
    ]);
    expect(published.cwd).not.toBe(ROOT);
    expect(output).toMatch(
      /Staged \d+ files, \d+ bytes, in .*: host\.json, package\.json, dist\/src, \d+ production packages\./,
    );
  });

  it('hands over the host configuration, the compiled app and every production dependency', () => {
    for (const path of [
      'host.json',
      'package.json',
      'dist/src/index.js',
      'dist/src/functions/exportUsers.js',
    ]) {
      expect(published.files, path).toContain(path);
    }
    for (const name of Object.keys(manifest.dependencies)) {
      expect(published.files, name).toContain(`node_modules/${name}/package.json`);
    }
  });

  it('hands over no development dependency, source, test, script, sandbox or local setting', () => {
    // A development dependency production also needs (protobufjs depends on @types/node) is not dev-only.
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const devOnly = Object.keys(manifest.devDependencies).filter(
      (name) => lock.packages[`node_modules/${name}`]?.dev === true,
    );
    expect(devOnly).toEqual(expect.arrayContaining(['azurite', 'vitest', 'eslint', 'typescript']));
    const leaked = published.files.filter(
      (path) =>
        devOnly.some((name) => path.startsWith(`node_modules/${name}/`)) ||
        /^(src|test|scripts|sandbox|infra|bench|\.azure|dist\/test|dist\/scripts|dist\/sandbox)\//.test(
          path,
        ) ||
        /^(local\.settings(\.example)?\.json|__azurite|__blobstorage__)/.test(path) ||
        (path.endsWith('.ts') && !path.endsWith('.d.ts') && !path.startsWith('node_modules/')),
    );
    expect(leaked).toEqual([]);
    expect(published.packageJson).toEqual(deployedPackageJson(manifest));
    expect(published.packageJson).not.toHaveProperty('devDependencies');
    expect(published.packageJson).not.toHaveProperty('scripts');
  });

  it('hands over no source map, TypeScript declaration or documentation, and keeps the licences', () => {
    const notForRuntime = published.files.filter((path) =>
      /(\.map|\.d\.[mc]?ts|\.md|(^|\/)(README|CHANGELOG|HISTORY)(\.\w+)?)$/i.test(path),
    );
    expect(notForRuntime).toEqual([]);
    expect(published.files).toContain('node_modules/@azure/functions/LICENSE');
    expect(published.files).toContain('dist/src/functions/exportUsers.js');
  });

  it('stages a package that loads with production dependencies alone', () => {
    const stage = mkdtempSync(join(tmpdir(), 'staged-'));
    const staged = spawnSync(process.execPath, [DEPLOY, '--stage-only', '--out', join(stage, 'app')], {
      encoding: 'utf8',
    });
    expect(staged.status, staged.stderr).toBe(0);
    const loaded = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `await import(${JSON.stringify(join(stage, 'app', 'dist', 'src', 'index.js'))}); console.log('loaded');`,
      ],
      { cwd: join(stage, 'app'), encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '' } },
    );
    expect(loaded.stdout.trim(), loaded.stderr).toBe('loaded');
  }, 120_000);
});

describe('isRuntimeFile', () => {
  it.each([
    ['node_modules/@azure/identity/dist/esm/index.js', true],
    ['node_modules/protobufjs/google/protobuf/api.proto', true],
    ['node_modules/x/LICENSE', true],
    ['node_modules/x/lib/changes.js', true],
    ['node_modules/x/package.json', true],
    ['node_modules/x/dist/index.js.map', false],
    ['node_modules/x/dist/index.d.ts', false],
    ['node_modules/x/dist/index.d.mts', false],
    ['node_modules/x/src/index.ts', false],
    ['node_modules/x/README.md', false],
    ['node_modules/x/CHANGELOG.md', false],
    ['node_modules/x/HISTORY', false],
    ['dist/src/index.js.map', false],
  ])('%s: %s', (path, kept) => {
    expect(isRuntimeFile(path)).toBe(kept);
  });
});

describe('productionPackagePaths', () => {
  it('keeps what npm did not mark as development-only', () => {
    expect(
      productionPackagePaths({
        lockfileVersion: 3,
        packages: {
          '': {},
          'node_modules/a': {},
          'node_modules/b': { dev: true },
          'node_modules/c': { devOptional: true },
          'node_modules/a/node_modules/d': { optional: true },
        },
      }),
    ).toEqual(['node_modules/a', 'node_modules/a/node_modules/d']);
  });

  it('refuses a lockfile too old to say which packages are for development', () => {
    expect(() => productionPackagePaths({ lockfileVersion: 1 })).toThrow(/lockfileVersion 2 or later/);
  });
});

describe('func without a worker runtime (the plain publish a clean checkout gets)', () => {
  it('stops as Core Tools does, which is why the README names --typescript', () => {
    const bin = mkdtempSync(join(tmpdir(), 'fake-func-'));
    const result = spawnSync(FAKE_FUNC, ['azure', 'functionapp', 'publish', 'app'], {
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '', FAKE_FUNC_LOG: join(bin, 'log.json') },
      encoding: 'utf8',
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/Worker runtime cannot be 'None'/);
  });
});
