// Virtual addresses on and off the interface through iproute2, as `ip addr` would be typed by an
// operator (dev, label, scope from virtual_ipaddress). Adding what is there or deleting what is
// gone is not an error: after a crash or a reload the wanted state is reached either way.

import { execFile } from 'node:child_process';
import type { VipConfig } from './config.js';

function ipAddr(args: string[]): Promise<string | null> {
  return new Promise((resolve) => {
    execFile('ip', args, (err, _out, stderr) => {
      resolve(err ? `ip ${args.join(' ')}: ${(stderr || err.message).trim()}` : null);
    });
  });
}

function spec(v: VipConfig): string[] {
  const a = [`${v.addr}/${v.plen}`, 'dev', v.dev];
  if (v.label) a.push('label', v.label);
  if (v.scope) a.push('scope', v.scope);
  return a;
}

/** Adds the VIPs; returns the errors (one per VIP that could not be added), empty when all are on. */
export async function addVips(vips: VipConfig[]): Promise<string[]> {
  const errs: string[] = [];
  for (const v of vips) {
    // IPv6 VIPs skip duplicate address detection, or they would not be usable for a second.
    const extra = v.addr.isV6 ? ['nodad'] : [];
    const e = await ipAddr(['addr', 'add', ...spec(v), ...extra]);
    if (e && !/File exists/.test(e)) errs.push(e);
  }
  return errs;
}

export async function delVips(vips: VipConfig[]): Promise<string[]> {
  const errs: string[] = [];
  for (const v of vips) {
    const e = await ipAddr(['addr', 'del', `${v.addr}/${v.plen}`, 'dev', v.dev]);
    if (e && !/Cannot assign requested address|Address not found|Cannot find device/.test(e)) errs.push(e);
  }
  return errs;
}
