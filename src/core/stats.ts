// Per-dest, per-service and total counters (ip_vs_stats): conns, inpkts, outpkts, inbytes,
// outbytes, all 64-bit. Each counter is a pair of doubles: `lo` takes the increments on the hot
// path and is folded into `hi` (units of 2^32) before it can lose precision, so the value is exact
// up to 2^64 and wraps there like the kernel's u64. Spec: docs/spec/ipvs-kernel.md §5.

const TWO32 = 4294967296;
/** Fold `lo` into `hi` once it passes 2^52: far below 2^53, where doubles stop being exact. */
const CARRY_AT = 2 ** 52;

export const STAT_CONNS = 0;
export const STAT_INPKTS = 1;
export const STAT_OUTPKTS = 2;
export const STAT_INBYTES = 3;
export const STAT_OUTBYTES = 4;
export const STAT_COUNT = 5;
/** Numbers per Stats in Stats.export/assign: the counters, then the estimator's five averages. */
export const STATS_WORDS = STAT_COUNT + 5;

/** The five counters as unsigned 64-bit integers. */
export interface StatsSnapshot {
  conns: bigint;
  inpkts: bigint;
  outpkts: bigint;
  inbytes: bigint;
  outbytes: bigint;
}

/** The five rates as ipvsadm reports them (already rounded, §5). */
export interface RateSnapshot {
  cps: number;
  inpps: number;
  outpps: number;
  inbps: number;
  outbps: number;
}

export class Stats {
  /** lo words of the five counters. */
  readonly lo = new Float64Array(STAT_COUNT);
  /** hi words (multiples of 2^32, kept below 2^32). */
  readonly hi = new Float64Array(STAT_COUNT);
  /** Zero point saved by `-Z`, as exact bigints. */
  private zero: bigint[] = [0n, 0n, 0n, 0n, 0n];
  /** The zero points as doubles where exact (below 2^52), else NaN: valueNumber's fast path. */
  private readonly zeroNum = new Float64Array(STAT_COUNT);
  /** Estimator state (see estimator.ts), kept here so that -Z can reset it. */
  readonly est = new EstimatorState();

  addConn(): void {
    this.lo[STAT_CONNS]! += 1;
  }

  addIn(bytes: number): void {
    this.lo[STAT_INPKTS]! += 1;
    this.bump(STAT_INBYTES, bytes);
  }

  addOut(bytes: number): void {
    this.lo[STAT_OUTPKTS]! += 1;
    this.bump(STAT_OUTBYTES, bytes);
  }

  /** Adds packets and bytes in bulk (the proxy engine counts segments per read). */
  addInN(pkts: number, bytes: number): void {
    this.bump(STAT_INPKTS, pkts);
    this.bump(STAT_INBYTES, bytes);
  }

  addOutN(pkts: number, bytes: number): void {
    this.bump(STAT_OUTPKTS, pkts);
    this.bump(STAT_OUTBYTES, bytes);
  }

  private bump(i: number, n: number): void {
    const v = this.lo[i]! + n;
    this.lo[i] = v;
    if (v >= CARRY_AT) this.carry(i);
  }

  private carry(i: number): void {
    const lo = this.lo[i]!;
    const up = Math.floor(lo / TWO32);
    this.lo[i] = lo - up * TWO32;
    this.hi[i] = (this.hi[i]! + up) % TWO32;
  }

  /** Raw counter i as a 64-bit value, ignoring the -Z zero point. */
  raw(i: number): bigint {
    const lo = this.lo[i]!;
    const up = Math.floor(lo / TWO32);
    const hi = (this.hi[i]! + up) % TWO32;
    return ((BigInt(hi) << 32n) + BigInt(lo - up * TWO32)) & 0xffffffffffffffffn;
  }

  /** Raw counter i as a double (exact below 2^53): the estimator's input. */
  rawNumber(i: number): number {
    return this.hi[i]! * TWO32 + this.lo[i]!;
  }

  /** Counter i as reported: current minus the zero point, modulo 2^64. */
  value(i: number): bigint {
    return (this.raw(i) - this.zero[i]!) & 0xffffffffffffffffn;
  }

  /**
   * value(i) as a double, without bigints while the counter and its zero point are below
   * 2^53 (always, in practice): /metrics reads 50,000 of these per scrape.
   */
  valueNumber(i: number): number {
    const raw = this.rawNumber(i);
    const zero = this.zeroNum[i]!;
    // raw below its zero point (a wrap at 2^64) or a NaN zero take the exact bigint path
    if (raw < CARRY_AT && raw >= zero) return raw - zero;
    return Number(this.value(i));
  }

  snapshot(): StatsSnapshot {
    return {
      conns: this.value(STAT_CONNS),
      inpkts: this.value(STAT_INPKTS),
      outpkts: this.value(STAT_OUTPKTS),
      inbytes: this.value(STAT_INBYTES),
      outbytes: this.value(STAT_OUTBYTES),
    };
  }

  /** `-Z`: save the zero point, restart the estimator from the current totals, rates to 0. */
  zeroStats(): void {
    for (let i = 0; i < STAT_COUNT; i++) {
      const z = this.raw(i);
      this.zero[i] = z;
      this.zeroNum[i] = z < BigInt(CARRY_AT) ? Number(z) : NaN;
    }
    this.est.reset(this);
  }

  /**
   * Writes the counters and rates as another thread's core reported them (value() of each
   * counter, then the estimator's five scaled averages, from `src` at `at`): the daemon's
   * thread keeps such a copy of the core on the data-plane thread (control/core-thread.ts).
   */
  assign(src: Float64Array, at: number): void {
    for (let i = 0; i < STAT_COUNT; i++) {
      const v = src[at + i]!;
      const up = Math.floor(v / TWO32);
      this.hi[i] = up % TWO32;
      this.lo[i] = v - up * TWO32;
      this.zero[i] = 0n;
      this.zeroNum[i] = 0;
    }
    const e = this.est;
    e.cps = src[at + STAT_COUNT]!;
    e.inpps = src[at + STAT_COUNT + 1]!;
    e.outpps = src[at + STAT_COUNT + 2]!;
    e.inbps = src[at + STAT_COUNT + 3]!;
    e.outbps = src[at + STAT_COUNT + 4]!;
  }

  /** The other side of assign(): STATS_WORDS numbers into `dst` at `at`. */
  export(dst: Float64Array, at: number): void {
    for (let i = 0; i < STAT_COUNT; i++) dst[at + i] = this.valueNumber(i);
    const e = this.est;
    dst[at + STAT_COUNT] = e.cps;
    dst[at + STAT_COUNT + 1] = e.inpps;
    dst[at + STAT_COUNT + 2] = e.outpps;
    dst[at + STAT_COUNT + 3] = e.inbps;
    dst[at + STAT_COUNT + 4] = e.outbps;
  }

  /** Test and restore hook: sets counter i to an exact 64-bit value. */
  setRaw(i: number, v: bigint): void {
    const hi = Number((v >> 32n) & 0xffffffffn);
    const lo = Number(v & 0xffffffffn);
    this.hi[i] = hi;
    this.lo[i] = lo;
    this.zero[i] = 0n;
    this.zeroNum[i] = 0;
  }
}

/**
 * The 2-second EWMA of ip_vs_est.c. Averages are kept scaled (rates <<10, byte rates <<5) in
 * doubles; the kernel's arithmetic shifts of signed 64-bit values are floor divisions here.
 */
export class EstimatorState {
  last = new Float64Array(STAT_COUNT);
  cps = 0;
  inpps = 0;
  outpps = 0;
  inbps = 0;
  outbps = 0;

  reset(s: Stats): void {
    for (let i = 0; i < STAT_COUNT; i++) this.last[i] = s.rawNumber(i);
    this.cps = this.inpps = this.outpps = this.inbps = this.outbps = 0;
  }
}
