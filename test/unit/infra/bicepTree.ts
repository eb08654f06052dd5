import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

import { Language, type Node, Parser } from 'web-tree-sitter';

/**
 * Bicep cannot be compiled on these machines; tree-sitter-bicep parses it (its wasm grammar, no
 * download, no native build). These helpers read the parse tree: declarations, the properties of
 * a resource, and the value of an expression for given parameters (the subset of Bicep's functions
 * the infrastructure uses), so the tests check each property inside the resource it belongs to.
 */
export const INFRA = join(import.meta.dirname, '..', '..', '..', 'infra');

let parser: Parser | undefined;
async function bicepParser(): Promise<Parser> {
  if (parser) return parser;
  await Parser.init();
  const wasm = createRequire(import.meta.url).resolve('tree-sitter-bicep/tree-sitter-bicep.wasm');
  const language = await Language.load(wasm);
  parser = new Parser();
  parser.setLanguage(language);
  return parser;
}

/** Where the parse failed, as `line:column type`, or an empty list. */
export function syntaxErrors(root: Node): string[] {
  const errors: string[] = [];
  const visit = (node: Node) => {
    if (node.isError || node.isMissing) {
      errors.push(
        `${node.startPosition.row + 1}:${node.startPosition.column + 1} ${node.isMissing ? `missing ${node.type}` : 'syntax error'}`,
      );
    }
    for (const child of node.children) visit(child);
  };
  visit(root);
  return errors;
}

export interface BicepFile {
  path: string;
  root: Node;
  params: Map<
    string,
    { type: string; defaultValue: Node | undefined; node: Node; decorators: Map<string, Node[]> }
  >;
  vars: Map<string, Node>;
  resources: BicepResource[];
  modules: { symbol: string; path: string; body: Node }[];
  outputs: Map<string, Node>;
}

export interface BicepResource {
  symbol: string;
  /** The full type, `Microsoft.Web/sites@2024-04-01`; a nested resource's is its parent's plus its own. */
  type: string;
  body: Node;
  condition: Node | undefined;
}

export async function parseBicepText(text: string, path = 'inline.bicep'): Promise<BicepFile> {
  const tree = (await bicepParser()).parse(text);
  if (!tree) throw new Error(`${path} could not be parsed.`);
  const root = tree.rootNode;
  const file: BicepFile = {
    path,
    root,
    params: new Map(),
    vars: new Map(),
    resources: [],
    modules: [],
    outputs: new Map(),
  };
  for (const node of root.namedChildren) {
    const named = node.namedChildren;
    if (node.type === 'parameter_declaration') {
      const [identifier, type, defaultValue] = named.filter((child) => child.type !== 'decorators');
      file.params.set(identifier!.text, {
        type: type!.text,
        defaultValue,
        node,
        decorators: decoratorsOf(node),
      });
    } else if (node.type === 'variable_declaration') {
      file.vars.set(named[0]!.text, named[1]!);
    } else if (node.type === 'output_declaration') {
      const parts = named.filter((child) => child.type !== 'decorators');
      file.outputs.set(parts[0]!.text, parts.at(-1)!);
    } else if (node.type === 'module_declaration') {
      file.modules.push({ symbol: named[0]!.text, path: stringValue(named[1]!), body: lastObject(node) });
    } else if (node.type === 'resource_declaration') {
      collectResources(node, '', file.resources);
    }
  }
  return file;
}

/** The decorators written above a declaration (`@minValue(2)` -> minValue: [2]), by name. */
function decoratorsOf(declaration: Node): Map<string, Node[]> {
  const decorators = new Map<string, Node[]>();
  const previous = declaration.previousNamedSibling;
  if (previous?.type !== 'decorators') return decorators;
  for (const decorator of previous.namedChildren) {
    const call = decorator.namedChildren[0];
    if (call?.type !== 'call_expression') continue;
    decorators.set(call.namedChildren[0]!.text, call.namedChildren[1]?.namedChildren ?? []);
  }
  return decorators;
}

/**
 * Every value a deployment can give an int or string parameter, from its decorators: the
 * `@allowed` list, or each integer from `@minValue` to `@maxValue`; `undefined` when the
 * parameter is unbounded (a test must then pick its samples itself).
 */
export function parameterDomain(file: BicepFile, name: string): BicepValue[] | undefined {
  const param = file.params.get(name);
  if (!param) throw new Error(`No parameter ${name} in ${file.path}`);
  const argument = (decorator: string) => {
    const node = param.decorators.get(decorator)?.[0];
    return node === undefined ? undefined : valueOf(node, file);
  };
  const allowed = argument('allowed');
  if (Array.isArray(allowed)) return allowed;
  const min = argument('minValue');
  const max = argument('maxValue');
  if (typeof min !== 'number' || typeof max !== 'number') return undefined;
  return Array.from({ length: max - min + 1 }, (_, index) => min + index);
}

export async function parseBicep(relativePath: string): Promise<BicepFile> {
  return parseBicepText(readFileSync(join(INFRA, relativePath), 'utf8'), relativePath);
}

function lastObject(node: Node): Node {
  const object = node.namedChildren.filter((child) => child.type === 'object').at(-1);
  if (object) return object;
  const conditional = node.namedChildren.find((child) => child.type === 'if_statement');
  const inner = conditional?.namedChildren.find((child) => child.type === 'object');
  if (!inner) throw new Error(`No body in ${node.text.slice(0, 60)}`);
  return inner;
}

function collectResources(node: Node, parentType: string, into: BicepResource[]): void {
  const named = node.namedChildren;
  const symbol = named[0]!.text;
  const ownType = stringValue(named[1]!);
  const type = parentType === '' ? ownType : `${parentType.split('@')[0]}/${ownType}`;
  const conditional = named.find((child) => child.type === 'if_statement');
  const body = lastObject(node);
  into.push({
    symbol,
    type,
    body,
    condition: conditional?.namedChildren.find((child) => child.type === 'parenthesized_expression'),
  });
  // A nested resource is an object property whose only child is its declaration.
  for (const property of body.namedChildren) {
    const nested = property.type === 'resource_declaration' ? property : property.namedChildren[0];
    if (nested?.type === 'resource_declaration') collectResources(nested, type, into);
  }
}

function stringValue(node: Node): string {
  if (node.type !== 'string') throw new Error(`Expected a string, got ${node.type}: ${node.text}`);
  return node.namedChildren.map((child) => (child.type === 'string_content' ? child.text : '')).join('');
}

/** The properties set directly in an object literal, by key. */
export function objectProperties(object: Node): Map<string, Node> {
  const properties = new Map<string, Node>();
  for (const property of object.namedChildren) {
    if (property.type !== 'object_property' || property.namedChildCount < 2) continue;
    const [key, value] = property.namedChildren;
    const name = key!.type === 'string' ? stringValue(key!) : key!.text;
    properties.set(name, value!);
  }
  return properties;
}

/** The value node at a dotted path inside an object (`properties.siteConfig.minTlsVersion`). */
export function propertyAt(object: Node, path: string): Node | undefined {
  let current: Node | undefined = object;
  for (const key of path.split('.')) {
    if (current?.type !== 'object') return undefined;
    current = objectProperties(current).get(key);
  }
  return current;
}

export function resourcesOfType(file: BicepFile, typePrefix: string): BicepResource[] {
  return file.resources.filter((resource) => resource.type.split('@')[0] === typePrefix);
}

// ---------------------------------------------------------------------------------------------
// Evaluation: enough of Bicep's expression language to compute names and settings.

export type BicepValue = string | number | boolean | null | BicepValue[] | { [key: string]: BicepValue };

/** What the deployment context answers: subscription(), resourceGroup(), tenant(). */
export interface DeploymentContext {
  subscriptionId: string;
  resourceGroupId: string;
  location: string;
  tenantId: string;
}

export const SAMPLE_CONTEXT: DeploymentContext = {
  subscriptionId: '/subscriptions/00000000-0000-4000-8000-000000000001',
  resourceGroupId: '/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg-entra-export',
  location: 'westeurope',
  tenantId: '00000000-0000-4000-8000-000000000002',
};

/** Bicep's uniqueString: 13 characters of [a-z0-9], deterministic. The hash differs from Azure's; the shape does not. */
function uniqueString(...parts: string[]): string {
  const digest = createHash('sha256').update(parts.join('|')).digest();
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  return Array.from({ length: 13 }, (_, index) => alphabet.charAt(digest[index]! % 32)).join('');
}

/** A value as Bicep's string functions see it. */
export function text(value: BicepValue | undefined): string {
  return typeof value === 'string' ? value : JSON.stringify(value ?? null);
}

const FUNCTIONS: Record<string, (...args: BicepValue[]) => BicepValue> = {
  toLower: (value) => text(value).toLowerCase(),
  trim: (value) => text(value).trim(),
  toUpper: (value) => text(value).toUpperCase(),
  replace: (value, from, to) => text(value).split(text(from)).join(text(to)),
  take: (value, count) =>
    Array.isArray(value) ? value.slice(0, Number(count)) : text(value).slice(0, Number(count)),
  skip: (value, count) =>
    Array.isArray(value) ? value.slice(Number(count)) : text(value).slice(Number(count)),
  split: (value, separator) => text(value).split(text(separator)),
  join: (values, separator) => (values as BicepValue[]).map(String).join(text(separator)),
  length: (value) =>
    Array.isArray(value) || typeof value === 'string' ? value.length : Object.keys(value ?? {}).length,
  first: (value) => (Array.isArray(value) ? (value[0] ?? null) : text(value).charAt(0)),
  last: (value) => (Array.isArray(value) ? (value.at(-1) ?? null) : text(value).slice(-1)),
  empty: (value) => value === null || value === '' || (Array.isArray(value) && value.length === 0),
  startsWith: (value, prefix) => text(value).toLowerCase().startsWith(text(prefix).toLowerCase()),
  endsWith: (value, suffix) => text(value).toLowerCase().endsWith(text(suffix).toLowerCase()),
  contains: (value, item) => (Array.isArray(value) ? value.includes(item) : text(value).includes(text(item))),
  concat: (...values) => (Array.isArray(values[0]) ? values.flat() : values.map(text).join('')),
  substring: (...[value, start, count]: (BicepValue | undefined)[]) =>
    text(value).substring(Number(start), count === undefined ? undefined : Number(start) + Number(count)),
  string: (value) => text(value),
  int: (value) => Number.parseInt(text(value), 10),
  min: (...values) => Math.min(...values.map(Number)),
  max: (...values) => Math.max(...values.map(Number)),
  union: (...objects) => Object.assign({}, ...(objects as object[])) as BicepValue,
  uniqueString: (...parts) => uniqueString(...parts.map(text)),
  guid: (...parts) => uniqueString('guid', ...parts.map(text)),
};

export interface Scope {
  file: BicepFile;
  params: Record<string, BicepValue>;
  context: DeploymentContext;
  /** Symbols the evaluation cannot know (module outputs, resource ids): their name, as a placeholder. */
  opaque?: boolean;
}

export function evaluate(node: Node, scope: Scope): BicepValue {
  const named = node.namedChildren;
  switch (node.type) {
    case 'string':
      return named
        .map((child) =>
          child.type === 'string_content' || child.type === 'escape_sequence'
            ? unescape(child.text)
            : text(evaluate(child.namedChildren[0]!, scope)),
        )
        .join('');
    case 'interpolation':
      return evaluate(named[0]!, scope);
    case 'number':
      return Number(node.text);
    case 'boolean':
      return node.text === 'true';
    case 'null':
      return null;
    case 'parenthesized_expression':
      return evaluate(named[0]!, scope);
    case 'array':
      return named.map((child) => evaluate(child, scope));
    case 'object':
      return Object.fromEntries(
        [...objectProperties(node)].map(([key, value]) => [key, evaluate(value, scope)]),
      );
    case 'identifier':
      return lookup(node.text, scope);
    case 'ternary_expression':
      return evaluate(named[0]!, scope) === true ? evaluate(named[1]!, scope) : evaluate(named[2]!, scope);
    case 'unary_expression':
      return !(evaluate(named[0]!, scope) as boolean);
    case 'binary_expression': {
      const operator = node.children.find((child) => !child.isNamed)?.text;
      const left = evaluate(named[0]!, scope);
      const right = evaluate(named[1]!, scope);
      switch (operator) {
        case '==':
          return typeof left === 'string' && typeof right === 'string' ? left === right : left === right;
        case '!=':
          return left !== right;
        case '&&':
          return left === true && right === true;
        case '||':
          return left === true || right === true;
        case '+':
          return Number(left) + Number(right);
        case '-':
          return Number(left) - Number(right);
        case '<':
          return Number(left) < Number(right);
        case '>':
          return Number(left) > Number(right);
        case '<=':
          return Number(left) <= Number(right);
        case '>=':
          return Number(left) >= Number(right);
        default:
          throw new Error(`The test evaluator does not know the operator ${operator ?? '?'} in ${node.text}`);
      }
    }
    case 'call_expression': {
      const name = named[0]!.text;
      const argumentNodes = named[1]?.namedChildren ?? [];
      if ((name === 'filter' || name === 'map') && argumentNodes[1]?.type === 'lambda_expression') {
        const items = evaluate(argumentNodes[0]!, scope) as BicepValue[];
        const [variable, body] = argumentNodes[1].namedChildren;
        const apply = (item: BicepValue) =>
          evaluate(body!, { ...scope, params: { ...scope.params, [variable!.text]: item } });
        return name === 'filter' ? items.filter((item) => apply(item) === true) : items.map(apply);
      }
      const args = argumentNodes.map((child) => evaluate(child, scope));
      if (name === 'subscription')
        return { id: scope.context.subscriptionId, tenantId: scope.context.tenantId };
      if (name === 'resourceGroup')
        return { id: scope.context.resourceGroupId, location: scope.context.location };
      if (name === 'tenant') return { tenantId: scope.context.tenantId };
      const implementation = FUNCTIONS[name];
      if (!implementation) throw new Error(`The test evaluator does not know the function ${name}()`);
      return implementation(...args);
    }
    case 'member_expression': {
      const target = evaluate(named[0]!, scope);
      const property = named[1]!.text;
      if (typeof target === 'string' && scope.opaque) return `${target}.${property}`;
      return (target as Record<string, BicepValue>)[property] ?? null;
    }
    case 'subscript_expression': {
      const target = evaluate(named[0]!, scope) as BicepValue[];
      return target[Number(evaluate(named[1]!, scope))] ?? null;
    }
    default:
      throw new Error(`The test evaluator does not know ${node.type}: ${node.text}`);
  }
}

function unescape(text: string): string {
  return text.replace(
    /\\(['\\$nrt])/g,
    (_match, char: string) => ({ n: '\n', r: '\r', t: '\t' })[char] ?? char,
  );
}

function lookup(name: string, scope: Scope): BicepValue {
  if (name in scope.params) return scope.params[name]!;
  const variable = scope.file.vars.get(name);
  if (variable) return evaluate(variable, scope);
  const param = scope.file.params.get(name);
  if (param?.defaultValue) return evaluate(param.defaultValue, scope);
  if (scope.opaque) return `<${name}>`;
  if (param) throw new Error(`Parameter ${name} has no value and no default.`);
  throw new Error(`Unknown symbol ${name}`);
}

/** The value of each parameter main.bicep passes to a module, for given main.bicep parameters. */
export function moduleParams(
  file: BicepFile,
  moduleSymbol: string,
  params: Record<string, BicepValue>,
  context = SAMPLE_CONTEXT,
) {
  const module = file.modules.find((candidate) => candidate.symbol === moduleSymbol);
  if (!module) throw new Error(`No module ${moduleSymbol} in ${file.path}`);
  const passed = propertyAt(module.body, 'params');
  if (!passed) throw new Error(`Module ${moduleSymbol} passes no params`);
  const scope: Scope = { file, params, context, opaque: true };
  return Object.fromEntries(
    [...objectProperties(passed)].map(([key, value]) => [key, evaluate(value, scope)]),
  );
}

/** Evaluates one expression node with nothing opaque allowed. */
export function valueOf(node: Node, file: BicepFile, params: Record<string, BicepValue> = {}): BicepValue {
  return evaluate(node, { file, params, context: SAMPLE_CONTEXT, opaque: true });
}
