// Transparent huge pages for the conn table's storage. At 10 M conns an established frame
// reads an index slot and a 48-byte record at random in some 0.8 GB: with 4 KiB pages each is
// also a TLB miss, and in a VM a miss walks the guest's and the host's page tables. Through
// real frames on the packet socket the 10 M / 1 k rate was 0.81–0.87 with 4 KiB pages, 0.84,
// 0.935 and 0.979 with this advice, 1.00 and 1.03 with THP `always`; on AF_XDP 0.897 without
// and 0.902 with it (docs/packet-engine.md, "Large tables: CPU against loss"). Kernels set to
// `madvise` (the common default, and this machine's) give them only to ranges that ask:
// MADV_HUGEPAGE.

import { libcOrNull } from './libc.js';

const MADV_HUGEPAGE = 14;
/** A huge page (x86-64 and arm64 with 4 KiB base pages). */
const HUGE = 2 << 20;
/** Arrays smaller than this are left alone: at most one huge page could fit inside them. */
export const HUGE_MIN_BYTES = 2 * HUGE;

/**
 * Returns the advice for the conn table (ConnTable.setAdvise): MADV_HUGEPAGE on the whole huge
 * pages inside each large array, or null where system calls cannot be made. `note` hears of
 * the first refusal (an old kernel, THP compiled out), after which the advice stops.
 */
export function hugePageAdvice(note: (msg: string) => void): ((a: ArrayBufferView) => void) | null {
  const c = libcOrNull();
  if (!c) return null;
  let refused = false;
  return (a) => {
    if (refused || a.byteLength < HUGE_MIN_BYTES) return;
    const addr = c.addressOf(a);
    const start = Math.ceil(addr / HUGE) * HUGE;
    const end = Math.floor((addr + a.byteLength) / HUGE) * HUGE;
    if (end <= start) return;
    if (c.madvise(start, end - start, MADV_HUGEPAGE) < 0) {
      refused = true;
      const e = c.errno();
      note(
        `the conn table asked for transparent huge pages and the kernel refused: ${c.strerror(e)} (errno ${e}); it keeps 4 KiB pages, which at millions of conns cost a TLB miss per lookup`,
      );
    }
  };
}
