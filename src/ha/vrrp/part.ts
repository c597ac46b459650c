// VRRP as the part `tsvs keepalived` plugs in (src/ha/keepalived.ts's VrrpPart): the config is
// checked with the rest of the file, then the runtime follows the process's life.

import { targetSocket } from '../../cli/client.js';
import type { ConfMessage, ConfNode } from '../conf/node.js';
import { vrrpFromConf } from './config.js';
import { DirectorVips } from './director-vips.js';
import { Vrrp, type VrrpLogLevel } from './vrrp.js';

export interface VrrpPartOf {
  check(nodes: ConfNode[]): { errors: ConfMessage[]; warnings: ConfMessage[] };
  start(nodes: ConfNode[]): Promise<void>;
  reload(nodes: ConfNode[]): Promise<void>;
  shutdown(): Promise<void>;
  status(): unknown[];
  onTransition(cb: (s: { name: string; state: string }) => void): void;
  readonly vrrp: Vrrp;
}

/**
 * `directorSock`: the director's control socket, told which VIPs VRRP moves (none runs: nothing
 * to tell) and watched: a director that dies is started and told again (director-vips.ts).
 */
export function makeVrrpPart(log: (level: VrrpLogLevel, msg: string) => void, directorSock: string | null = targetSocket()): VrrpPartOf {
  const director = new DirectorVips({ sock: directorSock, log });
  const vrrpVips = (addrs: string[]) => director.tell(addrs);
  const vrrp = new Vrrp({ log: (level, msg) => log(level, msg), now: () => performance.now(), vrrpVips });
  const load = (nodes: ConfNode[]) => {
    const r = vrrpFromConf(nodes);
    if (r.errors.length > 0) {
      // The process checked the file before; reaching here means it changed under us.
      throw new Error(`VRRP configuration refused: ${r.errors.map((e) => `${e.file}:${e.line}: ${e.text}`).join('; ')}`);
    }
    return r.config;
  };
  let started = false;
  return {
    vrrp,
    check: (nodes) => {
      const r = vrrpFromConf(nodes);
      return { errors: r.errors, warnings: r.warnings };
    },
    start: async (nodes) => {
      await vrrp.start(load(nodes));
      started = true;
    },
    reload: async (nodes) => {
      if (!started) return vrrp.start(load(nodes)).then(() => void (started = true));
      await vrrp.reload(load(nodes));
    },
    shutdown: () => {
      director.stop();
      return vrrp.shutdown();
    },
    status: () => vrrp.status(),
    onTransition: (cb) => vrrp.onTransition(cb),
  };
}
