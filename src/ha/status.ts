// What `tsvs status` learns from the keepalived process. The process serves it on a socket
// next to the director's (<run dir>/<netns>.keepalived.sock) with the control protocol's
// frames ({op:'status'} → KeepalivedStatus); see docs/keepalived.md.
import type { VirtualServerStatus } from './lvs/manager.js';

export interface KeepalivedStatus {
  pid: number;
  conf: string;
  startedAt: number;
  /** The configuration is applied (the first start finished). */
  ready: boolean;
  /** Checkers run (not -P) / VRRP runs (not -C). */
  checkers: boolean;
  vrrp: boolean;
  lastReload: { at: number; ok: boolean; why: string } | null;
  warnings: number;
  virtualServers: VirtualServerStatus[];
  /** VRRP instances (src/ha/vrrp's VrrpInstanceStatus), filled by the VRRP part. */
  vrrpInstances: unknown[];
  /** URL of the --http endpoint, when one is served. */
  http?: string;
}
