// The first hour with the built binaries (issue #13): every tsvs command answers --help with
// exit 0, usage errors exit 2, --version, help names the environment and the log, a reader
// that closes the pipe early ends tsvs and tsvsadm quietly, non-root gets one line from `lab`,
// and an install without koffi makes the director say its packet engine failed to load. No
// namespaces: the one director started here never starts its engine, on a private run
// directory with no rules.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { ensureBuilt, freshRunDir, inNs, ROOT, TSVS, TSVSADM } from './harness.js';

const tsvs = (args: string[], env: NodeJS.ProcessEnv = {}) => inNs(null, [process.execPath, TSVS, ...args], { env, timeoutMs: 20_000 });

/** Runs a command whose stdout reader is gone before it writes; resolves its exit and stderr. */
function closedPipe(cmd: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, cmd, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('tsvs command line', () => {
  before(() => ensureBuilt());

  it('every command answers --help with its usage and exit 0; tsvs --help names the environment and the log', async () => {
    for (const cmd of ['daemon', 'status', 'realserver', 'shim', 'lab', 'quickstart', 'service', 'sysctl']) {
      const r = await tsvs([cmd, '--help']);
      assert.equal(r.code, 0, `${cmd}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^usage: tsvs ${cmd}`), cmd);
    }
    const top = await tsvs(['--help']);
    assert.equal(top.code, 0);
    for (const v of ['TSVS_RUN_DIR', 'TSVS_ENGINE', 'TSVS_INTERFACES', 'TSVS_PROXY_WORKERS']) assert.match(top.stdout, new RegExp(v));
    assert.match(top.stdout, /<netns inode>\.log/);
  });

  it('tsvs --version prints the version of package.json', async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = await tsvs(['--version']);
    assert.deepEqual([r.stdout, r.code], [`tsvs ${pkg.version}\n`, 0]);
  });

  it('usage errors exit 2 with a message on stderr, everywhere', async () => {
    const cases = [
      [],
      ['bogus'],
      ['daemon', '--bogus'],
      ['daemon', '--engine', 'kernel'],
      ['status', '--bogus'],
      ['realserver'],
      ['realserver', 'bogus'],
      ['realserver', 'start'],
      ['realserver', 'check', '--vip', 'not-an-address'],
      ['realserver', 'status', '--tun-port', '70000'],
      ['shim'],
      ['lab'],
      ['lab', 'bogus'],
      ['lab', 'up', 'no-such-lab'],
      ['quickstart', '--bogus'],
      ['quickstart', '--port', '0'],
    ];
    for (const c of cases) {
      const r = await tsvs(c);
      assert.equal(r.code, 2, `tsvs ${c.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.notEqual(r.stderr, '', `tsvs ${c.join(' ')} says why`);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
  });

  it('a closed pipe ends tsvs lab list and tsvsadm -L -n quietly', async () => {
    const lab = await closedPipe([TSVS, 'lab', 'list'], {});
    assert.deepEqual(lab, { code: 0, stderr: '' });
    const runDir = freshRunDir();
    const env = { TSVS_RUN_DIR: runDir, TSVS_ENGINE: 'proxy' };
    try {
      const adm = await closedPipe([TSVSADM, '-L', '-n'], env);
      assert.deepEqual(adm, { code: 0, stderr: '' });
    } finally {
      await tsvs(['daemon', 'stop'], env);
      rmSync(runDir, { recursive: true, force: true });
    }
  });

  it(
    'lab as non-root: one line saying it needs root, never a mount error',
    { skip: process.getuid?.() !== 0 && 'needs root to switch to another user' },
    async () => {
      const copy = mkdtempSync(join(tmpdir(), 'tsvs-client-'));
      try {
        for (const f of ['bin', 'dist', 'package.json']) cpSync(join(ROOT, f), join(copy, f), { recursive: true });
        await inNs(null, ['chmod', '-R', 'a+rX', copy]);
        for (const sub of ['up', 'status', 'run', 'down']) {
          const r = await inNs(null, [
            'setpriv',
            '--reuid=65534',
            '--regid=65534',
            '--clear-groups',
            process.execPath,
            join(copy, 'bin/tsvs'),
            'lab',
            sub,
            'seed001-dr',
          ]);
          assert.equal(r.code, 1, sub);
          assert.equal(r.stderr, `tsvs lab ${sub}: network namespaces need root: run it with sudo\n`);
        }
      } finally {
        rmSync(copy, { recursive: true, force: true });
      }
    },
  );

  it('an install without its native binding: the director says in tsvs status and its log that the packet engine failed to load', async () => {
    // The bins load one bundle, so a build is whole or missing; what can be missing at run time
    // is an npm package: here koffi, through which the packet engine makes its system calls
    // (the engine is then never started, so no interface of this namespace is touched).
    const copy = mkdtempSync(join(tmpdir(), 'tsvs-partial-'));
    const runDir = freshRunDir();
    const env = { TSVS_RUN_DIR: runDir };
    try {
      for (const f of ['bin', 'dist', 'package.json']) cpSync(join(ROOT, f), join(copy, f), { recursive: true });
      mkdirSync(join(copy, 'node_modules'));
      for (const m of readdirSync(join(ROOT, 'node_modules'))) {
        if (m !== 'koffi' && m !== '@koromix') symlinkSync(join(ROOT, 'node_modules', m), join(copy, 'node_modules', m));
      }
      const bin = join(copy, 'bin/tsvs');
      const d = await inNs(null, [process.execPath, bin, 'daemon', '--engine', 'packet', '--detach'], { env });
      assert.equal(d.code, 0, d.stderr);
      const st = await inNs(null, [process.execPath, bin, 'status'], { env });
      assert.equal(st.code, 0, st.stderr);
      assert.match(st.stdout, /engine packet NOT LOADED\n/);
      assert.match(st.stdout, /\nengine: the packet engine failed to load: koffi cannot be loaded .*npm ci.*no traffic is forwarded\n/);
      const log = readFileSync(
        join(runDir, `${(await inNs(null, ['stat', '-L', '-c', '%i', '/proc/self/ns/net'])).stdout.trim()}.log`),
        'utf8',
      );
      assert.match(log, /the packet engine failed to load/);
    } finally {
      await inNs(null, [process.execPath, TSVS, 'daemon', 'stop'], { env });
      rmSync(copy, { recursive: true, force: true });
      rmSync(runDir, { recursive: true, force: true });
    }
  });
});
