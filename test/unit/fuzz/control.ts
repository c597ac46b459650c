// Fuzzer of the control socket (issue #16, "Hostile input"): a real ControlServer on a
// temporary unix socket, with the daemon's request handling reduced to what needs no engine
// (the core and ipvsadm's runner, sysctl, status, ping). Clients send random bytes, truncated,
// oversized or unterminated frames, frames of non-JSON or of JSON of the wrong shape, slow
// partial requests, and valid requests whose argv are real tsvsadm options with bad values.
// Invariants: every connection gets an answer or is closed with a named reason counted; a
// command that fails leaves the rules (-S) as they were; a valid request is answered after
// every hostile one; no connection outlives the run.

import { createConnection } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { staticResolver } from '../../../src/adm/resolve.js';
import { runAdm } from '../../../src/adm/run.js';
import { CONN_BYTES, Defence } from '../../../src/core/defence.js';
import { Ipvs } from '../../../src/core/ipvs.js';
import { SysctlTable } from '../../../src/core/sysctl.js';
import { encodeFrame, FrameReader, MAX_FRAME, type Request } from '../../../src/control/protocol.js';
import { CONTROL_DROP_REASONS, ControlServer } from '../../../src/control/server.js';
import { runSysctl } from '../../../src/control/sysctl-cmd.js';
import { FuzzFailure, mutateBytes, Rng } from './rng.js';

const BASE = [
  '-A -t 192.0.2.10:80 -s rr',
  '-a -t 192.0.2.10:80 -r 10.0.0.1:8080 -m -w 2',
  '-A -u 192.0.2.10:53 -s wlc -p 60',
  '-a -u 192.0.2.10:53 -r 10.0.0.2 -g',
].join('\n');
/** Slow clients wait this long for the server's cut (the daemon's is 30 s). */
const FUZZ_TIMEOUT_MS = 150;
/** A client waits this long for an answer or a close before the case fails. */
const CASE_LIMIT_MS = 10_000;

const OPTS = [
  '-A',
  '-E',
  '-D',
  '-C',
  '-R',
  '-S',
  '-a',
  '-e',
  '-d',
  '-L',
  '-l',
  '-Z',
  '--set',
  '--start-daemon',
  '--stop-daemon',
  '-h',
  '-t',
  '-u',
  '-f',
  '--sctp-service',
  '-s',
  '-p',
  '-M',
  '-b',
  '-r',
  '-g',
  '-i',
  '-m',
  '--fullnat',
  '-w',
  '-x',
  '-y',
  '--laddr',
  '--tun-type',
  '--tun-port',
  '--tun-nocsum',
  '--mcast-interface',
  '--syncid',
  '-n',
  '-c',
  '--stats',
  '--rate',
  '--exact',
  '-6',
  '-o',
  '--pe',
  '--persistent-conn',
  '--sort',
  '--thresholds',
  '--nosort',
];
const VALUES = [
  '192.0.2.10:80',
  '192.0.2.10:53',
  '10.0.0.1:8080',
  '10.0.0.1',
  '[2001:db8::1]:80',
  '1',
  '0',
  '-1',
  '65536',
  '4294967296',
  'rr',
  'wlc',
  'nosuch',
  'ipip',
  'gue',
  '',
  ' ',
  'x'.repeat(300),
  '999.1.1.1:80',
  '192.0.2.10:99999',
  '10.0.0.1:-5',
  '::',
  '0x10',
  '1e3',
  'lo',
  'sip',
  'ffff',
  '\u0000',
  '%',
  'a:b:c',
];

interface Outcome {
  reply: unknown | null;
  closed: boolean;
}

/** One connection: writes `chunks` (with `gapMs` between), half-closes if `end`, reads the answer. */
function exchange(path: string, chunks: Buffer[], end: boolean, gapMs = 0): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const s = createConnection(path);
    const reader = new FrameReader();
    let reply: unknown | null = null;
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no answer and no close within ${CASE_LIMIT_MS} ms`));
    }, CASE_LIMIT_MS);
    s.on('data', (b: Buffer) => {
      const t = reader.push(b);
      if (t !== null) reply = JSON.parse(t);
    });
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ reply, closed: true });
    });
    s.on('connect', async () => {
      for (const c of chunks) {
        if (s.destroyed) break;
        s.write(c);
        if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
      }
      if (end && !s.destroyed) s.end();
    });
  });
}

export interface ControlFuzzResult {
  cases: number;
  answered: number;
  failedCommands: number;
  drops: Record<string, number>;
  heapMB: number;
}

export async function runControlFuzz(count: number, seed = 1): Promise<ControlFuzzResult> {
  const r = new Rng(seed);
  const dir = mkdtempSync(join(tmpdir(), 'tsvs-fuzz-control-'));
  const ipvs = new Ipvs({ now: 0 });
  const sysctls = new SysctlTable();
  ipvs.defence = new Defence(sysctls, 10_000 * CONN_BYTES);
  const resolver = staticResolver({});
  const adm = (argv: string[], stdin = '') => runAdm(argv, 'ipvsadm', { ipvs, now: 0, stdin, resolver });
  const handle = async (req: Request): Promise<unknown> => {
    switch (req.op) {
      case 'adm': {
        const { restoreFailures: _, ...reply } = await runAdm(req.argv, req.argv0, { ipvs, now: 0, stdin: req.stdin, resolver });
        return reply;
      }
      case 'sysctl':
        return runSysctl(sysctls, req.argv, req.file);
      case 'status':
        return { services: ipvs.rules.serviceCount, conns: ipvs.connCount() };
      default:
        return { ok: true };
    }
  };
  const server = new ControlServer(join(dir, 'control.sock'), handle, () => {}, FUZZ_TIMEOUT_MS);
  await server.listen();
  const rules = async () => (await adm(['-S', '-n'])).stdout;
  const reset = async () => {
    await adm(['-C']);
    const x = await adm(['-R'], `${BASE}\n`);
    if (x.code !== 0) throw new Error(`control fuzz: base rules refused: ${x.stderr}`);
  };
  await reset();
  const frame = (v: unknown) => encodeFrame(v);
  const raw = (text: string, len = Buffer.byteLength(text)) => {
    const b = Buffer.alloc(4 + Buffer.byteLength(text));
    b.writeUInt32BE(len >>> 0, 0);
    b.write(text, 4);
    return b;
  };
  const argv = (): string[] => {
    const out: string[] = [];
    for (let k = 1 + r.int(7); k > 0; k--) out.push(r.chance(0.55) ? r.pick(OPTS) : r.pick(VALUES));
    return out;
  };
  const dropTotal = () => CONTROL_DROP_REASONS.reduce((n, k) => n + server.drops[k], 0);
  let failedCommands = 0;
  try {
    for (let i = 0; i < count; i++) {
      if (i % 200 === 0) await reset();
      let chunks: Buffer[];
      let end = true;
      let gap = 0;
      let admArgv: string[] | null = null;
      let expectAnswer = false;
      switch (r.int(12)) {
        case 0:
          chunks = [Buffer.from(r.bytes(r.int(64)))];
          break;
        case 1: {
          // a frame cut short, or announcing more than it carries
          const f = frame({ op: 'adm', argv: argv(), argv0: 'ipvsadm', stdin: '' });
          chunks = [f.subarray(0, r.int(f.length))];
          break;
        }
        case 2:
          chunks = [raw('{}', r.pick([MAX_FRAME + 1, 0xffffffff, 0x7fffffff]))];
          break;
        case 3:
          chunks = [raw(r.pick(['', '{', '{"op":', 'null', '[]', '"adm"', '{"op":"adm"', '\u0000\u0001', '{"op":"adm","argv":["-L"]']))];
          break;
        case 4:
          chunks = [
            frame(
              r.pick([
                { op: 'adm', argv: [1, 2], argv0: 'ipvsadm', stdin: '' },
                { op: 'adm', argv: '-L', argv0: 'ipvsadm', stdin: '' },
                { op: 'adm', argv: ['-L'] },
                { op: 'sysctl', argv: [null] },
                { op: 'nosuch' },
                { op: ['ping'] },
                { op: 'vrrp-vips-not', addrs: [] },
                null,
                42,
              ]),
            ),
          ];
          break;
        case 5: {
          // slow: the request in pieces, sometimes never finished (the server's timeout cuts it)
          const f = frame({ op: 'ping' });
          const cut = r.chance(0.5) ? f.length : 2 + r.int(f.length - 2);
          chunks = [f.subarray(0, 2), f.subarray(2, cut)];
          gap = 20;
          end = false;
          expectAnswer = cut === f.length;
          break;
        }
        case 6: {
          const f = Buffer.from(mutateBytes(r, new Uint8Array(frame({ op: 'adm', argv: argv(), argv0: 'ipvsadm', stdin: '' })), 4));
          chunks = [f];
          break;
        }
        case 7:
          chunks = [
            frame({
              op: 'sysctl',
              argv: [
                r.pick(['-w', '-n', '-a', '']),
                `net.ipv4.vs.${r.pick(['amemthresh', 'drop_entry', 'nosuch', 'sync_threshold', 'conn_reuse_mode'])}=${r.pick(VALUES)}`,
              ],
            }),
          ];
          expectAnswer = true;
          break;
        case 8:
          chunks = [
            frame({
              op: 'adm',
              argv: ['-R'],
              argv0: 'ipvsadm',
              stdin: Array.from({ length: 1 + r.int(5) }, () => argv().join(' ')).join('\n'),
            }),
          ];
          expectAnswer = true;
          break;
        default:
          admArgv = argv();
          chunks = [frame({ op: 'adm', argv: admArgv, argv0: r.pick(['ipvsadm', 'tsvsadm']), stdin: '' })];
          expectAnswer = true;
      }
      const shown = Buffer.concat(chunks).toString('latin1').slice(0, 400);
      const before = admArgv ? await rules() : '';
      const dropsBefore = dropTotal();
      const answeredBefore = server.answered;
      let o: Outcome;
      try {
        o = await exchange(server.path, chunks, end, gap);
      } catch (e) {
        throw new FuzzFailure('control', seed, i, (e as Error).message, shown);
      }
      // Let the server see the close before the counters are read.
      await new Promise((res) => setImmediate(res));
      const answeredNow = server.answered - answeredBefore;
      const droppedNow = dropTotal() - dropsBefore;
      if (o.reply === null && answeredNow === 0 && droppedNow === 0)
        throw new FuzzFailure('control', seed, i, 'closed without an answer and without a counted reason', shown);
      if (expectAnswer && o.reply === null) throw new FuzzFailure('control', seed, i, 'a well-formed request got no answer', shown);
      if (admArgv && o.reply !== null) {
        const code = (o.reply as { code?: unknown }).code;
        if (typeof code !== 'number')
          throw new FuzzFailure('control', seed, i, `reply without an exit code: ${JSON.stringify(o.reply)}`, shown);
        if (code !== 0) {
          failedCommands++;
          const after = await rules();
          if (after !== before)
            throw new FuzzFailure('control', seed, i, `exit ${code}, yet the rules changed:\n${before}---\n${after}`, shown);
        }
      }
      if (i % 25 === 24) {
        const p = await exchange(server.path, [frame({ op: 'ping' })], true);
        if (p.reply === null) throw new FuzzFailure('control', seed, i, 'the server no longer answers ping', shown);
      }
    }
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const drops: Record<string, number> = {};
  for (const k of CONTROL_DROP_REASONS) if (server.drops[k] > 0) drops[k] = server.drops[k];
  return { cases: count, answered: server.answered, failedCommands, drops, heapMB: Math.round(process.memoryUsage().heapUsed / 1e6) };
}
