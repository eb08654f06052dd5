/**
 * `npm run sandbox`: starts the sandbox tenant and Azurite and keeps them up until Ctrl-C, printing
 * the local.settings.json that makes `func start` (Core Tools) run the function against them.
 */
import { parseArgs } from 'node:util';

import { startAzurite } from '../sandbox/azurite.js';
import { startSandbox } from '../sandbox/sandbox.js';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { users: { type: 'string', default: '2500' } } });
  const users = Number(values.users);
  if (!Number.isInteger(users) || users < 0)
    throw new Error(`--users takes a whole number; got "${values.users}".`);
  const [sandbox, azurite] = await Promise.all([startSandbox({ users }), startAzurite()]);
  const localSettings = {
    IsEncrypted: false,
    Values: {
      FUNCTIONS_WORKER_RUNTIME: 'node',
      AzureWebJobsStorage: azurite.connectionString,
      EXPORT_STORAGE: azurite.connectionString,
      ...sandbox.appSettings(),
      // The worker process reads these at start: trust the sandbox CA, reach Azure names through its proxy,
      // and sign in to Key Vault as the function's identity.
      ...sandbox.processEnvironment(),
    },
  };
  console.log(
    `Sandbox tenant ${sandbox.tenant.tenantId} with ${users} users at ${sandbox.origin}; Azurite at ${azurite.blobEndpoint}.`,
  );
  console.log('For `func start`, use this local.settings.json:\n');
  console.log(JSON.stringify(localSettings, null, 2));
  console.log(
    '\nTo export it with `npm run export`, save that JSON as sandbox.settings.json and run\n' +
      '  npm run export -- --settings sandbox.settings.json\n' +
      '(the run starts itself again with the NODE_EXTRA_CA_CERTS it names: Node reads that variable only at start).',
  );
  console.log('\nThe sandbox runs until Ctrl-C.');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await Promise.all([sandbox.stop(), azurite.stop()]);
  console.log('Sandbox and Azurite stopped.');
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exitCode = 1;
});
