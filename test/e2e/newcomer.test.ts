import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { type Environment, startEnvironment } from './harness.js';

const RUNNER = join(import.meta.dirname, '..', '..', 'dist', 'scripts', 'export.js');
const EXAMPLE = join(import.meta.dirname, '..', '..', 'local.settings.example.json');
const base = { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? tmpdir() };

let env: Environment;

beforeAll(async () => {
  env = await startEnvironment({ users: 120 });
});
afterAll(async () => env.stop());

/** `npm run export` in a directory of its own, with only these variables. */
function exportIn(cwd: string, args: string[], variables: Record<string, string> = base) {
  return new Promise<{ exitCode: number; output: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [RUNNER, ...args], {
      cwd,
      env: variables,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ exitCode: code ?? -1, output }));
  });
}

/** A local port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

it("reports the example's placeholders as placeholders, instead of a storage error 19 s later", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'newcomer-'));
  copyFileSync(EXAMPLE, join(dir, 'local.settings.json'));
  const run = await exportIn(dir, []);
  expect(run.exitCode, run.output).toBe(2);
  expect(run.output).toMatch(
    /still holds the example's placeholders: KEY_VAULT_URL "https:\/\/<your-vault>\.vault\.azure\.net", GRAPH_TENANT_ID "<directory \(tenant\) id>", GRAPH_CLIENT_ID "<application \(client\) id>"\. Replace them/,
  );
  expect(run.output).not.toMatch(/ECONNREFUSED/);
});

it('names the setting, the endpoint and Azurite when storage does not answer', async () => {
  const port = await closedPort();
  const run = await env.runExport({
    EXPORT_STORAGE: env.azurite.connectionString.replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${port}`),
  });
  expect(run.exitCode).toBe(1);
  expect(run.output).toMatch(
    new RegExp(
      `Blob storage at http://127\\.0\\.0\\.1:${port}/devstoreaccount1/entra-users did not answer \\(ECONNREFUSED\\); EXPORT_STORAGE points there\\. Is Azurite running\\?`,
    ),
  );
});

it('the settings npm run sandbox prints work with --settings, the CA applied without exporting NODE_EXTRA_CA_CERTS', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sandbox-settings-'));
  const file = join(dir, 'sandbox.settings.json');
  const values = {
    ...env.sandbox.appSettings(),
    ...env.sandbox.processEnvironment(),
    EXPORT_STORAGE: env.azurite.connectionString,
  };
  writeFileSync(file, JSON.stringify({ IsEncrypted: false, Values: values }));
  const run = await exportIn(dir, ['--settings', file]);
  expect(run.exitCode, run.output).toBe(0);
  expect(run.output).toContain('Export complete: 120 users');
});

it('a TLS trust failure says so and names NODE_EXTRA_CA_CERTS, instead of blaming KEY_VAULT_URL', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'untrusted-'));
  const file = join(dir, 'sandbox.settings.json');
  const values: Record<string, string> = {
    ...env.sandbox.appSettings(),
    ...env.sandbox.processEnvironment(),
    EXPORT_STORAGE: env.azurite.connectionString,
  };
  delete values['NODE_EXTRA_CA_CERTS'];
  writeFileSync(file, JSON.stringify({ IsEncrypted: false, Values: values }));
  const run = await exportIn(dir, ['--settings', file]);
  expect(run.exitCode).toBe(1);
  expect(run.output).toMatch(/not trusted on this machine \([A-Z_]+\)\. .*NODE_EXTRA_CA_CERTS/);
  expect(run.output).not.toMatch(/Check KEY_VAULT_URL/);
});
