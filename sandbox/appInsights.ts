import type { IncomingMessage, ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';

import { readBody, sendJson } from './http.js';

/** A telemetry item as the Application Insights ingestion endpoint receives it. */
export interface TelemetryEnvelope {
  name: string;
  iKey?: string;
  time?: string;
  data?: { baseType?: string; baseData?: Record<string, unknown> };
  tags?: Record<string, string>;
}

/** The ingestion endpoint (`/v2.1/track`) of Application Insights. */
export class SandboxAppInsights {
  readonly items: TelemetryEnvelope[] = [];
  readonly rawBodies: string[] = [];
  /** Read each request and never answer it: an ingestion endpoint that accepts and then hangs. */
  neverAnswer = false;

  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let body = await readBody(request);
    if (this.neverAnswer) return;
    if (request.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
    const text = body.toString('utf8');
    this.rawBodies.push(text);
    const trimmed = text.trim();
    const envelopes = (
      trimmed.startsWith('[')
        ? JSON.parse(trimmed)
        : trimmed
            .split('\n')
            .filter(Boolean)
            .map((line) => JSON.parse(line) as unknown)
    ) as TelemetryEnvelope[];
    this.items.push(...envelopes);
    sendJson(response, 200, { itemsReceived: envelopes.length, itemsAccepted: envelopes.length, errors: [] });
  }

  /** Custom events, by name. */
  events(name: string): Record<string, unknown>[] {
    return this.items
      .filter((item) => item.data?.baseType === 'EventData' && item.data.baseData?.['name'] === name)
      .map((item) => item.data!.baseData!);
  }
}
