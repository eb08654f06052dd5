import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The well-known Azurite development account: public, the same in every Azurite. */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface Azurite {
  blobEndpoint: string;
  connectionString: string;
  stop(): Promise<void>;
}

export interface AzuriteOptions {
  /**
   * A folder that keeps the blobs between runs (Azurite's `--location`: its `__azurite_db_blob*.json`
   * and `__blobstorage__/` go there). Without one, the blobs live in memory and go with the process.
   */
  location?: string;
}

/**
 * How long a persisted Azurite may take to stop: on SIGTERM it closes its server and then saves its
 * LokiJS metadata (which it otherwise autosaves every 5 s), so killing it sooner can lose the
 * last writes (azurite 3.37.0, dist/src/blob/main.js `shutdown`, LokiBlobMetadataStore `close`).
 */
const PERSISTED_STOP_MS = 15_000;

/**
 * Starts Azurite's blob service from npm on a free port, in memory or in `options.location`.
 * Telemetry is off: Azurite otherwise sends usage data to Microsoft and writes an `AzuriteConfig`
 * instance-id file into its location (azurite 3.37.0, dist/src/common/Telemetry.js `init`,
 * `GetInstanceID`), and nothing the sandbox runs may leave the machine.
 */
export async function startAzurite(options: AzuriteOptions = {}): Promise<Azurite> {
  const require = createRequire(import.meta.url);
  const main = join(dirname(require.resolve('azurite/package.json')), 'dist', 'src', 'blob', 'main.js');
  const storage =
    options.location === undefined ? ['--inMemoryPersistence'] : ['--location', options.location];
  const child: ChildProcess = spawn(
    process.execPath,
    [
      main,
      '--blobHost',
      '127.0.0.1',
      '--blobPort',
      '0',
      ...storage,
      '--disableTelemetry',
      '--silent',
      '--skipApiVersionCheck',
      '--loose',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`Azurite did not start in 30 s:\n${output}`)), 30_000);
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listens on http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout?.on('data', read);
    child.stderr?.on('data', read);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Azurite exited with ${String(code)}:\n${output}`));
    });
  });
  const blobEndpoint = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
  return {
    blobEndpoint,
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${blobEndpoint};`,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      // Azurite holds keep-alive sockets open for a while; in memory it has nothing to save, while a
      // persisted one is given the time to write its metadata.
      const kill = setTimeout(
        () => child.kill('SIGKILL'),
        options.location === undefined ? 1000 : PERSISTED_STOP_MS,
      );
      await exited;
      clearTimeout(kill);
    },
  };
}
