import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Bicep cannot be compiled on these machines, so the tests read it as text: small, strict
 * readers for the few shapes the infrastructure uses.
 */
export const INFRA = join(import.meta.dirname, '..', '..', '..', 'infra');

export function readInfra(path: string): string {
  return readFileSync(join(INFRA, path), 'utf8');
}

/** The text between the brace after `start` and its matching closing brace. */
export function blockAfter(text: string, start: number): string {
  const open = text.indexOf('{', start);
  let depth = 0;
  for (let at = open; at < text.length; at += 1) {
    if (text[at] === '{') depth += 1;
    if (text[at] === '}') depth -= 1;
    if (depth === 0) return text.slice(open + 1, at);
  }
  throw new Error(`Unbalanced braces after position ${start}.`);
}

/** Declared parameters, and whether each has a default. */
export function paramsOf(text: string): Map<string, { hasDefault: boolean }> {
  const params = new Map<string, { hasDefault: boolean }>();
  for (const match of text.matchAll(/^param (\w+) \w+( =.*)?$/gm))
    params.set(match[1]!, { hasDefault: match[2] !== undefined });
  return params;
}

/** Keys set directly inside a block (one level deep). */
export function topLevelKeys(block: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (const line of block.split('\n')) {
    const match = /^\s*(\w+):/.exec(line);
    if (depth === 0 && match) keys.push(match[1]!);
    for (const char of line.replace(/'[^']*'/g, '')) {
      if (char === '{' || char === '[') depth += 1;
      if (char === '}' || char === ']') depth -= 1;
    }
  }
  return keys;
}

export interface ModuleCall {
  symbol: string;
  path: string;
  params: string[];
}

export function moduleCalls(text: string): ModuleCall[] {
  return [...text.matchAll(/^module (\w+) '([^']+)' = \{/gm)].map((match) => {
    const body = blockAfter(text, match.index);
    const paramsAt = body.indexOf('params:');
    return { symbol: match[1]!, path: match[2]!, params: topLevelKeys(blockAfter(body, paramsAt)) };
  });
}

export interface RoleAssignment {
  file: string;
  symbol: string;
  name: string;
  roleDefinitionId: string;
  scope: string;
}

export function roleAssignments(file: string, text: string): RoleAssignment[] {
  return [
    ...text.matchAll(
      /^resource (\w+) 'Microsoft\.Authorization\/roleAssignments@[\w-]+' = (?:if \(.*\) )?\{/gm,
    ),
  ].map((match) => {
    const body = blockAfter(text, match.index);
    return {
      file,
      symbol: match[1]!,
      name: /^\s*name: (.+)$/m.exec(body)?.[1]?.trim() ?? '',
      roleDefinitionId: /roleDefinitionId: (.+)$/m.exec(body)?.[1]?.trim() ?? '',
      scope: /^\s*scope: (\w+)$/m.exec(body)?.[1] ?? '',
    };
  });
}

/** `var name = '<guid>'` declarations. */
export function guidVariables(text: string): Map<string, string> {
  return new Map(
    [...text.matchAll(/^var (\w+) = '([0-9a-f-]{36})'$/gm)].map((match) => [match[1]!, match[2]!]),
  );
}
