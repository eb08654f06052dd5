/** `npm run trigger`: runs exportUsers now, through the Functions admin endpoint. */
import { parseArgs } from 'node:util';

import { FUNCTION_NAME } from '../src/functions/exportUsers.js';
import { azureTarget, LOCAL_HOST_URL, type TriggerTarget, triggerFunction } from './adminTrigger.js';

const USAGE = `Usage:
  npm run trigger -- --app <function-app> --resource-group <group>   host name and master key from the Azure CLI
  npm run trigger -- --base-url https://<host> --key <master key>
  npm run trigger -- --local                                         func start on ${LOCAL_HOST_URL}, no key
Options: --key overrides the master key; --base-url overrides the host; --function (default ${FUNCTION_NAME}).`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      app: { type: 'string' },
      'resource-group': { type: 'string' },
      'base-url': { type: 'string' },
      key: { type: 'string' },
      local: { type: 'boolean', default: false },
      function: { type: 'string', default: FUNCTION_NAME },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  let target: TriggerTarget;
  if (values.local) {
    target = { baseUrl: values['base-url'] ?? LOCAL_HOST_URL, masterKey: values.key };
  } else if (values.app !== undefined && values['resource-group'] !== undefined) {
    const fromAzure = await azureTarget(values.app, values['resource-group'], values.key);
    target = { baseUrl: values['base-url'] ?? fromAzure.baseUrl, masterKey: fromAzure.masterKey };
  } else if (values['base-url'] !== undefined && values.key !== undefined) {
    target = { baseUrl: values['base-url'], masterKey: values.key };
  } else {
    console.error(USAGE);
    return 2;
  }
  const outcome = await triggerFunction(target, values.function);
  (outcome.ok ? console.log : console.error)(outcome.message);
  return outcome.ok ? 0 : 1;
}

main().then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  },
);
