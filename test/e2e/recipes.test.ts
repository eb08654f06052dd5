import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type Environment, startEnvironment } from './harness.js';

interface Recipe {
  title: string;
  settings: Record<string, string>;
  sample: string[];
}

/** The recipes in docs/configuration.md: each "### " under "## Recipes", its settings and its CSV sample. */
async function readRecipes(): Promise<Recipe[]> {
  const page = await readFile(join(import.meta.dirname, '..', '..', 'docs', 'configuration.md'), 'utf8');
  const section = page.split('\n## Recipes\n')[1]!.split('\n## ')[0]!;
  return section
    .split('\n### ')
    .slice(1)
    .map((part) => {
      const settingsBlock = /```sh\n([\s\S]*?)```/.exec(part)![1]!;
      const sampleBlock = /```csv\n([\s\S]*?)```/.exec(part)![1]!;
      const settings = Object.fromEntries(
        settingsBlock
          .trim()
          .split('\n')
          .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
      );
      return { title: part.split('\n')[0]!, settings, sample: sampleBlock.trim().split('\n') };
    });
}

let env: Environment;
let recipes: Recipe[];
beforeAll(async () => {
  // The page's samples come from a sandbox of this size (rows are the same for any size that holds them).
  env = await startEnvironment({ users: 1200 });
  recipes = await readRecipes();
});
afterAll(async () => env.stop());

describe('the recipes in docs/configuration.md', () => {
  it('are three: stale accounts, HR reconciliation with managers, guests', () => {
    expect(recipes.map((recipe) => recipe.title)).toEqual([
      "Stale accounts: every enabled account's last sign-in",
      'HR reconciliation: members with their manager',
      'Guests and their last sign-in',
    ]);
  });

  it.each([0, 1, 2])('recipe %i exports the header and the rows its sample shows', async (index) => {
    const recipe = recipes[index]!;
    // Each recipe is its own deployment: its own container, so no run is judged against another's export.
    const containerName = `recipe-${index}`;
    const run = await env.runExport({ ...recipe.settings, EXPORT_CONTAINER: containerName });
    expect(run.exitCode, run.output).toBe(0);
    const csv = (
      await BlobServiceClient.fromConnectionString(env.azurite.connectionString)
        .getContainerClient(containerName)
        .getBlobClient('latest/users.csv')
        .downloadToBuffer()
    ).toString('utf8');
    const lines = csv.split('\r\n');
    expect(lines[0]).toBe(recipe.sample[0]);
    for (const row of recipe.sample.slice(1)) expect(lines).toContain(row);
    // Every row has the header's columns, whether or not the user signed in or has a manager.
    const columns = recipe.sample[0]!.split(',').length;
    const singleLineRows = lines.slice(1).filter((line) => line !== '' && !line.includes('"'));
    expect(singleLineRows.length).toBeGreaterThan(10);
    for (const line of singleLineRows) expect(line.split(',')).toHaveLength(columns);
  });
});
