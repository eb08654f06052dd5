import { readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

/**
 * Which files `func azure functionapp publish` zips, computed as Core Tools computes it: its
 * `GitIgnoreParser` (a port of codemix/gitignore-parser: every pattern anchored at the root, a
 * leading `/` dropped, `*` one or more characters other than `/`, `**` one or more of any) and
 * `FileSystemHelpers.GetLocalFiles` (.git and .vscode folders, and .funcignore, .gitignore,
 * local.settings.json and project.lock.json files, always left out). Source:
 * Azure/azure-functions-core-tools src/Cli/func/Common/GitIgnoreParser.cs and FileSystemHelpers.cs.
 */
export class CoreToolsIgnore {
  private readonly positive: RegExp;
  private readonly negative: RegExp;

  constructor(content: string) {
    const positive: string[] = [];
    const negative: string[] = [];
    for (const raw of content.split('\n')) {
      let line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      const isNegative = line.startsWith('!');
      if (isNegative) line = line.slice(1);
      if (line.startsWith('/')) line = line.slice(1);
      (isNegative ? negative : positive).push(line);
    }
    const compile = (patterns: string[]) =>
      patterns.length === 0
        ? /$^/
        : new RegExp(`^((${[...patterns].sort(ordinal).map(prepare).join(')|(')}))\\b`);
    this.positive = compile(positive);
    this.negative = compile(negative);
  }

  accepts(path: string): boolean {
    return this.negative.test(path) || !this.positive.test(path);
  }
}

/** .NET's OrderBy on strings is culture-aware, but only the alternation order changes with it. */
function ordinal(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function prepare(pattern: string): string {
  return pattern
    .replace(/[-[\]/{}()+?.\\^$|]/g, '\\$&')
    .replace(/\*\*/g, '(.+)')
    .replace(/\*/g, '([^\\/]+)');
}

const ALWAYS_LEFT_OUT_FOLDERS = ['.git', '.vscode'];
const ALWAYS_LEFT_OUT_FILES = ['.funcignore', '.gitignore', 'local.settings.json', 'project.lock.json'];

/** The files Core Tools would upload from `root`, as forward-slash paths. */
export function coreToolsPackage(root: string, ignore: CoreToolsIgnore): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const item of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, item.name);
      if (item.isDirectory()) {
        if (!ALWAYS_LEFT_OUT_FOLDERS.some((name) => name.toLowerCase() === item.name.toLowerCase()))
          walk(path);
      } else if (!ALWAYS_LEFT_OUT_FILES.some((name) => name.toLowerCase() === item.name.toLowerCase())) {
        const relativePath = relative(root, path).split(sep).join('/');
        if (ignore.accepts(relativePath)) files.push(relativePath);
      }
    }
  };
  walk(root);
  return files.sort();
}
