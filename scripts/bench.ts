/**
 * `npm run bench`: the export's speed and memory on the sandbox, next to a reference loop.
 *
 * Each case starts the sandbox with a generated directory and Azurite, runs the real export path
 * (the runner in its own process: SDKs, TLS, Key Vault, Graph client, bindings to Azurite), then
 * the reference loop (bare fetch + JSON.parse + the same serialisation and gzip) in its own
 * process, and records wall time, CPU time and peak RSS of each. `--full` adds the 1M and 3M cases.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import type { ExportManifest } from '../src/export/manifest.js';
import { DEFAULT_SELECT, settingOrDefault } from '../src/settings.js';
import { startAzurite } from '../sandbox/azurite.js';
import { type PropertyProfile, SandboxDirectory } from '../sandbox/directory.js';
import { startSandbox } from '../sandbox/sandbox.js';

interface BenchCase {
  users: number;
  profile: PropertyProfile;
  format: 'json' | 'ndjson' | 'csv';
  compression: 'none' | 'gzip';
  latencyMs: number;
  parallelism: number;
  full?: boolean;
  /** Skip the reference loop (it is a single chain: at 300 ms a page it only measures waiting). */
  noReference?: boolean;
  /** Also select signInActivity (500 users a page) and expand each user's manager. */
  signInAndManager?: boolean;
  /**
   * EXPORT_WRITE=stream, measured on a second run: the first keeps a state, so the measured run
   * holds the change tracker's index of every user and writes a report, as every run after the first.
   */
  stream?: boolean;
}

/** The stream-mode cases: 100k users, every format at 1M users, then 3M and 10M users, gzipped JSON. */
const STREAM_CASES: BenchCase[] = [
  {
    users: 100_000,
    profile: 'small',
    format: 'json',
    compression: 'gzip',
    latencyMs: 0,
    parallelism: 1,
    stream: true,
  },
  ...(
    [
      ['json', 'none'],
      ['json', 'gzip'],
      ['ndjson', 'gzip'],
      ['csv', 'none'],
    ] as const
  ).map(([format, compression]) => ({
    users: 1_000_000,
    profile: 'small' as const,
    format,
    compression,
    latencyMs: 0,
    parallelism: 1,
    full: true,
    stream: true,
  })),
  ...[3_000_000, 10_000_000].map((users) => ({
    users,
    profile: 'small' as const,
    format: 'json' as const,
    compression: 'gzip' as const,
    latencyMs: 0,
    parallelism: 1,
    full: true,
    noReference: true,
    stream: true,
  })),
];

const CASES: BenchCase[] = [
  // Every format, with and without gzip, at 10k and 100k users.
  ...[10_000, 100_000].flatMap((users) =>
    (['json', 'ndjson', 'csv'] as const).flatMap((format) =>
      (['none', 'gzip'] as const).map((compression) => ({
        users,
        profile: 'small' as const,
        format,
        compression,
        latencyMs: 0,
        parallelism: 1,
      })),
    ),
  ),
  { users: 100_000, profile: 'large', format: 'json', compression: 'gzip', latencyMs: 0, parallelism: 1 },
  {
    users: 100_000,
    profile: 'small',
    format: 'json',
    compression: 'gzip',
    latencyMs: 300,
    parallelism: 1,
    noReference: true,
  },
  {
    users: 100_000,
    profile: 'small',
    format: 'json',
    compression: 'gzip',
    latencyMs: 300,
    parallelism: 16,
    noReference: true,
  },
  ...(['none', 'gzip'] as const).map((compression) => ({
    users: 1_000_000,
    profile: 'small' as const,
    format: 'json' as const,
    compression,
    latencyMs: 0,
    parallelism: 1,
    full: true,
  })),
  {
    users: 1_000_000,
    profile: 'small',
    format: 'csv',
    compression: 'none',
    latencyMs: 0,
    parallelism: 1,
    full: true,
  },
  {
    users: 1_000_000,
    profile: 'small',
    format: 'ndjson',
    compression: 'gzip',
    latencyMs: 0,
    parallelism: 1,
    full: true,
  },
  {
    users: 1_000_000,
    profile: 'large',
    format: 'json',
    compression: 'gzip',
    latencyMs: 0,
    parallelism: 1,
    full: true,
  },
  {
    users: 1_000_000,
    profile: 'small',
    format: 'json',
    compression: 'gzip',
    latencyMs: 300,
    parallelism: 16,
    full: true,
    noReference: true,
  },
  {
    users: 1_000_000,
    profile: 'small',
    format: 'json',
    compression: 'gzip',
    latencyMs: 300,
    parallelism: 1,
    full: true,
    noReference: true,
  },
  {
    users: 3_000_000,
    profile: 'small',
    format: 'json',
    compression: 'gzip',
    latencyMs: 0,
    parallelism: 1,
    full: true,
    noReference: true,
  },
  // The columns admins ask for: last sign-in and manager (the reference loop does neither).
  ...[100_000, 1_000_000].map((users) => ({
    users,
    profile: 'small' as const,
    format: 'csv' as const,
    compression: 'none' as const,
    latencyMs: 0,
    parallelism: 1,
    full: users > 100_000,
    noReference: true,
    signInAndManager: true,
  })),
  {
    users: 1_000_000,
    profile: 'small',
    format: 'csv',
    compression: 'none',
    latencyMs: 300,
    parallelism: 16,
    full: true,
    noReference: true,
    signInAndManager: true,
  },
  ...STREAM_CASES,
];

interface Measured {
  wallS: number;
  cpuS: number;
  peakRssMb: number;
  /** process.memoryUsage() when RSS was highest, in MB. */
  atPeakMb?: Record<string, number>;
}

const DIST = join(import.meta.dirname);
const MEASURE = pathToFileURL(join(DIST, 'bench', 'measure.js')).href;

function caseName(c: BenchCase): string {
  const users = c.users >= 1_000_000 ? `${c.users / 1_000_000}M` : `${c.users / 1000}k`;
  return `${users} ${c.profile}${c.signInAndManager ? '+signIn+manager' : ''} ${c.format}${c.compression === 'gzip' ? '.gz' : ''} ${c.latencyMs}ms p${c.parallelism}${c.stream ? ' stream' : ''}`;
}

function selectFor(profile: PropertyProfile): string[] {
  return profile === 'small'
    ? [...DEFAULT_SELECT]
    : Object.keys(new SandboxDirectory({ size: 1, profile }).user(0));
}

async function measured(script: string, env: Record<string, string>): Promise<Measured & { stdout: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-'));
  const usageFile = join(dir, 'usage.json');
  const started = process.hrtime.bigint();
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>(
    (resolve) => {
      const child = spawn(process.execPath, ['--import', MEASURE, script], {
        cwd: dir,
        env: {
          PATH: process.env['PATH'] ?? '',
          HOME: process.env['HOME'] ?? dir,
          BENCH_USAGE_FILE: usageFile,
          // BENCH_NODE_OPTIONS: for each measured process, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`.
          ...(process.env['BENCH_NODE_OPTIONS'] === undefined
            ? {}
            : { NODE_OPTIONS: process.env['BENCH_NODE_OPTIONS'] }),
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
      child.on('close', (exitCode) => resolve({ code: exitCode ?? -1, stdout: out, stderr: err }));
    },
  );
  const wallS = Number(process.hrtime.bigint() - started) / 1e9;
  if (code !== 0) throw new Error(`${script} failed (${code}):\n${stdout}\n${stderr}`);
  const usage = JSON.parse(readFileSync(usageFile, 'utf8')) as {
    cpuMs: number;
    peakRssMb: number;
    atPeakMb: Record<string, number>;
  };
  rmSync(dir, { recursive: true, force: true });
  return { wallS, cpuS: usage.cpuMs / 1000, peakRssMb: usage.peakRssMb, atPeakMb: usage.atPeakMb, stdout };
}

async function runCase(c: BenchCase) {
  const [sandbox, azurite] = await Promise.all([
    startSandbox({ users: c.users, profile: c.profile }),
    startAzurite(),
  ]);
  try {
    sandbox.graph.latencyMs = c.latencyMs;
    const select = [...selectFor(c.profile), ...(c.signInAndManager ? ['signInActivity'] : [])].join(',');
    const exportEnv = {
      ...sandbox.processEnvironment(),
      ...sandbox.appSettings(),
      EXPORT_STORAGE: azurite.connectionString,
      EXPORT_FORMAT: c.format,
      EXPORT_COMPRESS: c.compression,
      EXPORT_SELECT: select,
      EXPORT_PARALLELISM: String(c.parallelism),
      EXPORT_INCLUDE_MANAGER: String(c.signInAndManager === true),
      EXPORT_WRITE: c.stream ? 'stream' : 'bindings',
    };
    // Stream cases measure the second run: it reads the first's state and reports what changed.
    const first = c.stream ? await measured(join(DIST, 'export.js'), exportEnv) : undefined;
    if (c.stream) sandbox.directory.update(0, { department: 'Changed for the bench' });
    const exported = await measured(join(DIST, 'export.js'), exportEnv);
    const graphRequests = sandbox.graph.requests.filter((request) =>
      request.path.startsWith('/v1.0/users'),
    ).length;
    const manifest = JSON.parse(
      (
        await (
          await import('@azure/storage-blob')
        ).BlobServiceClient.fromConnectionString(azurite.connectionString)
          .getContainerClient(settingOrDefault({}, 'EXPORT_CONTAINER'))
          .getBlobClient('latest/manifest.json')
          .downloadToBuffer()
      ).toString('utf8'),
    ) as ExportManifest;
    if (manifest.userCount !== c.users)
      throw new Error(`${caseName(c)}: exported ${manifest.userCount} users, expected ${c.users}`);
    if (
      c.stream &&
      (manifest.write !== 'stream' || !manifest.changes.compared || manifest.changes.changed !== 1)
    )
      throw new Error(
        `${caseName(c)}: the measured run did not write in stream mode against the first run's state`,
      );

    let reference: Measured | undefined;
    if (!c.noReference) {
      const token = sandbox.tenant.issueAccessToken(sandbox.exportApp, sandbox.origin).token;
      const result = await measured(join(DIST, 'bench', 'referenceLoop.js'), {
        NODE_EXTRA_CA_CERTS: sandbox.caBundlePath,
        REFERENCE_GRAPH: sandbox.origin,
        REFERENCE_TOKEN: token,
        REFERENCE_SELECT: select,
        REFERENCE_FORMAT: c.format,
        REFERENCE_COMPRESS: c.compression,
      });
      const { users, bytes } = JSON.parse(result.stdout) as { users: number; bytes: number };
      if (users !== c.users || bytes !== manifest.bytes) {
        throw new Error(
          `${caseName(c)}: the reference loop produced ${users} users / ${bytes} bytes, the export ${manifest.userCount} / ${manifest.bytes}`,
        );
      }
      reference = {
        wallS: result.wallS,
        cpuS: result.cpuS,
        peakRssMb: result.peakRssMb,
        atPeakMb: result.atPeakMb,
      };
    }
    return {
      case: caseName(c),
      ...c,
      bytes: manifest.bytes,
      pages: manifest.pages,
      graphRequests,
      listing: manifest.listing.mode,
      firstRun: first && { wallS: first.wallS, cpuS: first.cpuS, peakRssMb: first.peakRssMb },
      export: {
        wallS: exported.wallS,
        cpuS: exported.cpuS,
        peakRssMb: exported.peakRssMb,
        atPeakMb: exported.atPeakMb,
        usersPerS: c.users / exported.wallS,
      },
      reference,
      cpuRatio: reference ? exported.cpuS / reference.cpuS : undefined,
    };
  } finally {
    await Promise.all([sandbox.stop(), azurite.stop()]);
  }
}

/**
 * Delta listing against a full listing on the same directory (`--delta N`): N users, a full delta
 * round to start tracking (no latency), then 1% of the users changed (updated, deleted, added),
 * then, at 300 ms a page, a full listing on one chain and a delta run side by side. The rebuilt
 * export must hold exactly the users the full listing holds (compared as a set of lines).
 */
async function runDeltaComparison(users: number, latencyMs: number) {
  const [sandbox, azurite] = await Promise.all([startSandbox({ users }), startAzurite()]);
  const select = DEFAULT_SELECT.join(',');
  const base = {
    ...sandbox.processEnvironment(),
    ...sandbox.appSettings(),
    EXPORT_STORAGE: azurite.connectionString,
    EXPORT_FORMAT: 'ndjson',
    EXPORT_SELECT: select,
    // The comparison changes 1% of the users; the guard judges drops, not churn.
    EXPORT_SHRINK_LIMIT: '50%',
  };
  const service = (await import('@azure/storage-blob')).BlobServiceClient.fromConnectionString(
    azurite.connectionString,
  );
  // The full listing keeps a container of its own: a run without EXPORT_DELTA between two delta
  // runs would leave the kept delta link unvouched (not that run's), and the next one a full round.
  const FULL_CONTAINER = 'full-listing';
  const full = { ...base, EXPORT_DELTA: 'false', EXPORT_CONTAINER: FULL_CONTAINER };
  const requests = () =>
    sandbox.graph.requests.filter((request) => request.path.startsWith('/v1.0/users')).length;
  /** An order-free digest of the export: the XOR of every line's SHA-256, and the line count. */
  const setDigest = async (containerName: string) => {
    const { createHash } = await import('node:crypto');
    const text = (
      await service.getContainerClient(containerName).getBlobClient('latest/users.ndjson').downloadToBuffer()
    ).toString('utf8');
    const digest = Buffer.alloc(32);
    let lines = 0;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      lines += 1;
      const hash = createHash('sha256').update(line).digest();
      for (let i = 0; i < 32; i += 1) digest[i]! ^= hash[i]!;
    }
    return `${lines}:${digest.toString('hex')}`;
  };
  try {
    await measured(join(DIST, 'export.js'), { ...base, EXPORT_DELTA: 'true' });
    await measured(join(DIST, 'export.js'), full);
    const changed = Math.floor(users / 100);
    for (let n = 0; n < changed; n += 1) {
      const index = Math.floor((n * users) / changed);
      if (n % 10 === 0) sandbox.directory.remove(index);
      else sandbox.directory.update(index, { department: `Changed ${n}` });
    }
    for (const index of sandbox.directory.add(Math.floor(changed / 10))) sandbox.directory.update(index, {});
    sandbox.graph.latencyMs = latencyMs;
    let before = requests();
    const fullRun = await measured(join(DIST, 'export.js'), full);
    const fullRequests = requests() - before;
    const fullDigest = await setDigest(FULL_CONTAINER);
    if (process.env['BENCH_DEBUG_DIR']) {
      writeFileSync(
        join(process.env['BENCH_DEBUG_DIR'], 'full.ndjson'),
        await service
          .getContainerClient(FULL_CONTAINER)
          .getBlobClient('latest/users.ndjson')
          .downloadToBuffer(),
      );
    }
    before = requests();
    const delta = await measured(join(DIST, 'export.js'), { ...base, EXPORT_DELTA: 'true' });
    const deltaRequests = requests() - before;
    const deltaContainer = settingOrDefault({}, 'EXPORT_CONTAINER');
    const deltaDigest = await setDigest(deltaContainer);
    if (process.env['BENCH_DEBUG_DIR']) {
      writeFileSync(
        join(process.env['BENCH_DEBUG_DIR'], 'delta.ndjson'),
        await service
          .getContainerClient(deltaContainer)
          .getBlobClient('latest/users.ndjson')
          .downloadToBuffer(),
      );
    }
    if (deltaDigest !== fullDigest)
      throw new Error(`the delta export differs from the full listing: ${deltaDigest} vs ${fullDigest}`);
    const row = (name: string, m: Measured, count: number) =>
      `${name} | ${fixed(m.wallS)} | ${fixed(m.cpuS)} | ${fixed(m.peakRssMb, 0)} | ${count} | ${JSON.stringify(m.atPeakMb)}`;
    console.log(
      `${users} users, ${changed} changed, ${latencyMs} ms a page; the rebuilt export equals the full listing (${fullDigest.split(':')[0]} users).`,
    );
    console.log('run | wall s | cpu s | peak MB | Graph requests | at the peak (MB)');
    console.log(row('full listing, one chain', fullRun, fullRequests));
    console.log(row('delta', delta, deltaRequests));
    console.log(
      `delta: ${(fullRequests / deltaRequests).toFixed(1)}x fewer requests, ${(fullRun.wallS / delta.wallS).toFixed(1)}x less wall time`,
    );
  } finally {
    await Promise.all([sandbox.stop(), azurite.stop()]);
  }
}

const fixed = (value: number | undefined, digits = 1) => (value === undefined ? '-' : value.toFixed(digits));

async function main() {
  const { values } = parseArgs({
    options: {
      full: { type: 'boolean', default: false },
      only: { type: 'string' },
      out: { type: 'string' },
      delta: { type: 'string' },
    },
  });
  if (values.delta !== undefined) {
    await runDeltaComparison(Number(values.delta), 300);
    return;
  }
  const cases = CASES.filter(
    (c) =>
      (values.full || !c.full) &&
      // `--only "a|b"`: the cases whose name contains any of the texts.
      (!values.only || values.only.split('|').some((text) => caseName(c).includes(text))),
  );
  console.log(
    `${cases.length} cases on ${process.version}; export = the runner with the SDKs, reference = fetch + parse + serialise.\n`,
  );
  const header = [
    'case',
    'export wall s',
    'cpu s',
    'peak MB',
    'users/s',
    'bytes',
    'Graph requests',
    'ref wall s',
    'ref cpu s',
    'ref MB',
    'cpu ratio',
  ];
  console.log(header.join(' | '));
  const results = [];
  for (const c of cases) {
    const result = await runCase(c);
    results.push(result);
    console.log(
      [
        result.case,
        fixed(result.export.wallS),
        fixed(result.export.cpuS),
        fixed(result.export.peakRssMb, 0),
        fixed(result.export.usersPerS, 0),
        String(result.bytes),
        String(result.graphRequests),
        fixed(result.reference?.wallS),
        fixed(result.reference?.cpuS),
        fixed(result.reference?.peakRssMb, 0),
        fixed(result.cpuRatio, 2),
      ].join(' | '),
    );
  }
  const out =
    values.out ??
    join(process.cwd(), 'bench', 'results', `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  mkdirSync(join(out, '..'), { recursive: true });
  writeFileSync(
    out,
    JSON.stringify({ node: process.version, date: new Date().toISOString(), results }, null, 2),
  );
  console.log(`\nResults written to ${out} (with each process's memory make-up at its peak).`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
