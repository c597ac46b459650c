// `tsvsadm -L -c` of a large table through the daemon's real control socket: the listing comes in
// parts (no reply frame near MAX_FRAME, the event loop turning between parts), holds up no other
// command while its reader is paused, and stops when its reader goes away.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CONN_LIST_CHUNK } from '../../../src/adm/conns.js';
import { systemResolver } from '../../../src/adm/resolve.js';
import { runAdm } from '../../../src/adm/run.js';
import { request } from '../../../src/cli/client.js';
import { AF_INET, AF_INET6, IP_VS_CONN_F_MASQ } from '../../../src/core/constants.js';
import { PacketInfo } from '../../../src/core/conn/packet.js';
import { defaultDestSpec } from '../../../src/core/dest.js';
import { Addr } from '../../../src/core/inet.js';
import type { Ipvs } from '../../../src/core/ipvs.js';
import type { ServiceKey } from '../../../src/core/service.js';
import { type DaemonHandle, startDaemon } from '../../../src/control/daemon.js';
import { type AdmReply, encodeFrame, FrameReader, isReplyPart } from '../../../src/control/protocol.js';

/** Five parts and a bit, IPv4 and IPv6, so that a part boundary falls inside each family. */
const N4 = 4 * CONN_LIST_CHUNK + 123;
const N6 = CONN_LIST_CHUNK + 7;
const LIST = { op: 'adm' as const, argv: ['-L', '-c', '-n'], argv0: 'ipvsadm', stdin: '' };

/** UDP conns made through the core's in-path, as first packets would make them; no traffic flows. */
function fill(ipvs: Ipvs): void {
  const v4: ServiceKey = { af: AF_INET, protocol: 17, addr: Addr.parse4('192.0.2.1')!, port: 9000, fwmark: 0 };
  const v6: ServiceKey = { af: AF_INET6, protocol: 17, addr: Addr.parse('2001:db8::1')!, port: 9000, fwmark: 0 };
  for (const [key, rip] of [
    [v4, Addr.parse4('192.0.2.2')!],
    [v6, Addr.parse('2001:db8::2')!],
  ] as const) {
    ipvs.rules.addService({ ...key, schedName: 'rr', flags: 0, timeout: 0, netmask: key.af === AF_INET ? 0xffffffff : 128, peName: '' }, 0);
    ipvs.rules.addDest(key, { ...defaultDestSpec(rip, 9000), fwd: IP_VS_CONN_F_MASQ }, 0);
  }
  const p = new PacketInfo();
  for (let k = 0; k < N4; k++) {
    p.setV4(17, (0x0a400000 + (k >> 14)) >>> 0, 1024 + (k & 16383), v4.addr.w0, 9000);
    p.len = 50;
    const r = ipvs.processIn(p, 0);
    assert.ok(r >= 0, `processIn ${r}`);
  }
  for (let k = 0; k < N6; k++) {
    const c = Addr.parse(`2001:db8:1::${(k + 1).toString(16)}`)!;
    p.setV6(17, [c.w0, c.w1, c.w2, c.w3], 5000, [v6.addr.w0, v6.addr.w1, v6.addr.w2, v6.addr.w3], 9000);
    p.len = 50;
    assert.ok(ipvs.processIn(p, 0) >= 0);
  }
}

/** The listing's lines without the expiry column, which moves between two listings. */
function rows(text: string): string[] {
  return text.split('\n').map((l) => l.slice(0, 4) + l.slice(11));
}

/** A raw client: sends the request and hands each frame's JSON to `on`, which may pause the socket. */
function rawClient(path: string, on: (v: unknown, s: ReturnType<typeof connect>) => void) {
  const s = connect(path);
  const reader = new FrameReader();
  s.on('connect', () => s.write(encodeFrame(LIST)));
  s.on('data', (b: Buffer) => {
    for (let t = reader.push(b); t !== null; t = reader.next()) on(JSON.parse(t), s);
  });
  s.on('error', () => undefined);
  return s;
}

describe('daemon: tsvsadm -L -c of a large table', () => {
  let dir = '';
  let d: DaemonHandle;
  const lines: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tsvs-conns-'));
    d = await startDaemon({ engine: 'proxy', runDir: dir, log: (m) => lines.push(m), watchNamespace: false });
    fill(d.ipvs);
  });
  after(async () => {
    await d?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('comes in parts of at most CONN_LIST_CHUNK lines, with the same lines as one whole listing', async () => {
    const parts: string[] = [];
    let turns = 0;
    const ticker = setInterval(() => turns++, 0);
    let reply: AdmReply;
    try {
      reply = await request<AdmReply>(d.socket, LIST, 30_000, (part) => {
        parts.push(part);
        return undefined;
      });
    } finally {
      clearInterval(ticker);
    }
    assert.equal(reply.code, 0, reply.stderr);
    assert.ok(parts.length >= 5, `${parts.length} parts`);
    for (const p of parts) assert.ok(p.split('\n').length - 1 <= CONN_LIST_CHUNK + 2, `a part of ${p.length} bytes`);
    // Timers ran while the listing was made: the event loop was not held for its whole length.
    assert.ok(turns >= parts.length, `${turns} timer turns for ${parts.length} parts`);
    const whole = await runAdm(LIST.argv, 'ipvsadm', { ipvs: d.ipvs, now: 0, stdin: '', resolver: systemResolver() });
    assert.deepEqual(rows(parts.join('') + reply.stdout), rows(whole.stdout));
    assert.equal(whole.stdout.split('\n').length - 1, 2 + N4 + N6);
    // Without a part handler, request() joins the parts in front of the reply's stdout.
    const joined = await request<AdmReply>(d.socket, LIST, 30_000);
    assert.deepEqual(rows(joined.stdout), rows(whole.stdout));
  });

  it('lets other commands run while its reader has stopped reading, then finishes', async () => {
    let text = '';
    let firstPart: () => void = () => {};
    const paused = new Promise<void>((resolve) => (firstPart = resolve));
    let sock: ReturnType<typeof connect> | null = null;
    const finished = new Promise<AdmReply>((resolve) => {
      sock = rawClient(d.socket, (v, s) => {
        if (!isReplyPart(v)) {
          resolve(v as AdmReply);
          return;
        }
        if (text === '') {
          s.pause();
          firstPart();
        }
        text += v.part;
      });
    });
    await paused;
    // The listing now waits on a full socket; a change must not wait behind it.
    const add = await request<AdmReply>(d.socket, { ...LIST, argv: ['-A', '-t', '192.0.2.9:80', '-s', 'wlc'] }, 10_000);
    assert.equal(add.code, 0, add.stderr);
    assert.ok(d.ipvs.rules.findService({ af: AF_INET, protocol: 6, addr: Addr.parse4('192.0.2.9')!, port: 80, fwmark: 0 }));
    sock!.resume();
    const reply = await finished;
    assert.equal(reply.code, 0);
    assert.equal((text + reply.stdout).split('\n').length - 1, 2 + N4 + N6);
  });

  it('stops when its reader goes away, counted, and the daemon answers the next command', async () => {
    type Status = { drops?: Record<string, number> };
    const gone = (st: Status) => st.drops?.control_closed_mid_reply ?? 0;
    const gone0 = gone(await request<Status>(d.socket, { op: 'status' }));
    await new Promise<void>((resolve) => {
      rawClient(d.socket, (v, s) => {
        if (isReplyPart(v)) {
          s.destroy();
          resolve();
        }
      });
    });
    const deadline = Date.now() + 10_000;
    let drops = 0;
    while (Date.now() < deadline) {
      drops = gone(await request<Status>(d.socket, { op: 'status' })) - gone0;
      if (drops > 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(drops, 1);
    const list = await request<AdmReply>(d.socket, { ...LIST, argv: ['-L', '-n'] }, 10_000);
    assert.equal(list.code, 0);
    assert.ok(!lines.some((l) => l.includes('request failed')), lines.join('\n'));
  });

  it("does not hold the daemon's stop while its reader has stopped reading", async () => {
    const dir2 = mkdtempSync(join(tmpdir(), 'tsvs-conns-'));
    const d2 = await startDaemon({ engine: 'proxy', runDir: dir2, log: () => undefined, watchNamespace: false });
    try {
      fill(d2.ipvs);
      let sock: ReturnType<typeof connect> | null = null;
      await new Promise<void>((resolve) => {
        sock = rawClient(d2.socket, (v, c) => {
          if (isReplyPart(v)) {
            c.pause();
            resolve();
          }
        });
      });
      let timer: NodeJS.Timeout | undefined;
      const bound = (what: string) => new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} within 5 s`)), 5000)));
      await Promise.race([d2.stop(), bound('the daemon did not stop with a listing paused')]);
      clearTimeout(timer);
      // Read on: the daemon has closed the connection, mid-listing.
      const closed = new Promise<void>((resolve) => sock!.once('close', () => resolve()));
      sock!.resume();
      await Promise.race([closed, bound("the paused listing's connection was not closed")]);
      clearTimeout(timer);
    } finally {
      rmSync(dir2, { recursive: true, force: true });
    }
  });
});
