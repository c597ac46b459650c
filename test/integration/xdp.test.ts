// The packet engine on AF_XDP (issue 18), in the labs seed002-nat, seed002-dr, fullnat and nat6 (veth, where
// --xdp auto keeps the packet socket, so the tests force it): requests served through the XDP
// program and the AF_XDP socket, `tsvs status` naming the path, the host's own traffic left to
// the kernel, and after kill -9 of the daemon no XDP program left on any interface (the link fd
// dies with the process). Needs root and iproute2; CI must not skip it.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { labDown, labRun, labUp, nsName } from '../../src/lab/lab.js';
import { findLab, type LabDef } from '../../src/lab/labs.js';
import { ensureBuilt, inNs, requireNetns, TSVS } from './harness.js';

const run = promisify(execFile);
const skip = requireNetns();

async function status(ns: string, env: NodeJS.ProcessEnv): Promise<{ pid: number; notes: string[] }> {
  const r = await inNs(ns, [process.execPath, TSVS, 'status', '--json'], { env, timeoutMs: 15_000 });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as { pid: number; notes: string[] };
}

/** Frames each interface sent from its AF_XDP TX ring (the transmit note). */
function txRingFrames(notes: string[]): number {
  let n = 0;
  for (const t of notes) {
    const m = /transmit (\d+) frames from the AF_XDP TX ring/.exec(t);
    if (m) n += Number(m[1]);
  }
  return n;
}

/** The AF_XDP frame count of each interface's path note. */
function xdpFrames(notes: string[]): number[] {
  return notes.flatMap((n) => {
    const m = /receive path af_xdp \w+ .*: (\d+) frames through AF_XDP/.exec(n);
    return m ? [Number(m[1])] : [];
  });
}

async function xdpAttached(ns: string): Promise<boolean> {
  const r = await inNs(ns, ['ip', 'link', 'show'], { timeoutMs: 10_000 });
  return /prog\/xdp|xdpgeneric|xdp /.test(r.stdout);
}

async function servedThroughXdp(lab: LabDef, mode: 'generic' | 'native', ownAddr: string, pingFrom: string): Promise<void> {
  ensureBuilt();
  const env = { TSVS_ENGINE: 'packet', TSVS_XDP: mode };
  const director = nsName(lab, 'director');
  await labUp(lab, () => {}, env);
  assert.ok(await xdpAttached(director), `an XDP program is attached in ${director}`);

  const r = await labRun(lab, 8, env);
  assert.equal(r.failures, 0, `every request served: ${JSON.stringify(r.counts)}\n${r.stats}`);
  for (const rs of lab.realServers) assert.ok((r.counts[rs.host] ?? 0) > 0, `${rs.host} served: ${JSON.stringify(r.counts)}`);

  const st = await status(director, env);
  const paths = st.notes.filter((n) => n.includes('receive path'));
  assert.ok(paths.length > 0 && paths.every((n) => n.includes(`receive path af_xdp ${mode}`)), paths.join('\n'));
  const frames = xdpFrames(st.notes).reduce((a, b) => a + b, 0);
  assert.ok(frames >= 8, `the requests came in through AF_XDP (${frames} frames): ${paths.join('\n')}`);
  // What came in through AF_XDP left from the UMEM through a TX ring (frames from a local stack
  // carry partial checksums there, completed before they leave: the requests' success checks them).
  const sentFromRing = txRingFrames(st.notes);
  assert.ok(sentFromRing >= 8, `the requests left through the AF_XDP TX ring (${sentFromRing} frames): ${st.notes.join('\n')}`);
  const text = await inNs(director, [process.execPath, TSVS, 'status'], { env, timeoutMs: 15_000 });
  assert.match(text.stdout, new RegExp(`receive path af_xdp ${mode}`));

  // Host traffic the director does not take is the kernel's: a SYN to its own address on a port
  // no service has is answered by its kernel (RST: curl exit 7 at once, not a 28 timeout).
  const host = ownAddr.includes(':') ? `[${ownAddr}]` : ownAddr;
  const own = await inNs(nsName(lab, pingFrom), ['curl', '-s', '--max-time', '3', `http://${host}:81/`], { timeoutMs: 15_000 });
  assert.equal(own.code, 7, `curl ${ownAddr}:81 from ${pingFrom} is refused by the director's kernel (exit ${own.code})`);

  // kill -9: the kernel closes the link fd and detaches the program.
  await run('kill', ['-9', String(st.pid)]);
  let gone = false;
  for (let i = 0; i < 50 && !gone; i++) {
    gone = !(await xdpAttached(director));
    if (!gone) await new Promise((res) => setTimeout(res, 100));
  }
  assert.ok(gone, `no XDP program is left in ${director} after kill -9`);
}

describe('packet engine on AF_XDP', { skip, timeout: 240_000 }, () => {
  const nat = findLab('seed002-nat')!;
  const dr = findLab('seed002-dr')!;
  const fullnat = findLab('fullnat')!;
  const nat6 = findLab('nat6')!;
  after(async () => {
    for (const l of [nat, dr, fullnat, nat6]) await labDown(l);
  });

  it('NAT, generic XDP: served through AF_XDP, status says so, the host keeps its traffic, kill -9 leaves no program', async () => {
    try {
      await servedThroughXdp(nat, 'generic', '192.168.0.100', 'web1');
    } finally {
      await labDown(nat);
    }
  });

  it('DR, generic XDP', async () => {
    try {
      await servedThroughXdp(dr, 'generic', '192.168.0.50', 'web1');
    } finally {
      await labDown(dr);
    }
  });

  it('DR, native XDP on veth', async () => {
    try {
      await servedThroughXdp(dr, 'native', '192.168.0.50', 'web1');
    } finally {
      await labDown(dr);
    }
  });

  it('NAT, native XDP on veth', async () => {
    try {
      await servedThroughXdp(nat, 'native', '172.25.254.100', 'client');
    } finally {
      await labDown(nat);
    }
  });

  it('FULLNAT, generic XDP', async () => {
    try {
      await servedThroughXdp(fullnat, 'generic', '172.16.0.1', 'client');
    } finally {
      await labDown(fullnat);
    }
  });

  it('NAT over IPv6, generic XDP', async () => {
    try {
      await servedThroughXdp(nat6, 'generic', '2001:db8:1::1', 'client');
    } finally {
      await labDown(nat6);
    }
  });
});
