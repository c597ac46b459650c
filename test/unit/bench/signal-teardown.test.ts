// A bench stopped by a signal still removes what it built: a child process runs a body that
// never ends under withSignalTeardown, with a topology whose teardown leaves a mark, and is
// sent SIGTERM, then SIGINT.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';

const helper = fileURLToPath(new URL('../../../bench/signal-teardown.ts', import.meta.url));

/** Runs the body in a child, signals it once it is inside, and returns its exit code. */
async function stopWith(sig: NodeJS.Signals, mark: string): Promise<number | null> {
  const script = `
    import { writeFileSync } from 'node:fs';
    import { withSignalTeardown } from ${JSON.stringify(helper)};
    const topo = { teardown: async () => writeFileSync(${JSON.stringify(mark)}, 'down') };
    await withSignalTeardown(topo, () => { process.stdout.write('inside\\n'); return new Promise(() => setInterval(() => {}, 1000)); });
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('inside')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`the child ended before the body ran (exit ${code})`)));
  });
  child.kill(sig);
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}

describe('withSignalTeardown', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvs-signal-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const [sig, code] of [
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const) {
    it(`tears the topology down on ${sig} and exits ${code}`, async () => {
      const mark = join(dir, sig);
      assert.equal(await stopWith(sig, mark), code);
      assert.ok(existsSync(mark), 'teardown ran');
    });
  }
});
