// Sync daemons and timeouts as ipvsadm drives them: the kernel's defaults and checks for
// --start-daemon (in its order: mixed-family dests, unknown interface, already running; group,
// port, ttl and maxlen defaults), `-L --daemon` and `-L --timeout`.
// Spec: docs/spec/ipvsadm.md §4.8, §4.9, §7.7; docs/spec/ipvs-kernel.md §6.1.

import { AF_INET6, IP_VS_SYNC_GROUP, IP_VS_SYNC_PORT, IP_VS_SYNC_TTL } from '../core/constants.js';
import { IpvsError } from '../core/errors.js';
import { Addr } from '../core/inet.js';
import type { Rules, SyncDaemonConfig } from '../core/rules.js';
import type { AdmIo, DaemonEntry } from './entry.js';
import type { Resolver } from './resolve.js';

/** IPv4/IPv6 + UDP header bytes subtracted from the MTU. */
const HDR4 = 20 + 8;
const HDR6 = 40 + 8;

/** start_sync_thread's view of a --start-daemon request; throws IpvsError like the kernel. */
export async function startDaemon(rules: Rules, d: DaemonEntry, r: Resolver): Promise<void> {
  for (const svc of rules.services()) {
    for (const dest of svc.dests) {
      if (dest.af !== svc.af) throw new IpvsError('EINVAL', 'mixed-family dests');
    }
  }
  const mtu = await r.interfaceMtu(d.ifname);
  if (mtu === null) throw new IpvsError('ENODEV', d.ifname);
  const group = d.group ?? Addr.parse4(IP_VS_SYNC_GROUP)!;
  const hlen = group.af === AF_INET6 ? HDR6 : HDR4;
  const backup = d.state === 'backup';
  let maxlen: number;
  if (d.maxlen) maxlen = Math.min(Math.max(d.maxlen, backup ? 1024 : 1), 65535 - hlen);
  else maxlen = (backup ? Math.min(Math.max(mtu, 1500), 65535) : 1500) - hlen;
  const cfg: SyncDaemonConfig = {
    state: d.state,
    ifname: d.ifname,
    syncid: d.syncid,
    maxlen,
    group,
    port: d.port || IP_VS_SYNC_PORT,
    ttl: d.ttl || IP_VS_SYNC_TTL,
  };
  rules.startDaemon(cfg);
}

/** `-L --daemon`: one line per running daemon, master first. */
export function listDaemons(io: AdmIo, rules: Rules): void {
  for (const c of [rules.master, rules.backup]) {
    if (!c) continue;
    io.out(
      `${c.state} sync daemon (mcast=${c.ifname}, syncid=${c.syncid}, maxlen=${c.maxlen}, group=${c.group.toString()}, port=${c.port}, ttl=${c.ttl})\n`,
    );
  }
}

/** `-L --timeout`. */
export function listTimeouts(io: AdmIo, rules: Rules): void {
  const t = rules.timeouts;
  io.out(`Timeout (tcp tcpfin udp): ${t.tcp} ${t.tcpfin} ${t.udp}\n`);
}
