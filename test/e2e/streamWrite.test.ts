/**
 * EXPORT_WRITE=stream against Azurite: the run stages its blobs as blocks while it lists and
 * commits them itself, in order, each on the condition that it is still the version the run read,
 * the manifest last. The same directory gives the same blobs as the output bindings; a run that
 * fails, or finds a newer run's blob, leaves what readers see as it was.
 */
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';

import { createServer, type IncomingMessage, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';

import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { usersBlobName } from '../../src/export/blobLayout.js';
import type { ExportManifest } from '../../src/export/manifest.js';
import { containerReader, type Environment, startEnvironment } from './harness.js';

// More users than one 2 MiB block holds as JSON, so the users blob is staged in several blocks.
const USERS = 12_000;

let env: Environment;
let service: BlobServiceClient;
beforeAll(async () => {
  env = await startEnvironment({ users: USERS });
  service = BlobServiceClient.fromConnectionString(env.azurite.connectionString);
});
afterAll(async () => env.stop());

const STREAM = { EXPORT_WRITE: 'stream' };
const FORMATS_SEEN: string[] = [];

/** Every blob in a container with its bytes and ETag: what a reader sees there. */
async function snapshot(container: ContainerClient) {
  const blobs = new Map<string, { etag: string | undefined; content: Buffer }>();
  for await (const item of container.listBlobsFlat()) {
    const blob = container.getBlobClient(item.name);
    blobs.set(item.name, { etag: item.properties.etag, content: await blob.downloadToBuffer() });
  }
  return blobs;
}

/** A state's user lines (the header names the run that wrote it, so two runs' headers differ). */
const stateUsers = (content: Buffer) => gunzipSync(content).toString('utf8').split('\n').slice(1);
const stateProperties = (content: Buffer) =>
  (JSON.parse(gunzipSync(content).toString('utf8').split('\n')[0]!) as { properties: string[] }).properties;

/** Writes a blob as another stream-mode run commits it: staged blocks, then Put Block List, with its run in the metadata. */
async function commitAsRun(
  container: ContainerClient,
  name: string,
  content: Buffer,
  runId: string,
  startedAt: Date,
) {
  const blob = container.getBlockBlobClient(name);
  const id = Buffer.from(runId.padEnd(48, '-')).toString('base64');
  await blob.stageBlock(id, content, content.length);
  await blob.commitBlockList([id], {
    metadata: { entrauserexportrunid: runId, entrauserexportstartedat: startedAt.toISOString() },
  });
}

/** An HTTP relay to Azurite that answers the requests `refuse` picks with 503 (Storage's ServerBusy). */
async function startRelay(target: URL, refuse: (request: IncomingMessage) => boolean) {
  const server = createServer((request, response) => {
    if (refuse(request)) {
      request.resume();
      response.writeHead(503, { 'x-ms-error-code': 'ServerBusy' }).end();
      return;
    }
    const forwarded = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: request.method,
        path: request.url,
        headers: request.headers,
      },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    forwarded.on('error', () => response.destroy());
    request.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    blobEndpoint: `http://127.0.0.1:${port}${target.pathname}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * A container with one published stream-mode export, then a second run held at its `page`th page
 * while `meanwhile` happens (another writer's commit), then let go: what it printed, and what the
 * container held before it.
 */
async function overlapped(
  name: string,
  page: number,
  meanwhile: (container: ContainerClient) => Promise<void>,
) {
  const container = service.getContainerClient(name);
  const settings = { ...STREAM, EXPORT_CONTAINER: container.containerName };
  expect((await env.runExport(settings)).exitCode).toBe(0);
  const before = await snapshot(container);
  const hold = holdAtPage(page);
  const running = env.runExport(settings);
  await hold.atPage;
  await meanwhile(container);
  hold.release();
  const outcome = await running;
  expect(outcome.exitCode, outcome.output).toBe(0);
  return { container, before, outcome };
}

/** Holds the listing at its `page`th page (1-based) until released. */
function holdAtPage(page: number) {
  let release!: () => void;
  let reached!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const atPage = new Promise<void>((resolve) => (reached = resolve));
  let served = 0;
  env.sandbox.graph.beforePage = async (record) => {
    if (record.path !== '/v1.0/users') return;
    served += 1;
    if (served !== page) return;
    reached();
    await released;
  };
  return {
    atPage,
    release: () => {
      env.sandbox.graph.beforePage = undefined;
      release();
    },
  };
}

describe('EXPORT_WRITE=stream', () => {
  it.each([
    ['json', 'none'],
    ['json', 'gzip'],
    ['ndjson', 'gzip'],
    ['csv', 'none'],
  ] as const)(
    'writes the same %s (compression %s) users, changes and state as the output bindings, over the same directory',
    async (format, compression) => {
      // Each case changes users of its own: the cases share one directory.
      const base = 100 * (FORMATS_SEEN.push(format) - 1);
      const settings = { EXPORT_FORMAT: format, EXPORT_COMPRESS: compression };
      const bindings = service.getContainerClient(`bindings-${format}-${compression}`);
      const stream = service.getContainerClient(`stream-${format}-${compression}`);
      const run = async (container: ContainerClient, extra: Record<string, string> = {}) => {
        const outcome = await env.runExport({
          ...settings,
          EXPORT_CONTAINER: container.containerName,
          ...extra,
        });
        expect(outcome.exitCode, outcome.output).toBe(0);
      };
      await run(bindings);
      await run(stream, STREAM);
      // A day's changes, then the runs that report them.
      const { directory } = env.sandbox;
      directory.update(base + 10, { department: `Moved (${format} ${compression})` });
      directory.remove(base + 20);
      directory.add(2);
      await run(bindings);
      await run(stream, STREAM);

      const fromBindings = containerReader(bindings);
      const fromStream = containerReader(stream);
      const manifest = await fromStream.manifest();
      expect(manifest.write).toBe('stream');
      expect((await fromBindings.manifest()).write).toBe('bindings');
      const users = `latest/${usersBlobName(format, compression)}`;
      expect((await fromStream.blob(users)).equals(await fromBindings.blob(users))).toBe(true);
      const changes = `latest/changes.ndjson${compression === 'gzip' ? '.gz' : ''}`;
      expect((await fromStream.blob(changes)).equals(await fromBindings.blob(changes))).toBe(true);
      expect(manifest.changes).toMatchObject({ compared: true, added: 2, removed: 1, changed: 1 });
      const [streamState, bindingsState] = [
        await fromStream.blob('state/users.ndjson.gz'),
        await fromBindings.blob('state/users.ndjson.gz'),
      ];
      expect(stateUsers(streamState)).toEqual(stateUsers(bindingsState));
      expect(stateProperties(streamState)).toEqual(stateProperties(bindingsState));
      // The manifest names the bytes that are there, and the version each is (Azurite keeps none).
      for (const record of [manifest.blobs.users, manifest.blobs.changes, manifest.blobs.state]) {
        const content = await fromStream.blob(record.name);
        expect(content.length).toBe(record.bytes);
        expect(record.versionId).toBeNull();
      }
      // Stored with what they are, unlike the host's application/octet-stream.
      const properties = await stream.getBlobClient(users).getProperties();
      expect(properties.contentType).toBe(compression === 'gzip' ? 'application/gzip' : manifest.contentType);
      expect(properties.metadata?.['entrauserexportrunid']).toBe(manifest.runId);
    },
  );

  it('a run that fails after staging blocks leaves every blob as it was: nothing staged is visible', async () => {
    const container = service.getContainerClient('stream-fails');
    const settings = { ...STREAM, EXPORT_CONTAINER: container.containerName };
    expect((await env.runExport(settings)).exitCode).toBe(0);
    const before = await snapshot(container);
    env.sandbox.directory.update(30, { department: 'Not published' });
    // Page 11 fails for good: by then more than a 2 MiB block of users has been staged.
    env.sandbox.graph.faults = [{ page: 11, kind: 'malformed', times: Infinity }];
    try {
      const failed = await env.runExport(settings);
      expect(failed.exitCode, failed.output).toBe(1);
      expect(failed.output).toContain('nothing was written and the last export is unchanged');
    } finally {
      env.sandbox.graph.faults = [];
    }
    const after = await snapshot(container);
    expect([...after.keys()]).toEqual([...before.keys()]);
    for (const [name, blob] of before) {
      expect(after.get(name)!.etag, name).toBe(blob.etag);
      expect(after.get(name)!.content.equals(blob.content), name).toBe(true);
    }
    // The failed run did stage blocks on the users blob; they are not part of it.
    const blocks = await container.getBlockBlobClient('latest/users.json').getBlockList('uncommitted');
    expect(blocks.uncommittedBlocks?.length ?? 0).toBeGreaterThan(0);
    // And the next run builds on the last good export, which it still trusts.
    const next = await env.runExport(settings);
    expect(next.exitCode, next.output).toBe(0);
    expect((await containerReader(container).manifest()).changes).toMatchObject({
      compared: true,
      changed: 1,
    });
  });

  it('a run whose state commit fails says what it had committed; the manifest and the state stay the last export, which the next run builds on', async () => {
    const container = service.getContainerClient('stream-partly');
    const settings = { ...STREAM, EXPORT_CONTAINER: container.containerName };
    expect((await env.runExport(settings)).exitCode).toBe(0);
    const before = await snapshot(container);
    env.sandbox.directory.update(60, { department: 'Committed in part' });
    // Storage in front of Azurite that answers the state's Put Block List with 503, every time: the
    // users blob and the change report are committed by then.
    const relay = await startRelay(
      new URL(env.azurite.blobEndpoint),
      (request) =>
        request.method === 'PUT' && /state\/users\.ndjson\.gz\?.*comp=blocklist/.test(request.url ?? ''),
    );
    try {
      const failed = await env.runExport({
        ...settings,
        EXPORT_STORAGE: env.azurite.connectionString.replace(env.azurite.blobEndpoint, relay.blobEndpoint),
      });
      expect(failed.exitCode, failed.output).toBe(1);
      expect(failed.output).toContain('latest/manifest.json is unchanged and still names the last export');
      expect(failed.output).toContain(
        'This run had committed latest/users.json, latest/changes.ndjson already',
      );
      expect(failed.output).not.toContain('Not publishing');
    } finally {
      await relay.stop();
    }
    const after = await snapshot(container);
    for (const name of ['latest/manifest.json', 'state/users.ndjson.gz'])
      expect(after.get(name)!.etag, name).toBe(before.get(name)!.etag);
    // The users blob is this run's, and the manifest's SHA-256 tells a reader it is not the export it describes.
    const manifest = await containerReader(container).manifest();
    const users = after.get('latest/users.json')!.content;
    expect(createHash('sha256').update(users).digest('hex')).not.toBe(manifest.blobs.users.sha256);
    const next = await env.runExport(settings);
    expect(next.exitCode, next.output).toBe(0);
    expect((await containerReader(container).manifest()).changes).toMatchObject({
      compared: true,
      changed: 1,
    });
  });

  it('a run that finds a blob a later run committed publishes nothing more, and says so', async () => {
    // A run that started after this one is committing its blobs: its change report has landed.
    const newer = Buffer.from('{"change":"added"}\n');
    const { container, before, outcome } = await overlapped('stream-newer-blob', 3, async (target) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      await commitAsRun(target, 'latest/changes.ndjson', newer, 'newer-run', new Date());
    });
    expect(outcome.output).toContain('Not publishing: run newer-run, which started later');
    // The users blob was committed first; the manifest that would name it was not.
    expect(outcome.output).toContain(
      'this run had committed latest/users.json, which latest/manifest.json does not name',
    );
    const after = await snapshot(container);
    expect(after.get('latest/changes.ndjson')!.content.equals(newer)).toBe(true);
    for (const name of ['latest/manifest.json', 'state/users.ndjson.gz'])
      expect(after.get(name)!.etag, name).toBe(before.get(name)!.etag);
    expect(env.sandbox.appInsights.events('EntraUserExportSuperseded').at(-1)).toMatchObject({
      properties: { outcome: 'superseded', newerRunId: 'newer-run' },
    });
  });

  it("an earlier-started run's commit of a blob this run is still staging discards its blocks: this run publishes nothing, and says so", async () => {
    // By page 8 more than a 2 MiB block of the users blob is staged.
    const { container, before, outcome } = await overlapped('stream-blocks-lost', 8, (target) =>
      commitAsRun(
        target,
        'latest/users.json',
        Buffer.from('[\n]\n'),
        'older-run',
        new Date('2026-01-01T00:00:00.000Z'),
      ),
    );
    expect(outcome.output).toContain(
      "run older-run, which started earlier (2026-01-01T00:00:00.000Z), committed latest/users.json while this run wrote it, which discards this run's staged blocks; this run committed nothing",
    );
    const after = await snapshot(container);
    for (const name of ['latest/manifest.json', 'state/users.ndjson.gz', 'latest/changes.ndjson'])
      expect(after.get(name)!.etag, name).toBe(before.get(name)!.etag);
  });

  it('a blob changed by something that is no run of this app stops the run as well', async () => {
    const { container, before, outcome } = await overlapped('stream-foreign-blob', 2, async (target) => {
      // Metadata of another shape than a run writes (read back from Storage, so checked) names no run.
      await target.getBlockBlobClient('latest/users.json').upload('edited', 6, {
        metadata: { entrauserexportrunid: 'x'.repeat(80), entrauserexportstartedat: 'tomorrow' },
      });
    });
    expect(outcome.output).toContain(
      'latest/users.json was changed since this run started by something that names no run of this app',
    );
    const after = await snapshot(container);
    expect(after.get('latest/manifest.json')!.etag).toBe(before.get('latest/manifest.json')!.etag);
  });

  it("a run replaces an earlier-started run's blob committed while it listed: newer wins", async () => {
    // The change report is staged after the listing, so another run's commit of it loses nothing of this run's.
    const older = Buffer.from('{"change":"removed"}\n');
    const { container } = await overlapped('stream-older-blob', 2, (target) =>
      commitAsRun(target, 'latest/changes.ndjson', older, 'older-run', new Date('2026-01-01T00:00:00.000Z')),
    );
    const reader = containerReader(container);
    const manifest: ExportManifest = await reader.manifest();
    const changes = await reader.blob('latest/changes.ndjson');
    expect(changes.equals(older)).toBe(false);
    expect(createHash('sha256').update(changes).digest('hex')).toBe(manifest.blobs.changes.sha256);
    expect(manifest.userCount).toBeGreaterThan(USERS - 10);
  });

  it('of two overlapping runs, the one that started later wins, and nothing of the earlier is published', async () => {
    const container = service.getContainerClient('stream-overlap');
    const settings = { ...STREAM, EXPORT_CONTAINER: container.containerName };
    expect((await env.runExport(settings)).exitCode).toBe(0);
    const hold = holdAtPage(2);
    const earlier = env.runExport(settings);
    await hold.atPage;
    env.sandbox.graph.beforePage = undefined;
    env.sandbox.directory.update(50, { department: 'Seen by the later run only' });
    const later = await env.runExport(settings);
    expect(later.exitCode, later.output).toBe(0);
    const published = await snapshot(container);
    hold.release();
    const first = await earlier;
    expect(first.exitCode, first.output).toBe(0);
    expect(first.output).toContain('Not publishing: run');
    const after = await snapshot(container);
    for (const [name, blob] of published) expect(after.get(name)!.etag, name).toBe(blob.etag);
  });
});
