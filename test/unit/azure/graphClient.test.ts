import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';

import { Client } from '@microsoft/microsoft-graph-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { createCertificateAuthority } from '../../../sandbox/certificates.js';
import { SandboxDirectory } from '../../../sandbox/directory.js';
import { SandboxGraph } from '../../../sandbox/graph.js';
import { SandboxTenant } from '../../../sandbox/tenant.js';
import { DeadlineError } from '../../../src/azure/deadlines.js';
import { DeadlineFetchHandler, RunBudgetError } from '../../../src/azure/graphClient.js';
import { classifyGraphFailure, explainGraphError } from '../../../src/azure/serviceErrors.js';
import { loadConfig } from '../../../src/config.js';
import { validEnv } from '../validEnv.js';

// The sandbox's Graph over plain http, with its stall and trickle faults: what the adversarial
// runs saw. The deadlines are the handler's parameters, so a test waits a fraction of a second
// for what takes 100 s in a run.
const tenant = new SandboxTenant();
const app = tenant.registerApp({ graphRoles: ['User.Read.All'] });
let origin = '';
const graph = new SandboxGraph(tenant, new SandboxDirectory({ size: 30 }), () => origin);
let server: Server;
let authorization = '';

beforeAll(async () => {
  server = createServer((request, response) => void graph.handle(request, response));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  authorization = `Bearer ${tenant.issueAccessToken(app, origin).token}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
beforeEach(() => {
  graph.faults = [];
});

const PAGE = '/users?$top=10&$select=id,displayName';

function deadlines(overrides: Partial<ConstructorParameters<typeof DeadlineFetchHandler>[0]> = {}) {
  return new DeadlineFetchHandler({
    requestTimeoutMs: 300,
    runDeadline: Date.now() + 60_000,
    now: Date.now,
    ...overrides,
  });
}

/** Graph's own client, with the handler as its last middleware; an http URL is a path under its base URL. */
function get(handler: DeadlineFetchHandler): Promise<unknown> {
  return Client.initWithMiddleware({ middleware: handler, baseUrl: origin })
    .api(PAGE)
    .header('Authorization', authorization)
    .get() as Promise<unknown>;
}

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the request to fail');
}

describe('a Graph request under its deadline', () => {
  it('fails a page that stalls before its headers, naming the host and what stalled, as a transient failure', async () => {
    graph.faults = [{ page: 1, kind: 'stall-before-headers' }];
    const error = await failureOf(get(deadlines()));
    expect((error as Error).message).toBe(
      `Microsoft Graph (${new URL(origin).host}) did not answer within 0.3 s: the response headers never came.`,
    );
    expect(classifyGraphFailure(error, Date.now())).toEqual({ kind: 'transient' });
  });

  it('fails a page whose body trickles: the deadline covers the body, not only the headers', async () => {
    graph.faults = [{ page: 1, kind: 'trickle', delayMs: 20 }];
    const error = await failureOf(get(deadlines()));
    expect((error as Error).message).toMatch(
      /^Microsoft Graph \(127\.0\.0\.1:\d+\) did not answer within 0\.3 s: the body was still incomplete after [1-9]\d* bytes\.$/,
    );
    expect(classifyGraphFailure(error, Date.now())).toEqual({ kind: 'transient' });
  });

  it("ends a request in flight when the run's time budget ends, and that is not retried", async () => {
    graph.faults = [{ page: 1, kind: 'stall-before-headers', times: Infinity }];
    const handler = deadlines({ requestTimeoutMs: 60_000, runDeadline: Date.now() + 200 });
    const direct = await failureOf(
      handler.execute({
        request: `${origin}/v1.0${PAGE}`,
        options: { headers: { Authorization: authorization } },
      }),
    );
    expect(direct).toBeInstanceOf(RunBudgetError);
    expect(direct).toBeInstanceOf(DeadlineError);
    const error = await failureOf(
      get(deadlines({ requestTimeoutMs: 60_000, runDeadline: Date.now() + 200 })),
    );
    expect((error as Error).message).toMatch(
      /the response headers never came, and the run's time budget ended\.$/,
    );
    expect(classifyGraphFailure(error, Date.now())).toEqual({ kind: 'fatal' });
  });

  it('hands a page that arrives in time to the Graph client whole', async () => {
    const body = (await get(deadlines({ requestTimeoutMs: 10_000 }))) as { value: { id: string }[] };
    expect(body.value).toHaveLength(10);
    expect(body.value[0]).toHaveProperty('displayName');
  });
});

describe('a Graph endpoint whose certificate this machine does not trust', () => {
  it('is explained as a TLS trust failure naming NODE_EXTRA_CA_CERTS, not as a dropped connection', async () => {
    const authority = createCertificateAuthority('a CA this process does not trust');
    const { keyPem, certificatePem } = authority.issueServerCertificate(['127.0.0.1']);
    const untrusted = createHttpsServer({ key: keyPem, cert: certificatePem }, (_request, response) =>
      response.end('{}'),
    );
    await new Promise<void>((resolve) => untrusted.listen(0, '127.0.0.1', resolve));
    try {
      const endpoint = `https://127.0.0.1:${(untrusted.address() as { port: number }).port}`;
      const error = await failureOf(
        Client.initWithMiddleware({ middleware: deadlines() }).api(`${endpoint}/v1.0/users`).get(),
      );
      const config = loadConfig(validEnv({ GRAPH_ENDPOINT: endpoint }));
      const explained = explainGraphError(error, config, { throttled: 0, transient: 0 });
      expect(explained.message).toMatch(
        /a TLS trust failure\. The TLS certificate of 127\.0\.0\.1:\d+ is not trusted on this machine \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)\. .*NODE_EXTRA_CA_CERTS/,
      );
    } finally {
      untrusted.closeAllConnections();
      await new Promise<void>((resolve) => untrusted.close(() => resolve()));
    }
  });
});
