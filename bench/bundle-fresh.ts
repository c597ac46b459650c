// Benches that start `bin/tsvs` or `bin/tsvsadm` run the bundle in dist/bundle/, not src/. After
// an edit, such a bench run without `npm run build` measures the old code and says nothing:
// on 2026-12-06 a packet bench "after" a change ran the build of the commit before it.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Why the bundle under `root` does not match src/ (missing, or older than a source file), or null. */
export function staleBundle(root: string): string | null {
  const bundle = join(root, 'dist/bundle/tsvs.cjs');
  let built: number;
  try {
    built = statSync(bundle).mtimeMs;
  } catch {
    return `${bundle} is missing: run "npm run build" first`;
  }
  let newest = '';
  let newestMs = 0;
  for (const f of readdirSync(join(root, 'src'), { recursive: true, encoding: 'utf8' })) {
    if (!f.endsWith('.ts')) continue;
    const ms = statSync(join(root, 'src', f)).mtimeMs;
    if (ms > newestMs) {
      newestMs = ms;
      newest = f;
    }
  }
  if (newestMs <= built) return null;
  return (
    `dist/bundle was built ${new Date(built).toISOString()}, before src/${newest} changed ` +
    `(${new Date(newestMs).toISOString()}): run "npm run build" first, or this bench measures the old code`
  );
}
