/**
 * The part of OData $filter that Graph's /users supports and this product uses: startswith, eq,
 * ne, ge, le, and, or, not, parentheses; string, boolean and null literals. Comparisons of
 * directory strings are case-insensitive, as in Graph; `ge` and `le` order strings by their
 * lower-cased UTF-16 code units (Graph does not document its collation; the product must not
 * depend on it).
 */
export type UserPredicate = (user: Readonly<Record<string, unknown>>) => boolean;

export class FilterSyntaxError extends Error {}

type Token = { kind: 'word' | 'string' | 'punct'; text: string };

function tokenize(filter: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  while (at < filter.length) {
    const char = filter[at]!;
    if (/\s/.test(char)) {
      at += 1;
    } else if (char === '(' || char === ')' || char === ',') {
      tokens.push({ kind: 'punct', text: char });
      at += 1;
    } else if (char === "'") {
      let text = '';
      at += 1;
      for (;;) {
        if (at >= filter.length) throw new FilterSyntaxError('Unterminated string literal.');
        if (filter[at] === "'") {
          if (filter[at + 1] === "'") {
            text += "'";
            at += 2;
            continue;
          }
          at += 1;
          break;
        }
        text += filter.charAt(at);
        at += 1;
      }
      tokens.push({ kind: 'string', text });
    } else {
      const match = /^[A-Za-z0-9_./-]+/.exec(filter.slice(at));
      if (!match) throw new FilterSyntaxError(`Syntax error at position ${at} in '${filter}'.`);
      tokens.push({ kind: 'word', text: match[0] });
      at += match[0].length;
    }
  }
  return tokens;
}

export function compileFilter(filter: string, knownProperties: ReadonlySet<string>): UserPredicate {
  const tokens = tokenize(filter);
  let at = 0;
  const peek = () => tokens[at];
  const take = (text?: string): Token => {
    const token = tokens[at];
    if (!token || (text !== undefined && token.text.toLowerCase() !== text)) {
      throw new FilterSyntaxError(`Invalid filter clause: expected ${text ?? 'more'} in '${filter}'.`);
    }
    at += 1;
    return token;
  };
  const property = (): string => {
    const name = take().text;
    if (!knownProperties.has(name)) {
      throw new FilterSyntaxError(
        `Property '${name}' does not exist as a declared property or extension property.`,
      );
    }
    return name;
  };
  const literal = (): unknown => {
    const token = take();
    if (token.kind === 'string') return token.text;
    if (token.text === 'true') return true;
    if (token.text === 'false') return false;
    if (token.text === 'null') return null;
    throw new FilterSyntaxError(`Invalid filter clause: unsupported literal ${token.text}.`);
  };
  const same = (a: unknown, b: unknown) =>
    typeof a === 'string' && typeof b === 'string' ? a.toLowerCase() === b.toLowerCase() : (a ?? null) === b;

  const factor = (): UserPredicate => {
    const token = peek();
    if (!token) throw new FilterSyntaxError(`Invalid filter clause: '${filter}' ends early.`);
    if (token.text === '(') {
      take('(');
      const inner = expression();
      take(')');
      return inner;
    }
    if (token.text.toLowerCase() === 'not') {
      take();
      const inner = factor();
      return (user) => !inner(user);
    }
    if (token.text.toLowerCase() === 'startswith') {
      take();
      take('(');
      const name = property();
      take(',');
      const prefix = literal();
      take(')');
      if (typeof prefix !== 'string') throw new FilterSyntaxError('startswith takes a string.');
      const lower = prefix.toLowerCase();
      return (user) => {
        const value = user[name];
        return typeof value === 'string' && value.toLowerCase().startsWith(lower);
      };
    }
    const name = property();
    const operator = take().text.toLowerCase();
    const value = literal();
    if (operator === 'eq') return (user) => same(user[name], value);
    if (operator === 'ne') return (user) => !same(user[name], value);
    if ((operator === 'ge' || operator === 'le') && typeof value === 'string') {
      const bound = value.toLowerCase();
      return (user) => {
        const actual = user[name];
        if (typeof actual !== 'string') return false;
        const lower = actual.toLowerCase();
        return operator === 'ge' ? lower >= bound : lower <= bound;
      };
    }
    throw new FilterSyntaxError(
      `Unsupported or invalid query filter clause specified for property '${name}' of resource 'User'.`,
    );
  };
  const term = (): UserPredicate => {
    let left = factor();
    while (peek()?.text.toLowerCase() === 'and') {
      take();
      const [a, b] = [left, factor()];
      left = (user) => a(user) && b(user);
    }
    return left;
  };
  const expression = (): UserPredicate => {
    let left = term();
    while (peek()?.text.toLowerCase() === 'or') {
      take();
      const [a, b] = [left, term()];
      left = (user) => a(user) || b(user);
    }
    return left;
  };

  const predicate = expression();
  if (at !== tokens.length)
    throw new FilterSyntaxError(`Invalid filter clause: unexpected '${tokens[at]!.text}'.`);
  return predicate;
}
