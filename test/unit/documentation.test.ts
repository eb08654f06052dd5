import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { describe, expect, it } from 'vitest';

import {
  CONFIGURATION_PAGE,
  documentedTableRows,
  localSettingsExample,
  markdownTableRows,
  settingsTableRows,
} from '../../scripts/docs/settingsDocs.js';
import { SETTING_NAMES, SETTINGS } from '../../src/settings.js';

const ROOT = join(import.meta.dirname, '..', '..');
const configurationPage = readFileSync(join(ROOT, CONFIGURATION_PAGE), 'utf8');
const example = JSON.parse(readFileSync(join(ROOT, 'local.settings.example.json'), 'utf8')) as unknown;

describe('the documentation of settings (run `npm run docs` after changing src/settings.ts)', () => {
  it("docs/configuration.md's table is the settings table, defaults included", () => {
    expect(documentedTableRows(configurationPage)).toEqual(settingsTableRows());
  });

  it('every setting is in the table, each once', () => {
    expect(documentedTableRows(configurationPage).map((row) => row[0])).toEqual(
      SETTING_NAMES.map((name) => `\`${name}\``),
    );
  });

  it('local.settings.example.json holds every local setting with its documented value', () => {
    expect(example).toEqual(localSettingsExample());
    const values = (example as { Values: Record<string, string> }).Values;
    for (const name of SETTING_NAMES) {
      const { default: fallback, example: documented } = SETTINGS[name];
      if (documented !== undefined && fallback !== undefined) expect(values[name], name).toBe(fallback);
    }
  });
});

const NUMBER_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten'];

/** The fault table's rows: the fault, what the run does, and the test, as cells. */
function faultRows(page: string): string[][] {
  const section = page.split('\n## Faults and bad inputs the tests inject\n')[1]!.split('\n## ')[0]!;
  return markdownTableRows(section);
}

describe("docs/reliability.md's count of faults", () => {
  it('is what the fault table holds: cases, complete exports and clean failures', () => {
    const page = readFileSync(join(ROOT, 'docs', 'reliability.md'), 'utf8');
    let completed = 0;
    let failed = 0;
    for (const [, outcome, test] of faultRows(page)) {
      const written = /\((\w+) cases\)/.exec(test!)?.[1];
      const cases = written === undefined ? 1 : NUMBER_WORDS.indexOf(written);
      if (written !== undefined) expect(cases, `"(${written} cases)" in ${test}`).toBeGreaterThan(1);
      if (/^(fails|refused|the runner stops)|unchanged/.test(outcome!)) failed += cases;
      else completed += cases;
    }
    const stated =
      /In all: (\d+) faults and bad inputs[^;]*; (\d+) end in a complete\s+export, (\d+) in a clean failure/.exec(
        page,
      );
    expect(stated, 'the "In all: ..." sentence').not.toBeNull();
    expect(stated!.slice(1).map(Number)).toEqual([completed + failed, completed, failed]);
  });
});

/** A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to hyphens. */
function githubAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}_ -]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors of a Markdown page's headings (outside code blocks). */
function anchorsOf(markdown: string): Set<string> {
  const outsideCode = markdown.replace(/^```[\s\S]*?^```/gm, '');
  return new Set([...outsideCode.matchAll(/^#{1,6} (.+)$/gm)].map((match) => githubAnchor(match[1]!)));
}

describe('links between the documentation pages', () => {
  const pages = [
    'README.md',
    'CHANGELOG.md',
    ...readdirSync(join(ROOT, 'docs')).map((name) => `docs/${name}`),
  ];

  it.each(pages)('every relative link in %s reaches a file, and a heading there', (page) => {
    const text = readFileSync(join(ROOT, page), 'utf8').replace(/^```[\s\S]*?^```/gm, '');
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target!)) continue;
      const [path, fragment] = target!.split('#');
      const file = path === '' ? join(ROOT, page) : join(ROOT, dirname(page), path!);
      expect(existsSync(file), `${page}: ${target}`).toBe(true);
      if (fragment !== undefined)
        expect(anchorsOf(readFileSync(file, 'utf8')), `${page}: ${target}`).toContain(fragment);
    }
  });
});
