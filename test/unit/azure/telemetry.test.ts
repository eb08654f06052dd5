import { describe, expect, it } from 'vitest';

import { createRunTelemetry } from '../../../src/azure/telemetry.js';

describe('createRunTelemetry', () => {
  it('does nothing, and sends nothing, without a connection string', async () => {
    const telemetry = createRunTelemetry({ connectionString: undefined, entraAuthentication: undefined });
    telemetry.trackFailed(new Error('x'), 'Unexpected');
    await expect(telemetry.flush()).resolves.toBeUndefined();
  });
});
