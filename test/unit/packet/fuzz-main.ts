// `npm run fuzz [-- FRAMES [SEED]]`: the long run of fuzz.ts (default 10 million frames).
import { runFuzz } from './fuzz.js';

const frames = Number(process.argv[2] ?? 10_000_000);
const seed = Number(process.argv[3] ?? Date.now() % 1_000_000);
const t0 = Date.now();
const r = await runFuzz(frames, seed);
process.stdout.write(
  `fuzz: ${r.frames} frames (seed ${seed}) in ${((Date.now() - t0) / 1000).toFixed(0)} s, ${r.sent} frames out, drops ${JSON.stringify(r.drops)}; conn table empty after every timeout\n`,
);
