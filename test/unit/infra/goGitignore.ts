/**
 * The ignore-file reader azd uses for `.funcignore`: a port of github.com/denormal/go-gitignore at
 * ae8ad1d07817b3d3b49cabb21559a3f493a357a3 (the version azure-dev's cli/azd/go.mod pins;
 * lexer.go, parser.go, pattern.go, gitignore.go) and of the fnmatch it calls,
 * github.com/danwakefield/fnmatch at cbb64ac3d964b81592e64f957ad53df015803288 (fnmatch.go).
 *
 * Its rules differ from git's and from Core Tools' (coreToolsIgnore.ts): the last matching
 * pattern wins and only the path asked about is matched (azd's zip walk does not descend into an
 * excluded folder, which covers the parents); a pattern without `/` matches the base name, or,
 * with a leading `/`, the whole relative path with a `*` that crosses `/`; one with a `/` inside
 * matches the whole path, `*` stopping at `/`; `**` matches any number of path segments; a line
 * go-gitignore cannot parse (`foo**`) is skipped.
 */

type TokenType =
  'EOL' | 'EOF' | 'WHITESPACE' | 'COMMENT' | 'SEPARATOR' | 'NEGATION' | 'PATTERN' | 'ANY' | 'BAD';
interface Token {
  type: TokenType;
  word: string;
}

/** lexer.go: one token at a time; `#` and `!` are special only at the start of a line. */
function lex(content: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  // lexer.beginning(): the column is 1, i.e. nothing or an end of line came before.
  const beginning = () => tokens.length === 0 || tokens.at(-1)!.type === 'EOL';
  const push = (type: TokenType, word: string) => tokens.push({ type, word });
  const stops = (char: string | undefined) =>
    char === undefined || char === ' ' || char === '\t' || char === '\r' || char === '\n' || char === '/';
  for (;;) {
    const char = content[at];
    if (char === undefined) {
      push('EOF', '');
      return tokens;
    }
    if (char === ' ' || char === '\t') {
      const start = at;
      while (content[at] === ' ' || content[at] === '\t') at++;
      push('WHITESPACE', content.slice(start, at));
    } else if (char === '\n') {
      at++;
      push('EOL', '\n');
    } else if (char === '\r') {
      // A CR must be followed by LF (CarriageReturnError otherwise: the line is skipped).
      if (content[at + 1] === '\n') {
        at += 2;
        push('EOL', '\r\n');
      } else {
        at++;
        push('BAD', '\r');
      }
    } else if (char === '/') {
      at++;
      push('SEPARATOR', '/');
    } else if (char === '*' && content[at + 1] === '*') {
      at += 2;
      push('ANY', '**');
    } else if (char === '#' && beginning()) {
      const start = at;
      while (content[at] !== undefined && content[at] !== '\n' && content[at] !== '\r') at++;
      push('COMMENT', content.slice(start, at));
    } else if (char === '!' && beginning()) {
      at++;
      push('NEGATION', '!');
    } else {
      // lexer.pattern(): up to whitespace, an end of line, a separator or a `**`; `\x` kept whole.
      let word = '';
      for (;;) {
        const next = content[at];
        if (stops(next)) break;
        if (next === '*' && content[at + 1] === '*') break;
        if (next === '\\') {
          const escaped = content[at + 1];
          if (escaped === undefined || escaped === '\r' || escaped === '\n') {
            word += '\\';
            at++;
          } else {
            word += `\\${escaped}`;
            at += 2;
          }
          continue;
        }
        word += next;
        at++;
      }
      push('PATTERN', word);
    }
  }
}

class InvalidPattern extends Error {}

/** parser.go: a line's tokens to a pattern, or nothing for a blank line or comment. */
function parse(content: string): Pattern[] {
  const tokens = lex(content);
  let at = 0;
  const next = (): Token => tokens[Math.min(at++, tokens.length - 1)]!;
  const undo = () => {
    at--;
  };
  const fail = (): never => {
    undo();
    throw new InvalidPattern();
  };

  const separator = (first: Token): Token[] => {
    const following = next();
    switch (following.type) {
      case 'ANY':
        return [first, ...any(following)];
      case 'WHITESPACE':
      case 'PATTERN':
        return [first, ...pattern(following)];
      case 'EOL':
      case 'EOF':
        return [first];
      case 'SEPARATOR':
        return [first, ...separator(following)];
      default:
        return fail();
    }
  };
  const any = (first: Token): Token[] => {
    const following = next();
    switch (following.type) {
      case 'SEPARATOR':
        return [first, ...separator(following)];
      case 'WHITESPACE': {
        // parser.eol(): only an end of line may follow trailing whitespace.
        const end = next();
        undo();
        if (end.type !== 'EOL' && end.type !== 'EOF') throw new InvalidPattern();
        return [first];
      }
      case 'EOL':
      case 'EOF':
        return [first];
      default:
        return fail();
    }
  };
  const pattern = (first: Token): Token[] => {
    const following = next();
    switch (following.type) {
      case 'SEPARATOR':
        return [first, ...separator(following)];
      case 'WHITESPACE':
      case 'PATTERN':
        return [first, ...pattern(following)];
      case 'EOL':
      case 'EOF':
        return [first];
      default:
        return fail();
    }
  };
  const sequence = (first: Token): Token[] => {
    switch (first.type) {
      case 'SEPARATOR':
        return separator(first);
      case 'ANY':
        return any(first);
      case 'WHITESPACE':
      case 'PATTERN':
        return pattern(first);
      default:
        return fail();
    }
  };

  const patterns: Pattern[] = [];
  for (;;) {
    const token = next();
    if (token.type === 'EOF') return patterns;
    if (token.type === 'EOL' || token.type === 'COMMENT') continue;
    try {
      if (token.type === 'NEGATION') {
        // parser.negation(): trailing whitespace is not trimmed here.
        patterns.push(newPattern([token, ...sequence(next())]));
      } else {
        const line = sequence(token);
        while (line.at(-1)?.type === 'WHITESPACE') line.pop();
        patterns.push(newPattern(line));
      }
    } catch (error) {
      if (!(error instanceof InvalidPattern)) throw error;
      // parser.skip(): the rest of the line is dropped.
      for (let skipped = next(); skipped.type !== 'EOL' && skipped.type !== 'EOF'; skipped = next());
    }
  }
}

interface Pattern {
  /** The line as written (trailing whitespace trimmed), as go-gitignore's Match.String(). */
  text: string;
  negated: boolean;
  matches: (path: string, isDir: boolean) => boolean;
}

/** pattern.go NewPattern: a name, a path or an "any" (`**`) pattern. */
function newPattern(line: Token[]): Pattern {
  const text = line.map((token) => token.word).join('');
  let tokens = line;
  const negated = tokens[0]?.type === 'NEGATION';
  if (negated) tokens = tokens.slice(1);
  const anchored = tokens[0]?.type === 'SEPARATOR';
  if (anchored) tokens = tokens.slice(1);
  // go-gitignore indexes tokens[-1] here and panics on a line of "/" alone.
  if (tokens.length === 0) throw new Error('go-gitignore panics on a pattern with nothing after "/"');
  const directory = tokens.at(-1)!.type === 'SEPARATOR';
  if (directory) tokens = tokens.slice(0, -1);
  const fnmatchPattern = tokens.map((token) => token.word).join('');

  if (tokens.some((token) => token.type === 'ANY')) {
    const parts = tokens.filter((token) => token.type !== 'SEPARATOR');
    const match = (path: string[], rest: Token[]): boolean => {
      if (rest.length === 0) return path.length === 0;
      const [token, ...after] = rest;
      if (token!.type === 'ANY')
        return path.length === 0 ? match(path, after) : match(path, after) || match(path.slice(1), rest);
      return path.length !== 0 && fnmatch(token!.word, path[0]!, FNM_PATHNAME) && match(path.slice(1), after);
    };
    return {
      text,
      negated,
      matches: (path, isDir) => (!directory || isDir) && match(path.split('/'), parts),
    };
  }
  if (tokens.some((token) => token.type === 'SEPARATOR')) {
    // path.Match tries the same anchored match twice whether or not the pattern starts with "/".
    return {
      text,
      negated,
      matches: (path, isDir) => (!directory || isDir) && fnmatch(fnmatchPattern, path, FNM_PATHNAME),
    };
  }
  return {
    text,
    negated,
    matches: (path, isDir) =>
      (!directory || isDir) &&
      fnmatch(fnmatchPattern, anchored ? path : path.slice(path.lastIndexOf('/') + 1), 0),
  };
}

/** gitignore.go: `New(reader, base)`, `Relative(path, isDir)`, `Absolute(path, isDir)`. */
export class GoGitIgnore {
  private readonly patterns: Pattern[];

  constructor(
    content: string,
    private readonly base: string,
  ) {
    this.patterns = parse(content);
  }

  /** The pattern that decides a path (the last one matching it), or undefined. */
  match(path: string, isDir: boolean): { pattern: string; ignore: boolean } | undefined {
    for (let index = this.patterns.length - 1; index >= 0; index--) {
      const pattern = this.patterns[index]!;
      if (pattern.matches(path, isDir)) return { pattern: pattern.text, ignore: !pattern.negated };
    }
    return undefined;
  }

  /** true: ignored, false: included by a negation, undefined: no pattern matched. */
  relative(path: string, isDir: boolean): boolean | undefined {
    return this.match(path, isDir)?.ignore;
  }

  /** How many patterns the content held, lines go-gitignore could not parse left out. */
  get size(): number {
    return this.patterns.length;
  }

  absolute(path: string, isDir: boolean): boolean | undefined {
    if (!path.startsWith(this.base)) return undefined;
    return this.relative(path.slice(this.base.length + 1), isDir);
  }
}

// fnmatch.go
const FNM_NOESCAPE = 1;
const FNM_PATHNAME = 2;
const FNM_PERIOD = 4;
const FNM_LEADING_DIR = 8;
const FNM_CASEFOLD = 16;

export function fnmatch(patternIn: string, subject: string, flags: number): boolean {
  let pattern = patternIn;
  let s = subject;
  const noescape = (flags & FNM_NOESCAPE) !== 0;
  const pathname = (flags & FNM_PATHNAME) !== 0;
  const period = (flags & FNM_PERIOD) !== 0;
  const leadingDir = (flags & FNM_LEADING_DIR) !== 0;
  const casefold = (flags & FNM_CASEFOLD) !== 0;
  // fnmatch.go's bookkeeping for FNM_PERIOD, kept in one object so each closure sees the same state.
  const state = { sAtStart: true, sLastAtStart: true, sLastSlash: false, sLastUnpacked: '' };
  const unpackS = () => {
    state.sLastSlash = state.sLastUnpacked === '/';
    state.sLastUnpacked = s.charAt(0);
    s = s.slice(1);
    state.sLastAtStart = state.sAtStart;
    state.sAtStart = false;
    return state.sLastUnpacked;
  };
  while (pattern.length > 0) {
    let c = pattern.charAt(0);
    pattern = pattern.slice(1);
    switch (c) {
      case '?': {
        if (s.length === 0) return false;
        const sc = unpackS();
        if (pathname && sc === '/') return false;
        if (period && sc === '.' && (state.sLastAtStart || (pathname && state.sLastSlash))) return false;
        break;
      }
      case '*': {
        while (pattern.startsWith('*')) pattern = pattern.slice(1);
        if (period && s.startsWith('.') && (state.sAtStart || (pathname && state.sLastUnpacked === '/')))
          return false;
        if (pattern.length === 0) return pathname ? leadingDir || !s.includes('/') : true;
        if (pathname && pattern.startsWith('/')) {
          const offset = s.indexOf('/');
          if (offset === -1) return false;
          s = s.slice(offset);
          unpackS();
          pattern = pattern.slice(1);
          break;
        }
        for (let test = s; test.length > 0; test = test.slice(1)) {
          if (fnmatch(pattern, test, flags & ~FNM_PERIOD)) return true;
          if (pathname && test.startsWith('/')) break;
        }
        return false;
      }
      case '[': {
        if (s.length === 0) return false;
        if (pathname && s.startsWith('/')) return false;
        const sc = unpackS();
        const range = rangeMatch(pattern, sc, flags);
        if (!range.matched) return false;
        pattern = range.rest;
        break;
      }
      default: {
        if (c === '\\' && !noescape && pattern.length > 0) {
          c = pattern.charAt(0);
          pattern = pattern.slice(1);
        }
        if (s.length === 0) return false;
        const sc = unpackS();
        if (sc !== c && !(casefold && sc.toLowerCase() === c.toLowerCase())) return false;
      }
    }
  }
  return s.length === 0 || (leadingDir && s.startsWith('/'));
}

function rangeMatch(patternIn: string, testIn: string, flags: number): { matched: boolean; rest: string } {
  let pattern = patternIn;
  if (pattern.length === 0) return { matched: false, rest: pattern };
  const casefold = (flags & FNM_CASEFOLD) !== 0;
  const noescape = (flags & FNM_NOESCAPE) !== 0;
  const test = casefold ? testIn.toLowerCase() : testIn;
  const unpack = () => {
    const char = pattern.charAt(0);
    pattern = pattern.slice(1);
    return char;
  };
  let negate = false;
  let matched = false;
  if (pattern.startsWith('^') || pattern.startsWith('!')) {
    negate = true;
    pattern = pattern.slice(1);
  }
  while (!matched && pattern.length > 1 && !pattern.startsWith(']')) {
    let c = unpack();
    if (!noescape && c === '\\') {
      if (pattern.length > 1) c = unpack();
      else return { matched: false, rest: pattern };
    }
    if (casefold) c = c.toLowerCase();
    if (pattern.startsWith('-') && pattern.length > 1 && pattern.charAt(1) !== ']') {
      unpack();
      let c2 = unpack();
      if (!noescape && c2 === '\\') {
        if (pattern.length > 0) c2 = unpack();
        else return { matched: false, rest: pattern };
      }
      if (casefold) c2 = c2.toLowerCase();
      if (c <= test && test <= c2) matched = true;
    } else if (c === test) {
      matched = true;
    }
  }
  let closed = false;
  while (!closed && pattern.length > 0) {
    const c = unpack();
    if (c === '\\' && pattern.length > 0) unpack();
    else if (c === ']') closed = true;
  }
  return { matched: closed && matched !== negate, rest: pattern };
}
