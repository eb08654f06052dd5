import { describe, expect, it } from 'vitest';

import { createRunTelemetry, entraAuthentication } from '../../../src/azure/telemetry.js';

describe('entraAuthentication', () => {
  it('reads the authentication string the Functions host uses', () => {
    expect(entraAuthentication('ClientId=abc-123;Authorization=AAD')).toEqual({ clientId: 'abc-123' });
    expect(entraAuthentication('Authorization=AAD')).toEqual({ clientId: undefined });
  });

  it('ignores an empty or non-Entra string', () => {
    expect(entraAuthentication(undefined)).toBeUndefined();
    expect(entraAuthentication('')).toBeUndefined();
    expect(entraAuthentication('Authorization=Key')).toBeUndefined();
  });
});

describe('createRunTelemetry', () => {
  it('does nothing, and sends nothing, without a connection string', async () => {
    const telemetry = createRunTelemetry({});
    telemetry.trackFailed(new Error('x'));
    await expect(telemetry.flush()).resolves.toBeUndefined();
  });
});
