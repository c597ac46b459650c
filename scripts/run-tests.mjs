// Runs every test file with Node's built-in runner (TypeScript loaded through tsx).
// Node 20's --test does not expand globs, so the files are listed here.
//
// Files that bring up the seeds' labs share fixed namespace names (tsvs-lab-<lab>-*), and
// labUp() first tears down whatever a lab of that name left: two such files at once would tear
// down each other's labs. They run one at a time, after the others.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

function collect(dir, out) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) collect(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const roots = process.argv.slice(2);
const files = (roots.length ? roots : ['test']).flatMap((r) => (r.endsWith('.ts') ? [r] : collect(r, [])));
if (files.length === 0) {
  console.error('run-tests: no test files found');
  process.exit(1);
}
const USES_LAB = /\blabUp\(|\bfindLab\(/;
const lab = files.filter((f) => USES_LAB.test(readFileSync(f, 'utf8')));
const rest = files.filter((f) => !lab.includes(f));

let status = 0;
for (const [group, concurrency] of [
  [rest, 2],
  [lab, 1],
]) {
  if (group.length === 0) continue;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...group], { stdio: 'inherit' });
  if (r.status !== 0) status = r.status ?? 1;
}
process.exit(status);
