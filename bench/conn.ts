// Connection table throughput and memory: insert N IPv4 conns, then look each one up.
// Bytes per entry: the storage the table allocated for them (ConnTable.bytes), and what the
// build made resident (its first-touch page faults).
// Time is CPU time (see sched.ts). The peer, measured in the same run, is the memory floor of
// the same work: a bare open-addressing loop (the table's hash, an Int32Array index at the
// same load whose slots hold the entry and its hash as the table's do, a 4-word key block)
// with no conn storage around it. At 10 M entries both are
// bound by one random DRAM access per insert and per lookup; the ratio says what the table's
// own code costs on top.
//
// Each runs twice: one key at a time, and in batches of WARM_BATCH with the table's warming pass
// first (ConnTable.warm: hash the batch, touch the index slots and records in two tight loops so
// that the misses overlap), which is how the packet engine looks conns up for a ring block. The
// batched floor does the same touches in its bare loop. A third run is batched with the
// table's arrays given the huge-page advice, as the packet director runs it (sys/hugepages.ts);
// the floor is not advised.
import { ConnTable, connHash4 } from '../src/core/conn/table.js';
import { WARM_BATCH } from '../src/engine/packet/constants.js';
import { hugePageAdvice } from '../src/sys/hugepages.js';
import { cpuNs } from './sched.js';

export interface ConnBenchRow {
  entries: number;
  insertLookupPerSec: number;
  floorPerSec: number;
  /** The same, in warmed batches (ConnTable.warm), and the batched floor. */
  batchedPerSec: number;
  /** Batched, with the table's arrays given the huge-page advice as the packet director gives it; NaN where there is none. */
  advisedPerSec: number;
  batchedFloorPerSec: number;
  bytesPerEntry: number;
  /**
   * Memory the build made resident, per entry: its first-touch page faults (each backs one page
   * of a typed array with memory), or NaN below RESIDENT_MIN.
   */
  residentPerEntry: number;
}

/**
 * Below this many entries a table's resident pages are lost in the heap's own noise, and the
 * runs are left to V8's own collector: a full collection before each of 1,000 small runs cut
 * their rate by 6 (measured at 1,000 entries).
 */
const RESIDENT_MIN = 100_000;
/** x86-64's base page: V8 does not ask for transparent huge pages, so a fault backs one of these. */
const PAGE_BYTES = 4096;

let sink = 0;

/** Hashes keys k0..k0+m-1 into h and warms them (the engine's warmFlush). */
function warmBatch(t: ConnTable, h: Int32Array, k0: number, m: number): void {
  for (let j = 0; j < m; j++) {
    const k = k0 + j;
    h[j] = connHash4(6, 0x0a000000 + (k >>> 14), 1024 + (k & 16383));
  }
  sink ^= t.warm(h, m);
}

function tableRun(
  n: number,
  batched: boolean,
  advise: ((a: ArrayBufferView) => void) | null = null,
): { perSec: number; bytes: number; resident: number } {
  if (n >= RESIDENT_MIN) globalThis.gc?.();
  const faults = process.resourceUsage().minorPageFault;
  const t = new ConnTable(1, n);
  if (advise) t.setAdvise(advise);
  const c = new Uint32Array(1);
  const v = Uint32Array.of(0xc0000201);
  const h = new Int32Array(WARM_BATCH);
  const t0 = cpuNs();
  for (let k = 0; k < n; k++) {
    if (batched && k % WARM_BATCH === 0) warmBatch(t, h, k, Math.min(WARM_BATCH, n - k));
    const i = t.alloc();
    c[0] = 0x0a000000 + (k >>> 14);
    t.setKey(i, 6, c, 1024 + (k & 16383), v, 80, false);
    t.hash(i, false);
  }
  let found = 0;
  for (let k = 0; k < n; k++) {
    if (batched && k % WARM_BATCH === 0) warmBatch(t, h, k, Math.min(WARM_BATCH, n - k));
    c[0] = 0x0a000000 + (k >>> 14);
    if (t.lookupIn(6, c, 0, 1024 + (k & 16383), v, 0, 80, false) >= 0) found++;
  }
  const secs = (cpuNs() - t0) / 1e9;
  const written = (process.resourceUsage().minorPageFault - faults) * PAGE_BYTES;
  if (found !== n) throw new Error(`conn bench: found ${found} of ${n}`);
  if (t.count !== n) throw new Error('conn bench: count');
  return { perSec: n / secs, bytes: t.bytes() / n, resident: n >= RESIDENT_MIN ? written / n : NaN };
}

function mix(proto: number, a: number, port: number): number {
  let h = Math.imul(proto ^ (port << 8), 0x9e3779b1);
  h = Math.imul(h ^ a, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h ^ (h >>> 16), 0xc2b2ae35);
  return h ^ (h >>> 15);
}

/** The floor's warming: touch each key's index slot, then the key block its tag names. */
function floorWarm(idx: Int32Array, key: Uint32Array, mask: number, h: Int32Array, k0: number, m: number): void {
  for (let j = 0; j < m; j++) {
    const k = k0 + j;
    const x = mix(6, 0x0a000000 + (k >>> 14), 1024 + (k & 16383));
    h[j] = x;
    sink ^= idx[2 * (x & mask)]!;
  }
  for (let j = 0; j < m; j++) {
    const x = h[j]!;
    const p = 2 * (x & mask);
    if (idx[p + 1] === x && idx[p] !== -1) sink ^= key[idx[p]! * 4]!;
  }
}

function floorRun(n: number, batched: boolean): number {
  if (n >= RESIDENT_MIN) globalThis.gc?.();
  let size = 16;
  while (size < 2 * n) size *= 2;
  const idx = new Int32Array(2 * size).fill(-1);
  const mask = size - 1;
  const key = new Uint32Array(n * 4);
  const h = new Int32Array(WARM_BATCH);
  const t0 = cpuNs();
  for (let k = 0; k < n; k++) {
    if (batched && k % WARM_BATCH === 0) floorWarm(idx, key, mask, h, k, Math.min(WARM_BATCH, n - k));
    const a = 0x0a000000 + (k >>> 14);
    const port = 1024 + (k & 16383);
    key[k * 4] = a;
    key[k * 4 + 1] = 0xc0000201;
    key[k * 4 + 2] = port | (80 << 16);
    key[k * 4 + 3] = 6;
    const x = mix(6, a, port);
    let p = x & mask;
    while (idx[2 * p] !== -1) p = (p + 1) & mask;
    idx[2 * p] = k;
    idx[2 * p + 1] = x;
  }
  let found = 0;
  for (let k = 0; k < n; k++) {
    if (batched && k % WARM_BATCH === 0) floorWarm(idx, key, mask, h, k, Math.min(WARM_BATCH, n - k));
    const a = 0x0a000000 + (k >>> 14);
    const port = 1024 + (k & 16383);
    const x = mix(6, a, port);
    for (let p = x & mask; ; p = (p + 1) & mask) {
      const e = idx[2 * p]!;
      if (e === -1) break;
      if (idx[2 * p + 1] === x && key[e * 4] === a && key[e * 4 + 2] === (port | (80 << 16))) {
        found++;
        break;
      }
    }
  }
  const secs = (cpuNs() - t0) / 1e9;
  if (found !== n) throw new Error(`conn bench floor: found ${found} of ${n}`);
  return n / secs;
}

export function benchConnTable(counts: number[]): ConnBenchRow[] {
  // The packet director's advice (sys/hugepages.ts); null off Linux or without koffi.
  const advise = hugePageAdvice((m) => process.stderr.write(`conn bench: ${m}\n`));
  // Warm both loops up so that the small sizes measure optimised code, not the compiler.
  for (let r = 0; r < 20; r++) {
    for (const b of [false, true]) {
      tableRun(10_000, b);
      floorRun(10_000, b);
    }
  }
  const rows: ConnBenchRow[] = [];
  for (const n of counts) {
    // Small tables run many times so that the figure is not a timer's resolution.
    const reps = Math.max(1, Math.floor(1_000_000 / n));
    let perSec = 0;
    let floor = 0;
    let batched = 0;
    let batchedFloor = 0;
    let advised = 0;
    let bytes = 0;
    let resident = 0;
    for (let r = 0; r < reps; r++) {
      const x = tableRun(n, false);
      perSec += x.perSec / reps;
      bytes = x.bytes;
      resident = x.resident;
      floor += floorRun(n, false) / reps;
      batched += tableRun(n, true).perSec / reps;
      batchedFloor += floorRun(n, true) / reps;
      advised += advise ? tableRun(n, true, advise).perSec / reps : NaN;
    }
    rows.push({
      entries: n,
      insertLookupPerSec: perSec,
      floorPerSec: floor,
      batchedPerSec: batched,
      batchedFloorPerSec: batchedFloor,
      advisedPerSec: advised,
      bytesPerEntry: bytes,
      residentPerEntry: resident,
    });
  }
  if (sink === 0x7fffffff) process.stdout.write(''); // keeps the warming loads alive
  return rows;
}
