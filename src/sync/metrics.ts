// The sync daemons' counters as Prometheus families (registered with the HTTP endpoint's
// Observers by the daemon): what a master sent and a backup received, applied or dropped.

import { type Exposition, labelSet } from '../http/exposition.js';
import type { SyncDaemonStatus } from './control.js';

export function syncMetrics(x: Exposition, daemons: readonly SyncDaemonStatus[]): void {
  if (daemons.length === 0) return;
  const running = x.family('tsvs_sync_daemon_running', 'gauge', '1 while the sync daemon of this state has its socket open, else 0.');
  for (const d of daemons) x.sample(running, labelSet(['state'], [d.state]), d.running ? 1 : 0);
  const m = daemons.find((d) => d.master)?.master;
  if (m) {
    x.sample(x.family('tsvs_sync_sent_conns_total', 'counter', 'Conns the master sync daemon packed into messages.'), '', m.conns);
    x.sample(x.family('tsvs_sync_sent_messages_total', 'counter', 'Sync messages the master sent.'), '', m.messages);
    x.sample(x.family('tsvs_sync_sent_bytes_total', 'counter', 'Bytes of sync messages the master sent (UDP payload).'), '', m.bytes);
    x.sample(
      x.family('tsvs_sync_send_queue_drops_total', 'counter', 'Sync messages discarded because the send queue was full.'),
      '',
      m.queueDrops,
    );
    x.sample(x.family('tsvs_sync_send_errors_total', 'counter', 'Sync messages the socket refused.'), '', m.sendErrors);
  }
  const b = daemons.find((d) => d.backup)?.backup;
  if (b) {
    x.sample(
      x.family('tsvs_sync_received_messages_total', 'counter', 'Sync messages the backup accepted (right length, its syncid).'),
      '',
      b.messages,
    );
    x.sample(x.family('tsvs_sync_received_conns_total', 'counter', 'Conns the backup decoded and applied.'), '', b.entries);
    const drops = x.family(
      'tsvs_sync_received_drops_total',
      'counter',
      'Received sync datagrams, rests of them or entries not used, by reason.',
    );
    for (const [reason, n] of Object.entries(b.drops)) x.sample(drops, labelSet(['reason'], [reason]), n);
  }
}
