// State shared by the proxy engine's listeners and sessions.

import { PacketInfo } from '../../core/conn/packet.js';
import type { Dest } from '../../core/dest.js';
import { formatAddrPort } from '../../core/inet.js';
import type { Ipvs } from '../../core/ipvs.js';
import type { Logger } from '../../control/log.js';

export type DestHealth = 'ok' | 'refused' | 'timeout' | 'error';

export class ProxyContext {
  /** One reusable packet record: the core reads it synchronously. */
  readonly pkt = new PacketInfo();
  readonly drops: Record<string, number> = {};
  /** Open sessions by conn ref, so that the core's expiry can close their sockets. */
  readonly sessions = new Map<number, { destroy(): void }>();
  private readonly health = new Map<Dest, DestHealth>();

  constructor(
    readonly ipvs: Ipvs,
    readonly clock: () => number,
    readonly log: Logger,
  ) {}

  drop(reason: string): void {
    this.drops[reason] = (this.drops[reason] ?? 0) + 1;
  }

  /** Logs a dest's reachability only when it changes, not per connection. */
  destHealth(d: Dest, h: DestHealth, detail = ''): void {
    const was = this.health.get(d) ?? 'ok';
    if (was === h) return;
    this.health.set(d, h);
    const name = formatAddrPort(d.addr, d.port);
    if (h === 'ok') this.log(`proxy: real server ${name} accepts connections again`);
    else this.log(`proxy: real server ${name}: connections ${h}${detail ? ` (${detail})` : ''}; clients are reset`);
  }
}
