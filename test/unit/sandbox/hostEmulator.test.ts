import { input, output, type InvocationContext } from '@azure/functions';
import { describe, expect, it } from 'vitest';

import {
  FunctionFailedError,
  invokeTimerFunction,
  OutputBindingError,
  type TimerFunctionDefinition,
} from '../../../sandbox/host/hostEmulator.js';

const usersOutput = output.storageBlob({ path: 'c/{DateTime:HHmmss}/users.json', connection: 'STORE' });
const manifestOutput = output.storageBlob({ path: 'c/{DateTime:HHmmss}/manifest.json', connection: 'STORE' });
const unsetOutput = output.storageBlob({ path: 'c/unset.json', connection: 'STORE' });

function definition(handler: (context: InvocationContext) => Promise<void>): TimerFunctionDefinition {
  return {
    name: 'probe',
    options: {
      schedule: '0 0 2 * * *',
      extraOutputs: [usersOutput, manifestOutput, unsetOutput],
      handler: (_timer, context) => handler(context),
    },
  };
}

const setBoth = async (context: InvocationContext) => {
  context.extraOutputs.set(usersOutput, Buffer.from('users!'));
  context.extraOutputs.set(manifestOutput, '{"m":1}');
};

function recordingStore(options: { failPath?: RegExp; delayMs?: number } = {}) {
  const events: string[] = [];
  const stored = new Map<string, Buffer>();
  const writeBlob = async (connection: string, path: string, content: Buffer) => {
    events.push(`start ${connection} ${path}`);
    await new Promise((resolve) => setTimeout(resolve, options.delayMs ?? 5));
    if (options.failPath?.test(path)) throw new Error('storage said no');
    stored.set(path, content);
    events.push(`end ${path}`);
  };
  return { events, stored, writeBlob };
}

describe('the host emulator', () => {
  it('like the host, writes nothing when the handler throws', async () => {
    const store = recordingStore();
    const failing = definition(async (context) => {
      await setBoth(context);
      throw new Error('Graph went away');
    });
    await expect(
      invokeTimerFunction(failing, { env: {}, log: () => undefined, writeBlob: store.writeBlob }),
    ).rejects.toBeInstanceOf(FunctionFailedError);
    expect(store.events).toEqual([]);
  });

  it('like the host, binds the outputs only after the handler returned, all at once', async () => {
    const store = recordingStore({ delayMs: 20 });
    let handlerDone = false;
    const invocation = await invokeTimerFunction(
      definition(async (context) => {
        await setBoth(context);
        await new Promise((resolve) => setTimeout(resolve, 10));
        expect(store.events).toEqual([]);
        handlerDone = true;
      }),
      { env: {}, log: () => undefined, writeBlob: store.writeBlob },
    );
    expect(handlerDone).toBe(true);
    // Concurrent: both uploads started before either finished.
    expect(store.events.slice(0, 2).every((event) => event.startsWith('start STORE'))).toBe(true);
    expect(invocation.written.map((blob) => blob.bytes).sort()).toEqual([6, 7]);
    expect(store.stored.has('c/unset.json')).toBe(false);
  });

  it('counts every output byte the worker hands to the host', async () => {
    const store = recordingStore();
    const shared = Buffer.alloc(1000);
    const invocation = await invokeTimerFunction(
      definition(async (context) => {
        context.extraOutputs.set(usersOutput, shared);
        context.extraOutputs.set(manifestOutput, shared);
      }),
      { env: {}, log: () => undefined, writeBlob: store.writeBlob },
    );
    // The same buffer set on two outputs crosses twice, as it does in Azure.
    expect(invocation.handedOverBytes).toBe(2000);
  });

  it('like the host, resolves each path when it binds, with its own clock reading', async () => {
    const store = recordingStore();
    const readings = [new Date('2026-11-25T02:00:00.999Z'), new Date('2026-11-25T02:00:01.000Z')];
    const invocation = await invokeTimerFunction(definition(setBoth), {
      env: {},
      log: () => undefined,
      clock: () => readings.shift() ?? new Date('2026-11-25T02:00:01.000Z'),
      writeBlob: store.writeBlob,
    });
    expect(invocation.written.map((blob) => blob.path).sort()).toEqual([
      'c/020000/users.json',
      'c/020001/manifest.json',
    ]);
  });

  it('like the host, can leave some outputs written when another fails', async () => {
    const store = recordingStore({ failPath: /manifest/ });
    const failure = await invokeTimerFunction(definition(setBoth), {
      env: {},
      log: () => undefined,
      writeBlob: store.writeBlob,
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OutputBindingError);
    expect((failure as OutputBindingError).written.map((blob) => blob.path)).toEqual([
      expect.stringMatching(/users\.json$/) as unknown,
    ]);
    expect((failure as Error).message).toMatch(
      /Writing 1 of the function's outputs failed .*storage said no/,
    );
  });
});

describe('blob inputs, as the Node worker hands them over', () => {
  it('gives bytes for dataType binary, and a JSON blob read as text as the parsed value', async () => {
    const asText = input.storageBlob({ path: 'c/manifest.json', connection: 'STORE' });
    const asBytes = input.storageBlob({
      path: 'c/manifest.json',
      connection: 'STORE',
      dataType: 'binary',
    } as never);
    const plainText = input.storageBlob({ path: 'c/note.txt', connection: 'STORE' });
    const seen = new Map<string, unknown>();
    await invokeTimerFunction(
      {
        name: 'probe',
        options: {
          schedule: '0 0 2 * * *',
          extraInputs: [asText, asBytes, plainText],
          handler: (_timer, context) => {
            seen.set('text', context.extraInputs.get(asText));
            seen.set('bytes', context.extraInputs.get(asBytes));
            seen.set('plain', context.extraInputs.get(plainText));
          },
        },
      },
      {
        env: {},
        log: () => undefined,
        readBlob: async (_connection, path) =>
          Buffer.from(path.endsWith('.json') ? '{"userCount": 3}' : 'not json'),
        writeBlob: async () => undefined,
      },
    );
    expect(seen.get('text')).toEqual({ userCount: 3 });
    expect(Buffer.isBuffer(seen.get('bytes'))).toBe(true);
    expect(seen.get('plain')).toBe('not json');
  });
});
