// Every conformance table, in spec order. Cases that start a sync daemon on the default
// interface (or one of env.ts's) are marked as needing the fixed interfaces.

import { COMMAND_CASES } from './commands.js';
import { EXAMPLE_CASES } from './examples.js';
import { EXTENSION_CASES } from './extensions.js';
import { OUTPUT_CASES } from './output.js';
import { RULES_CASES } from './rules.js';
import { SEMANTICS_CASES } from './semantics.js';
import { SYNTAX_CASES } from './syntax.js';
import { TABLE_CASES } from './table.js';
import type { AdmCase, Need } from './types.js';

export type { AdmCase, Need } from './types.js';

/** A command that starts a sync daemon on the default interface or on one of env.ts's. */
function usesNetdev(argv: readonly string[]): boolean {
  if (!argv.includes('--start-daemon')) return false;
  const i = argv.indexOf('--mcast-interface');
  return i < 0 || (argv[i + 1] !== 'lo' && argv[i + 1] !== 'nosuchif0');
}

function markNetdev(c: AdmCase): AdmCase {
  // A usage error (status 2) is found before any interface is looked at.
  const all = [...(c.given ?? []), ...(c.code === 2 ? [] : [c.argv])];
  if (!all.some(usesNetdev) || c.needs?.includes('netdev')) return c;
  return { ...c, needs: [...(c.needs ?? []), 'netdev' as Need] };
}

export const ALL_CASES: readonly AdmCase[] = [
  ...SYNTAX_CASES,
  ...TABLE_CASES,
  ...SEMANTICS_CASES,
  ...OUTPUT_CASES,
  ...RULES_CASES,
  ...EXAMPLE_CASES,
  ...EXTENSION_CASES,
  ...COMMAND_CASES,
].map(markNetdev);
