// The packet bench's variants: what forwards the flood through the director namespace. A tsvs
// variant is a forwarding method plus the daemon's extra arguments, so that a data path chosen
// by a daemon option is one more line here (the AF_XDP ones: `tsvs daemon --xdp`; the bench's
// interfaces are veth, where --xdp auto keeps the packet socket, so they force it; the XDP fast
// path's: `--xdp-fast on`, which forwards established conns inside the XDP program).
// TSVS_BENCH_METHODS (comma-separated) keeps the variants whose name contains one of its
// words; TSVS_BENCH_DAEMON_ARGS (space-separated) is added to every tsvs variant's daemon. The
// fast variants run fa's receive NAPI threaded on the director's core (packet-lab.ts,
// napiOnDirector) unless TSVS_BENCH_XDP_NAPI=generator.

import { adm, clearRules, GUE_PORT, type Lab, napiOnDirector, nsExec, PORT, RIP, startDaemon, stopDaemon } from './packet-lab.js';

export type Method = 'nftables' | 'NAT' | 'DR' | 'TUN' | 'FULLNAT';

export interface Variant {
  name: string;
  method: Method;
  /** Extra `tsvs daemon` arguments (tsvs variants only). */
  daemonArgs?: string[];
  /** TUN: the dest's tunnel options (default ipip). */
  tunArgs?: string[];
}

/** nftables DNAT first: the peer every ratio is taken against. */
export const VARIANTS: Variant[] = [
  { name: 'nftables DNAT', method: 'nftables' },
  { name: 'tsvs NAT', method: 'NAT' },
  { name: 'tsvs NAT (af_xdp native)', method: 'NAT', daemonArgs: ['--xdp', 'native'] },
  { name: 'tsvs NAT (af_xdp generic)', method: 'NAT', daemonArgs: ['--xdp', 'generic'] },
  { name: 'tsvs DR', method: 'DR' },
  { name: 'tsvs DR (af_xdp native)', method: 'DR', daemonArgs: ['--xdp', 'native'] },
  { name: 'tsvs DR (af_xdp generic)', method: 'DR', daemonArgs: ['--xdp', 'generic'] },
  { name: 'tsvs NAT (xdp fast)', method: 'NAT', daemonArgs: ['--xdp', 'native', '--xdp-fast', 'on'] },
  { name: 'tsvs DR (xdp fast)', method: 'DR', daemonArgs: ['--xdp', 'native', '--xdp-fast', 'on'] },
  { name: 'tsvs TUN', method: 'TUN' },
  { name: 'tsvs TUN (xdp fast)', method: 'TUN', daemonArgs: ['--xdp', 'native', '--xdp-fast', 'on'] },
  {
    name: 'tsvs TUN gue (xdp fast)',
    method: 'TUN',
    daemonArgs: ['--xdp', 'native', '--xdp-fast', 'on'],
    tunArgs: ['--tun-type', 'gue', '--tun-port', String(GUE_PORT), '--tun-nocsum'],
  },
  { name: 'tsvs TUN (af_xdp native)', method: 'TUN', daemonArgs: ['--xdp', 'native'] },
  { name: 'tsvs FULLNAT', method: 'FULLNAT' },
  { name: 'tsvs FULLNAT (af_xdp native)', method: 'FULLNAT', daemonArgs: ['--xdp', 'native'] },
  { name: 'tsvs FULLNAT (xdp fast)', method: 'FULLNAT', daemonArgs: ['--xdp', 'native', '--xdp-fast', 'on'] },
];

export const PEER = VARIANTS[0]!;
/** The DR and TUN VIP: not an address of the director's (the kernel must not claim it). */
const VIP = '10.88.1.100';
/** The NAT and FULLNAT VIP: the director's own address on the generator's side. */
const NAT_VIP = '10.88.1.1';

export function envDaemonArgs(): string[] {
  return (process.env.TSVS_BENCH_DAEMON_ARGS ?? '').split(/\s+/).filter(Boolean);
}

/** The variants TSVS_BENCH_METHODS selects, with TSVS_BENCH_DAEMON_ARGS applied. */
export function selectedVariants(): Variant[] {
  const only = process.env.TSVS_BENCH_METHODS?.split(',').map((s) => s.trim());
  const extra = envDaemonArgs();
  return VARIANTS.filter((v) => !only || only.some((o) => v.name.includes(o))).map((v) =>
    v.method === 'nftables' || extra.length === 0
      ? v
      : { ...v, name: `${v.name} (${extra.join(' ')})`, daemonArgs: [...(v.daemonArgs ?? []), ...extra] },
  );
}

/**
 * Makes `v` the director's forwarder: nftables DNAT with no tsvs daemon, or a tsvs daemon
 * with v's arguments and one UDP service of v's method. Returns the address to send to.
 */
export async function useVariant(l: Lab, v: Variant): Promise<string> {
  clearRules(l);
  // The fast path redirects to fb, whose peer b0 takes redirected frames only with its NAPI on
  // (GRO or an XDP program, features.ts); the other variants keep the sink as it was.
  const fast = (v.daemonArgs ?? []).includes('--xdp-fast');
  nsExec(l.sink, ['ethtool', '-K', 'b0', 'gro', fast ? 'on' : 'off']);
  if (v.method === 'nftables') {
    await stopDaemon(l);
    napiOnDirector(l, false);
    nsExec(
      l.dir,
      ['nft', '-f', '-'],
      `table ip benchnat {\n chain pre {\n  type nat hook prerouting priority -100;\n  ip daddr ${NAT_VIP} udp dport ${PORT} dnat to ${RIP}\n }\n}\n`,
    );
    return NAT_VIP;
  }
  await startDaemon(l, v.daemonArgs ?? []);
  // TSVS_BENCH_XDP_NAPI=generator leaves fa's NAPI where veth runs it (the sender's core), as
  // the AF_XDP variants have it: the CPU part then compares the two paths on the same footing.
  napiOnDirector(l, fast && process.env.TSVS_BENCH_XDP_NAPI !== 'generator');
  clearRules(l);
  if (v.method === 'NAT') {
    adm(l, ['-A', '-u', `${NAT_VIP}:${PORT}`, '-s', 'rr']);
    adm(l, ['-a', '-u', `${NAT_VIP}:${PORT}`, '-r', `${RIP}:${PORT}`, '-m']);
    return NAT_VIP;
  }
  if (v.method === 'FULLNAT') {
    adm(l, ['-A', '-u', `${NAT_VIP}:${PORT}`, '-s', 'rr', '--laddr', '10.88.2.1']);
    adm(l, ['-a', '-u', `${NAT_VIP}:${PORT}`, '-r', `${RIP}:${PORT}`, '--fullnat']);
    return NAT_VIP;
  }
  adm(l, ['-A', '-u', `${VIP}:${PORT}`, '-s', 'rr']);
  adm(l, ['-a', '-u', `${VIP}:${PORT}`, '-r', RIP, ...(v.method === 'TUN' ? ['-i', ...(v.tunArgs ?? [])] : ['-g'])]);
  return VIP;
}
