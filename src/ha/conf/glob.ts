// The file-name globbing `include` needs (`*`, `?`, `[...]` per path segment), as glob(3)
// does for keepalived. Node 20 has no fs.glob, and a dependency for this is not worth it.
import { readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve, sep } from 'node:path';

const MAGIC = /[*?[]/;

/** True when `pattern` has a wildcard, so no match is not an error (glob(3) NOMATCH). */
export function hasMagic(pattern: string): boolean {
  return MAGIC.test(pattern);
}

function segmentRegExp(seg: string): RegExp {
  let re = '';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i] as string;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = seg.indexOf(']', i + 2);
      if (end < 0) {
        re += '\\[';
        continue;
      }
      let body = seg.slice(i + 1, end);
      if (body.startsWith('!')) body = '^' + body.slice(1);
      re += '[' + body.replace(/\\/g, '\\\\') + ']';
      i = end;
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp('^' + re + '$');
}

/** Expands `pattern` (relative to `baseDir`) to the existing paths it names, sorted. */
export function expandGlob(pattern: string, baseDir: string): string[] {
  const abs = isAbsolute(pattern) ? pattern : resolve(baseDir, pattern);
  const segs = abs.split(sep).filter((s) => s.length > 0);
  let paths: string[] = [sep];
  for (const seg of segs) {
    const next: string[] = [];
    for (const dir of paths) {
      if (!hasMagic(seg)) {
        next.push(join(dir, seg));
        continue;
      }
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        continue; // not a directory, or unreadable: glob(3) skips it too
      }
      const re = segmentRegExp(seg);
      for (const n of names.sort()) {
        if (n.startsWith('.') && !seg.startsWith('.')) continue;
        if (re.test(n)) next.push(join(dir, n));
      }
    }
    paths = next;
  }
  return paths.filter((p) => {
    try {
      return statSync(p).isFile();
    } catch {
      return false;
    }
  });
}
