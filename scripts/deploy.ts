/**
 * `npm run deploy -- --app <function app>`: publishes the built app with Core Tools from a clean
 * staging folder that holds only what runs in Azure (host.json, a production package.json,
 * dist/src and the production dependencies), so the upload is the same on every machine and the
 * developer's node_modules is left as it is.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { stagePackage } from './deploy/stagePackage.js';

const ROOT = join(import.meta.dirname, '..', '..');

const USAGE = `Usage: npm run deploy -- --app <function app> [--subscription <id>] [--slot <slot>] [--out <folder>] [--stage-only]

Builds the deployment package in a clean folder (production dependencies only) and runs
\`func azure functionapp publish <app> --typescript\` there.
  --app NAME          the function app (AZURE_FUNCTION_APP_NAME from the deployment outputs)
  --subscription ID   passed to Core Tools, which finds the app by name in that subscription
  --slot NAME         passed to Core Tools
  --out FOLDER        stage here (a new or empty folder) and keep it; default: a temporary folder
  --stage-only        stage and list the package, publish nothing`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      app: { type: 'string' },
      subscription: { type: 'string' },
      slot: { type: 'string' },
      out: { type: 'string' },
      'stage-only': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.app === undefined && !values['stage-only']) {
    console.error(USAGE);
    return 2;
  }
  const stageDir =
    values.out === undefined ? mkdtempSync(join(tmpdir(), 'entra-user-export-deploy-')) : resolve(values.out);
  try {
    const staged = stagePackage(ROOT, stageDir);
    const dependencies = new Set(
      staged.files.filter((file) => file.startsWith('node_modules/')).map((file) => packageOf(file)),
    );
    console.log(
      `Staged ${staged.files.length} files, ${staged.bytes} bytes, in ${staged.dir}: host.json, package.json, dist/src, ${dependencies.size} production packages.`,
    );
    if (values['stage-only']) return 0;
    const args = ['azure', 'functionapp', 'publish', values.app!, '--typescript'];
    if (values.subscription !== undefined) args.push('--subscription', values.subscription);
    if (values.slot !== undefined) args.push('--slot', values.slot);
    console.log(`Running func ${args.join(' ')} in ${staged.dir}`);
    return await new Promise<number>((resolveExit) => {
      const child = spawn('func', args, { cwd: staged.dir, stdio: 'inherit' });
      child.once('error', (error: NodeJS.ErrnoException) => {
        console.error(
          error.code === 'ENOENT'
            ? 'Azure Functions Core Tools (func) is not on PATH: install it (https://aka.ms/func-install) and sign in with az login.'
            : `Could not run func: ${error.message}`,
        );
        resolveExit(1);
      });
      child.once('exit', (code) => resolveExit(code ?? 1));
    });
  } finally {
    if (values.out === undefined) rmSync(stageDir, { recursive: true, force: true });
  }
}

/** `node_modules/@azure/identity/dist/x.js` -> `@azure/identity`, nested ones by their last segment. */
function packageOf(file: string): string {
  const parts = file.split('/');
  const at = parts.lastIndexOf('node_modules');
  const name = parts[at + 1] ?? '';
  return name.startsWith('@') ? `${name}/${parts[at + 2] ?? ''}` : name;
}

main().then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  },
);
