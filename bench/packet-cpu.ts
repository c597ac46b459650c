// The director core's CPU per forwarded packet at one fixed rate below every variant's
// capacity, softirq work included (bench/cpu-meter.ts): 64 B, ROUNDS rounds, each round every
// variant in turn and two idle trials (no daemon; a tsvs daemon with one NAT service and no
// traffic), medians over the rounds. The machine is shared: before each trial the core's
// background (other jobs; for tsvs variants also the idle daemon) is measured over BG_MS,
// waiting for a quiet moment, and "less background" subtracts it over the trial's wall time.
//
// The generator's core is metered too. Native XDP on veth runs the director's XDP program and
// its copy into the UMEM on the sending core (the veth's NAPI runs where the frame was sent),
// so the director's core alone undercounts that variant's work. The generator sleeps while
// ahead of its schedule (TrialFlows.sleepy) so that its core's meter reads something, and a
// trial of the generator alone (frames to the director's own address and a closed port, no
// forwarding) measures its own cost; "both cores" is the two cores' busy time less
// backgrounds and less the generator's own cost, per forwarded packet.

import { CpuMeter } from './cpu-meter.js';
import { clearRules, CPUS, DIR_CPU, DIR_IP, GEN_CPU, type Lab, stopDaemon, trial } from './packet-lab.js';
import { PEER, useVariant, type Variant } from './packet-variants.js';
import { textTable } from './text-table.js';

/** Below every variant's zero-loss rate at 64 B on this machine (tsvs: about 0.29 M pps). */
const CPU_PPS = Number(process.env.TSVS_BENCH_CPU_PPS ?? 100_000);
const SIZE = 64;
const TRIAL_MS = 2000;
const ROUNDS = Number(process.env.TSVS_BENCH_CPU_ROUNDS ?? 3);
const FLOWS = 16;
/** A trial that lost more than this was above the variant's capacity: its figure is marked. */
const MAX_LOSS = 0.01;
/** The background window before each trial, the busy fraction that counts as quiet, and how long to wait for it. */
const BG_MS = 1000;
const QUIET = 0.05;
const QUIET_WAIT_MS = 30_000;
/** Background above this makes a figure unreliable: the row says so. */
const NOISY = 0.2;

const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;

/** Where the generator-alone trial sends: the director's own address, on a port nobody listens on. */
const GEN_ALONE_ADDR = DIR_IP;

interface Sample {
  busyS: number;
  wallS: number;
  /** The background's busy fraction measured just before. */
  bg: number;
  /** The same on the generator's core. */
  genBusyS: number;
  genBg: number;
  sent: number;
  got: number;
}

export async function benchCpu(l: Lab, variants: Variant[]): Promise<void> {
  if (CPUS < 2) {
    process.stdout.write('\nCPU per packet: skipped (needs 2 cores: the generator on one, the director on the other)\n');
    return;
  }
  const m = new CpuMeter(DIR_CPU);
  const g = new CpuMeter(GEN_CPU);
  const idleDaemon = variants.find((v) => v.method !== 'nftables') ?? { name: 'tsvs NAT', method: 'NAT' as const };
  const IDLE = 'idle, no daemon';
  const IDLE_TSVS = `idle, ${idleDaemon.name} daemon`;
  const GEN_ALONE = 'generator alone (no forwarding)';
  const samples = new Map<string, Sample[]>();
  const add = (k: string, s: Sample) => samples.set(k, [...(samples.get(k) ?? []), s]);
  /** One trial of `k`: the background, then `ms` of the given traffic (none: pps 0). */
  const measure = async (k: string, daddr: string, pps: number) => {
    const [bg, genBg] = await Promise.all([m.background(BG_MS, QUIET, QUIET_WAIT_MS), g.background(BG_MS, QUIET, QUIET_WAIT_MS)]);
    if (pps === 0) {
      const t0 = process.hrtime.bigint();
      await new Promise((r) => setTimeout(r, TRIAL_MS));
      const t1 = process.hrtime.bigint();
      add(k, { busyS: await m.busy(t0, t1), wallS: Number(t1 - t0) / 1e9, bg, genBusyS: await g.busy(t0, t1), genBg, sent: 0, got: 0 });
      return;
    }
    const r = await trial(l, daddr, SIZE, pps, TRIAL_MS, { count: FLOWS, sleepy: true });
    add(k, {
      busyS: await m.busy(r.t0, r.t1),
      wallS: Number(r.t1 - r.t0) / 1e9,
      bg,
      genBusyS: await g.busy(r.t0, r.t1),
      genBg,
      sent: r.sent,
      got: r.got,
    });
  };
  try {
    await stopDaemon(l);
    clearRules(l);
    await Promise.all([m.start(), g.start()]);
    const [rate] = await Promise.all([m.calibrate(), g.calibrate()]);
    for (let round = 0; round < ROUNDS; round++) {
      await stopDaemon(l);
      clearRules(l);
      await measure(IDLE, '', 0);
      await measure(GEN_ALONE, GEN_ALONE_ADDR, CPU_PPS);
      for (const v of variants) {
        const daddr = await useVariant(l, v);
        await trial(l, daddr, SIZE, 1000, 200, { count: FLOWS }); // warm-up: conns, neighbours
        await measure(v.name, daddr, CPU_PPS);
      }
      await useVariant(l, idleDaemon);
      await measure(IDLE_TSVS, '', 0);
    }
    const nsPer = (k: string, net: boolean) =>
      median(samples.get(k)!.map((s) => ((s.busyS - (net ? s.bg * s.wallS : 0)) / Math.max(1, s.got)) * 1e9));
    const peerNs = samples.has(PEER.name) ? nsPer(PEER.name, true) : 0;
    // The generator's own busy fraction at CPU_PPS, less its core's background.
    const genOwn = median(samples.get(GEN_ALONE)!.map((s) => s.genBusyS / s.wallS - s.genBg));
    const bothNs = (k: string) =>
      median(
        samples.get(k)!.map((s) => {
          const dir = s.busyS - s.bg * s.wallS;
          const gen = s.genBusyS - (s.genBg + genOwn) * s.wallS;
          return ((dir + gen) / Math.max(1, s.got)) * 1e9;
        }),
      );
    const peerBoth = samples.has(PEER.name) ? bothNs(PEER.name) : 0;
    const pct = (f: number) => (100 * f).toFixed(1);
    const rows = [IDLE, IDLE_TSVS, GEN_ALONE, ...variants.map((v) => v.name)].map((k) => {
      const ss = samples.get(k)!;
      const traffic = ss[0]!.sent > 0 && k !== GEN_ALONE;
      const loss = Math.max(...ss.map((s) => (s.sent ? 1 - s.got / s.sent : 0)));
      const bg = median(ss.map((s) => s.bg));
      return {
        trial: k,
        'core busy %': pct(median(ss.map((s) => s.busyS / s.wallS))),
        'background %': pct(bg) + (bg > NOISY ? ' (noisy)' : ''),
        'less background %': pct(median(ss.map((s) => s.busyS / s.wallS - s.bg))),
        'pps forwarded': traffic ? Math.round(median(ss.map((s) => s.got / s.wallS))) : '',
        'worst loss %': traffic ? pct(loss) + (loss > MAX_LOSS ? ' (above capacity)' : '') : '',
        'ns/packet': traffic ? nsPer(k, false).toFixed(0) : '',
        'ns/packet less bg': traffic ? nsPer(k, true).toFixed(0) : '',
        'ratio to nft': traffic && peerNs > 0 ? (nsPer(k, true) / peerNs).toFixed(2) : '',
        'gen core busy %': pct(median(ss.map((s) => s.genBusyS / s.wallS))),
        'both cores ns/packet': traffic ? bothNs(k).toFixed(0) : '',
        'both, ratio to nft': traffic && peerBoth > 0 ? (bothNs(k) / peerBoth).toFixed(2) : '',
      };
    });
    process.stdout.write(
      `\nDirector core's CPU per forwarded packet (CPU ${DIR_CPU}: the receive path by RPS, the daemon, softirq; a SCHED_IDLE spinner's missed loops, ` +
        `calibrated at ${(rate / 1e6).toFixed(0)} M loops per second of its run time; ${SIZE} B at ${CPU_PPS} pps, ${TRIAL_MS} ms trials, median of ${ROUNDS} rounds; ` +
        `"both cores": the generator's core too, less its own cost (the generator-alone trial), as native XDP on veth runs the director's receive there)\n`,
    );
    process.stdout.write(textTable(rows));
  } finally {
    m.stop();
    g.stop();
  }
}
