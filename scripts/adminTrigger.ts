import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

export const LOCAL_HOST_URL = 'http://localhost:7071';

/** The admin endpoint answers 202 as soon as the run is queued; a minute is ample for that. */
const TRIGGER_TIMEOUT_MS = 60_000;

export interface TriggerTarget {
  baseUrl: string;
  masterKey: string | undefined;
}

export interface TriggerOutcome {
  ok: boolean;
  status: number;
  message: string;
}

/**
 * Runs a non-HTTP function now through the host's admin endpoint, as the portal's "Test/Run" does:
 * POST /admin/functions/{name} with the master key and an `input` body.
 */
export async function triggerFunction(target: TriggerTarget, functionName: string): Promise<TriggerOutcome> {
  const url = `${target.baseUrl.replace(/\/+$/, '')}/admin/functions/${encodeURIComponent(functionName)}`;
  const shown = printableUrl(target.baseUrl);
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (target.masterKey !== undefined) headers['x-functions-key'] = target.masterKey;
  let response: Response;
  try {
    // No redirect is followed: fetch would carry x-functions-key to wherever a Location points
    // (another origin, plain http), and only the URL given here was checked (unsafeTarget).
    response = await fetch(url, {
      method: 'POST',
      headers,
      body: JSON.stringify({ input: '' }),
      redirect: 'manual',
      signal: AbortSignal.timeout(TRIGGER_TIMEOUT_MS),
    });
  } catch (error) {
    const reason =
      error instanceof Error && error.name === 'TimeoutError'
        ? `no answer within ${TRIGGER_TIMEOUT_MS / 1000} s`
        : error instanceof Error && error.cause instanceof Error
          ? error.cause.message
          : String(error);
    return {
      ok: false,
      status: 0,
      message: `Could not reach ${shown}: ${reason}. Is the app running (func start) or the URL right?`,
    };
  }
  const body = (await response.text()).slice(0, 300);
  if (response.status >= 300 && response.status < 400) {
    const location = response.headers.get('location');
    return {
      ok: false,
      status: response.status,
      message: `${response.status}: ${shown} redirects${location === null ? '' : ` to ${printableUrl(location, url)}`}; not followed, so the master key went nowhere else and the function was not started. If that is the app, pass its https address as --base-url.`,
    };
  }
  switch (response.status) {
    case 202:
      return {
        ok: true,
        status: 202,
        message: `Accepted: ${functionName} is running on ${shown}. Its log lines go to Application Insights and the log stream.`,
      };
    case 401:
    case 403:
      return {
        ok: false,
        status: response.status,
        message: `${response.status}: the host did not accept the key. The admin endpoint needs the master key (az functionapp keys list -g <group> -n <app> --query masterKey), not a function key.`,
      };
    case 404:
      return {
        ok: false,
        status: 404,
        message: `404: ${shown} has no function named "${functionName}". Is the app published (func azure functionapp publish <app>) and the name right?`,
      };
    default:
      return {
        ok: false,
        status: response.status,
        message: `${response.status} from ${printableUrl(url)}: ${body}`,
      };
  }
}

/**
 * Why a master key must not go to this target, if it must not: anything but https, except this
 * machine (func start listens on http://localhost:7071).
 */
export function unsafeTarget(target: TriggerTarget): string | undefined {
  let url: URL;
  try {
    url = new URL(target.baseUrl);
  } catch {
    return '--base-url is not a URL (such as https://<app>.azurewebsites.net).';
  }
  if (url.username !== '' || url.password !== '') {
    return `Refusing --base-url with a user name or password in it (${printableUrl(target.baseUrl)}): the admin endpoint takes the master key from FUNCTIONS_MASTER_KEY or --key-stdin, and a credential in a URL ends up in shell history and logs.`;
  }
  if (target.masterKey === undefined) return undefined;
  const local = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !local) {
    return `Refusing to send the master key to ${url.origin}: only over https (or to this machine).`;
  }
  return undefined;
}

/** A URL as it may be printed: its origin and path, never a user name, password, query or fragment. */
export function printableUrl(text: string, base?: string): string {
  try {
    const url = new URL(text, base);
    return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
  } catch {
    return '(not a URL)';
  }
}

const run = promisify(execFile);

/** Asks the Azure CLI for the app's host name and master key. */
export async function azureTarget(
  app: string,
  resourceGroup: string,
  knownKey: string | undefined,
): Promise<TriggerTarget> {
  const az = async (args: string[]) => {
    try {
      return (await run('az', args, { encoding: 'utf8' })).stdout.trim();
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr?.trim();
      throw new Error(
        `az ${args.slice(0, 2).join(' ')} failed${stderr ? `: ${stderr}` : ''}. Is the Azure CLI installed and signed in (az login)?`,
        { cause: error },
      );
    }
  };
  const host = await az([
    'functionapp',
    'show',
    '-g',
    resourceGroup,
    '-n',
    app,
    '--query',
    'defaultHostName',
    '-o',
    'tsv',
  ]);
  const masterKey =
    knownKey ??
    (await az([
      'functionapp',
      'keys',
      'list',
      '-g',
      resourceGroup,
      '-n',
      app,
      '--query',
      'masterKey',
      '-o',
      'tsv',
    ]));
  return { baseUrl: `https://${host}`, masterKey };
}
