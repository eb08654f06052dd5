/**
 * The reference the export is measured against: bare `fetch` of the same Graph pages, JSON.parse,
 * and the same serialisation and compression, nothing else (no SDKs, no Key Vault, no bindings).
 * Reads REFERENCE_* from the environment; prints {users, bytes} as JSON.
 */
import type { Compression, ExportFormat } from '../../src/settings.js';
import { createOutputCollector } from '../../src/export/compressedOutput.js';
import { createSerializer, type GraphUser } from '../../src/export/formats.js';

const env = (name: string) => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};
const select = env('REFERENCE_SELECT').split(',');
const serializer = createSerializer(env('REFERENCE_FORMAT') as ExportFormat, select);
const output = createOutputCollector(env('REFERENCE_COMPRESS') as Compression);
let url: string | undefined = `${env('REFERENCE_GRAPH')}/v1.0/users?$top=999&$select=${select.join(',')}`;
let users = 0;
while (url !== undefined) {
  const response = await fetch(url, { headers: { authorization: `Bearer ${env('REFERENCE_TOKEN')}` } });
  if (!response.ok) throw new Error(`${response.status} from ${url}`);
  const page = (await response.json()) as { value: GraphUser[]; '@odata.nextLink'?: string };
  users += page.value.length;
  await output.write(serializer.page(page.value));
  url = page['@odata.nextLink'];
}
await output.write(serializer.end());
const result = await output.finish();
console.log(JSON.stringify({ users, bytes: result.bytes }));
