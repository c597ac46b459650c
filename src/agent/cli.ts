// `tsvs realserver start|stop|status|check` argument handling.

import { Addr } from '../core/inet.js';
import { type CheckMode, checkRealserver, formatCheck } from './check.js';
import { realserverStart, realserverStop } from './realserver.js';
import { addresses, readSysctl } from './sys.js';

const USAGE = `usage: tsvs realserver start|stop|status --vip VIP [--vip VIP …] [--dev lo]
       tsvs realserver check --vip VIP [--mode dr|tun|nat] [--dev lo] [--dip DIP]
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
  switch (sub) {
    case 'start': {
      if (vips.length === 0) throw new Error(`start needs --vip\n${USAGE}`);
      const done = await realserverStart(opts);
      process.stdout.write(
        done.length ? done.map((l) => `${l}\n`).join('') : 'already configured\n',
      );
      return 0;
    }
    case 'stop': {
      const done = await realserverStop(opts);
      process.stdout.write(done.length ? done.map((l) => `${l}\n`).join('') : 'nothing to undo\n');
      return 0;
    }
    case 'status': {
      const addrs = await addresses(dev);
      for (const a of addrs) process.stdout.write(`${dev}: ${a.local}/${a.prefixlen}\n`);
      for (const n of ['arp_ignore', 'arp_announce']) {
        for (const d of ['all', dev]) {
          process.stdout.write(
            `net.ipv4.conf.${d}.${n} = ${await readSysctl(`net.ipv4.conf.${d}.${n}`)}\n`,
          );
        }
      }
      return 0;
    }
    case 'check': {
      if (vips.length === 0) throw new Error(`check needs --vip\n${USAGE}`);
      let ok = true;
      for (const vip of vips) {
        const res = await checkRealserver(vip, mode, dev, dip);
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
