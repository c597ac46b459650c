// `npm run build`, second step: bundles tsc's output (dist/) into dist/bundle/, which bin/tsvs
// and bin/tsvsadm load. The two commands are CommonJS bundles: a process that loads no ES
// module never starts Node's ESM loader, which with what it pulls in (node:fs/promises,
// readline, streams) holds about 2.9 MB resident, measured in a bare `node`, and the daemon
// lives long (docs/packet-engine.md, "Idle cost"). Commands and engines stay lazy: esbuild
// wraps each module that is reached through a literal `import()` so that it runs on first use.
//
// dist/bundle/ sits two levels below the checkout like dist/cli/, so that the code's
// `new URL('../../bin/tsvs', import.meta.url)` paths resolve the same from either; in the
// CommonJS bundle `import.meta.url` is the bundle file's own URL.

import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/bundle`;
rmSync(outdir, { recursive: true, force: true });

const common = {
  absWorkingDir: root,
  outdir,
  bundle: true,
  platform: 'node',
  target: 'node20',
  // npm packages stay in node_modules: koffi is native, and the dashboard's assets are read
  // from their packages' files.
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
};

await build({
  ...common,
  entryPoints: [
    { in: 'dist/cli/tsvs.js', out: 'tsvs' },
    { in: 'dist/cli/tsvsadm.js', out: 'tsvsadm' },
  ],
  format: 'cjs',
  // V8 keeps a script's source in the heap for its life: 886 KB as written, 592 KB without the
  // indentation (1 MB less RSS idle). Names stay, so stack traces still name the functions.
  minifyWhitespace: true,
  outExtension: { '.js': '.cjs' },
  define: { 'import.meta.url': '__tsvs_import_meta_url' },
  banner: { js: 'const __tsvs_import_meta_url = require("node:url").pathToFileURL(__filename).href;' },
});

// The proxy engine starts its workers from `./epoll-worker.js` beside its own code; a worker
// is an ES module as in dist/.
await build({
  ...common,
  entryPoints: [{ in: 'dist/engine/proxy/epoll-worker.js', out: 'epoll-worker' }],
  format: 'esm',
});

// The same for the core thread (control/core-thread.ts starts `./core-worker.js`).
await build({
  ...common,
  entryPoints: [{ in: 'dist/control/core-worker.js', out: 'core-worker' }],
  format: 'esm',
  // Its source stays in the worker's heap too (the note on the commands' bundle above).
  minifyWhitespace: true,
});
