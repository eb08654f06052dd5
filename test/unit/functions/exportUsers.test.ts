import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';

import { InvocationContext, type Timer } from '@azure/functions';
import { describe, expect, it } from 'vitest';

import type { StreamStore } from '../../../src/azure/streamExport.js';
import type { RunTelemetry } from '../../../src/azure/telemetry.js';
import { memoryStore } from '../../../src/export/compressedOutput.js';
import type { GraphUser } from '../../../src/export/formats.js';
import type { ExportManifest } from '../../../src/export/manifest.js';
import type { NewerRun } from '../../../src/export/runIdentity.js';
import type { UserDirectory } from '../../../src/export/runExport.js';
import { createExportUsersFunction } from '../../../src/functions/exportUsers.js';
import { invokeTimerFunction } from '../../../sandbox/host/hostEmulator.js';
import { validEnv } from '../validEnv.js';

const COMPILED_MODULE = join(
  import.meta.dirname,
  '..',
  '..',
  '..',
  'dist',
  'src',
  'functions',
  'exportUsers.js',
);

const timer: Timer = {
  isPastDue: false,
  schedule: { adjustForDST: false },
  scheduleStatus: { last: '', next: '', lastUpdated: '' },
};

function userPages(pageCount: number, perPage: number): GraphUser[][] {
  return Array.from({ length: pageCount }, (_, page) =>
    Array.from({ length: perPage }, (_, index) => {
      const n = page * perPage + index;
      return {
        id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
        displayName: n % 7 === 0 ? `=cmd|' /C calc'!A${n}` : `Zoë, "User" ${n}`,
        mail: n % 5 === 0 ? null : `user${n}@contoso.com`,
        businessPhones: n % 2 ? ['+1 555 0100'] : [],
        accountEnabled: n % 3 !== 0,
      };
    }),
  );
}

function fakeDirectory(pages: GraphUser[][], failOnPage?: number): UserDirectory {
  return {
    async listUsers(onPage) {
      for (const [index, page] of pages.entries()) {
        if (index === failOnPage) throw new Error('Graph went away');
        await onPage(page, { retries: 2 });
      }
      return { mode: 'sequential', partitions: 1, retries: { throttled: 1, transient: 1 }, notes: [] };
    },
  };
}

function recordingTelemetry() {
  const calls = {
    completed: [] as ExportManifest[],
    failed: [] as Error[],
    superseded: [] as { runId: string; newer: NewerRun | undefined }[],
    flushed: 0,
  };
  const telemetry: RunTelemetry = {
    trackCompleted: (manifest) => calls.completed.push(manifest),
    trackFailed: (error) => calls.failed.push(error),
    trackSuperseded: (runId, newer) => calls.superseded.push({ runId, newer }),
    flush: async () => {
      calls.flushed += 1;
    },
  };
  return { calls, telemetry };
}

async function run(
  env: Record<string, string | undefined>,
  directory: () => Promise<UserDirectory>,
  previousManifest?: Buffer,
  /** `latest/manifest.json` read again before publishing; by default, still the previous one. */
  publishedNow: () => Promise<Buffer | undefined> = async () => previousManifest,
) {
  const logs: string[] = [];
  const { calls, telemetry } = recordingTelemetry();
  const clock = [new Date('2026-11-25T02:00:00.000Z'), new Date('2026-11-25T02:00:03.250Z')];
  const exportUsers = createExportUsersFunction({
    env,
    connect: directory,
    createTelemetry: () => telemetry,
    readBlob: publishedNow,
    now: () => clock.shift() ?? new Date('2026-11-25T02:00:09Z'),
  });
  const blobOutputs = exportUsers.outputs;
  const context = new InvocationContext({
    functionName: exportUsers.name,
    invocationId: 'test-invocation',
    logHandler: (level, ...args) => logs.push(`${level}: ${args.map(String).join(' ')}`),
    options: {
      extraInputs: [exportUsers.previousManifest, exportUsers.previousState, exportUsers.previousDelta],
      extraOutputs: Object.values(blobOutputs),
    },
  });
  // The host reads latest/manifest.json before the run; null when there is none.
  context.extraInputs.set(exportUsers.previousManifest, previousManifest ?? null);
  const outcome = await Promise.resolve(exportUsers.options.handler(timer, context)).then(
    () => undefined,
    (error: unknown) => error as Error,
  );
  const written = (role: keyof typeof blobOutputs) =>
    context.extraOutputs.get(blobOutputs[role]) as Buffer | undefined;
  return { outcome, logs, calls, written, exportUsers };
}

const ROLES = ['latestUsers', 'latestManifest', 'latestChanges', 'state', 'deltaState'] as const;
const pages = userPages(4, 25);
const allUsers = pages.flat();

describe('exportUsers through the host emulator', () => {
  it('hands the users bytes to the host once, and a run that straddles midnight writes one folder', async () => {
    const stored = new Map<string, Buffer>();
    // The host reads its clock once per {DateTime} token: each reading here is a second later, across midnight.
    let reading = Date.parse('2026-11-25T23:59:58.000Z');
    const exportUsers = createExportUsersFunction({
      env: validEnv({ EXPORT_FORMAT: 'csv' }),
      connect: async () => fakeDirectory(pages),
      createTelemetry: () => recordingTelemetry().telemetry,
      readBlob: async () => undefined,
      now: () => new Date('2026-11-25T23:59:57.000Z'),
    });
    const invocation = await invokeTimerFunction(exportUsers, {
      env: {},
      log: () => undefined,
      clock: () => new Date((reading += 1000)),
      readBlob: async () => undefined,
      writeBlob: async (_connection, path, content) => {
        stored.set(path, content);
      },
    });

    // Fixed names only: no clock reading decides where any of the run's blobs go.
    expect([...stored.keys()].sort()).toEqual([
      'entra-users/latest/changes.ndjson',
      'entra-users/latest/manifest.json',
      'entra-users/latest/users.csv',
      'entra-users/state/users.ndjson.gz',
    ]);
    const users = stored.get('entra-users/latest/users.csv')!;
    const manifestBlob = stored.get('entra-users/latest/manifest.json')!;
    // The users blob crosses once; beside it only the manifest, the change report and the state.
    const others = ['latest/manifest.json', 'latest/changes.ndjson', 'state/users.ndjson.gz'].map(
      (name) => stored.get(`entra-users/${name}`)!.length,
    );
    expect(invocation.handedOverBytes).toBe(users.length + others.reduce((sum, bytes) => sum + bytes, 0));
    expect(invocation.handedOverBytes).toBeLessThan(2 * users.length);
    const manifest = JSON.parse(manifestBlob.toString('utf8')) as ExportManifest;
    expect(manifest.startedAt).toBe('2026-11-25T23:59:57.000Z');
    expect(manifest.sha256).toBe(createHash('sha256').update(users).digest('hex'));
  });
});

describe('exportUsers handler', () => {
  it.each([
    ['json', 'none'],
    ['json', 'gzip'],
    ['ndjson', 'none'],
    ['ndjson', 'gzip'],
    ['csv', 'none'],
    ['csv', 'gzip'],
  ] as const)('exports a multi-page directory as %s with compression %s', async (format, compression) => {
    const { outcome, written, calls } = await run(
      validEnv({
        EXPORT_FORMAT: format,
        EXPORT_COMPRESS: compression,
        EXPORT_SELECT: 'id,displayName,mail,businessPhones,accountEnabled',
      }),
      async () => fakeDirectory(pages),
    );
    expect(outcome).toBeUndefined();
    const stored = written('latestUsers')!;
    const text = (compression === 'gzip' ? gunzipSync(stored) : stored).toString('utf8');

    if (format === 'json') expect(JSON.parse(text)).toEqual(allUsers);
    if (format === 'ndjson')
      expect(
        text
          .trimEnd()
          .split('\n')
          .map((line) => JSON.parse(line) as unknown),
      ).toEqual(allUsers);
    if (format === 'csv') {
      const lines = text.split('\r\n');
      expect(lines[0]).toBe('id,displayName,mail,businessPhones,accountEnabled');
      expect(lines[1]).toBe(`00000000-0000-4000-8000-000000000000,'=cmd|' /C calc'!A0,,[],false`);
      expect(lines[2]).toBe(
        '00000000-0000-4000-8000-000000000001,"Zoë, ""User"" 1",user1@contoso.com,"[""+1 555 0100""]",true',
      );
      expect(lines).toHaveLength(allUsers.length + 2);
    }

    const manifest = JSON.parse(written('latestManifest')!.toString('utf8')) as ExportManifest;
    expect(manifest).toMatchObject({
      generatedAt: '2026-11-25T02:00:03.250Z',
      userCount: 100,
      format,
      compression,
      blobName: compression === 'gzip' ? `users.${format}.gz` : `users.${format}`,
      bytes: stored.length,
      sha256: createHash('sha256').update(stored).digest('hex'),
      select: ['id', 'displayName', 'mail', 'businessPhones', 'accountEnabled'],
      filter: null,
      pages: 4,
      retries: 2,
      listing: { mode: 'sequential', partitions: 1, retries: { throttled: 1, transient: 1 }, notes: [] },
      guard: { decision: 'first-export', previousUserCount: null, limit: '10%' },
      durationMs: 3250,
    });
    expect(calls.completed).toEqual([manifest]);
    expect(calls.flushed).toBe(1);
  });

  it('logs the effective settings, and one summary line', async () => {
    const { logs } = await run(validEnv({ EXPORT_FILTER: 'accountEnabled eq true' }), async () =>
      fakeDirectory(pages),
    );
    expect(logs[0]).toMatch(
      /^information: Export starting: tenant .*client secret "graph-client-secret".*filter accountEnabled eq true/,
    );
    expect(logs.at(-2)).toMatch(
      /^information: Exported 100 users in 4 pages \(2 retries\) to users\.json: \d+ bytes, sha256 [0-9a-f]{64}, 3250 ms\.$/,
    );
    expect(logs.at(-1)).toBe(
      'information: Changes: not compared, no previous state: this is the first run; the next run reports changes against this one.',
    );
  });

  it('a bad configuration fails before connecting, writes nothing, and lists every problem', async () => {
    let connected = false;
    const { outcome, written, calls } = await run(
      validEnv({ GRAPH_CLIENT_ID: 'nope', EXPORT_FORMAT: 'xml' }),
      async () => ((connected = true), fakeDirectory(pages)),
    );
    expect(outcome?.message).toMatch(
      /Configuration is invalid \(2 problems\)[\s\S]*GRAPH_CLIENT_ID[\s\S]*EXPORT_FORMAT/,
    );
    expect(connected).toBe(false);
    ROLES.forEach((role) => expect(written(role)).toBeUndefined());
    expect(calls.failed).toHaveLength(1);
  });

  it('a failure on a later page writes no blob at all and reports the failure', async () => {
    const { outcome, written, calls, logs } = await run(validEnv(), async () => fakeDirectory(pages, 3));
    expect(outcome?.message).toBe('Graph went away');
    ROLES.forEach((role) => expect(written(role)).toBeUndefined());
    expect(calls.completed).toEqual([]);
    expect(calls.failed.map((error) => error.message)).toEqual(['Graph went away']);
    expect(logs.at(-1)).toMatch(
      /^error: Export failed \(Unexpected\); nothing was written and the last export is unchanged\. Graph went away$/,
    );
  });

  it('refuses to replace a larger export when the user count falls beyond EXPORT_SHRINK_LIMIT, writing nothing', async () => {
    const previous = Buffer.from(
      JSON.stringify({ userCount: 1000, generatedAt: '2026-11-24T02:00:00.000Z', filter: null }),
    );
    const { outcome, written, calls } = await run(validEnv(), async () => fakeDirectory(pages), previous);
    expect(outcome?.message).toMatch(
      /^Refusing to replace latest\/: this run found 100 users where the last export/,
    );
    ROLES.forEach((role) => expect(written(role)).toBeUndefined());
    expect(calls.failed).toHaveLength(1);
  });

  it('publishes nothing when a run that started later has published meanwhile, and says so', async () => {
    const newer = Buffer.from(
      JSON.stringify({ runId: 'later-run', startedAt: '2026-11-25T02:00:05.000Z', userCount: 100 }),
    );
    const { outcome, logs, written, calls } = await run(
      validEnv(),
      async () => fakeDirectory(pages),
      undefined,
      async () => newer,
    );
    expect(outcome).toBeUndefined();
    for (const role of ROLES) expect(written(role), role).toBeUndefined();
    expect(logs.join('\n')).toMatch(
      /Not publishing: run later-run, which started later \(2026-11-25T02:00:05.000Z\) than this one/,
    );
    expect(calls.completed).toEqual([]);
    expect(calls.superseded).toEqual([
      { runId: 'test-invocation', newer: { runId: 'later-run', startedAt: '2026-11-25T02:00:05.000Z' } },
    ]);
  });

  it('fails with StorageUnavailable, writing nothing, when latest/manifest.json cannot be read again', async () => {
    const { outcome, written, calls } = await run(
      validEnv(),
      async () => fakeDirectory(pages),
      undefined,
      () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:10000')),
    );
    expect(outcome?.message).toMatch(/Could not tell whether a newer run has published.*EXPORT_STORAGE/s);
    for (const role of ROLES) expect(written(role), role).toBeUndefined();
    expect(calls.failed).toHaveLength(1);
  });

  it('reads latest/manifest.json once more when it reads torn, and then gives way to the newer run', async () => {
    const newer = JSON.stringify({
      runId: 'later-run',
      startedAt: '2026-11-25T02:00:05.000Z',
      userCount: 100,
    });
    const answers = [Buffer.from(newer.slice(0, 20)), Buffer.from(newer)];
    const { outcome, written } = await run(
      validEnv(),
      async () => fakeDirectory(pages),
      undefined,
      async () => answers.shift(),
    );
    expect(outcome).toBeUndefined();
    expect(written('latestManifest')).toBeUndefined();
    expect(answers).toEqual([]);
  });

  it('publishes nothing when latest/manifest.json changed and twice does not read', async () => {
    const { outcome, written } = await run(
      validEnv(),
      async () => fakeDirectory(pages),
      undefined,
      async () => Buffer.from('{"runId": "later'),
    );
    expect(outcome?.message).toMatch(
      /it changed since this run started and does not read \(it is not JSON\)/,
    );
    expect(written('latestManifest')).toBeUndefined();
  });

  it('publishes over a manifest that was already unreadable when the run started (the guard said so)', async () => {
    const damaged = Buffer.from('not a manifest');
    const { outcome, written, logs } = await run(validEnv(), async () => fakeDirectory(pages), damaged);
    expect(outcome).toBeUndefined();
    expect(written('latestManifest')).toBeDefined();
    expect(logs.join('\n')).toMatch(
      /manifest could not be read \(it is not JSON\); publishing without a comparison/,
    );
  });

  it('records the guard decision in the manifest when it publishes', async () => {
    const previous = Buffer.from(
      JSON.stringify({ userCount: 105, generatedAt: '2026-11-24T02:00:00.000Z', filter: null }),
    );
    const { written } = await run(validEnv(), async () => fakeDirectory(pages), previous);
    const manifest = JSON.parse(written('latestManifest')!.toString('utf8')) as ExportManifest;
    expect(manifest.guard).toEqual({
      decision: 'within-limit',
      previousUserCount: 105,
      largestRecentUserCount: 105,
      limit: '10%',
    });
  });

  it('warns in the log, before listing, when the last export was near what the instance holds', async () => {
    const previous = (bytes: number) =>
      Buffer.from(
        JSON.stringify({ userCount: 100, generatedAt: '2026-11-24T02:00:00.000Z', filter: null, bytes }),
      );
    const near = await run(
      validEnv({ EXPORT_INSTANCE_MEMORY_MB: '2048' }),
      async () => fakeDirectory(pages),
      previous(400_000_000),
    );
    expect(near.outcome).toBeUndefined();
    expect(near.logs.find((line) => line.startsWith('warning:'))).toMatch(
      /last export was 381 MiB.*EXPORT_INSTANCE_MEMORY_MB.*EXPORT_COMPRESS=gzip, or deploy with instanceMemoryMB=4096/,
    );
    const roomy = await run(validEnv(), async () => fakeDirectory(pages), previous(400_000_000));
    expect(roomy.logs.filter((line) => line.startsWith('warning:'))).toEqual([]);
  });

  it('a failure to connect (credential, token) writes nothing', async () => {
    const { outcome, written } = await run(validEnv(), async () => {
      throw new Error('AADSTS7000215');
    });
    expect(outcome?.message).toBe('AADSTS7000215');
    expect(written('latestUsers')).toBeUndefined();
  });
});

describe('the exportUsers function definition', () => {
  const definition = (env: Record<string, string | undefined>) =>
    createExportUsersFunction({
      env,
      connect: async () => fakeDirectory(pages),
      createTelemetry: () => recordingTelemetry().telemetry,
      readBlob: async () => undefined,
      now: () => new Date(),
    });

  it('with EXPORT_WRITE=stream declares no blob binding: the run reads and writes its blobs itself', () => {
    const exportUsers = definition(validEnv({ EXPORT_WRITE: 'stream' }));
    expect(exportUsers.options.extraInputs).toEqual([]);
    expect(exportUsers.options.extraOutputs).toEqual([]);
    expect(definition(validEnv()).options.extraOutputs).toHaveLength(5);
  });

  it('reads every blob input as bytes: a JSON blob read as text would reach the function parsed, and its sha256 lost', () => {
    const exportUsers = definition(validEnv());
    const inputs = exportUsers.options.extraInputs as { dataType?: unknown }[];
    expect(inputs).toHaveLength(3);
    for (const binding of inputs) expect(binding.dataType).toBe('binary');
  });

  it('takes its schedule and blob paths from the settings the run validates', () => {
    const exportUsers = definition(
      validEnv({
        EXPORT_SCHEDULE: '0 30 1 * * *',
        EXPORT_CONTAINER: 'hr-export',
        EXPORT_FORMAT: 'csv',
        EXPORT_COMPRESS: 'gzip',
      }),
    );
    expect(exportUsers.options.schedule).toBe('0 30 1 * * *');
    expect(Object.values(exportUsers.outputs).map((output) => [output.path, output.connection])).toEqual([
      ['hr-export/latest/users.csv.gz', 'EXPORT_STORAGE'],
      ['hr-export/latest/manifest.json', 'EXPORT_STORAGE'],
      ['hr-export/latest/changes.ndjson.gz', 'EXPORT_STORAGE'],
      ['hr-export/state/users.ndjson.gz', 'EXPORT_STORAGE'],
      ['hr-export/state/delta.json', 'EXPORT_STORAGE'],
    ]);
    expect(exportUsers.options.runOnStartup).toBe(false);
    expect(exportUsers.options.extraOutputs).toEqual(Object.values(exportUsers.outputs));
  });

  it('still loads with an invalid schedule or format, and each run reports the setting', async () => {
    const { outcome, written, exportUsers } = await run(
      validEnv({ EXPORT_SCHEDULE: '0 2 * * *', EXPORT_FORMAT: 'xml' }),
      async () => fakeDirectory(pages),
    );
    expect(exportUsers.options.schedule).toBe('0 0 2 * * *');
    expect(exportUsers.outputs.latestUsers.path).toBe('entra-users/latest/users.json');
    expect(outcome?.message).toMatch(
      /EXPORT_SCHEDULE must be an NCRONTAB expression[\s\S]*EXPORT_FORMAT must be one of/,
    );
    ROLES.forEach((role) => expect(written(role)).toBeUndefined());
  });

  it('never logs, reports or rethrows a credential an error carried', async () => {
    const token = `eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJncmFwaCJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ`;
    const { outcome, logs, calls } = await run(validEnv(), async () => {
      throw new Error(`request failed: Authorization: Bearer ${token}`);
    });
    expect(outcome?.message).toBe('request failed: Authorization: Bearer [redacted]');
    expect(logs.join('\n')).not.toContain(token);
    expect(calls.failed.map((error) => `${error.message}${error.stack ?? ''}`).join('')).not.toContain(token);
  });

  it('registers nothing and prints nothing when imported (the host registers it through src/index.ts)', () => {
    const result = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', `await import(${JSON.stringify(pathToFileURL(COMPILED_MODULE).href)});`],
      { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '' } },
    );
    expect(result.status).toBe(0);
    expect(result.stdout + result.stderr).toBe('');
  });
});

/**
 * A stream store in memory, as `createStreamStore` behaves against an account that keeps blob
 * versions: each commit a new version, readable by id (Azurite keeps none, so the e2e tests cannot).
 */
function versionedStreamStore() {
  const blobs = new Map<string, Buffer>();
  const versions = new Map<string, Buffer>();
  let commits = 0;
  const bytesOf = (content: Buffer | undefined) =>
    content === undefined
      ? undefined
      : {
          open: async function* () {
            yield content;
          },
        };
  const store: StreamStore = {
    readKept: async () => ({
      manifest: blobs.get('manifest'),
      state: bytesOf(blobs.get('state')),
      delta: blobs.get('deltaState'),
    }),
    keptVersion: {
      // A version that is not there reads as an empty state, which is no baseline.
      state: (versionId) => bytesOf(versions.get(versionId) ?? Buffer.alloc(0))!,
      deltaState: async (versionId) => versions.get(versionId),
    },
    readManifestNow: async () => blobs.get('manifest'),
    writer: {
      mode: 'stream',
      store: () => memoryStore(),
      async commitData(finished) {
        const versionIds: Record<string, string> = {};
        for (const blob of finished) {
          commits += 1;
          const versionId = `2026-12-01T02:00:${String(commits).padStart(2, '0')}.0000000Z`;
          blobs.set(blob.role, blob.content!);
          versions.set(versionId, blob.content!);
          versionIds[blob.role] = versionId;
        }
        return { committed: true, versionIds };
      },
      async commitManifest(content) {
        blobs.set('manifest', content);
        return { committed: true, versionIds: {} };
      },
    },
  };
  return { store, blobs };
}

describe('EXPORT_WRITE=stream, where the account keeps blob versions', () => {
  it('compares with the state version the last manifest names when a run that stopped before its manifest replaced the state', async () => {
    const { store, blobs } = versionedStreamStore();
    const env = validEnv({ EXPORT_WRITE: 'stream' });
    const invoke = async (directory: UserDirectory) => {
      const logs: string[] = [];
      const exportUsers = createExportUsersFunction({
        env,
        connect: async () => directory,
        createTelemetry: () => recordingTelemetry().telemetry,
        readBlob: async () => undefined,
        openStreamStore: () => store,
        now: () => new Date(),
      });
      const context = new InvocationContext({
        functionName: exportUsers.name,
        invocationId: `run-${logs.length}${Math.random().toString(16).slice(2, 8)}`,
        logHandler: (_level, ...args) => logs.push(args.map(String).join(' ')),
      });
      await exportUsers.options.handler(timer, context);
      return { logs, manifest: JSON.parse(blobs.get('manifest')!.toString('utf8')) as ExportManifest };
    };
    const first = await invoke(fakeDirectory(pages));
    expect(first.manifest.blobs.state.versionId).toMatch(/^2026-12-01T02:00:\d\d\.0000000Z$/);
    // A later run committed its state, then Storage failed before its manifest.
    blobs.set('state', gzipSync('{"entraUserExportState":2,"runId":"stopped-run","properties":[]}\n'));
    const changed = pages.map((page) =>
      page.map((user) => (user['id'] === allUsers[3]!['id'] ? { ...user, mail: 'moved@contoso.com' } : user)),
    );
    const next = await invoke(fakeDirectory(changed));
    expect(next.logs.join('\n')).toContain('is not the state the last manifest names');
    expect(next.manifest.changes).toMatchObject({
      compared: true,
      sinceRunId: first.manifest.runId,
      changed: 1,
      added: 0,
      removed: 0,
    });
  });
});
