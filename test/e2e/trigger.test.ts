import { spawn } from 'node:child_process';
import { mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { createCertificateAuthority } from '../../sandbox/certificates.js';

const TRIGGER = join(import.meta.dirname, '..', '..', 'dist', 'scripts', 'trigger.js');
const FAKE_AZ = join(import.meta.dirname, '..', 'fakes', 'fake-az.mjs');

const keys: (string | undefined)[] = [];
const server = createServer((request, response) => {
  keys.push(request.headers['x-functions-key'] as string | undefined);
  response
    .writeHead(request.method === 'POST' && request.url === '/admin/functions/exportUsers' ? 202 : 404)
    .end();
});
let env: Record<string, string>;
let baseUrl: string;

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const dir = mkdtempSync(join(tmpdir(), 'trigger-'));
  symlinkSync(FAKE_AZ, join(dir, 'az'));
  writeFileSync(
    join(dir, 'state.json'),
    JSON.stringify({
      functionApp: {
        name: 'func-export',
        defaultHostName: 'func-export.azurewebsites.net',
        masterKey: 'the-master-key',
      },
    }),
  );
  env = {
    PATH: `${dir}:${process.env['PATH'] ?? ''}`,
    FAKE_AZ_STATE: join(dir, 'state.json'),
    FAKE_AZ_LOG: join(dir, 'calls.log'),
  };
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function trigger(args: string[]): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [TRIGGER, ...args], { env });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('close', (status) => resolve({ status, output }));
  });
}

it('with --app and --resource-group, fetches the master key with the Azure CLI and starts the function', async () => {
  // The CLI's host name is https in Azure; --base-url points the same request at the local stand-in.
  const run = await trigger(['--app', 'func-export', '--resource-group', 'rg', '--base-url', baseUrl]);
  expect(run.status, run.output).toBe(0);
  expect(run.output).toMatch(/^Accepted: exportUsers is running/);
  expect(keys.at(-1)).toBe('the-master-key');
});

it('explains an app the Azure CLI does not know, before sending anything', async () => {
  const sent = keys.length;
  const run = await trigger(['--app', 'func-other', '--resource-group', 'rg']);
  expect(run.status).toBe(1);
  expect(run.output).toMatch(
    /az functionapp show failed: ERROR: The function app 'func-other' was not found/,
  );
  expect(keys.length).toBe(sent);
});

it('--local sends no key, and a wrong --function name is a clear 404', async () => {
  const run = await trigger(['--local', '--base-url', baseUrl, '--function', 'exportUser']);
  expect(run.status).toBe(1);
  expect(run.output).toMatch(/404: .* has no function named "exportUser"/);
  expect(keys.at(-1)).toBeUndefined();
});

function triggerWith(args: string[], extraEnv: Record<string, string>, stdin?: string) {
  return new Promise<{ status: number | null; output: string }>((resolve) => {
    const child = spawn(process.execPath, [TRIGGER, ...args], { env: { ...env, ...extraEnv } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('close', (status) => resolve({ status, output }));
    child.stdin.end(stdin ?? '');
  });
}

it('takes the master key from FUNCTIONS_MASTER_KEY or standard input, never from a flag', async () => {
  const fromEnvironment = await triggerWith(['--base-url', baseUrl], {
    FUNCTIONS_MASTER_KEY: 'key-from-env',
  });
  expect(fromEnvironment.status, fromEnvironment.output).toBe(0);
  expect(keys.at(-1)).toBe('key-from-env');
  const fromStdin = await triggerWith(['--base-url', baseUrl, '--key-stdin'], {}, 'key-from-stdin\n');
  expect(fromStdin.status, fromStdin.output).toBe(0);
  expect(keys.at(-1)).toBe('key-from-stdin');
  const sent = keys.length;
  const flag = await triggerWith(['--base-url', baseUrl, '--key', 'key-on-the-command-line'], {});
  expect(flag.status).toBe(2);
  expect(flag.output).toMatch(/--key is not accepted: .*FUNCTIONS_MASTER_KEY.*--key-stdin/);
  expect(keys.length).toBe(sent);
});

it('refuses to send the key over plain http to another machine', async () => {
  const sent = keys.length;
  const run = await triggerWith(['--base-url', 'http://func-export.example.net'], {
    FUNCTIONS_MASTER_KEY: 'k',
  });
  expect(run.status).toBe(2);
  expect(run.output).toMatch(
    /Refusing to send the master key to http:\/\/func-export\.example\.net: only over https/,
  );
  expect(keys.length).toBe(sent);
});

it('follows no redirect with the key: an https endpoint answering 308 to plain http gets no second request', async () => {
  const authority = createCertificateAuthority('trigger test CA');
  const dir = mkdtempSync(join(tmpdir(), 'trigger-tls-'));
  writeFileSync(join(dir, 'ca.pem'), authority.certificatePem);
  const { keyPem, certificatePem } = authority.issueServerCertificate(['127.0.0.1']);
  const sent = keys.length;
  const redirecting = createHttpsServer({ key: keyPem, cert: certificatePem }, (request, response) => {
    response.writeHead(308, { location: `${baseUrl}${request.url ?? '/'}` }).end();
  });
  await new Promise<void>((resolve) => redirecting.listen(0, '127.0.0.1', resolve));
  try {
    const port = (redirecting.address() as { port: number }).port;
    const run = await triggerWith(['--base-url', `https://127.0.0.1:${port}`], {
      FUNCTIONS_MASTER_KEY: 'the-master-key',
      NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem'),
    });
    expect(run.status, run.output).toBe(1);
    expect(run.output).toMatch(
      /^308: https:\/\/127\.0\.0\.1:\d+ redirects to http:\/\/127\.0\.0\.1:\d+\/admin\/functions\/exportUsers; not followed/,
    );
    expect(run.output).not.toMatch(/Accepted/);
    expect(keys.length).toBe(sent);
  } finally {
    await new Promise<void>((resolve) => redirecting.close(() => resolve()));
  }
});

it('refuses a --base-url with credentials in it, and never prints them', async () => {
  const sent = keys.length;
  const run = await triggerWith(['--base-url', 'https://admin:hunter2@func-export.azurewebsites.net'], {
    FUNCTIONS_MASTER_KEY: 'k',
  });
  expect(run.status).toBe(2);
  expect(run.output).toMatch(
    /Refusing --base-url with a user name or password in it \(https:\/\/func-export\.azurewebsites\.net\)/,
  );
  expect(run.output).not.toMatch(/hunter2|admin:/);
  expect(keys.length).toBe(sent);
});
