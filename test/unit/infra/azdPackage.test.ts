import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

import {
  type AzdFunctionService,
  createDeployableZip,
  resolveFunctionAppRemoteBuild,
} from './azdFunctionPackage.js';
import { fnmatch, GoGitIgnore } from './goGitignore.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');

interface AzureYaml {
  services: Record<
    string,
    {
      project: string;
      language: string;
      host: string;
      dist?: string;
      remoteBuild?: boolean;
      hooks?: Record<string, { shell: string; run: string }>;
    }
  >;
}

const config = (parse(readFileSync(join(ROOT, 'azure.yaml'), 'utf8')) as AzureYaml).services['export']!;
const service: AzdFunctionService = {
  language: config.language,
  remoteBuild: config.remoteBuild,
  projectDir: join(ROOT, config.project),
};
const packageDir = join(ROOT, config.project, config.dist!);
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
};
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { dev?: boolean }>;
};

let zipped: string[];
beforeAll(() => {
  // What `azd package` does for this service: the prepackage hook, then the dist folder zipped.
  execFileSync(config.hooks!['prepackage']!.shell, ['-c', config.hooks!['prepackage']!.run], {
    cwd: ROOT,
    stdio: 'pipe',
  });
  zipped = createDeployableZip(service, packageDir);
}, 180_000);
afterAll(() => rmSync(join(ROOT, '.deploy'), { recursive: true, force: true }));

describe("what azd deploys (azure.yaml, by azd's own rules ported)", () => {
  it('is a TypeScript function service that packages the staged folder, remote build off', () => {
    expect(config).toMatchObject({ project: '.', language: 'ts', host: 'function', dist: '.deploy/package' });
    expect(resolveFunctionAppRemoteBuild(service)).toBe(false);
  });

  it('zips node_modules with @azure/functions in it', () => {
    expect(zipped).toContain('node_modules/@azure/functions/package.json');
  });

  it('holds the app and its production dependencies, and no development dependency or local setting', () => {
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
      zipped.filter((path) =>
        /^(src|test|sandbox|scripts|infra|\.azure|dist\/(test|scripts|sandbox))\//.test(path),
      ),
    ).toEqual([]);
    expect(zipped.filter((path) => /(^|\/)local\.settings\.json$/.test(path))).toEqual([]);
  });

  it('loads from the files azd zips, with nothing else beside them', () => {
    const unzipped = mkdtempSync(join(tmpdir(), 'azd-package-'));
    for (const path of zipped) {
      mkdirSync(dirname(join(unzipped, path)), { recursive: true });
      cpSync(join(packageDir, path), join(unzipped, path));
    }
    const loaded = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `await import(${JSON.stringify(join(unzipped, 'dist', 'src', 'index.js'))}); console.log('loaded');`,
      ],
      { cwd: unzipped, encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '' } },
    );
    rmSync(unzipped, { recursive: true, force: true });
    expect(loaded.stdout.trim(), loaded.stderr).toBe('loaded');
  });
});

describe('the azd rules the test relies on (azure-dev ae35809)', () => {
  const folder = (files: Record<string, string>) => {
    const dir = mkdtempSync(join(tmpdir(), 'azd-rules-'));
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), content);
    }
    return dir;
  };
  const files = {
    'host.json': '{}',
    'node_modules/@azure/functions/package.json': '{}',
    'local.settings.json': '{}',
    'sub/local.settings.json': '{}',
    '.azure/env/.env': 'X=1',
    'dist/src/index.js': '',
  };

  it('without remoteBuild and without an ignore file in the dist folder, node_modules is left out (the defect azure.yaml had)', () => {
    const dir = folder(files);
    expect(createDeployableZip({ ...service, remoteBuild: undefined }, dir)).toEqual([
      'dist/src/index.js',
      'host.json',
    ]);
    expect(createDeployableZip({ ...service, remoteBuild: false }, dir)).toEqual([
      'dist/src/index.js',
      'host.json',
      'node_modules/@azure/functions/package.json',
    ]);
  });

  it('an ignore file in the dist folder replaces the defaults, and is itself left out', () => {
    const dir = folder({ ...files, '.funcignore': '*.json\n!host.json\n' });
    expect(createDeployableZip({ ...service, remoteBuild: undefined }, dir)).toEqual([
      'dist/src/index.js',
      'host.json',
    ]);
  });

  it("decides remote build from the project folder's ignore file, and refuses a contradiction", () => {
    const keeps = folder({ '.funcignore': '/.git*\n' });
    const drops = folder({ '.funcignore': 'node_modules/\n' });
    const none = folder({});
    expect(resolveFunctionAppRemoteBuild({ ...service, projectDir: keeps, remoteBuild: undefined })).toBe(
      false,
    );
    expect(resolveFunctionAppRemoteBuild({ ...service, projectDir: drops, remoteBuild: undefined })).toBe(
      true,
    );
    expect(resolveFunctionAppRemoteBuild({ ...service, projectDir: none, remoteBuild: undefined })).toBe(
      true,
    );
    expect(() =>
      resolveFunctionAppRemoteBuild({ ...service, projectDir: drops, remoteBuild: false }),
    ).toThrow(/'remoteBuild: false' cannot be used when '.funcignore' excludes node_modules/);
    expect(() => resolveFunctionAppRemoteBuild({ ...service, projectDir: keeps, remoteBuild: true })).toThrow(
      /requires '.funcignore' to exclude node_modules/,
    );
  });
});

describe('GoGitIgnore reads patterns as github.com/denormal/go-gitignore does', () => {
  // defn_test.go _GITMATCH and _GITMATCHES at ae8ad1d07817: [path (a trailing / is a folder), the
  // deciding pattern as written ('' for none), ignored].
  const GITMATCH = `

*.[oa]
*.html
*.min.js

!foo*.html
foo-excl.html

vmlinux*

\\!important!.txt

log/*.log
!/log/foo.log

**/logdir/log
**/foodir/bar
exclude/**

!findthis*

**/hide/**
subdir/subdir2/

/rootsubdir/

dirpattern/

README.md

# arch/foo/kernel/.gitignore
!arch/foo/kernel/vmlinux*

# htmldoc/.gitignore
!htmldoc/*.html

# git-sample-3/.gitignore
git-sample-3/*
!git-sample-3/foo
git-sample-3/foo/*
!git-sample-3/foo/bar

Documentation/*.pdf
Documentation/**/p*.pdf
`;
  const GITMATCHES: [string, string, boolean][] = [
    ['!important!.txt', '\\!important!.txt', true],
    ['arch/', '', false],
    ['arch/foo/', '', false],
    ['arch/foo/kernel/', '', false],
    ['arch/foo/kernel/vmlinux.lds.S', '!arch/foo/kernel/vmlinux*', false],
    ['arch/foo/vmlinux.lds.S', 'vmlinux*', true],
    ['bar/', '', false],
    ['bar/testfile', '', false],
    ['dirpattern', '', false],
    ['my/other/path/to/dirpattern', '', false],
    ['my/path/to/dirpattern/', 'dirpattern/', true],
    ['my/path/to/dirpattern/some_file.txt', '', false],
    ['Documentation/', '', false],
    ['Documentation/foo-excl.html', 'foo-excl.html', true],
    ['Documentation/foo.html', '!foo*.html', false],
    ['Documentation/gitignore.html', '*.html', true],
    ['Documentation/test.a.html', '*.html', true],
    ['exclude/', 'exclude/**', true],
    ['exclude/dir1/', 'exclude/**', true],
    ['exclude/dir1/dir2/', 'exclude/**', true],
    ['exclude/dir1/dir2/dir3/', 'exclude/**', true],
    ['exclude/dir1/dir2/dir3/testfile', 'exclude/**', true],
    ['exclude/other_file.txt', 'exclude/**', true],
    ['file.o', '*.[oa]', true],
    ['foo/exclude/some_file.txt', '', false],
    ['foo/exclude/other/file.txt', '', false],
    ['foodir/', '', false],
    ['foodir/bar/', '**/foodir/bar', true],
    ['foodir/bar/testfile', '', false],
    ['git-sample-3/', '', false],
    ['git-sample-3/foo/', '!git-sample-3/foo', false],
    ['git-sample-3/foo/bar/', '!git-sample-3/foo/bar', false],
    ['git-sample-3/foo/test/', 'git-sample-3/foo/*', true],
    ['git-sample-3/test/', 'git-sample-3/*', true],
    ['htmldoc/', '', false],
    ['htmldoc/docs.html', '!htmldoc/*.html', false],
    ['htmldoc/jslib.min.js', '*.min.js', true],
    ['lib.a', '*.[oa]', true],
    ['log/', '', false],
    ['log/foo.log', '!/log/foo.log', false],
    ['log/test.log', 'log/*.log', true],
    ['rootsubdir/', '/rootsubdir/', true],
    ['rootsubdir/foo', '', false],
    ['src/', '', false],
    ['src/findthis.o', '!findthis*', false],
    ['src/internal.o', '*.[oa]', true],
    ['subdir/', '', false],
    ['subdir/hide/', '**/hide/**', true],
    ['subdir/hide/foo', '**/hide/**', true],
    ['subdir/logdir/', '', false],
    ['subdir/logdir/log/', '**/logdir/log', true],
    ['subdir/logdir/log/findthis.log', '!findthis*', false],
    ['subdir/logdir/log/foo.log', '', false],
    ['subdir/logdir/log/test.log', '', false],
    ['subdir/rootsubdir/', '', false],
    ['subdir/rootsubdir/foo', '', false],
    ['subdir/subdir2/', 'subdir/subdir2/', true],
    ['subdir/subdir2/bar', '', false],
    ['README.md', 'README.md', true],
    ['my-path/README.md', 'README.md', true],
    ['my-path/also/README.md', 'README.md', true],
    ['Documentation/git.pdf', 'Documentation/*.pdf', true],
    ['Documentation/ppc/ppc.pdf', 'Documentation/**/p*.pdf', true],
    ['tools/perf/Documentation/perf.pdf', '', false],
  ];
  const ignore = new GoGitIgnore(GITMATCH, '/my/git/repository');

  it('finds the 26 patterns of the upstream example', () => {
    expect(ignore.size).toBe(26);
  });

  it.each(GITMATCHES)('%s: decided by %j, ignored %s', (path, pattern, ignored) => {
    const isDir = path.endsWith('/');
    const match = ignore.match(isDir ? path.slice(0, -1) : path, isDir);
    if (pattern === '') expect(match).toBeUndefined();
    else expect(match).toEqual({ pattern, ignore: ignored });
  });

  it('skips the lines go-gitignore cannot parse, keeping the rest (defn_test.go _GITIGNORE: 12 patterns)', () => {
    const GITIGNORE = `
# example .gitignore

!*.go

*.o
*.a

/ignore/this/path/

# the following line has trailing whitespace
/and/**/all/**/these/**  \t 
!/but/not/this\\ 

we support   spaces

/**/this.is.not/a ** valid/pattern
/**/nor/is/***/this
/nor/is***this
northis** \t x

but \\this\\ is / valid\\#
\\

so\tis this#
and this is #3 ok too
 / //
`;
    expect(new GoGitIgnore(GITIGNORE, '/base').size).toBe(12);
  });

  it('reads a leading-/ name pattern against the whole path, where * crosses /', () => {
    const rules = new GoGitIgnore('/.git*\n/infra/\n', '/base');
    expect(rules.relative('.github/workflows/ci.yml', false)).toBe(true);
    expect(rules.relative('infra', true)).toBe(true);
    expect(rules.relative('infra', false)).toBeUndefined();
    expect(rules.absolute('/base/infra', true)).toBe(true);
    expect(rules.absolute('/elsewhere/infra', true)).toBeUndefined();
    expect(rules.relative('node_modules', true)).toBeUndefined();
  });

  it('ports fnmatch (danwakefield/fnmatch cbb64ac): FNM_PATHNAME stops * and ? at /, ranges and escapes', () => {
    const PATHNAME = 2;
    expect(fnmatch('*.js', 'a/b.js', 0)).toBe(true);
    expect(fnmatch('*.js', 'a/b.js', PATHNAME)).toBe(false);
    expect(fnmatch('a/*/c', 'a/b/c', PATHNAME)).toBe(true);
    expect(fnmatch('a?c', 'a/c', PATHNAME)).toBe(false);
    expect(fnmatch('*.[oa]', 'x.o', 0)).toBe(true);
    expect(fnmatch('*.[!oa]', 'x.o', 0)).toBe(false);
    expect(fnmatch('[a-c]x', 'bx', 0)).toBe(true);
    expect(fnmatch('\\!x', '!x', 0)).toBe(true);
  });
});
