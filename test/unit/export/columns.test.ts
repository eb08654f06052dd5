import { describe, expect, it } from 'vitest';

import { csvColumns, exportedProperties, flattenUser } from '../../../src/export/columns.js';

describe('CSV columns for object properties', () => {
  it('gives each field of a known object its own dotted column, in the order selected', () => {
    const properties = exportedProperties(['id', 'signInActivity', 'employeeOrgData', 'displayName'], true);
    expect(csvColumns(properties)).toEqual([
      'id',
      'signInActivity.lastSignInDateTime',
      'signInActivity.lastSignInRequestId',
      'signInActivity.lastNonInteractiveSignInDateTime',
      'signInActivity.lastNonInteractiveSignInRequestId',
      'signInActivity.lastSuccessfulSignInDateTime',
      'signInActivity.lastSuccessfulSignInRequestId',
      'employeeOrgData.division',
      'employeeOrgData.costCenter',
      'displayName',
      'manager.id',
      'manager.displayName',
      'manager.userPrincipalName',
      'manager.mail',
    ]);
    expect(csvColumns(['onPremisesExtensionAttributes'])).toHaveLength(15);
    expect(csvColumns(['onPremisesExtensionAttributes']).at(-1)).toBe(
      'onPremisesExtensionAttributes.extensionAttribute15',
    );
  });

  it('fixes the header by the selection: a page where nobody signed in has the same columns', () => {
    const properties = ['id', 'signInActivity'];
    const neverSignedIn = flattenUser({ id: 'a', signInActivity: null }, properties);
    const signedIn = flattenUser(
      { id: 'b', signInActivity: { lastSignInDateTime: '2026-11-01T08:00:00Z', extra: 'x' } },
      properties,
    );
    expect(Object.keys(neverSignedIn)).toEqual(csvColumns(properties));
    expect(Object.keys(signedIn)).toEqual(csvColumns(properties));
    expect(neverSignedIn['signInActivity.lastSignInDateTime']).toBeNull();
    expect(signedIn['signInActivity.lastSignInDateTime']).toBe('2026-11-01T08:00:00Z');
  });

  it('leaves the manager columns empty for a user with no manager, and fills them for one', () => {
    const properties = exportedProperties(['id'], true);
    expect(flattenUser({ id: 'a' }, properties)).toEqual({
      id: 'a',
      'manager.id': null,
      'manager.displayName': null,
      'manager.userPrincipalName': null,
      'manager.mail': null,
    });
    expect(
      flattenUser(
        {
          id: 'b',
          manager: { '@odata.type': '#microsoft.graph.user', id: 'm', displayName: 'Boss', mail: null },
        },
        properties,
      ),
    ).toMatchObject({ 'manager.id': 'm', 'manager.displayName': 'Boss', 'manager.userPrincipalName': null });
  });

  it('keeps a directory extension attribute as a plain column', () => {
    const properties = ['id', 'extension_0a1b2c3d4e5f60718293a4b5c6d7e8f9_costCentre'];
    expect(csvColumns(properties)).toEqual(properties);
    expect(
      flattenUser({ id: 'a', extension_0a1b2c3d4e5f60718293a4b5c6d7e8f9_costCentre: 'CC-1' }, properties),
    ).toEqual({
      id: 'a',
      extension_0a1b2c3d4e5f60718293a4b5c6d7e8f9_costCentre: 'CC-1',
    });
  });
});
