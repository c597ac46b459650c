// The conn table's huge-page advice through real system calls (sys/hugepages.ts): madvise is
// accepted for the whole huge pages inside a large array, and the kernel marks that range.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { HUGE_MIN_BYTES, hugePageAdvice } from '../../src/sys/hugepages.js';
import { libcOrNull } from '../../src/sys/libc.js';

/** The smaps entry of the mapping that holds `addr`: its VmFlags and AnonHugePages (kB). */
function mappingOf(addr: number): { flags: string[]; hugeKb: number } {
  const lines = readFileSync('/proc/self/smaps', 'utf8').split('\n');
  for (let k = 0; k < lines.length; k++) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) /.exec(lines[k]!);
    if (!m || addr < parseInt(m[1]!, 16) || addr >= parseInt(m[2]!, 16)) continue;
    let flags: string[] = [];
    let hugeKb = 0;
    for (let j = k + 1; j < lines.length && !/^[0-9a-f]+-/.test(lines[j]!); j++) {
      const f = /^VmFlags:\s*(.*)$/.exec(lines[j]!);
      if (f) flags = f[1]!.trim().split(/\s+/);
      const h = /^AnonHugePages:\s*(\d+) kB/.exec(lines[j]!);
      if (h) hugeKb = Number(h[1]);
    }
    return { flags, hugeKb };
  }
  throw new Error(`no mapping holds 0x${addr.toString(16)}`);
}

const why = process.platform !== 'linux' ? `needs Linux (this is ${process.platform})` : libcOrNull() ? '' : 'koffi cannot bind libc here';
if (why && process.env.CI === 'true') throw new Error(`hugepages test: ${why}, and CI must run it`);

describe('huge pages for the conn table', { skip: why || false }, () => {
  it('advises the huge pages inside a large array; small arrays are left alone', () => {
    const c = libcOrNull()!;
    const notes: string[] = [];
    const advise = hugePageAdvice((m) => notes.push(m))!;
    const big = new Int32Array((16 << 20) / 4);
    advise(big);
    big.fill(1); // first touch, after the advice
    const addr = c.addressOf(big);
    assert.equal(c.addressOf(big), addr, 'a backing store does not move');
    assert.deepEqual(notes, []);
    // The advised range starts at the first 2 MiB boundary inside the array.
    const inside = Math.ceil(addr / (2 << 20)) * (2 << 20) + 4096;
    const m = mappingOf(inside);
    assert.ok(m.flags.includes('hg'), `VmFlags of the advised range: ${m.flags.join(' ')}`);
    const thp = readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8');
    if (!thp.includes('[never]')) assert.ok(m.hugeKb > 0, `AnonHugePages ${m.hugeKb} kB with THP ${thp.trim()}`);
    const small = new Int32Array(HUGE_MIN_BYTES / 8);
    advise(small);
    small.fill(1);
    assert.ok(!mappingOf(c.addressOf(small)).flags.includes('hg'), 'a small array is not advised');
  });
});
