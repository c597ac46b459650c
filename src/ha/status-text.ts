// `tsvs status` lines for the keepalived process (checkers; VRRP instances by the VRRP part).
import { request } from '../cli/client.js';
import { keepalivedSocket } from './director.js';
import type { KeepalivedStatus } from './status.js';
import type { VrrpInstanceStatus } from './vrrp/index.js';

/** The keepalived process's status, or null when none serves this namespace. */
export async function fetchKeepalivedStatus(directorSock: string): Promise<KeepalivedStatus | null> {
  try {
    return await request<KeepalivedStatus>(keepalivedSocket(directorSock), { op: 'status' }, 5000);
  } catch {
    return null;
  }
}

export function keepalivedLines(k: KeepalivedStatus | null): string[] {
  if (!k) return []; // most directors run without keepalived: no line rather than noise
  const parts = [k.checkers ? 'checkers' : null, k.vrrp ? 'vrrp' : null].filter(Boolean).join('+');
  const lines = [`keepalived: pid ${k.pid}, ${k.conf}, ${parts || 'idle'}, ${k.warnings} config warning(s)`];
  if (k.http) lines.push(`  metrics: ${k.http}metrics`);
  if (k.lastReload) {
    lines.push(`  last reload: ${new Date(k.lastReload.at).toISOString()} ${k.lastReload.ok ? 'ok' : `refused: ${k.lastReload.why}`}`);
  }
  for (const v of k.vrrpInstances as VrrpInstanceStatus[]) {
    const eff = v.effectivePriority !== v.priority ? ` (effective ${v.effectivePriority})` : '';
    const t = v.lastTransition;
    const last = t ? `, ${t.from} -> ${t.to} at ${new Date(t.at).toISOString()} (${t.why})` : '';
    lines.push(`  vrrp_instance ${v.name}: ${v.state}, priority ${v.priority}${eff}, master ${v.masterAddr ?? 'unknown'}${last}`);
  }
  for (const vs of k.virtualServers) {
    const sorry = vs.sorryServerActive ? ', sorry server active' : '';
    lines.push(`  virtual_server ${vs.name}: quorum ${vs.quorumUp ? 'up' : 'down'}${sorry}`);
    for (const rs of vs.realServers) {
      lines.push(`    real_server ${rs.rs} weight ${rs.weight}: ${rs.alive ? 'UP' : 'DOWN'}${rs.inRules ? '' : ' (not served)'}`);
      for (const c of rs.checkers) {
        const last = c.lastResult === null ? 'not checked yet' : `last: ${c.lastResult}`;
        lines.push(`      ${c.kind} ${c.target}: ${c.up ? 'up' : 'down'}, ${last}, ${c.consecutiveFailures} consecutive failure(s)`);
      }
    }
  }
  return lines;
}
