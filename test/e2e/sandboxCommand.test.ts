import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect, it } from 'vitest';

const dist = join(import.meta.dirname, '..', '..', 'dist', 'scripts');

function runNode(script: string, args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [join(dist, script), ...args], {
    cwd: tmpdir(),
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number>((resolve) => child.once('close', (code) => resolve(code ?? -1)));
  return { child, exited, output: () => output };
}

it('npm run sandbox prints local.settings.json values that a run can use, and stops on Ctrl-C', async () => {
  const base = { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? tmpdir() };
  const sandbox = runNode('sandbox.js', ['--users', '1234'], base);
  try {
    await expect
      .poll(() => sandbox.output(), { timeout: 60_000, interval: 200 })
      .toContain('The sandbox runs until Ctrl-C.');
    const json = /\{[\s\S]*\n\}/.exec(sandbox.output())![0];
    const settings = (JSON.parse(json) as { Values: Record<string, string> }).Values;
    expect(settings).toMatchObject({
      FUNCTIONS_WORKER_RUNTIME: 'node',
      GRAPH_CLIENT_CERTIFICATE_NAME: 'graph-client-certificate',
    });

    const run = runNode('export.js', [], { ...base, ...settings });
    expect(await run.exited, run.output()).toBe(0);
    expect(run.output()).toContain('Export complete: 1234 users, 2 pages');
  } finally {
    sandbox.child.kill('SIGINT');
  }
  expect(await sandbox.exited).toBe(0);
  expect(sandbox.output()).toContain('Sandbox and Azurite stopped.');
});
