// Puts a plan of what to take (takes.ts) into the forwarder's prefilters and says which
// addresses it must newly answer ARP/NDP for (the caller announces them).

import { Addr } from '../../core/inet.js';
import { type Forwarder, ip4 } from './forward.js';
import type { Takes } from './takes.js';

export function words(a: Addr): Uint32Array {
  return Uint32Array.of(a.w0, a.w1, a.w2, a.w3);
}

function wordsAt(list: Uint32Array, i: number): [number, number, number, number] {
  return [list[i]!, list[i + 1]!, list[i + 2]!, list[i + 3]!];
}

/** Applies `t`; returns the VIPs and local addresses (as text) to announce now. */
export function applyTakes(fwd: Forwarder, t: Takes, local: { has(addr: string): boolean }): string[] {
  // VIPs and FULLNAT local addresses that no interface holds: the engine answers ARP (NDP) for them.
  const announce = new Set([...t.vips, ...t.laddrs].filter((v) => !local.has(ip4(v))));
  const announce6 = [...new Map([...t.vips6, ...t.laddrs6]).entries()].filter(([k]) => !local.has(k));
  const said = new Set([...fwd.announce].map(ip4));
  for (let i = 0; i < fwd.v6.announce.length; i += 4) said.add(Addr.v6(...wordsAt(fwd.v6.announce, i)).toString());
  const fresh: string[] = [];
  for (const v of announce) if (!said.has(ip4(v))) fresh.push(ip4(v));
  for (const [k] of announce6) if (!said.has(k)) fresh.push(k);
  fwd.vips = t.vips;
  fwd.vipPorts = t.vipPorts4;
  fwd.v6.vipPorts = Uint32Array.from(t.vipPorts6);
  fwd.rips = t.rips;
  fwd.ripAddrs = t.ripAddrs;
  fwd.own = t.own4;
  fwd.announce = announce;
  fwd.v6.vips = Uint32Array.from([...t.vips6.values()].flatMap((a) => [...words(a)]));
  fwd.v6.rips = Uint32Array.from(t.rips6);
  fwd.v6.own = Uint32Array.from(t.own6.flatMap((a) => [...words(a)]));
  fwd.v6.announce = Uint32Array.from(announce6.flatMap(([, a]) => [...words(a)]));
  return fresh;
}
