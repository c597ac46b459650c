// `npm run build`, second step: bundles tsc's output (dist/) into dist/bundle/, which bin/tsvs
// and bin/tsvsadm load. A daemon that imports ~600 modules one by one through Node's ESM loader
// spends megabytes of resident memory on the loader's own optimised code and on one module
// record per file; a bundle of a few chunks does not (docs/packet-engine.md, "Idle cost").
// Commands and engines stay lazy: their literal `import()`s become chunks loaded on use.
//
// dist/bundle/ sits two levels below the checkout like dist/cli/, so that the code's
// `new URL('../../bin/tsvs', import.meta.url)` paths resolve the same from either.

import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/bundle`;
rmSync(outdir, { recursive: true, force: true });

await build({
  absWorkingDir: root,
  entryPoints: [
    { in: 'dist/cli/tsvs.js', out: 'tsvs' },
    { in: 'dist/cli/tsvsadm.js', out: 'tsvsadm' },
    // The proxy engine starts its workers from `./epoll-worker.js` beside its own code.
    { in: 'dist/engine/proxy/epoll-worker.js', out: 'epoll-worker' },
  ],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // npm packages stay in node_modules: koffi is native, and the dashboard's assets are read
  // from their packages' files.
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
});
