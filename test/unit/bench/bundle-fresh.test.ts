// The guard that keeps a bench from measuring a bundle built before the last source edit.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { staleBundle } from '../../../bench/bundle-fresh.js';

describe('staleBundle', () => {
  const root = mkdtempSync(join(tmpdir(), 'tsvs-bundle-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'src/core/conn'), { recursive: true });
  mkdirSync(join(root, 'dist/bundle'), { recursive: true });
  const src = join(root, 'src/core/conn/table.ts');
  const bundle = join(root, 'dist/bundle/tsvs.cjs');
  writeFileSync(join(root, 'src/main.ts'), '');
  writeFileSync(src, '');
  writeFileSync(join(root, 'src/core/notes.md'), '');

  it('says the bundle is missing', () => {
    assert.match(staleBundle(root) ?? '', /tsvs\.cjs is missing: run "npm run build" first/);
  });

  it('accepts a bundle built after every source file', () => {
    writeFileSync(bundle, '');
    const t = Date.now() / 1000;
    utimesSync(join(root, 'src/main.ts'), t - 60, t - 60);
    utimesSync(src, t - 30, t - 30);
    utimesSync(bundle, t - 10, t - 10);
    assert.equal(staleBundle(root), null);
  });

  it('names the newest source file changed after the build, in a subdirectory', () => {
    const t = Date.now() / 1000;
    utimesSync(bundle, t - 10, t - 10);
    utimesSync(src, t, t);
    // A non-TypeScript file changed later does not count.
    utimesSync(join(root, 'src/core/notes.md'), t + 5, t + 5);
    assert.match(staleBundle(root) ?? '', /before src\/core\/conn\/table\.ts changed .*run "npm run build" first/);
  });
});
