// Every conformance table, in spec order. Cases that start a sync daemon on the default
// interface are marked as needing the fixed interfaces.

import { EXAMPLE_CASES } from './examples.js';
import { EXTENSION_CASES } from './extensions.js';
import { OUTPUT_CASES } from './output.js';
import { RULES_CASES } from './rules.js';
import { SEMANTICS_CASES } from './semantics.js';
import { SYNTAX_CASES } from './syntax.js';
import { TABLE_CASES } from './table.js';
import type { AdmCase, Need } from './types.js';

export type { AdmCase, Need } from './types.js';

function markNetdev(c: AdmCase): AdmCase {
  const all = [...(c.given ?? []), c.argv];
  if (!all.some((a) => a[0] === '--start-daemon') || c.needs?.includes('netdev')) return c;
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
].map(markNetdev);
