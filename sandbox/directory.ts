import { createHash } from 'node:crypto';

/** A generated user: every property the product selects by default, and a few more. */
export type SandboxUser = Record<string, unknown> & { id: string; userPrincipalName: string };

export type PropertyProfile = 'small' | 'large';

const GIVEN = [
  'Zoë',
  'Seán',
  "D'Arcy",
  'Ana María',
  'Björn',
  '=Eve',
  'Chloé',
  'Łukasz',
  'Ngozi',
  'Sam',
  'Amélie',
  'José',
];
const FAMILY = [
  "O'Brien",
  'Müller',
  'García, Jr.',
  'Nakamura',
  'Smith "Smitty"',
  'Øster',
  'Núñez',
  'Lee',
  '+Plus',
  '@Handle',
  'Wong',
  '-Dash',
];
const DEPARTMENTS = [
  'Sales',
  'R&D',
  'Finance, EMEA',
  'Legal "Core"',
  'Support\nTier 2',
  '=1+1',
  'People',
  ' =HYPERLINK("https://sandbox.example")',
  '\n=1+1',
];
/** Characters a member's UPN may start with: letters, digits and ' . - _ ! # ^ ~ */
export const UPN_FIRST_CHARACTERS = "abcdefghijklmnopqrstuvwxyz0123456789'.-_!#^~";
/**
 * What else a UPN starts with in real tenants (a guest's UPN comes from an e-mail address, whose
 * local part may start with $ & + = { } | % and more; synced accounts carry what on-premises AD
 * allowed): every printable ASCII character and some letters beyond ASCII. One user in twelve.
 */
export const UNUSUAL_FIRST_CHARACTERS: readonly string[] = [
  ...Array.from({ length: 0x7e - 0x20 }, (_, index) => String.fromCharCode(0x21 + index)),
  'é',
  'Ø',
  'ß',
  'Ж',
  '中',
];

/** The app whose directory extension the sandbox's users carry (`extension_<appId without dashes>_<name>`). */
export const EXTENSION_APP_ID = '0a1b2c3d4e5f60718293a4b5c6d7e8f9';
export const EMPLOYEE_NUMBER_EXTENSION = `extension_${EXTENSION_APP_ID}_employeeNumber`;
/** Sign-in times count back from here, so the directory is the same on every run. */
export const SIGN_IN_EPOCH = Date.UTC(2026, 10, 1, 9, 30, 0);

function uuidFor(index: number, salt: string): string {
  const hex = createHash('sha256').update(`${salt}:${index}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** A small deterministic pseudo-random integer for a user and a purpose. */
function pick(index: number, purpose: number, modulo: number): number {
  let x = (index + 1) * 2654435761 + purpose * 40503;
  x = Math.imul(x ^ (x >>> 16), 0x45d9f3b);
  x = Math.imul(x ^ (x >>> 16), 0x45d9f3b);
  return ((x ^ (x >>> 16)) >>> 0) % modulo;
}

/**
 * The sandbox tenant's users, generated from their index: the same directory every time, of any
 * size, without holding it in memory.
 */
export class SandboxDirectory {
  size: number;
  readonly domain: string;
  readonly profile: PropertyProfile;
  /** Bumped by every change, so that what was computed over the directory can be recomputed. */
  revision = 0;
  private readonly overrides = new Map<number, Record<string, unknown>>();
  private readonly deleted = new Set<number>();
  private readonly purged = new Set<number>();
  /** Every change, for /users/delta: which user, at which revision, and how. */
  readonly changeLog: {
    revision: number;
    index: number;
    kind: 'updated' | 'removed' | 'added';
    properties: string[];
  }[] = [];

  constructor(options: { size: number; domain?: string; profile?: PropertyProfile }) {
    this.size = options.size;
    this.domain = options.domain ?? 'sandbox.onmicrosoft.com';
    this.profile = options.profile ?? 'small';
  }

  /** Changes properties of a user, as an admin would (a new department, a renamed UPN). */
  update(index: number, properties: Record<string, unknown>): void {
    this.overrides.set(index, { ...this.overrides.get(index), ...properties });
    this.revision += 1;
    this.changeLog.push({
      revision: this.revision,
      index,
      kind: 'updated',
      properties: Object.keys(properties),
    });
  }

  /**
   * Deletes a user: `soft` moves it to the deleted items (`restore` brings it back within 30 days),
   * `permanent` deletes it for good (or purges it from the deleted items).
   */
  remove(index: number, deletion: 'soft' | 'permanent' = 'soft'): void {
    this.deleted.add(index);
    if (deletion === 'permanent') this.purged.add(index);
    this.revision += 1;
    this.changeLog.push({ revision: this.revision, index, kind: 'removed', properties: [] });
  }

  restore(index: number): void {
    if (this.purged.has(index))
      throw new Error(`user ${index} was deleted permanently and cannot be restored`);
    this.deleted.delete(index);
    this.revision += 1;
    this.changeLog.push({ revision: this.revision, index, kind: 'added', properties: [] });
  }

  /** New users, generated like the others, after the last index; their indexes. */
  add(count: number): number[] {
    const added = Array.from({ length: count }, (_, n) => this.size + n);
    this.size += count;
    this.revision += 1;
    for (const index of added)
      this.changeLog.push({ revision: this.revision, index, kind: 'added', properties: [] });
    return added;
  }

  /** Whether a user is gone for good (deleted permanently), not restorable from the deleted items. */
  isPurged(index: number): boolean {
    return this.purged.has(index);
  }

  exists(index: number): boolean {
    return index < this.size && !this.deleted.has(index);
  }

  private isGuest(index: number): boolean {
    return pick(index, 3, 20) === 0;
  }

  private localPart(index: number): string {
    const given = GIVEN[pick(index, 1, GIVEN.length)]!;
    const first =
      pick(index, 31, 12) === 0
        ? UNUSUAL_FIRST_CHARACTERS[pick(index, 5, UNUSUAL_FIRST_CHARACTERS.length)]!
        : UPN_FIRST_CHARACTERS[pick(index, 5, UPN_FIRST_CHARACTERS.length)]!;
    const upperCase = pick(index, 6, 3) === 0;
    return `${upperCase ? first.toUpperCase() : first}${given.toLowerCase().replace(/[^a-z]/g, '')}.${index}`;
  }

  /** The UPN alone, without generating the rest of the user. */
  userPrincipalName(index: number): string {
    const renamed = this.overrides.get(index)?.['userPrincipalName'];
    if (typeof renamed === 'string') return renamed;
    const local = this.localPart(index);
    return this.isGuest(index) ? `${local}_fabrikam.com#EXT#@${this.domain}` : `${local}@${this.domain}`;
  }

  /**
   * A user whose properties are generated when read: filters over a million users look at one or
   * two properties each.
   */
  lazyUser(index: number): Readonly<Record<string, unknown>> {
    let full: SandboxUser | undefined;
    const cheap: Record<string, () => unknown> = {
      userPrincipalName: () => this.userPrincipalName(index),
      userType: () => (this.isGuest(index) ? 'Guest' : 'Member'),
      accountEnabled: () => pick(index, 4, 10) !== 0,
    };
    return new Proxy(
      {},
      {
        get: (_target, property) => {
          if (typeof property !== 'string') return undefined;
          const overridden = this.overrides.get(index);
          if (overridden !== undefined && property in overridden) return overridden[property];
          const quick = cheap[property];
          if (quick) return quick();
          full ??= this.user(index);
          return full[property];
        },
      },
    );
  }

  /**
   * User `index` as Graph holds it. `wanted` (a $select) lets a listing skip building the
   * properties Graph returns only when selected, the costliest part of a user, when none is.
   */
  user(index: number, wanted?: readonly string[]): SandboxUser {
    const given = GIVEN[pick(index, 1, GIVEN.length)]!;
    const family = FAMILY[pick(index, 2, FAMILY.length)]!;
    const guest = this.isGuest(index);
    const enabled = pick(index, 4, 10) !== 0;
    const local = this.localPart(index);
    const userPrincipalName = this.userPrincipalName(index);
    const user: SandboxUser = {
      id: uuidFor(index, 'user'),
      displayName: index % 97 === 0 ? `${given} ${family}\n(contractor)` : `${given} ${family}`,
      givenName: given,
      surname: family,
      userPrincipalName,
      mail: pick(index, 7, 8) === 0 ? null : guest ? `${local}@fabrikam.com` : `${local}@${this.domain}`,
      jobTitle: pick(index, 8, 5) === 0 ? null : `Engineer ${pick(index, 9, 4) + 1}`,
      department: DEPARTMENTS[pick(index, 10, DEPARTMENTS.length)]!,
      officeLocation: pick(index, 11, 3) === 0 ? null : `Building ${pick(index, 12, 40)}`,
      mobilePhone: pick(index, 13, 4) === 0 ? null : `+1 425 555 ${String(index % 10000).padStart(4, '0')}`,
      businessPhones:
        pick(index, 14, 3) === 0 ? [] : [`+1 206 555 ${String(index % 10000).padStart(4, '0')}`],
      accountEnabled: enabled,
      userType: guest ? 'Guest' : 'Member',
      createdDateTime: new Date(Date.UTC(2015, 0, 1) + index * 60_000).toISOString().replace('.000Z', 'Z'),
    };
    if (this.profile === 'large') Object.assign(user, largeProperties(index));
    if (wanted === undefined || wanted.some((name) => EXTENDED_PROPERTIES.has(name)))
      Object.assign(user, extendedProperties(index, guest));
    Object.assign(user, this.overrides.get(index));
    return user;
  }

  /**
   * The user's manager (a user of lower index), or undefined: the first user, and one in fifteen
   * others, have none.
   */
  managerIndex(index: number): number | undefined {
    if (index === 0 || pick(index, 50, 15) === 0) return undefined;
    return Math.floor(index / 10);
  }

  *users(): Generator<SandboxUser> {
    for (let index = 0; index < this.size; index += 1) yield this.user(index);
  }
}

const EXTENDED_PROPERTIES = new Set([
  'signInActivity',
  'onPremisesExtensionAttributes',
  'employeeOrgData',
  EMPLOYEE_NUMBER_EXTENSION,
]);

/** Properties Graph returns only when selected: sign-in activity, extension attributes, org data. */
function extendedProperties(index: number, guest: boolean): Record<string, unknown> {
  const daysAgo = (purpose: number, range: number) =>
    new Date(
      SIGN_IN_EPOCH - pick(index, purpose, range) * 86_400_000 - pick(index, purpose + 1, 86_400) * 1000,
    )
      .toISOString()
      .replace('.000Z', 'Z');
  const neverSignedIn = pick(index, 40, 7) === 0;
  return {
    signInActivity: neverSignedIn
      ? null
      : {
          lastSignInDateTime: daysAgo(41, 400),
          lastSignInRequestId: uuidFor(index, 'sign-in'),
          lastNonInteractiveSignInDateTime: pick(index, 43, 4) === 0 ? null : daysAgo(44, 60),
          lastNonInteractiveSignInRequestId:
            pick(index, 43, 4) === 0 ? null : uuidFor(index, 'non-interactive'),
          // Graph has recorded successful sign-ins only since December 2023: older accounts show null.
          lastSuccessfulSignInDateTime: pick(index, 46, 5) === 0 ? null : daysAgo(41, 400),
          lastSuccessfulSignInRequestId: pick(index, 46, 5) === 0 ? null : uuidFor(index, 'sign-in'),
        },
    onPremisesExtensionAttributes: Object.fromEntries(
      Array.from({ length: 15 }, (_, n) => [
        `extensionAttribute${n + 1}`,
        n === 0 && pick(index, 47, 2) === 0 ? `CC-${String(pick(index, 48, 900) + 100)}` : null,
      ]),
    ),
    employeeOrgData:
      guest || pick(index, 49, 3) === 0
        ? null
        : { division: `Division ${pick(index, 51, 6) + 1}`, costCenter: `CC-${pick(index, 52, 900) + 100}` },
    [EMPLOYEE_NUMBER_EXTENSION]: guest ? null : `EMP-${String(index).padStart(6, '0')}`,
  };
}

function largeProperties(index: number): Record<string, unknown> {
  return {
    city: `City ${pick(index, 20, 500)}`,
    country: 'Country of Somewhere',
    state: `State ${pick(index, 21, 50)}`,
    streetAddress: `${pick(index, 22, 9999)} Long Street Name, Apartment ${pick(index, 23, 999)}`,
    postalCode: String(10000 + pick(index, 24, 89999)),
    companyName: 'Contoso Worldwide Holdings, Ltd.',
    employeeId: `E${String(index).padStart(8, '0')}`,
    employeeType: 'Full-time employee',
    preferredLanguage: 'en-US',
    usageLocation: 'US',
    onPremisesSamAccountName: `user${index}`,
    onPremisesSyncEnabled: pick(index, 25, 2) === 0,
    onPremisesDistinguishedName: `CN=User ${index},OU=People,OU=Department ${pick(index, 26, 40)},DC=corp,DC=contoso,DC=com`,
    proxyAddresses: [`SMTP:user${index}@contoso.com`, `smtp:user${index}@contoso.mail.onmicrosoft.com`],
    otherMails: [`user${index}.alt@example.com`],
    faxNumber: null,
    ageGroup: null,
    employeeHireDate: new Date(Date.UTC(2010, 0, 1) + pick(index, 27, 5000) * 86_400_000).toISOString(),
  };
}

/** Properties the sandbox's Graph knows; anything else in $select is a 400, as in Graph. */
export const KNOWN_PROPERTIES = new Set([
  ...Object.keys(new SandboxDirectory({ size: 1, profile: 'large' }).user(0)),
  'manager',
  'signInActivity',
]);

/** What one demo run found changed in the tenant since the run before. */
export interface DemoTenantChanges {
  run: number;
  joined: number;
  left: number;
  moved: number;
  renamed: number;
}

/** A small tenant's day: a few joiners, leavers, department moves and a rename (a new surname). */
const DEMO_DAY = { joined: 3, left: 2, moved: 4, renamed: 1 };
/** Where the demo's movers go: plain names, so the change report reads easily. */
const DEMO_DEPARTMENTS = ['Sales', 'R&D', 'Finance, EMEA', 'People'];

/**
 * Brings the demo tenant to where it stands at run `run` (run 1 is the generated directory): each
 * later run adds one seeded day of changes, replayed in order, so run N's tenant, and what its
 * change report shows, is the same on every machine. Returns each day's changes, oldest first.
 */
export function applyDemoRuns(directory: SandboxDirectory, run: number): DemoTenantChanges[] {
  const days: DemoTenantChanges[] = [];
  for (let day = 2; day <= run; day += 1) {
    const touched = new Set<number>();
    // Existing members of the directory, chosen by the day's seed; a user is touched once a day.
    const chooseMember = (purpose: number): number => {
      for (let attempt = 0; ; attempt += 1) {
        const index = pick(day, purpose * 1000 + attempt, directory.size);
        const user = directory.lazyUser(index);
        if (directory.exists(index) && !touched.has(index) && user['userType'] === 'Member') {
          touched.add(index);
          return index;
        }
      }
    };
    for (let n = 0; n < DEMO_DAY.left; n += 1) directory.remove(chooseMember(100 + n), 'soft');
    for (let n = 0; n < DEMO_DAY.moved; n += 1) {
      const index = chooseMember(200 + n);
      const current = directory.user(index).department;
      const others = DEMO_DEPARTMENTS.filter((department) => department !== current);
      directory.update(index, { department: others[pick(day, 300 + n, others.length)]! });
    }
    for (let n = 0; n < DEMO_DAY.renamed; n += 1) {
      const index = chooseMember(400 + n);
      const user = directory.user(index);
      const others = FAMILY.filter((family) => family !== user.surname);
      const surname = others[pick(day, 500 + n, others.length)]!;
      const local = `${String(user.givenName)
        .toLowerCase()
        .replace(/[^a-z]/g, '')}.${surname.toLowerCase().replace(/[^a-z]/g, '')}.${index}`;
      directory.update(index, {
        surname,
        displayName: `${String(user.givenName)} ${surname}`,
        userPrincipalName: `${local}@${directory.domain}`,
        mail: user.mail === null ? null : `${local}@${directory.domain}`,
      });
    }
    directory.add(DEMO_DAY.joined);
    days.push({ run: day, ...DEMO_DAY });
  }
  return days;
}
