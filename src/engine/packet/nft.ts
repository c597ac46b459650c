// The director's own nftables table. The packet engine reads frames on an ETH_P_ALL socket,
// which sees them before the netdev ingress hook; a drop there keeps the kernel from also
// answering (RST, ICMP) or forwarding what the engine handles (docs/notes/packet-io.md). We only
// ever touch `table netdev tsvs`: the whole table is rewritten atomically on each change
// and deleted when the daemon stops. The table is owned (`flags owner`) by the daemon's own
// netlink socket through libnftables, or an `nft -i` child's where that library is missing
// (nft-owner.ts), so the kernel also deletes it when the daemon dies.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { NftOwner } from './nft-owner.js';

const run = promisify(execFile);

export const NFT_TABLE = 'tsvs';

/** Traffic the engine takes on one interface. */
export interface IngressMatch {
  family: 'ip' | 'ip6';
  proto: 'tcp' | 'udp' | 'sctp';
  /** Client → VIP:port (services). */
  daddr?: string;
  dport?: number;
  /** RS → director (NAT/FULLNAT replies): source address and port of the real server. */
  saddr?: string;
  sport?: number;
  /** Addresses the match leaves to the kernel (the director's own, for its own conns to a dest). */
  notDaddr?: string[];
}

export interface NftSpec {
  /** Interface name → what to take on it. */
  devices: Map<string, IngressMatch[]>;
}

function rule(m: IngressMatch): string {
  const parts = [`meta l4proto ${m.proto}`];
  if (m.daddr !== undefined) parts.push(`${m.family} daddr ${m.daddr}`);
  if (m.dport !== undefined && m.dport !== 0) parts.push(`th dport ${m.dport}`);
  if (m.saddr !== undefined) parts.push(`${m.family} saddr ${m.saddr}`);
  if (m.sport !== undefined && m.sport !== 0) parts.push(`th sport ${m.sport}`);
  if (m.notDaddr !== undefined && m.notDaddr.length > 0) parts.push(`${m.family} daddr != { ${m.notDaddr.join(', ')} }`);
  // Fragments carry no ports: non-first fragments of a taken flow are matched by address only.
  return `${parts.join(' ')} counter drop`;
}

/** The nft script that replaces our table atomically (create, delete, define in one batch). */
export function renderNft(spec: NftSpec): string {
  // An owned table must be declared with the flag each time: dropping it is not allowed.
  const lines = [`table netdev ${NFT_TABLE} { flags owner; }`, `delete table netdev ${NFT_TABLE}`];
  if (spec.devices.size === 0) return `${lines.join('\n')}\n`;
  lines.push(`table netdev ${NFT_TABLE} {`, '  flags owner');
  for (const [dev, matches] of [...spec.devices].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const name = `ingress_${dev.replace(/[^A-Za-z0-9_]/g, '_')}`;
    lines.push(`  chain ${name} {`);
    lines.push(`    type filter hook ingress device "${dev}" priority -500; policy accept;`);
    for (const m of matches) lines.push(`    ${rule(m)}`);
    lines.push('  }');
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/** One owner per process: a daemon serves one namespace, and the child inherits it. */
let owner: NftOwner | null = null;

async function nft(script: string): Promise<void> {
  if (!owner) {
    // A table without the owner flag is a leftover of a daemon from before the flag; an
    // owned one of a live daemon refuses (EPERM) and the change below reports it.
    await run('nft', ['delete', 'table', 'netdev', NFT_TABLE]).catch(() => undefined);
    owner = new NftOwner();
  }
  await owner.apply(script);
}

/** Installs (or replaces) the table; an empty spec leaves no table behind. */
export async function applyNft(spec: NftSpec): Promise<void> {
  await nft(renderNft(spec));
}

/** Deletes our table (its owner process ends); other tables are never touched. */
export async function removeNft(): Promise<void> {
  const o = owner;
  owner = null;
  if (o) await o.close();
  else await run('nft', ['delete', 'table', 'netdev', NFT_TABLE]).catch(() => undefined);
}

/** Who owns the table, for `tsvs status` (null before the first change). */
export function nftOwnerNote(): string | null {
  if (!owner) return null;
  if (owner.kind === 'libnftables') return "table owned by the daemon's own netlink socket (libnftables)";
  return `table owned by an nft -i child (libnftables not used: ${owner.fallback ?? 'unknown'})`;
}

/** Per-rule packet counts, for `tsvs status`. */
export async function nftCounters(): Promise<string> {
  try {
    const { stdout } = await run('nft', ['list', 'table', 'netdev', NFT_TABLE]);
    return stdout;
  } catch {
    return '';
  }
}
