/** `npm run trigger`: runs exportUsers now, through the Functions admin endpoint. */
import { parseArgs } from 'node:util';

import { FUNCTION_NAME } from '../src/functions/exportUsers.js';
import {
  azureTarget,
  LOCAL_HOST_URL,
  type TriggerTarget,
  triggerFunction,
  unsafeTarget,
} from './adminTrigger.js';

const KEY_VARIABLE = 'FUNCTIONS_MASTER_KEY';

const USAGE = `Usage:
  npm run trigger -- --app <function-app> --resource-group <group>   host name and master key from the Azure CLI
  npm run trigger -- --base-url https://<host>                       master key from ${KEY_VARIABLE}, or --key-stdin
  npm run trigger -- --local                                         func start on ${LOCAL_HOST_URL}, no key
Options: --base-url overrides the host; --key-stdin reads the master key from standard input;
--function (default ${FUNCTION_NAME}). The key is never taken as a flag: flags end up in shell
history and in the process list.`;

async function readStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) text += String(chunk);
  return text.trim();
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      app: { type: 'string' },
      'resource-group': { type: 'string' },
      'base-url': { type: 'string' },
      key: { type: 'string' },
      'key-stdin': { type: 'boolean', default: false },
      local: { type: 'boolean', default: false },
      function: { type: 'string', default: FUNCTION_NAME },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.key !== undefined) {
    console.error(
      `--key is not accepted: a key on the command line ends up in shell history and the process list. Set ${KEY_VARIABLE}, or pipe it to --key-stdin.`,
    );
    return 2;
  }
  const givenKey = values['key-stdin'] ? await readStdin() : process.env[KEY_VARIABLE]?.trim() || undefined;
  let target: TriggerTarget;
  if (values.local) {
    target = { baseUrl: values['base-url'] ?? LOCAL_HOST_URL, masterKey: givenKey };
  } else if (values.app !== undefined && values['resource-group'] !== undefined) {
    const fromAzure = await azureTarget(values.app, values['resource-group'], givenKey);
    target = { baseUrl: values['base-url'] ?? fromAzure.baseUrl, masterKey: fromAzure.masterKey };
  } else if (values['base-url'] !== undefined && givenKey !== undefined) {
    target = { baseUrl: values['base-url'], masterKey: givenKey };
  } else {
    console.error(USAGE);
    return 2;
  }
  const unsafe = unsafeTarget(target);
  if (unsafe !== undefined) {
    console.error(unsafe);
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
