import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';

import type { ExportManifest } from '../../src/export/manifest.js';
import { settingOrDefault } from '../../src/settings.js';
import { type Azurite, startAzurite } from '../../sandbox/azurite.js';
import { type Sandbox, type SandboxOptions, startSandbox } from '../../sandbox/sandbox.js';

const RUNNER = join(import.meta.dirname, '..', '..', 'dist', 'scripts', 'export.js');

export interface RunnerOutcome {
  exitCode: number;
  stdout: string;
  stderr: string;
  output: string;
}

export interface Environment {
  sandbox: Sandbox;
  azurite: Azurite;
  container: ContainerClient;
  /** Runs `npm run export`'s script in a fresh process, configured for the sandbox plus overrides. */
  runExport(overrides?: Record<string, string | undefined>, args?: readonly string[]): Promise<RunnerOutcome>;
  /** Every blob in the export container, by name. */
  blobs(): Promise<Map<string, Buffer>>;
  /** Everything the runs printed, for scanning. */
  allOutput: string[];
  stop(): Promise<void>;
}

export async function startEnvironment(options: SandboxOptions = {}): Promise<Environment> {
  const [sandbox, azurite] = await Promise.all([startSandbox(options), startAzurite()]);
  const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(
    settingOrDefault({}, 'EXPORT_CONTAINER'),
  );
  const allOutput: string[] = [];
  return {
    sandbox,
    azurite,
    container,
    allOutput,
    runExport: (overrides = {}, args = []) => {
      const merged: Record<string, string | undefined> = {
        PATH: process.env['PATH'] ?? '',
        HOME: process.env['HOME'] ?? tmpdir(),
        ...sandbox.processEnvironment(),
        ...sandbox.appSettings(),
        EXPORT_STORAGE: azurite.connectionString,
        ...overrides,
      };
      // An override of undefined takes the setting away.
      const env = Object.fromEntries(
        Object.entries(merged).filter((entry): entry is [string, string] => entry[1] !== undefined),
      );
      return new Promise((resolve, reject) => {
        // A directory with no local.settings.json: the run sees only these settings.
        const child = spawn(process.execPath, [RUNNER, ...args], {
          cwd: tmpdir(),
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        let output = '';
        child.stdout.on(
          'data',
          (chunk: Buffer) => ((stdout += chunk.toString()), (output += chunk.toString())),
        );
        child.stderr.on(
          'data',
          (chunk: Buffer) => ((stderr += chunk.toString()), (output += chunk.toString())),
        );
        child.once('error', reject);
        child.once('close', (code) => {
          allOutput.push(output);
          resolve({ exitCode: code ?? -1, stdout, stderr, output });
        });
      });
    },
    blobs: async () => {
      const blobs = new Map<string, Buffer>();
      if (!(await container.exists())) return blobs;
      for await (const item of container.listBlobsFlat()) {
        blobs.set(item.name, await container.getBlobClient(item.name).downloadToBuffer());
      }
      return blobs;
    },
    stop: async () => {
      await Promise.all([sandbox.stop(), azurite.stop()]);
    },
  };
}

/** The directory's users as Graph returns them for a $select: the expected export. */
export function expectedUsers(
  sandbox: Sandbox,
  select: readonly string[],
  keep: (index: number) => boolean = () => true,
) {
  const users: Record<string, unknown>[] = [];
  for (let index = 0; index < sandbox.directory.size; index += 1) {
    if (!sandbox.directory.exists(index) || !keep(index)) continue;
    const user = sandbox.directory.user(index);
    users.push(Object.fromEntries(select.map((name) => [name, user[name] ?? null])));
  }
  return users;
}

/** The users of `latest/users.<format>` (json or ndjson), as the export wrote them. */
export async function exportedUsers(env: Environment, format: string): Promise<Record<string, unknown>[]> {
  const text = (await env.container.getBlobClient(`latest/users.${format}`).downloadToBuffer()).toString(
    'utf8',
  );
  return (
    format === 'json'
      ? JSON.parse(text)
      : text
          .trimEnd()
          .split('\n')
          .map((line) => JSON.parse(line) as unknown)
  ) as Record<string, unknown>[];
}

/** What a run left in one container: its blobs, the manifest, and NDJSON blobs as records. */
export function containerReader(container: ContainerClient) {
  const blob = (path: string) => container.getBlobClient(path).downloadToBuffer();
  return {
    blob,
    manifest: async () => JSON.parse((await blob('latest/manifest.json')).toString('utf8')) as ExportManifest,
    ndjson: async (path: string) =>
      (await blob(path))
        .toString('utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

/** Users by id, to compare listings as sets. */
export const sortedById = (users: Record<string, unknown>[]) =>
  [...users].sort((a, b) => String(a['id']).localeCompare(String(b['id'])));
