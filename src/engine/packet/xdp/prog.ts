// The XDP program of the AF_XDP data path, assembled at run time (asm.ts). Per frame it parses
// Ethernet, IPv4 (no options, not a fragment) or IPv6 (TCP or UDP right after the fixed header),
// builds the map key of keys.ts from the headers and redirects the frame to the interface's
// AF_XDP socket when the director takes it:
//   - to a service: DST VIP:port, then DST VIP:0 (a port-less service);
//   - from a NAT/FULLNAT real server: SRC RIP:port or RIP:0, unless to one of the director's own
//     addresses (OWN: its own conn's reply, which the kernel serves).
// Everything else gets XDP_PASS: the kernel keeps serving the host, and the packet socket ring
// still sees those frames (ARP, NDP, ICMP errors, IP options, fragments, VLAN tags, frames longer
// than `maxLen` — what one UMEM chunk holds), so the engine loses nothing it took before.
// bpf_redirect_map's flags argument is the verdict when the queue has no socket: XDP_PASS.
//
// Registers: r6 the context, r7 data, r8 data_end, r9 the IP protocol; the key lives at fp-24.

import { Asm } from './asm.js';
import { BPF_FUNC_MAP_LOOKUP_ELEM, BPF_FUNC_REDIRECT_MAP, XDP_PASS } from './bpf.js';
import { type FastMaps, fastPath4, fastPath6 } from './fast-prog.js';
import { KIND_DST4, KIND_DST6, KIND_OWN4, KIND_OWN6, KIND_SRC4, KIND_SRC6 } from './keys.js';

/** struct xdp_md offsets. */
const MD_DATA = 0;
const MD_DATA_END = 4;
const MD_RX_QUEUE_INDEX = 16;
/** ETH_P_IP and ETH_P_IPV6 as a little-endian load of their network-order bytes sees them. */
const ETH_IP_LE = 0x0008;
const ETH_IPV6_LE = 0xdd86;
/** The IPv4 flags/fragment-offset field's MF bit and offset, as a little-endian load sees them. */
const FRAG_MASK_LE = 0xff3f;
const KEY = -24;

export interface XdpProgramMaps {
  /** The hash map of keys.ts. */
  keysFd: number;
  /** The XSKMAP, indexed by receive queue. */
  xskFd: number;
  /** Longest frame redirected (an AF_XDP frame's room); longer ones pass. */
  maxLen: number;
  /** The fast path's maps (fast-prog.ts), when established conns are forwarded in the kernel. */
  fast?: FastMaps;
  /** Tests: return this verdict instead of redirecting (BPF_PROG_TEST_RUN cannot see a redirect to an empty XSKMAP). */
  takenVerdict?: number;
}

function zeroKey(a: Asm): void {
  a.st(8, 10, KEY, 0)
    .st(8, 10, KEY + 8, 0)
    .st(8, 10, KEY + 16, 0);
}

/** r0 = bpf_map_lookup_elem(keys, fp-24). */
function lookup(a: Asm, keysFd: number): void {
  a.ldMap(1, keysFd).movReg(2, 10).alu64Imm('add', 2, KEY).call(BPF_FUNC_MAP_LOOKUP_ELEM);
}

/** Copies `n` bytes of the packet at r7+`from` into the key's address field. */
function copyAddr(a: Asm, from: number, n: 4 | 16): void {
  for (let i = 0; i < n; i += 4) a.ldx(4, 3, 7, from + i).stx(4, 10, KEY + 4 + i, 3);
}

/** One family's lookups; `l3` is the IP header's offset, `saddr`/`daddr` its address offsets. */
function family(a: Asm, m: XdpProgramMaps, v6: boolean, l4: number, saddr: number, daddr: number): void {
  const n = v6 ? 16 : 4;
  const own = v6 ? 'own6' : 'own4';
  zeroKey(a);
  a.st(1, 10, KEY, v6 ? KIND_DST6 : KIND_DST4).stx(1, 10, KEY + 1, 9);
  a.ldx(2, 3, 7, l4 + 2).stx(2, 10, KEY + 2, 3);
  copyAddr(a, daddr, n);
  lookup(a, m.keysFd);
  a.jmpImm('ne', 0, 0, 'redirect');
  a.st(2, 10, KEY + 2, 0);
  lookup(a, m.keysFd);
  a.jmpImm('ne', 0, 0, 'redirect');
  // A real server's reply?
  a.st(1, 10, KEY, v6 ? KIND_SRC6 : KIND_SRC4);
  a.ldx(2, 3, 7, l4).stx(2, 10, KEY + 2, 3);
  copyAddr(a, saddr, n);
  lookup(a, m.keysFd);
  a.jmpImm('ne', 0, 0, own);
  a.st(2, 10, KEY + 2, 0);
  lookup(a, m.keysFd);
  a.jmpImm('eq', 0, 0, 'pass');
  // ... unless it is to the director itself.
  a.label(own);
  zeroKey(a);
  a.st(1, 10, KEY, v6 ? KIND_OWN6 : KIND_OWN4);
  copyAddr(a, daddr, n);
  lookup(a, m.keysFd);
  a.jmpImm('ne', 0, 0, 'pass');
  a.ja('redirect');
}

/** The program's instructions for the given maps. */
export function xdpProgram(m: XdpProgramMaps): Uint8Array {
  const a = new Asm();
  a.movReg(6, 1);
  a.ldx(4, 7, 6, MD_DATA).ldx(4, 8, 6, MD_DATA_END);
  // Too long for one AF_XDP frame: the packet socket takes it.
  a.movReg(1, 7).alu64Imm('add', 1, m.maxLen).jmpReg('lt', 1, 8, 'pass');
  // Ethernet, an IPv4 header without options and the ports.
  a.movReg(1, 7)
    .alu64Imm('add', 1, 14 + 20 + 4)
    .jmpReg('gt', 1, 8, 'pass');
  a.ldx(2, 2, 7, 12);
  a.jmpImm('eq', 2, ETH_IP_LE, 'ip4');
  a.jmpImm('eq', 2, ETH_IPV6_LE, 'ip6');
  a.ja('pass');

  a.label('ip4');
  a.ldx(1, 3, 7, 14).jmpImm('ne', 3, 0x45, 'pass');
  a.ldx(2, 3, 7, 20).alu32Imm('and', 3, FRAG_MASK_LE).jmpImm('ne', 3, 0, 'pass');
  a.ldx(1, 9, 7, 23);
  a.jmpImm('eq', 9, 6, 'l4v4').jmpImm('eq', 9, 17, 'l4v4').ja('pass');
  a.label('l4v4');
  if (m.fast) fastPath4(a, m.fast, 'slow4');
  a.label('slow4');
  family(a, m, false, 34, 26, 30);

  a.label('ip6');
  a.movReg(1, 7)
    .alu64Imm('add', 1, 14 + 40 + 4)
    .jmpReg('gt', 1, 8, 'pass');
  a.ldx(1, 9, 7, 20);
  a.jmpImm('eq', 9, 6, 'l4v6').jmpImm('eq', 9, 17, 'l4v6').ja('pass');
  a.label('l4v6');
  if (m.fast) fastPath6(a, m.fast, 'slow6');
  a.label('slow6');
  family(a, m, true, 54, 22, 38);

  a.label('redirect');
  if (m.takenVerdict !== undefined) a.movImm(0, m.takenVerdict).exit();
  else a.ldMap(1, m.xskFd).ldx(4, 2, 6, MD_RX_QUEUE_INDEX).movImm(3, XDP_PASS).call(BPF_FUNC_REDIRECT_MAP).exit();
  a.label('pass');
  a.movImm(0, XDP_PASS).exit();
  return a.assemble();
}
