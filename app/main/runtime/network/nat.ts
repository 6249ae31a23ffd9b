// A rootful bridged container's NAT: one nftables table of its own, `ip locker_<veth hex>`, holding
//  - masquerade for what the container sends out of the host (not to locker0): outbound network;
//  - DNAT for each -p, in prerouting (from other machines and other containers) and output (from
//    the host itself, 127.0.0.1 included: locker0's route_localnet lets a 127.x source leave on it);
//  - masquerade for published traffic that arrives from 127.0.0.0/8 or the bridge (hairpin), so the
//    reply comes back through the host.
// Every rule has a counter (nat chains see the first packet of each connection): `nft list table`
// shows what was used, and a lesson's natUsed rule reads it.
// One table per container makes removal exact: `delete table` takes every rule with it, and never
// touches a rule of anyone else (no handles, no flush). Made in one nft transaction.
import { LockerError } from '../errors';
import type { PortSpec } from '../../../shared/types';
import { IpError, nft } from './ip';

export const NAT_TABLE_PREFIX = 'locker_';
const FAMILY = 'ip';

export function natTableName(veth: string): string {
  return NAT_TABLE_PREFIX + veth.replace(/^lk/, '');
}

/** The table as an nft script (pure: shown in tests and `locker equivalent`). */
export function natScript(table: string, id: string, address: string, bridge: string, subnet: string, ports: readonly PortSpec[]): string {
  const dnat = ports.map((p) => `${p.hostIp ? `ip daddr ${p.hostIp}` : 'fib daddr type local'} ${p.protocol} dport ${p.hostPort} counter dnat to ${address}:${p.containerPort}`);
  const lines = [
    // add + delete first: a leftover table of the same name (a crash) is replaced, in the same transaction.
    `add table ${FAMILY} ${table}`,
    `delete table ${FAMILY} ${table}`,
    `table ${FAMILY} ${table} {`,
    `  comment "locker container ${id}"`,
    `  chain postrouting {`,
    `    type nat hook postrouting priority srcnat; policy accept;`,
    `    ip saddr ${address} oifname != "${bridge}" counter masquerade`,
    ...(ports.length ? [`    oifname "${bridge}" ip daddr ${address} ct status dnat ip saddr { 127.0.0.0/8, ${subnet} } counter masquerade`] : []),
    `  }`,
  ];
  if (ports.length) {
    // -100 is dstnat's value; nft names it in prerouting only.
    for (const hook of ['prerouting', 'output']) {
      lines.push(`  chain ${hook} {`, `    type nat hook ${hook} priority -100; policy accept;`, ...dnat.map((r) => `    ${r}`), `  }`);
    }
  }
  lines.push('}');
  return lines.join('\n') + '\n';
}

/** Makes the container's table; answers it as `nft list table` prints it (what inspect shows). */
export function addContainerNat(table: string, script: string): { table: string; rules: string } {
  try {
    nft([], script);
    return { table: `${FAMILY} ${table}`, rules: nft(['list', 'table', FAMILY, table]) };
  } catch (e) {
    removeNatTable(table);
    if (e instanceof IpError) throw new LockerError(`cannot add the container's NAT rules (nftables): ${e.stderr.trim().split('\n')[0] || e.message}`);
    throw e;
  }
}

/** Deletes one of our tables; a missing one is fine (idempotent). */
export function removeNatTable(table: string): boolean {
  if (!lockerNatTables().includes(table)) return false;
  try {
    nft(['delete', 'table', FAMILY, table]);
  } catch (e) {
    if (lockerNatTables().includes(table)) throw e;
  }
  return true;
}

/** Our tables on the host: `ip locker_<10 hex>` (the naming is ours alone). Empty without nft. */
export function lockerNatTables(): string[] {
  let out: string;
  try {
    out = nft(['list', 'tables', FAMILY]);
  } catch {
    return [];
  }
  const re = new RegExp(`^table ${FAMILY} (${NAT_TABLE_PREFIX}[0-9a-f]{10})$`, 'gm');
  return [...out.matchAll(re)].map((m) => m[1]);
}
