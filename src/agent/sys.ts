// Host access for the real-server agent: sysctls under /proc/sys and iproute2 (`ip -j`).
// Everything the agent changes goes through here so that tests can read the same values.

import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** net.ipv4.conf.<dev>.<name> (dev 'all', 'default', 'lo', …) or any dotted sysctl name. */
function sysctlPath(name: string): string {
  return `/proc/sys/${name.replaceAll('.', '/')}`;
}

export async function readSysctl(name: string): Promise<string | null> {
  try {
    return (await readFile(sysctlPath(name), 'utf8')).trim();
  } catch {
    return null;
  }
}

export async function writeSysctl(name: string, value: string): Promise<void> {
  await writeFile(sysctlPath(name), `${value}\n`);
}

export async function ip(args: string[]): Promise<string> {
  const { stdout } = await run('ip', args, { maxBuffer: 16 << 20 });
  return stdout;
}

export interface IfAddr {
  ifname: string;
  family: 'inet' | 'inet6';
  local: string;
  prefixlen: number;
  label?: string;
}

export async function addresses(dev?: string): Promise<IfAddr[]> {
  const out = await ip(['-j', 'addr', 'show', ...(dev ? ['dev', dev] : [])]);
  const links = JSON.parse(out) as {
    ifname: string;
    addr_info?: { family: 'inet' | 'inet6'; local: string; prefixlen: number; label?: string }[];
  }[];
  const res: IfAddr[] = [];
  for (const l of links) {
    for (const a of l.addr_info ?? []) {
      res.push({
        ifname: l.ifname,
        family: a.family,
        local: a.local,
        prefixlen: a.prefixlen,
        label: a.label,
      });
    }
  }
  return res;
}

export interface RouteEntry {
  dst: string;
  dev?: string;
  gateway?: string;
  table?: string;
}

export async function routes(family: 4 | 6, table = 'main'): Promise<RouteEntry[]> {
  const out = await ip([`-${family}`, '-j', 'route', 'show', 'table', table]);
  return JSON.parse(out) as RouteEntry[];
}

export async function interfaces(): Promise<string[]> {
  const out = await ip(['-j', 'link', 'show']);
  return (JSON.parse(out) as { ifname: string }[]).map((l) => l.ifname);
}
