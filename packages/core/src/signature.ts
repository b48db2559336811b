/** One parameter of a registered function, as `_zerorpc_inspect` shows it. */
export interface ArgSpec {
  name: string;
  /** The default value, when the source spells it as a plain literal. */
  default?: unknown;
  /** True when the parameter has a default (whether or not its value is known). */
  optional?: boolean;
  /** True for a rest parameter (`...args`). */
  rest?: boolean;
}

/**
 * Read a function's parameter list from its source text. Handles plain,
 * async, generator and arrow functions, defaults and rest parameters; a
 * destructured parameter is named `argN`. Defaults that are JSON-like
 * literals are kept as values for introspection.
 */
export function readParameters(fn: Function): ArgSpec[] {
  const source = stripComments(Function.prototype.toString.call(fn));
  const list = parameterSource(source);
  if (list === undefined) return [];
  return splitTopLevel(list)
    .map((part) => part.trim())
    .filter((part) => part.length > 0)
    .map((part, index) => toArgSpec(part, index));
}

function parameterSource(source: string): string | undefined {
  const open = source.indexOf('(');
  const arrow = source.indexOf('=>');
  // `x => ...`: a single bare parameter before the arrow.
  if (arrow >= 0 && (open < 0 || open > arrow)) {
    return source
      .slice(0, arrow)
      .replace(/^\s*async\s+/, '')
      .trim();
  }
  if (open < 0) return undefined;
  let depth = 0;
  for (let i = open; i < source.length; i++) {
    const ch = source[i];
    if (ch === '"' || ch === "'" || ch === '`') {
      i = skipString(source, i);
    } else if (ch === '(' || ch === '[' || ch === '{') {
      depth++;
    } else if (ch === ')' || ch === ']' || ch === '}') {
      depth--;
      if (depth === 0) return source.slice(open + 1, i);
    }
  }
  return undefined;
}

// Comments may hold commas, parentheses or whole words (`a, // the first`):
// replace each with a space before looking for parameters.
function stripComments(source: string): string {
  let out = '';
  for (let i = 0; i < source.length; i++) {
    const ch = source[i];
    if (ch === '"' || ch === "'" || ch === '`') {
      const end = skipString(source, i);
      out += source.slice(i, end + 1);
      i = end;
    } else if (ch === '/' && source[i + 1] === '*') {
      const close = source.indexOf('*/', i + 2);
      i = close < 0 ? source.length : close + 1;
      out += ' ';
    } else if (ch === '/' && source[i + 1] === '/') {
      const close = source.indexOf('\n', i);
      i = close < 0 ? source.length : close - 1;
      out += ' ';
    } else {
      out += ch;
    }
  }
  return out;
}

function skipString(source: string, start: number): number {
  const quote = source[start];
  for (let i = start + 1; i < source.length; i++) {
    if (source[i] === '\\') i++;
    else if (source[i] === quote) return i;
  }
  return source.length;
}

function splitTopLevel(list: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < list.length; i++) {
    const ch = list[i];
    if (ch === '"' || ch === "'" || ch === '`') i = skipString(list, i);
    else if (ch === '(' || ch === '[' || ch === '{') depth++;
    else if (ch === ')' || ch === ']' || ch === '}') depth--;
    else if (ch === ',' && depth === 0) {
      parts.push(list.slice(from, i));
      from = i + 1;
    }
  }
  parts.push(list.slice(from));
  return parts;
}

function toArgSpec(part: string, index: number): ArgSpec {
  const cleaned = part.trim();
  if (cleaned.startsWith('...')) {
    const name = cleaned.slice(3).trim();
    return { name: /^[\w$]+$/.test(name) ? name : `arg${index}`, rest: true };
  }
  const eq = topLevelEquals(cleaned);
  const target = (eq < 0 ? cleaned : cleaned.slice(0, eq)).trim();
  const name = /^[\w$]+$/.test(target) ? target : `arg${index}`;
  if (eq < 0) return { name };
  const spec: ArgSpec = { name, optional: true };
  const literal = parseLiteral(cleaned.slice(eq + 1).trim());
  if (literal.known) spec.default = literal.value;
  return spec;
}

function topLevelEquals(part: string): number {
  let depth = 0;
  for (let i = 0; i < part.length; i++) {
    const ch = part[i];
    if (ch === '"' || ch === "'" || ch === '`') i = skipString(part, i);
    else if (ch === '(' || ch === '[' || ch === '{') depth++;
    else if (ch === ')' || ch === ']' || ch === '}') depth--;
    else if (ch === '=' && depth === 0 && part[i + 1] !== '>') return i;
  }
  return -1;
}

function parseLiteral(text: string): { known: boolean; value?: unknown } {
  if (text === 'undefined') return { known: true, value: null };
  const json = /^'(?:[^'\\]|\\.)*'$/.test(text) ? singleToDoubleQuoted(text) : text;
  try {
    return { known: true, value: JSON.parse(json) };
  } catch {
    return { known: false };
  }
}

/** `'it\\'s "x"'` → `"it's \\"x\\""`, so that JSON can read a single-quoted literal. */
function singleToDoubleQuoted(text: string): string {
  const body = text
    .slice(1, -1)
    .replace(/\\(.)|"/g, (match, escaped) =>
      escaped === undefined ? '\\"' : escaped === "'" ? "'" : match,
    );
  return `"${body}"`;
}
