import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

/** What package-lock.json (v2/v3) says about one installed package. */
interface LockedPackage {
  dev?: boolean;
  devOptional?: boolean;
  optional?: boolean;
}

/**
 * The installed packages production needs, from the lockfile: every `node_modules/...` entry npm
 * did not mark as development-only (`dev` or `devOptional`).
 */
export function productionPackagePaths(lockfile: {
  lockfileVersion?: number;
  packages?: Record<string, LockedPackage>;
}): string[] {
  if (lockfile.packages === undefined || (lockfile.lockfileVersion ?? 0) < 2) {
    throw new Error('package-lock.json must be lockfileVersion 2 or later (npm 7+): run npm install once.');
  }
  return Object.entries(lockfile.packages)
    .filter(
      ([path, entry]) => path.startsWith('node_modules/') && entry.dev !== true && entry.devOptional !== true,
    )
    .map(([path]) => path)
    .sort();
}

/** package.json as the deployed app needs it: no scripts (nothing to build there), no dev dependencies. */
export function deployedPackageJson(source: Record<string, unknown>): Record<string, unknown> {
  const kept = ['name', 'version', 'private', 'description', 'type', 'main', 'engines', 'dependencies'];
  return Object.fromEntries(kept.filter((key) => key in source).map((key) => [key, source[key]]));
}

/**
 * Whether a file of the package is needed when the app runs. Source maps (Node reads them only
 * with --enable-source-maps, which the app does not set), TypeScript sources and declarations,
 * and documentation (markdown, README, CHANGELOG, HISTORY, CONTRIBUTING) are not: they were 60%
 * of the bytes the instance downloads on a cold start. Licences and notices stay with their code.
 */
export function isRuntimeFile(path: string): boolean {
  const name = path.slice(path.lastIndexOf('/') + 1).toLowerCase();
  if (/\.(map|ts|mts|cts|md|markdown)$/.test(name)) return false;
  return !/^(readme|changelog|history|changes|contributing)(\.(txt|rst|adoc))?$/.test(name);
}

export interface StagedPackage {
  dir: string;
  files: string[];
  bytes: number;
}

/**
 * Builds the deployment package in `stageDir` from a built checkout: host.json, a production
 * package.json, the compiled app (dist/src) and the production dependencies copied from the
 * checkout's node_modules, which stays untouched; only the files the app runs with
 * (isRuntimeFile).
 */
export function stagePackage(root: string, stageDir: string): StagedPackage {
  const entry = join(root, 'dist', 'src', 'index.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run npm run build first.`);
  mkdirSync(stageDir, { recursive: true });
  if (readdirSync(stageDir).length > 0) throw new Error(`${stageDir} is not empty: give a new folder.`);

  cpSync(join(root, 'host.json'), join(stageDir, 'host.json'));
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(
    join(stageDir, 'package.json'),
    `${JSON.stringify(deployedPackageJson(manifest), null, 2)}\n`,
  );
  const forRuntime = (from: string) =>
    statSync(from).isDirectory() || isRuntimeFile(from.split(sep).join('/'));
  cpSync(join(root, 'dist', 'src'), join(stageDir, 'dist', 'src'), { recursive: true, filter: forRuntime });

  const lockfile = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as Parameters<
    typeof productionPackagePaths
  >[0];
  for (const path of productionPackagePaths(lockfile)) {
    const source = join(root, path);
    if (!existsSync(source)) continue; // an optional package for another platform
    const nested = join(source, 'node_modules');
    cpSync(source, join(stageDir, path), {
      recursive: true,
      // Nested packages are entries of their own in the lockfile: copied only if production needs them.
      filter: (from) => from !== nested && !from.startsWith(`${nested}${sep}`) && forRuntime(from),
    });
  }
  const files = listFiles(stageDir);
  const bytes = files.reduce((sum, file) => sum + statSync(join(stageDir, file)).size, 0);
  return { dir: stageDir, files, bytes };
}

/** Every file under a folder, as forward-slash paths relative to it. */
export function listFiles(dir: string): string[] {
  const files: string[] = [];
  const walk = (current: string) => {
    for (const item of readdirSync(current, { withFileTypes: true })) {
      const path = join(current, item.name);
      if (item.isDirectory()) walk(path);
      else files.push(relative(dir, path).split(sep).join('/'));
    }
  };
  walk(dir);
  return files.sort();
}
