// A daemon whose namespace is gone exits. `ip netns del X` only removes the name: the daemon's
// own presence would keep the namespace alive forever. So the daemon remembers the names under
// /run/netns that point at its namespace when it starts, and leaves once none does.

import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const NETNS_DIR = '/run/netns';

/** Names under /run/netns whose namespace is the one with inode `id`. */
export function namesOf(id: string): string[] {
  let names: string[];
  try {
    names = readdirSync(NETNS_DIR);
  } catch {
    return [];
  }
  return names.filter((n) => {
    try {
      return String(statSync(join(NETNS_DIR, n)).ino) === id;
    } catch {
      return false;
    }
  });
}

/** Calls `gone()` once no name of the start remains; no-op for unnamed namespaces. */
export function watchNetns(id: string, gone: () => void, everyMs = 2000): () => void {
  const names = namesOf(id);
  if (names.length === 0) return () => {};
  const t = setInterval(() => {
    const still = names.some((n) => {
      try {
        return String(statSync(join(NETNS_DIR, n)).ino) === id;
      } catch {
        return false;
      }
    });
    if (!still) {
      clearInterval(t);
      gone();
    }
  }, everyMs);
  t.unref();
  return () => clearInterval(t);
}
