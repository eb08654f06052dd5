import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { EMPLOYEE_NUMBER_EXTENSION } from '../../sandbox/directory.js';
import { type Environment, exportedUsers, startEnvironment } from './harness.js';

let env: Environment;
beforeAll(async () => {
  env = await startEnvironment({ users: 1300 });
});
afterAll(async () => env.stop());

const SELECT = `id,displayName,signInActivity,onPremisesExtensionAttributes,employeeOrgData,${EMPLOYEE_NUMBER_EXTENSION}`;

/** What Graph holds for user `index`, as the export should show it in JSON. */
function expectedUser(index: number) {
  const user = env.sandbox.directory.user(index);
  const managerIndex = env.sandbox.directory.managerIndex(index);
  const manager = managerIndex === undefined ? null : env.sandbox.directory.user(managerIndex);
  return {
    id: user.id,
    displayName: user['displayName'],
    signInActivity: user['signInActivity'],
    onPremisesExtensionAttributes: user['onPremisesExtensionAttributes'],
    employeeOrgData: user['employeeOrgData'],
    [EMPLOYEE_NUMBER_EXTENSION]: user[EMPLOYEE_NUMBER_EXTENSION],
    manager:
      manager === null
        ? null
        : {
            id: manager.id,
            displayName: manager['displayName'],
            userPrincipalName: manager.userPrincipalName,
            mail: manager['mail'],
          },
  };
}

describe('sign-in activity, managers and extension attributes', () => {
  it.each(['json', 'ndjson'])('%s keeps the nested shape, nulls where there is nothing', async (format) => {
    const requestsBefore = env.sandbox.graph.requests.length;
    const run = await env.runExport({
      EXPORT_FORMAT: format,
      EXPORT_SELECT: SELECT,
      EXPORT_INCLUDE_MANAGER: 'true',
    });
    expect(run.exitCode, run.output).toBe(0);
    const users = await exportedUsers(env, format);
    expect(users).toEqual(Array.from({ length: 1300 }, (_, index) => expectedUser(index)));
    expect(users.some((user) => user['signInActivity'] === null)).toBe(true);
    expect(users.some((user) => user['manager'] === null)).toBe(true);

    // One request a page, 500 users a page with signInActivity, the manager in the same request.
    const pages = env.sandbox.graph.requests
      .slice(requestsBefore)
      .filter((request) => request.path === '/v1.0/users');
    expect(pages).toHaveLength(3);
    expect(pages[0]!.query).toMatchObject({
      $top: '500',
      $expand: 'manager($select=id,displayName,userPrincipalName,mail)',
    });
  });

  it('csv spreads each object over its own columns, the same for every row', async () => {
    const out = mkdtempSync(join(tmpdir(), 'export-out-'));
    const run = await env.runExport(
      { EXPORT_FORMAT: 'csv', EXPORT_SELECT: SELECT, EXPORT_INCLUDE_MANAGER: 'true' },
      ['--out', out],
    );
    expect(run.exitCode, run.output).toBe(0);
    // --out saved what the run wrote, byte for byte.
    const saved = readFileSync(join(out, 'latest', 'users.csv'));
    const stored = await env.container.getBlobClient('latest/users.csv').downloadToBuffer();
    expect(saved.equals(stored)).toBe(true);
    expect(run.stdout).toContain(`Saved a copy in ${out}: latest/users.csv, latest/manifest.json`);

    const [header] = saved.toString('utf8').split('\r\n');
    expect(header!.split(',')).toEqual([
      'id',
      'displayName',
      'signInActivity.lastSignInDateTime',
      'signInActivity.lastSignInRequestId',
      'signInActivity.lastNonInteractiveSignInDateTime',
      'signInActivity.lastNonInteractiveSignInRequestId',
      'signInActivity.lastSuccessfulSignInDateTime',
      'signInActivity.lastSuccessfulSignInRequestId',
      ...Array.from({ length: 15 }, (_, n) => `onPremisesExtensionAttributes.extensionAttribute${n + 1}`),
      'employeeOrgData.division',
      'employeeOrgData.costCenter',
      EMPLOYEE_NUMBER_EXTENSION,
      'manager.id',
      'manager.displayName',
      'manager.userPrincipalName',
      'manager.mail',
    ]);
  });

  it('without AuditLog.Read.All, signInActivity fails naming the permission and the script flag', async () => {
    const roles = env.sandbox.exportApp.graphRoles;
    env.sandbox.exportApp.graphRoles = ['User.Read.All'];
    try {
      const run = await env.runExport({ EXPORT_SELECT: 'id,signInActivity' });
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toMatch(
        /Export failed \(GraphForbidden\).*403 Authentication_MSGraphPermissionMissing.*AuditLog\.Read\.All as well as User\.Read\.All: run infra\/scripts\/register-app\.sh --sign-in-activity/,
      );
    } finally {
      env.sandbox.exportApp.graphRoles = roles;
    }
  });

  it('without an Entra ID P1/P2 licence, signInActivity fails saying so, and the rest works', async () => {
    env.sandbox.graph.premiumLicence = false;
    try {
      const run = await env.runExport({ EXPORT_SELECT: 'id,signInActivity' });
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toMatch(
        /Export failed \(GraphLicenseRequired\).*Authentication_RequestFromNonPremiumTenantOrB2CTenant.*P1 or P2 licence.*Remove signInActivity from EXPORT_SELECT/,
      );
      expect((await env.runExport({ EXPORT_SELECT: 'id,displayName' })).exitCode).toBe(0);
    } finally {
      env.sandbox.graph.premiumLicence = true;
    }
  });

  it('refuses manager or a dotted path in EXPORT_SELECT, saying what to set instead', async () => {
    const manager = await env.runExport({ EXPORT_SELECT: 'id,manager' });
    expect(manager.exitCode).toBe(1);
    expect(manager.stderr).toMatch(/EXPORT_SELECT must not name "manager".*EXPORT_INCLUDE_MANAGER=true/);
    const dotted = await env.runExport({ EXPORT_SELECT: 'id,signInActivity.lastSignInDateTime' });
    expect(dotted.exitCode).toBe(1);
    expect(dotted.stderr).toMatch(/select "signInActivity" \(CSV gives each of its fields a column/);
  });
});
