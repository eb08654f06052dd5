import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import ignore from 'ignore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

import { listFiles } from '../../../scripts/deploy/stagePackage.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');

interface AzureYaml {
  services: Record<
    string,
    {
      project: string;
      language: string;
      host: string;
      dist?: string;
      hooks?: Record<string, { shell: string; run: string }>;
    }
  >;
}

const service = (parse(readFileSync(join(ROOT, 'azure.yaml'), 'utf8')) as AzureYaml).services['export']!;
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
};
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { dev?: boolean }>;
};
const funcignore = ignore().add(readFileSync(join(ROOT, '.funcignore'), 'utf8'));

let zipped: string[];
beforeAll(() => {
  // What `azd package` does for a ts function service: its prepackage hook, then the `dist` folder.
  execFileSync(service.hooks!['prepackage']!.shell, ['-c', service.hooks!['prepackage']!.run], {
    cwd: ROOT,
    stdio: 'pipe',
  });
  zipped = listFiles(join(ROOT, service.project, service.dist!)).filter((path) => !funcignore.ignores(path));
}, 180_000);
afterAll(() => rmSync(join(ROOT, '.deploy'), { recursive: true, force: true }));

describe('what azd packages (azure.yaml)', () => {
  it('is a TypeScript function service that packages the staged folder, not the checkout', () => {
    expect(service).toMatchObject({
      project: '.',
      language: 'ts',
      host: 'function',
      dist: '.deploy/package',
    });
  });

  it('leaves remote build off, because .funcignore keeps node_modules (azd resolveFunctionAppRemoteBuild)', () => {
    expect(funcignore.ignores('node_modules/')).toBe(false);
    expect(zipped.some((path) => path.startsWith('node_modules/@azure/functions/'))).toBe(true);
  });

  it('holds the app and its production dependencies, and no development dependency', () => {
    for (const path of ['host.json', 'package.json', 'dist/src/index.js'])
      expect(zipped, path).toContain(path);
    for (const name of Object.keys(manifest.dependencies))
      expect(zipped, name).toContain(`node_modules/${name}/package.json`);
    const devOnly = Object.entries(lock.packages)
      .filter(([path, entry]) => path.startsWith('node_modules/') && entry.dev === true)
      .map(([path]) => `${path}/`);
    expect(devOnly.length).toBeGreaterThan(100);
    expect(zipped.filter((path) => devOnly.some((prefix) => path.startsWith(prefix)))).toEqual([]);
    expect(
      zipped.filter((path) => /^(src|test|sandbox|scripts|infra|dist\/(test|scripts|sandbox))\//.test(path)),
    ).toEqual([]);
  });
});
