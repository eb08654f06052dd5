import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

import ignore from 'ignore';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..', '..');

/** The files `func azure functionapp publish` would upload: the tree, less what .funcignore names. */
function deploymentPackage(): Set<string> {
  const rules = ignore()
    .add(readFileSync(join(ROOT, '.funcignore'), 'utf8'))
    .add('.git/');
  const files = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = relative(ROOT, join(dir, entry.name));
      if (entry.isDirectory()) {
        if (!rules.ignores(`${path}/`)) walk(join(dir, entry.name));
      } else if (!rules.ignores(path)) {
        files.add(path);
      }
    }
  };
  walk(ROOT);
  return files;
}

let files: Set<string>;
beforeAll(() => {
  expect(existsSync(join(ROOT, 'dist', 'src', 'index.js')), 'run `npm run build` first').toBe(true);
  files = deploymentPackage();
});

describe('the deployment package', () => {
  it('holds the host configuration, the compiled app and the entry point package.json names', () => {
    const { main } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { main: string };
    for (const path of [
      'host.json',
      'package.json',
      'package-lock.json',
      main,
      'dist/src/functions/exportUsers.js',
    ]) {
      expect(files.has(path), path).toBe(true);
    }
  });

  it('holds every production dependency', () => {
    const { dependencies } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    for (const name of Object.keys(dependencies))
      expect(files.has(`node_modules/${name}/package.json`), name).toBe(true);
  });

  it('leaves out sources, tests, scripts, the sandbox, infrastructure and local settings', () => {
    const leaked = [...files].filter(
      (path) =>
        /^(src|test|scripts|sandbox|infra|bench|\.ci|dist\/test|dist\/scripts|dist\/sandbox)\//.test(path) ||
        /^local\.settings(\.example)?\.json$/.test(path),
    );
    expect(leaked).toEqual([]);
    expect(
      ignore()
        .add(readFileSync(join(ROOT, '.funcignore'), 'utf8'))
        .ignores('local.settings.json'),
    ).toBe(true);
  });
});
