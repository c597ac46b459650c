// Rules survive the director: kill -9 between two changes, and at random points of a `-R` of
// 10,000 lines, then a new director restores the state file. What comes back is always what
// was accepted up to some point (a prefix of the commands, in -S form, counters zeroed), never a
// torn file; changed sysctls come back too. The director runs the proxy engine in a private run directory with fwmark services,
// which the proxy engine accepts but cannot serve: no socket is opened, nothing is sent.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { renderUnit } from '../../src/cli/service.js';
import { ensureBuilt, freshRunDir, inNs, TSVS, TSVSADM } from './harness.js';

const runDir = freshRunDir();
const env = { TSVS_RUN_DIR: runDir, TSVS_ENGINE: 'proxy' };
let daemon: ChildProcess | null = null;

async function adm(args: string[], input?: string): Promise<string> {
  const r = await inNs(null, [TSVSADM, ...args], { env, input });
  assert.equal(r.code, 0, `tsvsadm ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** ExecStart of the systemd unit `tsvs service install` writes: the restart path systemd takes. */
const execStart = /^ExecStart=(.*)$/m
  .exec(renderUnit({ engine: 'proxy', node: process.execPath, bin: TSVS, template: false }))![1]!
  .split(' ');

/** Starts a director as the unit does, in a child we own, and waits until it answers. */
async function start(): Promise<void> {
  const child = spawn(execStart[0]!, execStart.slice(1), {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  daemon = child;
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`the director exited: ${err}`);
    if (readdirSync(runDir).some((f) => f.endsWith('.sock')) && /control socket/.test(err)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`the director did not start: ${err}`);
}

async function kill9(): Promise<void> {
  const d = daemon;
  daemon = null;
  if (!d || d.exitCode !== null) return;
  const gone = new Promise((r) => d.once('exit', r));
  d.kill('SIGKILL');
  await gone;
}

/** The rules of the running director, one `-S -n` line each. */
async function saved(): Promise<string[]> {
  return (await adm(['-S', '-n'])).split('\n').filter(Boolean);
}

/** The 10,000 lines of the big restore, in the form -S writes them. */
function bigRestore(): string[] {
  const lines: string[] = [];
  for (let s = 0; s < 2000; s++) {
    lines.push(`-A -f ${100 + s} -s wlc`);
    for (let d = 1; d <= 4; d++) lines.push(`-a -f ${100 + s} -r 10.${s >> 8}.${s & 255}.${d}:80 -m -w ${d}`);
  }
  return lines;
}

const sorted = (a: Iterable<string>) => [...a].sort();

describe('rules persist across kill -9', () => {
  before(() => ensureBuilt());
  after(async () => {
    await kill9();
    rmSync(runDir, { recursive: true, force: true });
  });

  it('a change tsvsadm reported done is restored after kill -9, with zeroed counters', async () => {
    await start();
    const w = await inNs(null, [TSVS, 'sysctl', '-w', 'net.ipv4.vs.expire_nodest_conn=1', 'net.ipv4.vs.sync_threshold=5 60'], { env });
    assert.equal(w.code, 0, w.stderr);
    const accepted: string[] = [];
    for (let k = 1; k <= 2; k++) {
      await adm(['-A', '-f', String(k), '-s', 'rr']);
      accepted.push(`-A -f ${k} -s rr`);
      await adm(['-a', '-f', String(k), '-r', `10.9.9.${k}:80`, '-g', '-w', '3']);
      accepted.push(`-a -f ${k} -r 10.9.9.${k}:80 -g -w 3`);
      await kill9();
      await start();
      assert.deepEqual(sorted(await saved()), sorted(accepted), `after change ${k}`);
    }
    const r = await inNs(null, [TSVS, 'sysctl', 'net.ipv4.vs.expire_nodest_conn', 'net.ipv4.vs.sync_threshold'], { env });
    assert.equal(r.stdout, 'net.ipv4.vs.expire_nodest_conn = 1\nnet.ipv4.vs.sync_threshold = 5\t60\n', 'sysctls survive too');
    const stats = await adm(['-L', '-n', '--stats']);
    assert.match(stats, /FWM {2}1 .*\n.*\n/, 'the restored service is listed');
    for (const l of stats.split('\n').filter((x) => x.includes('->') && !x.includes('RemoteAddress'))) {
      assert.match(l, /\s0\s+0\s+0\s+0\s+0\s*$/, `counters zeroed: ${l}`);
    }
    await adm(['-C']);
    await kill9();
    await start();
    assert.deepEqual(await saved(), [], 'a clear is a change like any other');
  });

  it('kill -9 at random points of a -R of 10,000 lines restores a prefix, never a torn file', async () => {
    const big = bigRestore();
    const input = `${big.join('\n')}\n`;
    const pre = ['-A -f 1 -s rr'];
    // Kill points spread over the restore and the write that follows it.
    const t0 = Date.now();
    await adm(['-R'], input);
    const full = await saved();
    const took = Date.now() - t0;
    assert.equal(full.length, 10_000);
    const kills = [0.2, 0.6, 0.95, 1.05].map((f) => Math.round(f * took * (0.95 + Math.random() / 10)));
    let complete = 0;
    let none = 0;
    for (const at of kills) {
      await adm(['-C']);
      await adm(['-A', '-f', '1', '-s', 'rr']);
      const restore = inNs(null, [TSVSADM, '-R'], { env, input });
      await new Promise((r) => setTimeout(r, at));
      await kill9();
      await restore;
      await start();
      const got = await saved();
      const file = readdirSync(runDir).find((f) => f.endsWith('.rules'))!;
      assert.ok(!existsSync(join(runDir, `${file}.tmp`)), 'the restart discards a half-written file');
      // The restored rules are the accepted ones up to some line m of the restore.
      const set = new Set(got);
      const m = big.findIndex((l) => !set.has(l));
      const upTo = m < 0 ? big.length : m;
      assert.deepEqual(sorted(got), sorted([...pre, ...big.slice(0, upTo)]), `killed after ${at} ms`);
      if (upTo === big.length) complete++;
      if (upTo === 0) none++;
    }
    assert.equal(complete + none, kills.length, 'a restore is saved whole or not at all');
    assert.ok(none > 0, `some kill landed before the restore was saved (kill points ${kills.join(', ')} ms)`);
  });

  it('a leftover temporary file is ignored and a bad state file stops the start with its name', async () => {
    await kill9();
    const file = join(
      runDir,
      readdirSync(runDir).find((f) => f.endsWith('.rules'))!,
    );
    writeFileSync(`${file}.tmp`, '-A -f 77 -s rr\n-a -f 77 -r 10.');
    await start();
    assert.ok(!(await saved()).includes('-A -f 77 -s rr'));
    await kill9();
    const good = readFileSync(file, 'utf8');
    writeFileSync(file, '-A -f 5 -s nosuchsched\n');
    await assert.rejects(start(), /rules file .*\.rules was not restored/);
    writeFileSync(file, good);
    await start();
  });
});
