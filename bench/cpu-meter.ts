// What a core spends on everything but one SCHED_IDLE spinner (bench/cpu-spinner.ts), softirq
// work included. This kernel accounts CPU time by ticks, so /proc/stat charges softirq work
// done while the core was idle to idle; a spinner that always wants the core turns that idle
// time into its own loops, and the loops it misses are the core's busy time:
//   busy = wall - loops / rate,
// rate being the spinner's loops per second of its own run time, calibrated with no traffic.
// The spinner yields at once to any normal task or interrupt, so it does not slow what it
// measures (beyond the caches it shares). Time the hypervisor steals counts as busy, and so
// does any other job on the core: measure an idle interval for that background.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SPINNER = fileURLToPath(new URL('./cpu-spinner.ts', import.meta.url));
/** Report interval of the spinner: the resolution of a measured interval's ends. */
const WINDOW_MS = 10;
/** Calibration interval, no traffic. */
const CAL_MS = 3000;
/** Spinner run time that calibrates to about 0.1 % (10 ms windows at both ends). */
const CAL_MIN_RUN_S = 0.02;
/** How long to wait for the spinner's samples to cover an interval's end: a SCHED_IDLE task on a core other jobs keep busy may not run for seconds. */
const SAMPLE_WAIT_MS = 60_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class CpuMeter {
  /** Samples: CLOCK_MONOTONIC ns and the loops so far. */
  private readonly t: bigint[] = [];
  private readonly loops: number[] = [];
  /** The spinner's own run time so far, ns. */
  private readonly run: number[] = [];
  private child: ChildProcess | null = null;
  private rest = '';
  /** Idle loops per second of the core. */
  rate = 0;

  constructor(readonly cpu: number) {}

  async start(): Promise<void> {
    // Started at normal priority, made SCHED_IDLE once it spins: its start-up (tsx compiling
    // it) would otherwise wait for a busy core to be idle.
    const c = spawn('taskset', ['-c', String(this.cpu), process.execPath, '--import', 'tsx', SPINNER, String(WINDOW_MS)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.child = c;
    c.stdout!.setEncoding('utf8');
    c.stdout!.on('data', (s: string) => {
      const lines = (this.rest + s).split('\n');
      this.rest = lines.pop()!;
      for (const line of lines) {
        const [t, n, run] = line.split(' ');
        this.t.push(BigInt(t!));
        this.loops.push(Number(n));
        this.run.push(Number(run));
      }
    });
    const exited = new Promise<never>((_, rej) =>
      c.once('exit', (code) => rej(new Error(`cpu spinner (taskset -c ${this.cpu} chrt --idle 0 node) exited with ${code}`))),
    );
    await Promise.race([this.waitFor(process.hrtime.bigint() + 100_000_000n), exited]);
    // -a: every thread of it; ip netns exec is not in the way (taskset execs node).
    execFileSync('chrt', ['-a', '--idle', '-p', '0', String(c.pid)], { stdio: 'pipe' });
    const policy = execFileSync('chrt', ['-p', String(c.pid)], { encoding: 'utf8' });
    if (!policy.includes('SCHED_IDLE')) throw new Error(`cpu spinner ${c.pid}: chrt --idle did not take: ${policy}`);
  }

  stop(): void {
    this.child?.kill('SIGKILL');
    this.child = null;
  }

  /**
   * Measures the spinner's loops per second of its own run time over CAL_MS; call with no
   * traffic (interrupts that hit the spinner count in its run time, not in its loops).
   */
  async calibrate(): Promise<number> {
    const t0 = process.hrtime.bigint();
    await sleep(CAL_MS);
    const t1 = process.hrtime.bigint();
    const loops = await this.loopsIn(t0, t1);
    const runS = (this.at(this.run, t1) - this.at(this.run, t0)) / 1e9;
    if (runS < CAL_MIN_RUN_S) {
      throw new Error(
        `cpu spinner on CPU ${this.cpu} ran ${(runS * 1000).toFixed(0)} ms of ${CAL_MS} ms (needs ${CAL_MIN_RUN_S * 1000}): the core is too busy to calibrate; run the bench when the machine is quieter`,
      );
    }
    this.rate = loops / runS;
    return this.rate;
  }

  /**
   * The core's busy fraction over `ms` from now, waiting (up to waitMs) for one at or under
   * `quiet`: on a shared machine other jobs come and go, and a trial is best measured between.
   */
  async background(ms: number, quiet: number, waitMs: number): Promise<number> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const t0 = process.hrtime.bigint();
      await sleep(ms);
      const t1 = process.hrtime.bigint();
      const f = (await this.busy(t0, t1)) / (Number(t1 - t0) / 1e9);
      if (f <= quiet || Date.now() > deadline) return f;
    }
  }

  /** Core seconds spent on everything but the spinner in [t0, t1] (CLOCK_MONOTONIC ns). */
  async busy(t0: bigint, t1: bigint): Promise<number> {
    if (!this.rate) throw new Error('CpuMeter.busy before calibrate()');
    const wall = Number(t1 - t0) / 1e9;
    return wall - (await this.loopsIn(t0, t1)) / this.rate;
  }

  private async waitFor(t: bigint): Promise<void> {
    const deadline = Date.now() + SAMPLE_WAIT_MS;
    while ((this.t.at(-1) ?? 0n) < t) {
      if (Date.now() > deadline) throw new Error(`cpu spinner on CPU ${this.cpu}: no sample after ${t} ns within ${SAMPLE_WAIT_MS} ms`);
      await sleep(20);
    }
  }

  /** Loops counted in [t0, t1], interpolated linearly between the samples around each end. */
  private async loopsIn(t0: bigint, t1: bigint): Promise<number> {
    await this.waitFor(t1);
    return this.at(this.loops, t1) - this.at(this.loops, t0);
  }

  /** A sampled series at time t. */
  private at(series: number[], t: bigint): number {
    const ts = this.t;
    let lo = 0;
    let hi = ts.length - 1;
    if (t <= ts[0]!) throw new Error(`cpu spinner: interval starts before its first sample`);
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (ts[mid]! <= t) lo = mid;
      else hi = mid;
    }
    const f = Number(t - ts[lo]!) / Number(ts[hi]! - ts[lo]!);
    return series[lo]! + f * (series[hi]! - series[lo]!);
  }
}
