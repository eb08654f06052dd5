import { lstatSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { GoGitIgnore } from './goGitignore.js';

/**
 * What `azd package` / `azd deploy` does with a function app service, ported from
 * Azure/azure-dev at ae35809f496491989273d0edefdeb70f245f399b:
 * - `resolveFunctionAppRemoteBuild` (cli/azd/pkg/project/service_target_functionapp.go): whether
 *   Flex Consumption builds remotely, decided from the ignore file in the service's *project*
 *   folder and the `remoteBuild` option;
 * - `createDeployableZip` (cli/azd/pkg/project/project_utils.go) with the walk of
 *   `rzip.CreateFromDirectory` (cli/azd/pkg/rzip/rzip.go): which files of the *package* folder
 *   (the `dist` folder for Node services, framework_service_node.go Package) go in the zip.
 * The ignore file is `.funcignore` for a function target (service_target.go IgnoreFile), read
 * with github.com/denormal/go-gitignore (goGitignore.ts).
 */

export interface AzdFunctionService {
  /** azure.yaml `language`: js, ts, python, ... */
  language: string;
  /** azure.yaml `remoteBuild`, undefined when unset. */
  remoteBuild: boolean | undefined;
  /** The service's project folder (azure.yaml `project`, resolved). */
  projectDir: string;
}

const IGNORE_FILE = '.funcignore';
const isNode = (language: string) => language === 'js' || language === 'ts';

/** A leading UTF-8 BOM is stripped before parsing (stripUTF8BOM). */
const readIgnoreFile = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8').replace(/^\uFEFF/, '');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
};

/** resolveFunctionAppRemoteBuild: the remote build setting, or the error azd stops with. */
export function resolveFunctionAppRemoteBuild(service: AzdFunctionService): boolean {
  if (isNode(service.language)) {
    const contents = readIgnoreFile(join(service.projectDir, IGNORE_FILE));
    if (contents === undefined) return service.remoteBuild ?? true;
    const nodeModulesExcluded =
      new GoGitIgnore(contents, service.projectDir).relative('node_modules', true) === true;
    if (service.remoteBuild === undefined) return nodeModulesExcluded;
    if (service.remoteBuild && !nodeModulesExcluded)
      throw new Error(`'remoteBuild: true' requires '${IGNORE_FILE}' to exclude node_modules`);
    if (!service.remoteBuild && nodeModulesExcluded)
      throw new Error(`'remoteBuild: false' cannot be used when '${IGNORE_FILE}' excludes node_modules`);
    return service.remoteBuild;
  }
  if (service.language === 'go') {
    if (service.remoteBuild === true) throw new Error('remote build is not supported for Go function apps');
    return false;
  }
  return service.remoteBuild ?? service.language === 'python';
}

/** createDeployableZip: the files azd zips from `root`, as forward-slash paths, in zip order. */
export function createDeployableZip(service: AzdFunctionService, root: string): string[] {
  const contents = readIgnoreFile(join(root, IGNORE_FILE));
  const ignorer = contents === undefined ? undefined : new GoGitIgnore(contents, root);

  const onZip = (src: string, name: string, isDir: boolean): boolean => {
    if (name === '.azure' && isDir) return false;
    if (name === IGNORE_FILE && !isDir) return false;
    if (name === 'local.settings.json' && !isDir) return false; // host specific: function apps
    if (ignorer !== undefined) return ignorer.absolute(src, isDir) !== true;
    // Default exclusions, only without an ignore file.
    if (service.language === 'python' && isDir) {
      try {
        statSync(join(src, 'pyvenv.cfg'));
        return false;
      } catch {
        // not a virtual environment
      }
      if (name.toLowerCase() === '__pycache__') return false;
    }
    if (isNode(service.language) && name === 'node_modules' && isDir) return service.remoteBuild === false;
    return true;
  };

  const zipped: string[] = [];
  // rzip.addDir: os.ReadDir order (sorted by name), Lstat, onZip, then symlinks resolved (depth 40).
  const addDir = (destRoot: string, src: string, symlinkDepth: number) => {
    if (symlinkDepth > 40) return;
    const names = readdirSync(src).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const name of names) {
      const path = join(src, name);
      const info = lstatSync(path);
      const isDir = info.isSymbolicLink() ? statSync(path).isDirectory() : info.isDirectory();
      if (!onZip(path, name, isDir)) continue;
      const dest = destRoot === '' ? name : `${destRoot}/${name}`;
      if (info.isSymbolicLink()) {
        const target = realpathSync(path);
        if (lstatSync(target).isDirectory()) addDir(dest, target, symlinkDepth + 1);
        else zipped.push(dest);
      } else if (info.isDirectory()) addDir(dest, path, symlinkDepth);
      else zipped.push(dest);
    }
  };
  addDir('', root, 0);
  return zipped;
}
