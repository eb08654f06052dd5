import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

const exportScript = join(import.meta.dirname, '..', '..', 'dist', 'scripts', 'export.js');
const workDir = mkdtempSync(join(tmpdir(), 'demo-cwd-'));
const demoDir = join(workDir, 'sandbox-export');
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

/** `npm run export` with no tenant configured (the demo), in a folder of its own. */
async function runDemo(args: string[] = [], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [exportScript, '--users', '300', ...args], {
    cwd: workDir,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? tmpdir(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exitCode = await new Promise<number>((resolve) => child.once('close', (code) => resolve(code ?? -1)));
  return { exitCode, output };
}

function changeLines(): { change: string }[] {
  return readFileSync(join(demoDir, 'latest', 'changes.ndjson'), 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as { change: string });
}

function countOf(lines: { change: string }[], change: string): number {
  return lines.filter((line) => line.change === change).length;
}

describe('npm run export without a tenant (the demo), run after run', () => {
  it('the first run compares nothing, and says to run it again', async () => {
    const run = await runDemo();
    expect(run.exitCode, run.output).toBe(0);
    expect(run.output).toContain('Demo run 1');
    expect(run.output).toContain('Changes: not compared, no previous state');
    expect(changeLines()).toEqual([]);
  });

  it('the second run reports the seeded joiners, leavers, moves and rename, and saves them', async () => {
    const run = await runDemo();
    expect(run.exitCode, run.output).toBe(0);
    expect(run.output).toContain('Demo run 2: since run 1, 3 users joined the demo tenant, 2 left');
    expect(run.output).toContain('Changes since the last export: 3 added, 2 removed, 5 changed.');
    const lines = changeLines();
    expect([countOf(lines, 'added'), countOf(lines, 'removed'), countOf(lines, 'changed')]).toEqual([
      3, 2, 5,
    ]);
  });

  it('a CSV run leaves only its own blobs in the demo folder, and still compares', async () => {
    const run = await runDemo([], { EXPORT_FORMAT: 'csv' });
    expect(run.exitCode, run.output).toBe(0);
    expect(run.output).toContain('Changes since the last export: 3 added, 2 removed, 5 changed.');
    expect(readdirSync(join(demoDir, 'latest')).sort()).toEqual([
      'changes.ndjson',
      'manifest.json',
      'users.csv',
    ]);
    const manifest = JSON.parse(readFileSync(join(demoDir, 'latest', 'manifest.json'), 'utf8')) as {
      blobName: string;
    };
    expect(manifest.blobName).toBe('users.csv');
  });

  it("keeps Azurite's files inside the demo folder, with no AzuriteConfig (telemetry off)", () => {
    expect(readdirSync(workDir)).toEqual(['sandbox-export']);
    expect(readdirSync(demoDir).sort()).toEqual(['azurite', 'demo-run.json', 'latest', 'state']);
    const azurite = readdirSync(join(demoDir, 'azurite'));
    expect(azurite).toContain('__blobstorage__');
    expect(azurite).not.toContain('AzuriteConfig');
  });

  it('--fresh starts over: the next run is a first run again', async () => {
    const run = await runDemo(['--fresh']);
    expect(run.exitCode, run.output).toBe(0);
    expect(run.output).toContain('Starting the demo over (--fresh)');
    expect(run.output).toContain('Demo run 1');
    expect(run.output).toContain('Changes: not compared, no previous state');
    expect(changeLines()).toEqual([]);
    expect(existsSync(join(demoDir, 'latest', 'users.csv'))).toBe(false);
  });
});
