// `npm run fuzz -- TARGET [COUNT [SEED]]`: the long run of one fuzzer. TARGET: frame (the
// per-frame path, test/unit/packet/fuzz.ts), sync, vrrp, control, http. A failure prints its
// seed and case number; the same command with them replays it.
import { runFuzz } from '../packet/fuzz.js';
import { runControlFuzz } from './control.js';
import { runHttpFuzz } from './http.js';
import { runSyncFuzz } from './sync.js';
import { runVrrpFuzz } from './vrrp.js';

type Target = (count: number, seed: number) => Promise<object>;

const TARGETS: Record<string, { run: Target; count: number }> = {
  frame: { run: runFuzz, count: 10_000_000 },
  sync: { run: runSyncFuzz, count: 2_000_000 },
  vrrp: { run: runVrrpFuzz, count: 2_000_000 },
  control: { run: runControlFuzz, count: 20_000 },
  http: { run: runHttpFuzz, count: 20_000 },
};

// Without a target name (`npm run fuzz [-- FRAMES [SEED]]`, as before there were others): frame.
const args = process.argv.slice(2);
if (args.length === 0 || /^\d+$/.test(args[0]!)) args.unshift('frame');
const [name = '', countArg, seedArg] = args;
const target = TARGETS[name];
if (!target) {
  process.stderr.write(`usage: npm run fuzz -- TARGET [COUNT [SEED]]   (TARGET: ${Object.keys(TARGETS).join(', ')})\n`);
  process.exit(2);
}
const count = Number(countArg ?? target.count);
const seed = Number(seedArg ?? Date.now() % 1_000_000);
if (!Number.isInteger(count) || count < 1 || !Number.isInteger(seed)) {
  process.stderr.write(`fuzz: COUNT and SEED must be whole numbers (got ${countArg}, ${seedArg})\n`);
  process.exit(2);
}
const t0 = Date.now();
// A failure says how to replay itself (FuzzFailure); a seed printed first covers a crash too.
process.stdout.write(`fuzz ${name}: ${count} cases, seed ${seed}\n`);
try {
  const r = await target.run(count, seed);
  process.stdout.write(`fuzz ${name}: ${count} cases (seed ${seed}) in ${((Date.now() - t0) / 1000).toFixed(0)} s: ${JSON.stringify(r)}\n`);
} catch (e) {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(1);
}
