// `tsvs status [--json]`: what the director of this namespace serves and what it cannot.

import type { DaemonStatus } from '../control/daemon.js';
import { fetchKeepalivedStatus, keepalivedLines } from '../ha/status-text.js';
import { NoDaemon, NoPermission, request, targetSocket } from './client.js';
import { ENVIRONMENT, UsageError, wantsHelp } from './usage.js';

const USAGE = 'usage: tsvs status [--json]   what the director of this network namespace serves\n';

export async function statusMain(argv: string[]): Promise<number> {
  if (wantsHelp(argv)) {
    process.stdout.write(`${USAGE}\n${ENVIRONMENT}`);
    return 0;
  }
  for (const a of argv) if (a !== '--json') throw new UsageError(`unknown option ${a}\n${USAGE}`);
  let st: DaemonStatus;
  try {
    st = await request<DaemonStatus>(targetSocket(), { op: 'status' }, 10_000);
  } catch (e) {
    if (e instanceof NoDaemon) {
      process.stderr.write('tsvs: no director runs in this network namespace\n');
      return 1;
    }
    if (e instanceof NoPermission) {
      process.stderr.write('tsvs: permission denied: the director of this namespace belongs to root (run tsvs status as root)\n');
      return 1;
    }
    throw e;
  }
  const keepalived = await fetchKeepalivedStatus(targetSocket());
  if (argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify({ ...st, keepalived }, null, 2)}\n`);
    return 0;
  }
  const lines = [
    `director: pid ${st.pid}, netns ${st.netns}, engine ${st.engine}${st.loadError ? ' NOT LOADED' : ''}${st.coreThread ? ', core on its own thread' : ''}`,
    ...(st.loadError ? [`engine: ${st.loadError}`] : []),
    `services: ${st.services}, connections: ${st.conns}`,
    `interfaces: ${st.interfaces.length ? st.interfaces.join(', ') : '(none)'}`,
    `log: ${st.log ?? 'stderr'}`,
  ];
  if (st.http) lines.push(`dashboard: ${st.http} (metrics: ${st.http}metrics)`);
  for (const n of st.notes ?? []) lines.push(`note: ${n}`);
  if (st.unserved.length) {
    lines.push('not served:');
    for (const u of st.unserved) lines.push(`  ${u.rule}: ${u.reason}`);
  } else lines.push('not served: (none)');
  const drops = Object.entries(st.drops);
  lines.push(drops.length ? `drops: ${drops.map(([k, v]) => `${k}=${v}`).join(' ')}` : 'drops: (none)');
  for (const d of st.sync ?? []) {
    const head = `sync ${d.state}: ${d.ifname}, syncid ${d.syncid}, group ${d.group}:${d.port}`;
    if (!d.running) lines.push(`${head}, NOT RUNNING: ${d.error ?? 'unknown'}`);
    else if (d.master) {
      const m = d.master;
      lines.push(
        `${head}, sent ${m.conns} conns in ${m.messages} messages (${m.bytes} B), queue drops ${m.queueDrops}, send errors ${m.sendErrors}`,
      );
    } else if (d.backup) {
      const b = d.backup;
      const bdrops =
        Object.entries(b.drops)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ') || 'none';
      lines.push(
        `${head}, received ${b.entries} conns in ${b.messages} messages (created ${b.created}, updated ${b.updated}, unbound ${b.unbound}), drops: ${bdrops}`,
      );
    }
  }
  if (st.syncNote) lines.push(`note: ${st.syncNote}`);
  lines.push(...keepalivedLines(keepalived));
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
