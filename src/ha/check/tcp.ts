// TCP_CHECK: success when the TCP connection completes within connect_timeout (§B.4). On the
// epoll driver where it runs (driver/select.ts), on Node's sockets otherwise.
import { connect } from 'node:net';
import type { CheckerConf } from '../lvs/types.js';
import { probeDriver } from './driver/select.js';
import { targetOf } from './driver/target.js';
import type { ProbeResult } from './probe.js';

export function tcpProbe(c: CheckerConf): Promise<ProbeResult> {
  const d = probeDriver();
  const t = d && targetOf(c);
  return d && t ? d.tcp(t, c.connectTimeoutMs) : nodeTcpProbe(c);
}

export function nodeTcpProbe(c: CheckerConf): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const s = connect({
      host: c.connectIp,
      port: c.connectPort,
      localAddress: c.bindto ?? undefined,
      localPort: c.bindPort ?? undefined,
    });
    let done = false;
    const finish = (r: ProbeResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ ok: false, detail: `no connection within ${c.connectTimeoutMs} ms` }), c.connectTimeoutMs);
    s.once('connect', () => finish({ ok: true, detail: 'connected' }));
    s.once('error', (e: NodeJS.ErrnoException) => finish({ ok: false, detail: e.code ?? e.message }));
  });
}
