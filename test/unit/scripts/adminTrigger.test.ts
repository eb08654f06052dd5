import { createServer, type IncomingMessage, type Server } from 'node:http';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { triggerFunction } from '../../../scripts/adminTrigger.js';

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

const MASTER_KEY = 'master-key-for-test';
const received: Received[] = [];
let server: Server;
let baseUrl: string;

beforeAll(async () => {
  // Answers as the Functions host's admin endpoint does.
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      received.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body });
      if (request.headers['x-functions-key'] !== MASTER_KEY) return void response.writeHead(401).end();
      if (request.method !== 'POST' || request.url !== '/admin/functions/exportUsers')
        return void response.writeHead(404).end();
      response.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('triggerFunction', () => {
  it('POSTs {"input":""} as JSON with the master key, and reports 202 as success', async () => {
    const outcome = await triggerFunction({ baseUrl: `${baseUrl}/`, masterKey: MASTER_KEY }, 'exportUsers');
    expect(outcome).toMatchObject({ ok: true, status: 202 });
    expect(received.at(-1)).toMatchObject({
      method: 'POST',
      url: '/admin/functions/exportUsers',
      body: '{"input":""}',
      headers: { 'content-type': 'application/json', 'x-functions-key': MASTER_KEY },
    });
  });

  it('explains a rejected key', async () => {
    const outcome = await triggerFunction({ baseUrl, masterKey: 'a-function-key' }, 'exportUsers');
    expect(outcome).toMatchObject({ ok: false, status: 401 });
    expect(outcome.message).toMatch(/needs the master key .*az functionapp keys list/);
  });

  it('explains a function name the app does not have', async () => {
    const outcome = await triggerFunction({ baseUrl, masterKey: MASTER_KEY }, 'exportUser');
    expect(outcome).toMatchObject({ ok: false, status: 404 });
    expect(outcome.message).toMatch(/has no function named "exportUser".*func azure functionapp publish/);
  });

  it('sends no key locally, and explains a host that is not running', async () => {
    await triggerFunction({ baseUrl, masterKey: undefined }, 'exportUsers');
    expect(received.at(-1)!.headers['x-functions-key']).toBeUndefined();
    const outcome = await triggerFunction(
      { baseUrl: 'http://127.0.0.1:9', masterKey: undefined },
      'exportUsers',
    );
    expect(outcome.message).toMatch(/^Could not reach http:\/\/127\.0\.0\.1:9: .*func start/);
  });
});
