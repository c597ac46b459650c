// `tsvs realserver start|stop|status|check` argument handling.

import { dirname } from 'node:path';
import { Addr } from '../core/inet.js';
import { type CheckMode, checkRealserver, formatCheck, kernelTunnels } from './check.js';
import type { TunnelKind } from './decap.js';
import { readDecapCounters, runDecap, startDecap, stopDecap } from './decap-process.js';
import { realserverStart, realserverStop } from './realserver.js';
import { addresses, readSysctl } from './sys.js';

const USAGE = `usage: tsvs realserver start|stop|status --vip VIP [--vip VIP …] [--dev lo]
                            [--tunnel ipip|gue|gre [--tun-port PORT]] [--json]
       tsvs realserver check --vip VIP [--mode dr|tun|nat] [--dev lo] [--dip DIP]
       tsvs realserver decap --tunnel ipip|gue|gre --vip VIP … [--tun-port PORT]
`;

function stateFile(): string {
  const dir = process.env.TSVS_RUN_DIR ?? (process.getuid?.() === 0 ? '/run/tsvs' : '/tmp/tsvs');
  return `${dir}/realserver.json`;
}

export async function realserverMain(argv: string[]): Promise<number> {
  const sub = argv[0];
  const vips: Addr[] = [];
  let dev = 'lo';
  let mode: CheckMode = 'dr';
  let dip: Addr | undefined;
  let tunnel: TunnelKind | null = null;
  let tunPort = 0;
  let json = false;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    const v = argv[i + 1];
    const need = () => {
      if (v === undefined) throw new Error(`${a} needs a value`);
      i++;
      return v;
    };
    if (a === '--vip') {
      const s = need();
      const addr = Addr.parse(s);
      if (!addr) throw new Error(`--vip ${s}: not an IPv4 or IPv6 address`);
      vips.push(addr);
    } else if (a === '--dev') dev = need();
    else if (a === '--json') json = true;
    else if (a === '--tunnel') {
      const t = need();
      if (t !== 'ipip' && t !== 'gue' && t !== 'gre') throw new Error(`--tunnel ${t}: use ipip, gue or gre`);
      tunnel = t;
    } else if (a === '--tun-port') {
      const t = need();
      tunPort = Number(t);
      if (!/^\d+$/.test(t) || tunPort < 1 || tunPort > 65535) throw new Error(`--tun-port ${t}: a UDP port 1-65535`);
    }
    else if (a === '--dip') {
      const s = need();
      dip = Addr.parse(s) ?? undefined;
      if (!dip) throw new Error(`--dip ${s}: not an IPv4 or IPv6 address`);
    } else if (a === '--mode') {
      const m = need();
      if (m !== 'dr' && m !== 'tun' && m !== 'nat')
        throw new Error(`--mode ${m}: use dr, tun or nat`);
      mode = m;
    } else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  const opts = { vips, dev, stateFile: stateFile() };
  const runDir = dirname(opts.stateFile);
  if (tunnel === 'gue' && tunPort === 0) throw new Error('--tunnel gue needs --tun-port (the dest\'s --tun-port on the director)');
  switch (sub) {
    case 'start': {
      if (vips.length === 0) throw new Error(`start needs --vip\n${USAGE}`);
      const done = await realserverStart(opts);
      if (tunnel) {
        done.push(...(await startDecap(runDir, tunnel, tunPort, vips)));
        const kernel = kernelTunnels();
        if (kernel.length) {
          done.push(
            `note: the kernel has ${kernel.join(', ')} loaded; with a tunnel device up it decapsulates too, and each request would arrive twice: use one or the other (tsvs realserver check --mode tun)`,
          );
        }
      }
      process.stdout.write(
        done.length ? done.map((l) => `${l}\n`).join('') : 'already configured\n',
      );
      return 0;
    }
    case 'stop': {
      const done = await stopDecap(runDir);
      done.push(...(await realserverStop(opts)));
      process.stdout.write(done.length ? done.map((l) => `${l}\n`).join('') : 'nothing to undo\n');
      return 0;
    }
    case 'decap': {
      if (!tunnel || vips.length === 0) throw new Error(`decap needs --tunnel and --vip\n${USAGE}`);
      await runDecap(runDir, tunnel, tunPort, vips);
      return 0;
    }
    case 'status': {
      const addrs = await addresses(dev);
      const sysctls: Record<string, string | null> = {};
      for (const n of ['arp_ignore', 'arp_announce']) {
        for (const d of ['all', dev]) sysctls[`net.ipv4.conf.${d}.${n}`] = await readSysctl(`net.ipv4.conf.${d}.${n}`);
      }
      const decap = await readDecapCounters(runDir);
      if (json) {
        const out = { addrs: addrs.map((a) => `${a.local}/${a.prefixlen}`), sysctls, decap };
        process.stdout.write(`${JSON.stringify(out)}\n`);
        return 0;
      }
      for (const a of addrs) process.stdout.write(`${dev}: ${a.local}/${a.prefixlen}\n`);
      for (const [k, v] of Object.entries(sysctls)) process.stdout.write(`${k} = ${v}\n`);
      if (decap) {
        const drops = Object.entries(decap.drops).map(([k, v]) => ` ${k}=${v}`).join('');
        process.stdout.write(
          `tunnel ${decap.tunnel}${decap.port ? ` port ${decap.port}` : ''}: received ${decap.received}, delivered ${decap.delivered}, dropped${drops || ' 0'}\n`,
        );
      }
      return 0;
    }
    case 'check': {
      if (vips.length === 0) throw new Error(`check needs --vip\n${USAGE}`);
      let ok = true;
      for (const vip of vips) {
        const res = await checkRealserver(vip, mode, dev, dip, runDir);
        process.stdout.write(formatCheck(res));
        ok &&= res.every((r) => r.ok);
      }
      return ok ? 0 : 1;
    }
    default:
      process.stderr.write(USAGE);
      return 2;
  }
}
