// `tsvs realserver start|stop|status|check`: what seed 004's real-server script does, as one
// idempotent, reversible command. DR and TUN real servers hold the VIP on loopback (/32, /128
// for IPv6) and must not answer ARP for it: arp_ignore=1 (answer only for addresses of the
// receiving interface) and arp_announce=2 (always use the best local source address).
// `stop` undoes what `start` did, and only that: it removes the VIPs start added and restores
// the sysctl values the first `start` found (both kept in a state file).

import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Addr } from '../core/inet.js';
import { addresses, ip, readSysctl, routes, writeSysctl } from './sys.js';

export interface RealserverOptions {
  vips: Addr[];
  dev: string;
  /** Where the sysctl values from before `start` are kept. */
  stateFile: string;
  /** `start`: who configured this host (a lab's name), recorded so that `stop` can say so. */
  owner?: string;
}

const ARP_SYSCTLS = (dev: string): [string, string][] => [
  [`net.ipv4.conf.${dev}.arp_ignore`, '1'],
  [`net.ipv4.conf.${dev}.arp_announce`, '2'],
  ['net.ipv4.conf.all.arp_ignore', '1'],
  ['net.ipv4.conf.all.arp_announce', '2'],
];

export interface SavedState {
  sysctls: Record<string, string>;
  vips: string[];
  /** The lab whose `tsvs lab up` started this agent. */
  owner?: string;
}

export async function loadState(file: string): Promise<SavedState | null> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as SavedState;
  } catch {
    return null;
  }
}

function plen(a: Addr): number {
  return a.isV6 ? 128 : 32;
}

async function hasAddr(vip: Addr, dev: string): Promise<boolean> {
  return (await addresses(dev)).some((x) => {
    const a = Addr.parse(x.local);
    return a?.equals(vip) === true;
  });
}

async function hasHostRoute(vip: Addr, dev: string): Promise<boolean> {
  const rs = await routes(vip.isV6 ? 6 : 4);
  const want = vip.toString();
  return rs.some((r) => (r.dst === want || r.dst === `${want}/${plen(vip)}`) && r.dev === dev);
}

/** Applies the real-server settings; returns one line per change made (empty if none). */
export async function realserverStart(o: RealserverOptions): Promise<string[]> {
  const done: string[] = [];
  const prev = await loadState(o.stateFile);
  const saved: SavedState = prev ?? { sysctls: {}, vips: [] };
  if (o.owner) saved.owner = o.owner;
  const v4 = o.vips.some((v) => !v.isV6);
  if (v4) {
    for (const [name, value] of ARP_SYSCTLS(o.dev)) {
      const cur = await readSysctl(name);
      if (cur === null) throw new Error(`sysctl ${name} is missing: is this Linux with IPv4?`);
      if (!(name in saved.sysctls)) saved.sysctls[name] = cur;
      if (cur !== value) {
        await writeSysctl(name, value);
        done.push(`sysctl ${name}=${value} (was ${cur})`);
      }
    }
  }
  for (const vip of o.vips) {
    const p = plen(vip);
    if (!(await hasAddr(vip, o.dev))) {
      await ip(['addr', 'add', `${vip}/${p}`, 'dev', o.dev]);
      done.push(`address ${vip}/${p} added on ${o.dev}`);
    }
    if (!saved.vips.includes(vip.toString())) saved.vips.push(vip.toString());
    if (!(await hasHostRoute(vip, o.dev))) {
      await ip(['route', 'replace', `${vip}/${p}`, 'dev', o.dev]);
      done.push(`host route ${vip}/${p} via ${o.dev}`);
    }
  }
  await mkdir(dirname(o.stateFile), { recursive: true });
  await writeFile(o.stateFile, `${JSON.stringify(saved, null, 2)}\n`);
  return done;
}

/**
 * Removes the VIPs and routes `start` added (those of `o.vips`, or all) and restores the
 * sysctls it saved. A VIP start did not add is left as it is: it is someone else's.
 */
export async function realserverStop(o: RealserverOptions): Promise<string[]> {
  const done: string[] = [];
  const saved = await loadState(o.stateFile);
  const ours = saved?.vips ?? [];
  for (const v of o.vips) {
    if (!ours.includes(v.toString())) done.push(`${v} was not added by tsvs realserver start here: left as it is`);
  }
  const vips = (o.vips.length ? o.vips.filter((v) => ours.includes(v.toString())) : ours.map((s) => Addr.parse(s))).filter(
    (v): v is Addr => v !== null,
  );
  for (const vip of vips) {
    const p = plen(vip);
    if (await hasHostRoute(vip, o.dev)) {
      await ip(['route', 'del', `${vip}/${p}`, 'dev', o.dev]);
      done.push(`host route ${vip}/${p} removed`);
    }
    if (await hasAddr(vip, o.dev)) {
      await ip(['addr', 'del', `${vip}/${p}`, 'dev', o.dev]);
      done.push(`address ${vip}/${p} removed from ${o.dev}`);
    }
  }
  const remaining = (saved?.vips ?? []).filter((s) => !vips.some((v) => v.toString() === s));
  if (saved && remaining.length === 0) {
    for (const [name, value] of Object.entries(saved.sysctls)) {
      if ((await readSysctl(name)) !== value) {
        await writeSysctl(name, value);
        done.push(`sysctl ${name}=${value} (restored)`);
      }
    }
    await rm(o.stateFile, { force: true });
  } else if (saved) {
    saved.vips = remaining;
    await writeFile(o.stateFile, `${JSON.stringify(saved, null, 2)}\n`);
  }
  return done;
}
