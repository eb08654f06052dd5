/**
 * `npm run export`: runs exportUsers once, outside the Functions host.
 *
 * With a tenant configured (environment or local.settings.json) it exports that tenant. With none,
 * it starts the sandbox tenant and Azurite on this machine and exports the demo directory.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { BlobServiceClient } from '@azure/storage-blob';

import { startAzurite } from '../sandbox/azurite.js';
import { namesATenant, placeholderSettings, readSettings } from '../sandbox/host/appSettings.js';
import {
  FunctionFailedError,
  invokeTimerFunction,
  OutputBindingError,
} from '../sandbox/host/hostEmulator.js';
import { applyDemoRuns } from '../sandbox/directory.js';
import { startSandbox } from '../sandbox/sandbox.js';
import type { ExportManifest } from '../src/export/manifest.js';
import { blobServiceFor, createBindingBlobReader } from '../src/azure/blobStorage.js';
import { blobChunks } from '../src/azure/streamExport.js';
import { nameInContainer } from '../src/export/blobLayout.js';
import { createProductionExportUsers } from '../src/functions/exportUsers.js';
import { registrationSettings } from '../src/config.js';
import { settingOrDefault } from '../src/settings.js';
import { STORAGE_CONNECTION } from '../src/storageConnection.js';

/** The demo's folder: a copy of the last run's blobs, and what the next run starts from. */
const DEMO_OUT_DIR = 'sandbox-export';
/**
 * Inside the demo folder: Azurite's storage and the record of the last run, kept between runs. Both
 * names start with a letter: Core Tools' .funcignore parser ends every pattern with `\b`, so
 * `sandbox-export/` would not leave out a child named `.demo` (test/unit/infra/coreToolsIgnore.ts).
 */
const DEMO_STORAGE = 'azurite';
const DEMO_RECORD = 'demo-run.json';

const USAGE = `Usage: npm run export -- [--users N] [--fresh] [--settings PATH] [--out DIR]

Runs the exportUsers function once, outside the Functions host, and writes its blobs.
  --settings PATH  local.settings.json to read (default: ./local.settings.json)
  --out DIR        also save a copy of every blob written under DIR (the demo saves one in
                   ./${DEMO_OUT_DIR} unless told otherwise)
  --users N        size of the demo directory when no tenant is configured (default 2500)
  --fresh          start the demo over: forget its earlier runs (a first run compares nothing)
  --help           this text

Settings come from the environment, then from local.settings.json "Values".
With no tenant configured (no KEY_VAULT_URL, GRAPH_TENANT_ID, GRAPH_CLIENT_ID, ...), the export
runs against the built-in sandbox tenant and Azurite, on this machine only. The demo keeps its
blobs in ${DEMO_OUT_DIR}/${DEMO_STORAGE}/ between runs and changes the demo tenant a little before each
later run (a few joiners, leavers, moves and a rename), so the next run reports what changed.`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      settings: { type: 'string' },
      users: { type: 'string', default: '2500' },
      out: { type: 'string' },
      fresh: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const settingsPath = resolve(values.settings ?? 'local.settings.json');
  if (values.settings !== undefined && !existsSync(settingsPath)) {
    throw new Error(`--settings ${values.settings}: there is no such file (${settingsPath}).`);
  }
  const settings = readSettings(process.env, settingsPath);
  if (!namesATenant(settings)) {
    const users = Number(values.users);
    if (!Number.isInteger(users) || users < 0)
      throw new Error(`--users takes a whole number; got "${values.users}".`);
    return runDemo(users, resolve(values.out ?? DEMO_OUT_DIR), values.fresh);
  }
  const placeholders = placeholderSettings(settings);
  if (placeholders.length > 0) {
    console.error(
      `${existsSync(settingsPath) ? settingsPath : 'The settings'} still hold${existsSync(settingsPath) ? 's' : ''} the example's placeholders: ${placeholders.join(', ')}. ` +
        "Replace them with your tenant's values (README, Configuration), or remove the tenant settings to run the demo on the sandbox tenant.",
    );
    return 2;
  }
  // Node reads NODE_EXTRA_CA_CERTS only when it starts: a run with the CA bundle the settings file
  // names (npm run sandbox prints one, which keeps the machine's own extra CAs) is a new process
  // started with it. The file's value counts here even where the environment has one.
  const caBundle = readSettings({}, settingsPath)['NODE_EXTRA_CA_CERTS'];
  if (caBundle !== undefined && caBundle !== process.env['NODE_EXTRA_CA_CERTS']) {
    return runChild(process.argv.slice(2), { ...process.env, NODE_EXTRA_CA_CERTS: caBundle });
  }
  return runConfigured(settings, values.out === undefined ? undefined : resolve(values.out));
}

/** This script again, in a child process with this environment; resolves to its exit code. */
function runChild(args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise<number>((resolveExit, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), ...args], {
      stdio: 'inherit',
      env,
    });
    child.once('error', reject);
    child.once('exit', (code) => resolveExit(code ?? 1));
  });
}

/** Log lines as they come; on a terminal, progress lines overwrite each other. */
function createConsoleLog(interactive: boolean) {
  let progressOnScreen = false;
  const endProgress = () => {
    if (progressOnScreen) process.stdout.write('\n');
    progressOnScreen = false;
  };
  const log = (level: string, message: string) => {
    if (interactive && message.startsWith('Progress:')) {
      process.stdout.write(`\r${message}`);
      progressOnScreen = true;
      return;
    }
    endProgress();
    (level === 'error' ? console.error : console.log)(message);
  };
  return { log, endProgress };
}

async function runConfigured(
  settings: Record<string, string | undefined>,
  outDir: string | undefined,
): Promise<number> {
  const { log, endProgress } = createConsoleLog(process.stdout.isTTY);
  try {
    const started = Date.now();
    // Core Tools starts the worker with local.settings.json's Values in its environment, where the
    // Azure SDKs read theirs (AZURE_CLIENT_ID, HTTPS_PROXY); this process does the same for itself.
    for (const [name, value] of Object.entries(settings)) if (value !== undefined) process.env[name] = value;
    const exportUsers = createProductionExportUsers(settings);
    const { invocationId, written, outputs, handedOverBytes } = await invokeTimerFunction(exportUsers, {
      env: settings,
      log,
    });
    endProgress();
    const streamed = registrationSettings(settings).write === 'stream';
    const manifestBytes = streamed
      ? await streamedManifest(settings, exportUsers.outputs.latestManifest.path, invocationId)
      : outputs.get(exportUsers.outputs.latestManifest.path);
    if (manifestBytes === undefined) {
      // The function said why (a run that started later published meanwhile) and set no output.
      console.log(
        streamed
          ? "\nPublished nothing (more): latest/manifest.json is another run's. The log above says why, and which blobs this run had committed, if any."
          : '\nPublished nothing: latest/ and state/ are as the newer run left them.',
      );
      return 0;
    }
    const manifest = JSON.parse(manifestBytes.toString('utf8')) as ExportManifest;
    console.log(
      `\nExport complete: ${manifest.userCount} users, ${manifest.pages} pages, ${manifest.retries} retries, ` +
        `${manifest.bytes} bytes (${manifest.format}${manifest.compression === 'gzip' ? ', gzip' : ''}), ${((Date.now() - started) / 1000).toFixed(1)} s.`,
    );
    console.log('Blobs written:');
    if (streamed) {
      const container = exportUsers.outputs.latestManifest.path.split('/')[0]!;
      const { users, changes, state, deltaState } = manifest.blobs;
      const named = [users, changes, state, ...(deltaState === null ? [] : [deltaState])];
      for (const blob of named) console.log(`  ${container}/${blob.name} (${blob.bytes} bytes)`);
      console.log(`  ${exportUsers.outputs.latestManifest.path} (${manifestBytes.length} bytes)`);
      console.log('Written by the run itself (EXPORT_WRITE=stream): nothing was handed to the host.');
      if (outDir !== undefined) {
        const saved = await saveStreamedCopies(settings, outDir, container, [
          ...named.map((blob) => blob.name),
          'latest/manifest.json',
        ]);
        console.log(`Saved a copy in ${outDir}: ${saved.join(', ')}`);
      }
      return 0;
    }
    for (const blob of written) console.log(`  ${blob.path} (${blob.bytes} bytes)`);
    console.log(
      `Handed from the function to the host: ${handedOverBytes} bytes (every output, as Azure carries them).`,
    );
    if (outDir !== undefined) {
      const saved = await saveCopies(outDir, written, outputs);
      console.log(`Saved a copy in ${outDir}: ${saved.join(', ')}`);
    }
    return 0;
  } catch (error) {
    endProgress();
    // The function has logged its own failure; anything else (a blob write, say) is said here.
    if (!(error instanceof FunctionFailedError)) {
      console.error(error instanceof Error ? error.message : String(error));
    }
    // The handler rethrows a redacted copy of its error, which keeps the name.
    const cause = error instanceof FunctionFailedError ? error.cause : undefined;
    console.error(
      error instanceof OutputBindingError
        ? '\nExport failed while writing its blobs; some may have been written (see above).'
        : cause instanceof Error && cause.name === 'PartlyCommittedError'
          ? '\nExport failed after committing some of its blobs (see above); latest/manifest.json still names the last export.'
          : '\nExport failed; no blob was written.',
    );
    return 1;
  }
}

/**
 * After a stream-mode run: `latest/manifest.json` as the run committed it, or undefined when the
 * manifest there is another run's (this one published nothing).
 */
async function streamedManifest(
  settings: Record<string, string | undefined>,
  path: string,
  invocationId: string,
): Promise<Buffer | undefined> {
  const content = await createBindingBlobReader(settings, STORAGE_CONNECTION)(path);
  if (content === undefined) return undefined;
  let runId: unknown;
  try {
    runId = (JSON.parse(content.toString('utf8')) as { runId?: unknown }).runId;
  } catch {
    return undefined; // Not a manifest this run wrote.
  }
  return typeof runId === 'string' && runId.startsWith(invocationId) ? content : undefined;
}

/** Each blob a stream-mode run wrote, read back from Storage, under DIR by its name in the container. */
async function saveStreamedCopies(
  settings: Record<string, string | undefined>,
  outDir: string,
  container: string,
  names: readonly string[],
): Promise<string[]> {
  // Streamed to the file: a users blob of gigabytes is neither held nor cut off by a read deadline.
  const blobs = blobServiceFor(settings, STORAGE_CONNECTION).getContainerClient(container);
  const saved: string[] = [];
  for (const name of names) {
    const file = join(outDir, ...name.split('/'));
    await mkdir(dirname(file), { recursive: true });
    await pipeline(Readable.from(blobChunks(blobs.getBlobClient(name), name)), createWriteStream(file));
    saved.push(name);
  }
  return saved;
}

/** Each written blob under DIR, by its path in the container (`latest/users.csv`). */
async function saveCopies(
  outDir: string,
  written: readonly { path: string }[],
  outputs: ReadonlyMap<string, Buffer>,
): Promise<string[]> {
  const saved: string[] = [];
  for (const [declaredPath, content] of outputs) {
    // The function's paths are fixed names, so each written path is its declared one.
    if (!written.some((blob) => blob.path === declaredPath)) continue;
    const inContainer = nameInContainer(declaredPath);
    const file = join(outDir, ...inContainer.split('/'));
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, content);
    saved.push(inContainer);
  }
  return saved;
}

/** What the demo keeps between runs, beside its Azurite storage. */
interface DemoRecord {
  /** The last run that completed. */
  run: number;
  /** The demo tenant's size: another size is another tenant, so the demo starts over. */
  users: number;
}

async function readDemoRecord(path: string): Promise<DemoRecord | undefined> {
  try {
    const record = JSON.parse(await readFile(path, 'utf8')) as Partial<DemoRecord>;
    if (Number.isInteger(record.run) && Number.isInteger(record.users)) return record as DemoRecord;
  } catch {
    // No record (the first run) or an unreadable one: either way the demo starts over.
  }
  return undefined;
}

async function runDemo(users: number, outDir: string, fresh: boolean): Promise<number> {
  const azuriteLocation = join(outDir, DEMO_STORAGE);
  const recordPath = join(outDir, DEMO_RECORD);
  const previous = fresh ? undefined : await readDemoRecord(recordPath);
  const startOver = previous === undefined || previous.users !== users;
  if (startOver) {
    if (fresh || previous !== undefined)
      console.log(
        fresh
          ? 'Starting the demo over (--fresh): its earlier runs are forgotten.\n'
          : `Starting the demo over: the last run had ${previous!.users} users, this one ${users}.\n`,
      );
    await rm(azuriteLocation, { recursive: true, force: true });
    await rm(recordPath, { force: true });
  }
  const run = startOver ? 1 : previous.run + 1;
  console.log(
    `No tenant is configured, so this run uses the built-in sandbox: a local Entra ID tenant of ${users} generated users ` +
      '(token endpoint, Key Vault, Microsoft Graph, Application Insights) and Azurite for blob storage. Nothing leaves this machine.\n',
  );
  await mkdir(azuriteLocation, { recursive: true });
  const [sandbox, azurite] = await Promise.all([
    startSandbox({ users }),
    startAzurite({ location: azuriteLocation }),
  ]);
  try {
    const day = applyDemoRuns(sandbox.directory, run).at(-1);
    console.log(
      day === undefined
        ? `Demo run 1: the first export of this tenant. Run \`npm run export\` again to see what changed.\n`
        : `Demo run ${run}: since run ${run - 1}, ${day.joined} users joined the demo tenant, ${day.left} left, ` +
            `${day.moved} moved department and ${day.renamed} was renamed (the same every time; --fresh starts over).\n`,
    );
    const appSettings = { ...sandbox.appSettings(), EXPORT_STORAGE: azurite.connectionString };
    // The last run's copies step aside, so that the folder holds this run's blobs only, and come
    // back if this run fails (a failed run writes nothing, here as in Azure).
    const previousCopies = join(outDir, 'previous-run');
    await moveDemoCopies(outDir, previousCopies);
    // The child trusts the sandbox's CA: NODE_EXTRA_CA_CERTS works only from a process's start.
    const exitCode = await runChild(['--out', outDir], {
      ...process.env,
      ...sandbox.processEnvironment(),
      ...appSettings,
    });
    if (exitCode === 0) {
      await rm(previousCopies, { recursive: true, force: true });
      await writeFile(recordPath, `${JSON.stringify({ run, users } satisfies DemoRecord)}\n`);
      await describeDemoExport(azurite.connectionString, sandbox.appInsights.items.length);
    } else {
      await moveDemoCopies(previousCopies, outDir);
    }
    console.log(
      `\nThe sandbox and Azurite are stopped; the demo's blobs are kept in ${azuriteLocation} for the next run ` +
        '(--fresh starts over). To export a real tenant, configure it as the README says and run this again.',
    );
    return exitCode;
  } finally {
    await Promise.all([sandbox.stop(), azurite.stop()]);
  }
}

/**
 * Moves the blob copies (what the function writes lives under `latest/` and `state/`) from one
 * folder to another, replacing what the destination held there.
 */
async function moveDemoCopies(from: string, to: string): Promise<void> {
  for (const folder of ['latest', 'state']) {
    await rm(join(to, folder), { recursive: true, force: true });
    if (existsSync(join(from, folder))) {
      await mkdir(to, { recursive: true });
      await rename(join(from, folder), join(to, folder));
    }
  }
}

async function describeDemoExport(connectionString: string, telemetryItems: number): Promise<void> {
  const container = BlobServiceClient.fromConnectionString(connectionString).getContainerClient(
    settingOrDefault(process.env, 'EXPORT_CONTAINER'),
  );
  const manifestText = (await container.getBlobClient('latest/manifest.json').downloadToBuffer()).toString(
    'utf8',
  );
  const manifest = JSON.parse(manifestText) as { blobName: string; sha256: string; userCount: number };
  const users = await container.getBlobClient(`latest/${manifest.blobName}`).downloadToBuffer();
  const hashMatches = createHash('sha256').update(users).digest('hex') === manifest.sha256;
  console.log(
    `\nRead back from Azurite: latest/${manifest.blobName}, ${users.length} bytes, sha256 ${hashMatches ? 'matches' : 'DOES NOT match'} the manifest; ` +
      `Application Insights received ${telemetryItems} telemetry item(s).`,
  );
}

/**
 * Ends the process once everything is said. A socket a server holds open (an ingestion endpoint
 * that accepted the telemetry and never answers) would otherwise keep `npm run export` alive
 * after its run ended, and a scheduled job or CI step that runs it would hang.
 */
function exitWith(code: number): void {
  process.exitCode = code;
  setTimeout(() => process.exit(code), 1000).unref();
}

main().then(exitWith, (error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  exitWith(1);
});
