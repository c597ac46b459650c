// Connection table throughput and memory: insert N IPv4 conns, then look each one up.
// Bytes per entry come from process.memoryUsage() (rss and arrayBuffers) around the build.
import { ConnTable } from '../src/core/conn/table.js';

export interface ConnBenchRow {
  entries: number;
  insertLookupPerSec: number;
  bytesPerEntry: number;
}

export function benchConnTable(counts: number[]): ConnBenchRow[] {
  const rows: ConnBenchRow[] = [];
  for (const n of counts) {
    globalThis.gc?.();
    const before = process.memoryUsage();
    const t = new ConnTable(1, n);
    const c = new Uint32Array(1);
    const v = Uint32Array.of(0xc0000201);
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < n; k++) {
      const i = t.alloc();
      c[0] = 0x0a000000 + (k >>> 14);
      t.setKey(i, 6, c, 1024 + (k & 16383), v, 80, false);
      t.laddr[i] = c[0]!;
      t.lport[i] = 1024 + (k & 16383);
      t.hash(i, false);
    }
    let found = 0;
    for (let k = 0; k < n; k++) {
      c[0] = 0x0a000000 + (k >>> 14);
      if (t.lookupIn(6, c, 0, 1024 + (k & 16383), v, 0, 80, false) >= 0) found++;
    }
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const after = process.memoryUsage();
    if (found !== n) throw new Error(`conn bench: found ${found} of ${n}`);
    const bytes = Math.max(after.arrayBuffers - before.arrayBuffers, 0) || after.rss - before.rss;
    rows.push({ entries: n, insertLookupPerSec: n / secs, bytesPerEntry: bytes / n });
    // Keep t alive until measured.
    if (t.count !== n) throw new Error('conn bench: count');
  }
  return rows;
}
