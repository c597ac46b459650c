// The daemon runs the core's timers every wheel tick: a conn leaves the table within about
// TICK_MS of its timeout, whenever in the daemon's second it was made. (Run once a second, as
// before, a conn outlived its timeout by up to a second, and 10 M conns' expiries came in
// bursts of 20-30 ms with no frame forwarded.)
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { request } from '../../../src/cli/client.js';
import { AF_INET, IP_VS_CONN_F_MASQ } from '../../../src/core/constants.js';
import { PacketInfo } from '../../../src/core/conn/packet.js';
import { TICK_MS } from '../../../src/core/conn/timer.js';
import { defaultDestSpec } from '../../../src/core/dest.js';
import { Addr } from '../../../src/core/inet.js';
import type { ServiceKey } from '../../../src/core/service.js';
import { startDaemon } from '../../../src/control/daemon.js';
import type { AdmReply } from '../../../src/control/protocol.js';

/** Conns made this far apart cover the second of a once-a-second timer. */
const PHASES = [0, 200, 400, 600, 800];
const TIMEOUT_S = 1;
/** Lateness allowed: a wheel tick, and the scheduling of a loaded CI machine. A once-a-second timer is up to 1000 ms late for one of the phases. */
const LATE_MS = 500;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('daemon: conn expiry', () => {
  it(`expires a conn within ${LATE_MS} ms of its timeout, whenever it was made`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsvs-expiry-'));
    const d = await startDaemon({ engine: 'proxy', runDir: dir, log: () => undefined, watchNamespace: false });
    try {
      const set = await request<AdmReply>(d.socket, {
        op: 'adm',
        argv: ['--set', '0', '0', String(TIMEOUT_S)],
        argv0: 'ipvsadm',
        stdin: '',
      });
      assert.equal(set.code, 0, set.stderr);
      const key: ServiceKey = { af: AF_INET, protocol: 17, addr: Addr.parse4('192.0.2.1')!, port: 9000, fwmark: 0 };
      d.ipvs.rules.addService({ ...key, schedName: 'rr', flags: 0, timeout: 0, netmask: 0xffffffff, peName: '' }, d.now());
      d.ipvs.rules.addDest(key, { ...defaultDestSpec(Addr.parse4('192.0.2.2')!, 9000), fwd: IP_VS_CONN_F_MASQ }, d.now());
      const made = new Map<number, number>();
      const gone = new Map<number, number>();
      const live = () => {
        const ports = new Set<number>();
        d.ipvs.forEachConn(d.now(), (c) => ports.add(c.cport));
        return ports;
      };
      const p = new PacketInfo();
      const start = d.now();
      for (const [k, phase] of PHASES.entries()) {
        await sleep(start + phase - d.now());
        const port = 1000 + k;
        p.setV4(17, Addr.parse4('198.51.100.1')!.w0, port, key.addr.w0, 9000);
        p.len = 50;
        made.set(port, d.now());
        assert.ok(d.ipvs.processIn(p, d.now()) >= 0);
      }
      const deadline = d.now() + TIMEOUT_S * 1000 + 2000;
      while (gone.size < PHASES.length && d.now() < deadline) {
        const ports = live();
        for (const port of made.keys()) if (!ports.has(port) && !gone.has(port)) gone.set(port, d.now());
        await sleep(10);
      }
      for (const [port, at] of made) {
        const late = gone.get(port)! - at - TIMEOUT_S * 1000;
        assert.ok(late >= -TICK_MS, `conn ${port} left ${-late} ms before its timeout`);
        assert.ok(late <= LATE_MS, `conn ${port} outlived its timeout by ${late.toFixed(0)} ms`);
      }
    } finally {
      await d.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
