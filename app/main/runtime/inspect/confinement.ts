// How a container's init is confined beyond its namespaces, read from /proc/PID/status (Seccomp:,
// NoNewPrivs:, CapEff:, CapBnd:) and uid_map, and what of it differs from what Locker gives a
// container by default (its own namespace of every type but user when run as root, Docker's 14
// capabilities, no_new_privs, a seccomp filter). Another engine's container is explained by
// this: runc's spec keeps 3 capabilities and no filter, podman's adds a user namespace or not.
import type { Confinement, ConfinementDifference, NamespaceComparison } from '../../../shared/types';
import { CAPS, DEFAULT_CAPS } from '../security/capabilities';
import { readProcText } from './proc-read';

const SECCOMP_MODES: Record<number, string> = { 0: 'none', 1: 'strict', 2: 'filter' };

/** The capability names of a /proc status mask (hex). */
export function capNames(hex: string): string[] {
  const mask = BigInt(`0x${hex || '0'}`);
  return CAPS.filter((_, i) => (mask >> BigInt(i)) & 1n);
}

export function parseStatus(text: string): Omit<Confinement, 'differences'> {
  const field = (name: string): string => new RegExp(`^${name}:\\s*(\\S*)`, 'm').exec(text)?.[1] ?? '';
  const seccomp = Number(field('Seccomp') || 0);
  return {
    seccomp: SECCOMP_MODES[seccomp] ?? String(seccomp),
    seccompFilters: Number(field('Seccomp_filters') || 0),
    noNewPrivs: field('NoNewPrivs') === '1',
    effective: capNames(field('CapEff')),
    bounding: capNames(field('CapBnd')),
  };
}

/** Is a uid_map the identity (no user namespace, or one mapping everything to itself)? */
const identityMap = (uidMap: string): boolean => /^\s*0\s+0\s+4294967295\s*$/.test(uidMap);

export function differences(c: Omit<Confinement, 'differences'>, namespaces: NamespaceComparison[], uidMap: string): ConfinementDifference[] {
  const out: ConfinementDifference[] = [];
  for (const n of namespaces) {
    if (n.type === 'time') continue;
    if (n.type === 'user') {
      if (!n.shared && !identityMap(uidMap)) {
        const first = uidMap.trim().split('\n')[0]?.trim().split(/\s+/) ?? [];
        out.push({
          topic: 'user namespace', locker: 'none (run as root): root inside is root of the host',
          container: `its own: uid_map ${uidMap.trim().replace(/\s+/g, ' ')}`,
          why: first.length === 3 ? `uid ${first[0]} inside is uid ${first[1]} of the host: root in the container holds no privilege outside it` : 'ids inside map to other ids outside',
        });
      }
      continue;
    }
    if (n.shared) {
      out.push({
        topic: `${n.type} namespace`, locker: 'its own', container: `the host's (${n.host})`,
        why: n.type === 'cgroup' ? '/proc/self/cgroup inside shows the host\'s cgroup paths' : n.type === 'net' ? 'it sees and uses the host\'s network interfaces' : `it shares the host's ${n.type} namespace`,
      });
    }
  }
  if (c.seccomp !== 'filter') {
    out.push({ topic: 'seccomp', locker: 'filter (mode 2): Docker\'s allow-list of syscalls', container: c.seccomp === 'none' ? 'none (mode 0): every syscall reaches the kernel' : c.seccomp, why: 'Seccomp: in /proc/PID/status' });
  } else if (c.seccompFilters > 1) {
    out.push({ topic: 'seccomp', locker: 'one filter', container: `${c.seccompFilters} filters stacked`, why: 'Seccomp_filters: in /proc/PID/status' });
  }
  const extra = c.bounding.filter((x) => !DEFAULT_CAPS.includes(x as (typeof DEFAULT_CAPS)[number]));
  const fewer = DEFAULT_CAPS.filter((x) => !c.bounding.includes(x));
  if (extra.length || fewer.length) {
    const words = [extra.length ? `keeps ${extra.length} Locker drops: ${extra.join(' ')}` : '', fewer.length ? `drops ${fewer.length} Locker keeps: ${fewer.join(' ')}` : ''].filter(Boolean);
    out.push({ topic: 'capabilities', locker: `${DEFAULT_CAPS.length} (Docker's default set)`, container: `${c.bounding.length} in the bounding set`, why: `${words.join('; ')} (CapBnd:, CapEff: ${c.effective.length})` });
  }
  if (!c.noNewPrivs) {
    out.push({ topic: 'no_new_privs', locker: 'set', container: 'not set', why: 'a setuid program or file capability inside can raise privileges (NoNewPrivs: 0)' });
  }
  return out;
}

/** The init's confinement and what differs from Locker's defaults; undefined when the process is gone. */
export function confinement(pid: number, namespaces: NamespaceComparison[], uidMap: string): Confinement | undefined {
  const status = readProcText(`/proc/${pid}/status`);
  if (status === null) return undefined;
  const c = parseStatus(status);
  return { ...c, differences: differences(c, namespaces, uidMap) };
}
