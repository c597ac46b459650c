// A SCHED_IDLE spinner for bench/cpu-meter.ts (pinned with `taskset`, made SCHED_IDLE by the
// meter once it runs): it spins on its core and every WINDOW_MS prints
// "<CLOCK_MONOTONIC ns> <loops so far> <own run time ns>". It gets the core only when nothing
// else wants it, so the loops it misses are the core's time spent on everything else, softirq
// work included, which the kernel's tick-based /proc/stat misses when that work interrupts
// the idle task. Its run time (schedstat, the scheduler's clock) calibrates loops per second:
// it excludes the time other tasks held the core, so a busy shared core does not skew it.
// argv: windowMs
import { readFileSync, writeSync } from 'node:fs';

const windowNs = BigInt(Math.round(Number(process.argv[2] ?? 10) * 1e6));
/** Loops between clock reads: about 5 µs of work, so a clock read costs < 1 % of a window. */
const CHUNK = 4096;

/** This thread's run time, ns: the first field of its schedstat. */
function runNs(): string {
  const s = readFileSync('/proc/thread-self/schedstat', 'latin1');
  return s.slice(0, s.indexOf(' '));
}

let x = 1;
let loops = 0;
let next = process.hrtime.bigint();
for (;;) {
  for (let i = 0; i < CHUNK; i++) x = (Math.imul(x, 1103515245) + 12345) | 0;
  loops += CHUNK;
  const t = process.hrtime.bigint();
  if (t >= next) {
    // x is printed so that the loop above is not optimised away.
    writeSync(1, `${t} ${loops} ${runNs()} ${x & 1}\n`);
    next = t + windowNs;
  }
}
