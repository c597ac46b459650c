// Where the real-server agent of a network namespace keeps its state (realserver.json), its
// tunnel agent's pid and counters. Addresses and sysctls are per namespace, so is the agent:
// its directory is named by the namespace's inode, as the director's socket is, and every
// `tsvs realserver` run in that namespace (by a lab or by hand, as root or not) finds the same
// one. TSVS_RUN_DIR, when set, is used as it is.

import { join } from 'node:path';
import { netnsId, ROOT_RUN_DIR } from '../control/paths.js';

/** The agent directory of the namespace with inode `netns`. */
export function agentDirOf(netns: string): string {
  return join(ROOT_RUN_DIR, `realserver-${netns}`);
}

/** The agent directory of this process's namespace. */
export function agentRunDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.TSVS_RUN_DIR || agentDirOf(netnsId());
}
