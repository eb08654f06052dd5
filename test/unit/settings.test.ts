import { describe, expect, it } from 'vitest';

import { registrationSettings, telemetrySettings } from '../../src/config.js';
import { readSetting, SETTING_NAMES, SETTINGS, settingOrDefault } from '../../src/settings.js';

describe('the settings table', () => {
  it('parses every default it declares with its own parser', () => {
    for (const name of SETTING_NAMES) {
      if (SETTINGS[name].default === undefined) continue;
      expect(readSetting({}, name), name).toMatchObject({ state: 'default' });
    }
  });

  it('parses every value local.settings.example.json holds for it, or leaves it unset', () => {
    for (const name of SETTING_NAMES) {
      const example = SETTINGS[name].example;
      if (example === undefined || example.startsWith('<') || example.includes('<your-')) continue;
      expect(readSetting({ [name]: example }, name).state, name).not.toBe('invalid');
    }
  });
});

describe('registration settings', () => {
  it('uses the same values the run validates', () => {
    expect(
      registrationSettings({
        EXPORT_SCHEDULE: ' 0  30 1 * * Mon-Fri ',
        EXPORT_CONTAINER: 'users-export',
        EXPORT_FORMAT: 'CSV',
        EXPORT_COMPRESS: 'gzip',
        EXPORT_WRITE: ' Stream ',
      }),
    ).toEqual({
      schedule: '0 30 1 * * Mon-Fri',
      container: 'users-export',
      format: 'csv',
      compression: 'gzip',
      write: 'stream',
    });
  });

  it('falls back to the default for an invalid value, so the function still loads and its run reports it', () => {
    expect(
      registrationSettings({
        EXPORT_SCHEDULE: '0 2 * * *',
        EXPORT_CONTAINER: 'Bad_Name',
        EXPORT_FORMAT: 'xml',
        EXPORT_WRITE: 'files',
      }),
    ).toEqual({
      schedule: '0 0 2 * * *',
      container: 'entra-users',
      format: 'json',
      compression: 'none',
      write: 'bindings',
    });
    expect(settingOrDefault({ EXPORT_PARALLELISM: '99' }, 'EXPORT_PARALLELISM')).toBe(1);
  });
});

describe('telemetry settings', () => {
  it('reads the authentication string the Functions host uses', () => {
    expect(
      telemetrySettings({
        APPLICATIONINSIGHTS_CONNECTION_STRING: 'InstrumentationKey=k',
        APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=abc-123;Authorization=AAD',
      }),
    ).toEqual({ connectionString: 'InstrumentationKey=k', entraAuthentication: { clientId: 'abc-123' } });
    expect(telemetrySettings({ APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD' })).toEqual({
      connectionString: undefined,
      entraAuthentication: { clientId: undefined },
    });
  });

  it('treats an empty or non-Entra authentication string as none (the configuration check reports the latter)', () => {
    expect(
      telemetrySettings({ APPLICATIONINSIGHTS_AUTHENTICATION_STRING: '' }).entraAuthentication,
    ).toBeUndefined();
    expect(
      telemetrySettings({ APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=Key' })
        .entraAuthentication,
    ).toBeUndefined();
    expect(
      readSetting(
        { APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=Key' },
        'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
      ),
    ).toMatchObject({
      state: 'invalid',
      problem: expect.stringMatching(
        /^APPLICATIONINSIGHTS_AUTHENTICATION_STRING must be "Authorization=AAD"/,
      ) as unknown,
    });
  });
});
