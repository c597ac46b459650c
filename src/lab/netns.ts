// Network namespaces, veth pairs, addresses and routes through iproute2: the building blocks of
// the labs and of the integration tests. Every namespace made here is remembered so that
// `teardown()` removes all of them, whatever happened in between.

import { type ChildProcess, execFile, execFileSync, type SpawnOptions, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

export async function ip(args: string[]): Promise<string> {
  try {
    const { stdout } = await run('ip', args, { maxBuffer: 16 << 20 });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`ip ${args.join(' ')}: ${(err.stderr ?? err.message).trim()}`);
  }
}

/**
 * Ends processes politely first (a director removes its socket on SIGTERM), then for sure.
 */
export async function stopPids(pids: number[], graceMs = 500): Promise<void> {
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // gone
    }
  }
  const until = Date.now() + graceMs;
  while (Date.now() < until && pids.some(alive)) await new Promise((r) => setTimeout(r, 20));
  for (const pid of pids.filter(alive)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/** Why namespaces cannot be used here, or null when they can (root on Linux with iproute2). */
export function netnsUnavailable(): string | null {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
  } catch {
    return 'iproute2 (the ip command) is not installed';
  }
  return null;
}

export interface Veth {
  ns: string;
  dev: string;
}

export class Topology {
  readonly namespaces: string[] = [];
  private readonly children = new Set<ChildProcess>();

  constructor(readonly prefix = `tsvs-${randomBytes(3).toString('hex')}`) {}

  /** Creates namespace `<prefix>-<name>` with lo up; returns its full name. */
  async netns(name: string): Promise<string> {
    const ns = `${this.prefix}-${name}`;
    await ip(['netns', 'add', ns]);
    this.namespaces.push(ns);
    await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /** A veth pair between two namespaces, both ends up. */
  async link(a: Veth, b: Veth): Promise<void> {
    await ip(['link', 'add', a.dev, 'netns', a.ns, 'type', 'veth', 'peer', 'name', b.dev, 'netns', b.ns]);
    await ip(['-n', a.ns, 'link', 'set', a.dev, 'up']);
    await ip(['-n', b.ns, 'link', 'set', b.dev, 'up']);
  }

  async addr(ns: string, dev: string, cidr: string): Promise<void> {
    await ip(['-n', ns, 'addr', 'add', cidr, 'dev', dev]);
  }

  async route(ns: string, args: string[]): Promise<void> {
    await ip(['-n', ns, 'route', 'add', ...args]);
  }

  async mac(ns: string, dev: string): Promise<string> {
    const out = JSON.parse(await ip(['-n', ns, '-j', 'link', 'show', dev])) as {
      address: string;
    }[];
    return out[0]!.address;
  }

  async sysctl(ns: string, name: string, value: string): Promise<void> {
    await run('ip', ['netns', 'exec', ns, 'sysctl', '-qw', `${name}=${value}`]);
  }

  /** Runs a command inside a namespace and returns its stdout (rejects on non-zero exit). */
  async exec(ns: string, cmd: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}) {
    const { stdout, stderr } = await run('ip', ['netns', 'exec', ns, ...cmd], {
      timeout: opts.timeoutMs ?? 30_000,
      env: opts.env ?? process.env,
      maxBuffer: 64 << 20,
    });
    return { stdout, stderr };
  }

  /** Starts a long-running command inside a namespace; killed by teardown(). */
  spawn(ns: string, cmd: string[], opts: SpawnOptions = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, ...cmd], { stdio: 'pipe', ...opts });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  /** Kills what spawn() started and deletes every namespace; never throws. */
  async teardown(): Promise<void> {
    for (const c of this.children) c.kill('SIGKILL');
    for (const ns of this.namespaces.splice(0).reverse()) {
      // Processes still inside (daemons started by a test) would keep the namespace alive.
      try {
        const { stdout } = await run('ip', ['netns', 'pids', ns]);
        await stopPids(stdout.split(/\s+/).filter(Boolean).map(Number));
      } catch {
        // namespace already gone
      }
      await run('ip', ['netns', 'del', ns]).catch(() => undefined);
    }
  }
}
