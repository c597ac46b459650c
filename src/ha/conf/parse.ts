// keepalived.conf reader: statements one per line, `{ }` blocks, `!`/`#` comments, quoted
// strings, `include` with globs, `$NAME=value` parameters and `@id` conditional lines
// (docs/spec/ha.md §B.1). It only builds the tree; what keywords mean is the consumers' business.
// Bad input never throws: it becomes an error naming file:line.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { expandGlob, hasMagic } from './glob.js';
import type { ConfMessage, ConfNode } from './node.js';

export interface ParsedConf {
  nodes: ConfNode[];
  errors: ConfMessage[];
  warnings: ConfMessage[];
}

/** keepalived's own limit on nested includes; deeper is almost surely a loop. */
export const MAX_INCLUDE_DEPTH = 8;

interface Ctx {
  errors: ConfMessage[];
  warnings: ConfMessage[];
  params: Map<string, string>;
  configId: string;
  depth: number;
}

interface Token {
  text: string;
  brace: '{' | '}' | null;
}

/** Reads and parses `path` with its includes. An unreadable file is an error, not a throw. */
export function parseConfFile(path: string): ParsedConf {
  const ctx = newCtx();
  const nodes = parseFileInto(path, ctx, { file: path, line: 0 });
  return { nodes, errors: ctx.errors, warnings: ctx.warnings };
}

/** Parses `text` as if read from `file` (includes are relative to its directory). */
export function parseConfText(text: string, file: string): ParsedConf {
  const ctx = newCtx();
  const nodes = parseTextInto(text, file, ctx);
  return { nodes, errors: ctx.errors, warnings: ctx.warnings };
}

function newCtx(): Ctx {
  // keepalived's default config id (for `@id` lines) is the host name up to the first dot.
  const configId = hostname().split('.')[0] ?? '';
  return { errors: [], warnings: [], params: new Map(), configId, depth: 0 };
}

function parseFileInto(path: string, ctx: Ctx, from: { file: string; line: number }): ConfNode[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? String(e);
    ctx.errors.push({ ...from, text: `cannot read configuration file ${path}: ${why}` });
    return [];
  }
  return parseTextInto(text, path, ctx);
}

interface Frame {
  children: ConfNode[];
  opener: ConfNode | null;
}

function parseTextInto(text: string, file: string, ctx: Ctx): ConfNode[] {
  const top: Frame = { children: [], opener: null };
  const stack: Frame[] = [top];
  // A statement alone on its line may have its `{` on the next line.
  let awaitingBrace: ConfNode | null = null;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let raw = lines[i] as string;
    const trimmed = raw.trim();
    const def = /^\$([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(trimmed);
    if (def) {
      ctx.params.set(def[1] as string, stripComment(def[2] as string).trim());
      continue;
    }
    if (trimmed.startsWith('@')) {
      const m = /^@(\^?)(\S+)\s*(.*)$/.exec(trimmed);
      if (!m) continue;
      const match = m[2] === ctx.configId;
      if (match === (m[1] === '^')) continue; // line is for another config id
      raw = m[3] as string;
    }
    if (ctx.params.size > 0) raw = substitute(raw, ctx.params);
    const { tokens, error } = tokenize(raw);
    if (error) ctx.errors.push({ file, line: lineNo, text: error });
    let words: string[] = [];
    const frame = (): Frame => stack[stack.length - 1] as Frame;
    const flush = (): ConfNode | null => {
      if (words.length === 0) return null;
      const node: ConfNode = {
        keyword: words[0] as string,
        args: words.slice(1),
        children: [],
        file,
        line: lineNo,
      };
      words = [];
      if (node.keyword === 'include') {
        frame().children.push(...expandInclude(node, ctx));
        return null;
      }
      frame().children.push(node);
      return node;
    };
    for (let k = 0; k < tokens.length; k++) {
      const t = tokens[k] as Token;
      if (t.brace === '{') {
        let opener = flush();
        if (!opener && k === 0 && awaitingBrace) opener = awaitingBrace;
        awaitingBrace = null;
        if (!opener) {
          ctx.errors.push({ file, line: lineNo, text: "'{' without a keyword before it" });
          opener = { keyword: '', args: [], children: [], file, line: lineNo };
        }
        stack.push({ children: opener.children, opener });
      } else if (t.brace === '}') {
        flush();
        awaitingBrace = null;
        if (stack.length === 1) {
          ctx.errors.push({ file, line: lineNo, text: "'}' without a block to close" });
        } else stack.pop();
      } else {
        words.push(t.text);
      }
    }
    const node = flush();
    if (tokens.length > 0) awaitingBrace = node;
  }
  for (let s = stack.length - 1; s > 0; s--) {
    const o = (stack[s] as Frame).opener as ConfNode;
    ctx.errors.push({
      file: o.file,
      line: o.line,
      text: `missing '}': the block '${o.keyword}' opened here is not closed by the end of the file`,
    });
  }
  return top.children;
}

function expandInclude(node: ConfNode, ctx: Ctx): ConfNode[] {
  const at = { file: node.file, line: node.line };
  if (node.args.length === 0) {
    ctx.errors.push({ ...at, text: 'include needs a file name or pattern' });
    return [];
  }
  if (ctx.depth >= MAX_INCLUDE_DEPTH) {
    ctx.errors.push({
      ...at,
      text: `include nested deeper than ${MAX_INCLUDE_DEPTH} files (an include loop?)`,
    });
    return [];
  }
  const out: ConfNode[] = [];
  for (const pattern of node.args) {
    const paths = expandGlob(pattern, dirname(node.file));
    if (paths.length === 0) {
      if (hasMagic(pattern)) ctx.warnings.push({ ...at, text: `include ${pattern}: no file matches` });
      else ctx.errors.push({ ...at, text: `include ${pattern}: no such file` });
      continue;
    }
    ctx.depth++;
    for (const p of paths) out.push(...parseFileInto(p, ctx, at));
    ctx.depth--;
  }
  return out;
}

function stripComment(s: string): string {
  return tokenize(s)
    .tokens.map((t) => t.text)
    .join(' ');
}

function substitute(line: string, params: Map<string, string>): string {
  return line.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (all, a, b) => {
    const v = params.get((a ?? b) as string);
    return v === undefined ? all : v;
  });
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'" };

/** Splits one line into words and braces; comments end it; quotes group and are removed. */
function tokenize(line: string): { tokens: Token[]; error: string | null } {
  const tokens: Token[] = [];
  let cur = '';
  let inWord = false;
  const end = (): void => {
    if (inWord) tokens.push({ text: cur, brace: null });
    cur = '';
    inWord = false;
  };
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (c === '"' || c === "'") {
      const close = c;
      inWord = true;
      let j = i + 1;
      for (; j < line.length && line[j] !== close; j++) {
        const d = line[j] as string;
        if (d === '\\' && close === '"' && j + 1 < line.length) {
          const e = line[++j] as string;
          cur += ESCAPES[e] ?? e;
        } else cur += d;
      }
      if (j >= line.length) {
        end();
        return { tokens, error: `unterminated quoted string (${close}) on this line` };
      }
      i = j;
    } else if (c === '#' || c === '!') {
      break;
    } else if (c === '{' || c === '}') {
      end();
      tokens.push({ text: c, brace: c });
    } else if (c === ' ' || c === '\t') {
      end();
    } else {
      cur += c;
      inWord = true;
    }
  }
  end();
  return { tokens, error: null };
}
