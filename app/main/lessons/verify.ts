// Verify rules read the container's real state, the way the side-by-side view does: the kernel's
// namespace links, /proc of the container's init, its cgroup files. Nothing is taken from what the
// terminal printed.
import { spawnSync } from 'node:child_process';
import { lstatSync, readFileSync, readlinkSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import type { Capabilities, LessonStep, RuleOutcome, VerifyResult, VerifyRule } from '../../shared/api';
import { portList, presetNamespaces } from '../../shared/launch-form';
import { fillCommand } from '../../shared/lesson-command';
import { NAMESPACES, type ContainerInfo, type Inspection } from '../../shared/types';
import { containerOverlay } from '../api/rootfs-layers';
import type { ContainerRuntime } from '../runtime/handles';
import { tool } from '../runtime/network/ip';
import { CAPS, capNumber, type CapName } from '../runtime/security/capabilities';
import type { EnteredLine } from './typed-lines';

type CgroupStats = NonNullable<Inspection['resources']>['stats'];

export interface VerifyContext {
  runtime: ContainerRuntime;
  id: string;
  container: ContainerInfo;
  inspection: Inspection;
  /** The step being checked (its commands, for `ran`). */
  step?: LessonStep;
  /** Lines entered in any terminal since the step began. */
  entered: EnteredLine[];
  /** The app's share folder ({share} in commands, shareHas). */
  shareDir?: string;
}

/** The host uid that uid 0 inside maps to, or undefined when 0 is unmapped. */
export function outsideUidOfRoot(uidMap: string): number | undefined {
  for (const line of uidMap.trim().split('\n')) {
    const [inside, outside, count] = line.trim().split(/\s+/).map(Number);
    if ([inside, outside, count].some((n) => !Number.isFinite(n))) continue;
    if (inside <= 0 && 0 < inside + count) return outside - inside;
  }
  return undefined;
}

/** Interface names in /proc/net/dev text. */
export function interfaceNames(netDev: string): string[] {
  return netDev.split('\n').slice(2).map((l) => l.split(':')[0].trim()).filter(Boolean);
}

function read(path: string): string {
  return readFileSync(path, 'utf8');
}

interface Verdict {
  ok: boolean;
  /** What was read, for the details view. */
  detail: string;
  /** For the learner: a sentence about the container, not about the rule. */
  says: string;
}

type Judge = (ctx: VerifyContext) => Verdict;

const NS_WORDS: Record<string, string> = {
  pid: 'PID', uts: 'UTS (hostname)', mnt: 'mount', user: 'user', ipc: 'IPC', net: 'network', cgroup: 'cgroup',
};

function judge(rule: VerifyRule): Judge {
  if ('namespaceSeparate' in rule || 'namespaceShared' in rule) {
    const type = 'namespaceSeparate' in rule ? rule.namespaceSeparate : rule.namespaceShared;
    const wantShared = 'namespaceShared' in rule;
    const word = NS_WORDS[type] ?? type;
    return ({ inspection }) => {
      const n = inspection.namespaces.find((x) => x.type === type);
      if (!n) return { ok: false, detail: `no ${type} namespace link to compare`, says: `Cannot compare the ${word} namespaces of host and container.` };
      return {
        ok: n.shared === wantShared,
        detail: `${type}: host ${n.host}, container ${n.container} → ${n.shared ? 'shared' : 'separate'}`,
        says: n.shared ? `The container shares the host's ${word} namespace — it is the same one.` : `The container has its own ${word} namespace — the host's is different.`,
      };
    };
  }
  if ('hostnameDiffers' in rule) {
    return ({ inspection: { hostname: h } }) => ({
      ok: (h.host !== h.container) === rule.hostnameDiffers,
      detail: `host "${h.host}", container "${h.container}"`,
      says: h.host === h.container ? `Host and container have the same hostname, "${h.host}".` : `The container is called "${h.container}" while the host is still "${h.host}".`,
    });
  }
  if ('hostnameIs' in rule) {
    return ({ inspection: { hostname: h } }) => ({
      ok: h.container === rule.hostnameIs,
      detail: `container hostname "${h.container}", wanted "${rule.hostnameIs}"`,
      says: h.container === rule.hostnameIs
        ? `The container is now called "${h.container}"; the host kept its name "${h.host}".`
        : `Not yet: the container is still called "${h.container}" (rename it to "${rule.hostnameIs}").`,
    });
  }
  if ('pid1Is' in rule) {
    return ({ inspection }) => {
      const p1 = inspection.containerProcesses.find((p) => p.containerPid === 1);
      if (!p1) {
        const init = inspection.containerProcesses.find((p) => p.pid === inspection.pid);
        return {
          ok: false,
          detail: `no process is PID 1 in the container (its init is PID ${init?.containerPid ?? inspection.pid}: no PID namespace)`,
          says: `The container's shell is PID ${init?.containerPid ?? inspection.pid}, an ordinary host PID: there is no PID namespace.`,
        };
      }
      return {
        ok: p1.name === rule.pid1Is,
        detail: `container PID 1 is "${p1.name}" (host PID ${p1.pid})`,
        says: `Inside, "${p1.name}" is PID 1; the host knows the same process as PID ${p1.pid}.`,
      };
    };
  }
  if ('procShowsHost' in rule) {
    return ({ runtime, id, inspection }) => {
      // what `ps` inside reads: the /proc mounted in the container's root
      const listed = runtime.listDir(id, 'container', '/proc').entries.filter((e) => /^\d+$/.test(e.name)).map((e) => Number(e.name));
      const own = new Set(inspection.containerProcesses.map((p) => p.containerPid));
      const foreign = listed.filter((p) => !own.has(p));
      // a process may start or end between the two reads: allow a little slack
      const showsHost = foreign.length > 2;
      return {
        ok: showsHost === rule.procShowsHost,
        detail: `the container's /proc lists ${listed.length} processes; ${inspection.containerProcesses.length} belong to the container${showsHost ? `, the rest are the host's` : ''}`,
        says: showsHost
          ? `The /proc inside still lists the host's ${listed.length} processes, so ps inside shows them all.`
          : `The /proc inside lists only the container's own ${plural(inspection.containerProcesses.length, 'process', 'processes')}.`,
      };
    };
  }
  if ('rootDiffers' in rule) {
    return ({ inspection }) => {
      const host = statSync('/');
      const ctr = statSync(`/proc/${inspection.pid}/root/`);
      const differs = host.dev !== ctr.dev || host.ino !== ctr.ino;
      return {
        ok: differs === rule.rootDiffers,
        detail: `host / is device ${host.dev} inode ${host.ino}; the container's / is device ${ctr.dev} inode ${ctr.ino}${differs ? '' : ' (the same directory)'}`,
        says: differs ? `The container's / is its own root filesystem, not the host's /.` : `The container's / is the host's own / — the same files.`,
      };
    };
  }
  if ('uidMapOutsideNot' in rule) {
    return ({ inspection }) => {
      const outside = outsideUidOfRoot(inspection.uidMap);
      const map = inspection.uidMap.trim().split(/\s+/).join(' ');
      if (outside === undefined) return { ok: false, detail: `uid 0 is not mapped (uid_map "${map}")`, says: 'Root (uid 0) has no mapping in this container.' };
      return {
        ok: outside !== rule.uidMapOutsideNot,
        detail: `root inside is uid ${outside} outside (uid_map "${map}")`,
        says: outside === 0 ? 'Root inside is root on the host too (uid 0 both sides): no user namespace.' : `Root inside is uid ${outside} on the host, an ordinary user.`,
      };
    };
  }
  if ('onlyLoopback' in rule) {
    return ({ inspection }) => {
      const names = interfaceNames(read(`/proc/${inspection.pid}/net/dev`));
      const only = names.every((n) => n === 'lo');
      return {
        ok: only === rule.onlyLoopback,
        detail: `interfaces in the container's network namespace: ${names.join(', ') || 'none'}`,
        says: only ? 'The container has only a loopback interface.' : `The container's interfaces: ${names.join(', ')}.`,
      };
    };
  }
  if ('pidsLimit' in rule) {
    return ({ inspection }) => {
      const r = inspection.resources;
      if (!r) return { ok: false, detail: 'the container has no cgroup limits; set pids-limit in the launch form', says: 'The container has no limits: set the pids limit in the launch form, then Run.' };
      const max = r.stats.pidsMax;
      return {
        ok: r.limits.pidsLimit === rule.pidsLimit && (max === null || max === rule.pidsLimit),
        detail: `pids.max is ${max ?? 'unknown'} (limit asked: ${r.limits.pidsLimit ?? 'none'})`,
        says: max === null ? 'The kernel does not report the pids limit.' : `The kernel lets the container have at most ${plural(max, 'process', 'processes')}.`,
      };
    };
  }
  if ('pidsRejected' in rule) {
    return cgroupCounter(rule.pidsRejected, (st) => st.pidsRejected, {
      none: 'The container has no limits, so nothing can be refused.',
      unknown: ['this kernel does not report refused forks (pids.events)', 'This kernel does not count refused forks.'],
      detail: (n, st) => `the kernel refused ${plural(n, 'fork', 'forks')} (pids.events max), ${st.pidsCurrent ?? '?'} of ${st.pidsMax ?? '?'} pids in use`,
      happened: (n) => `The kernel refused ${plural(n, 'fork', 'forks')}: the limit held.`,
      notYet: 'No fork has been refused yet: start more processes than the limit.',
    });
  }
  if ('oomKilled' in rule) {
    return cgroupCounter(rule.oomKilled, (st) => st.memoryEvents.oomKill, {
      none: 'The container has no memory limit, so the OOM killer has nothing to enforce.',
      unknown: ['this kernel does not report OOM kills (memory.events oom_kill, v1 memory.oom_control)', 'This kernel does not count OOM kills.'],
      detail: (n, st) => `oom_kill is ${n} (memory.max ${st.memoryMax ?? '?'} bytes, ${st.memoryEvents.max ?? '?'} times at the limit)`,
      happened: (n) => `The OOM killer killed ${plural(n, 'process', 'processes')} in the container: the memory limit held.`,
      notYet: 'Nothing has been killed for memory yet: use more memory than the limit.',
    });
  }
  if ('cpuThrottled' in rule) {
    return cgroupCounter(rule.cpuThrottled, (st) => st.nrThrottled, {
      none: 'The container has no CPU limit, so it is never throttled.',
      unknown: ['this kernel does not report throttling (cpu.stat nr_throttled)', 'This kernel does not count throttled periods.'],
      detail: (n, st) => `cpu.stat nr_throttled is ${n} (${st.throttledUsec ?? '?'} µs throttled)`,
      happened: (n) => `The kernel held the container back in ${plural(n, 'period', 'periods')} of 100 ms: it used its share and waited.`,
      notYet: 'The container has not been throttled yet: keep a CPU busy for a moment.',
    });
  }
  if ('ran' in rule) {
    return ({ step, entered, container, shareDir }) => {
      const cmd = step?.commands[rule.ran];
      if (!cmd) return { ok: false, detail: `the step has no command ${rule.ran}`, says: 'This step names a command it does not have.' };
      const line = fillCommand(cmd, container, shareDir).trim();
      const where = cmd.pane === 'container' ? 'the container terminal' : 'the host terminal';
      const inPane = (l: EnteredLine) => (cmd.pane === 'container' ? l.containerId === container.id : l.kind === 'host');
      const hit = entered.find((l) => l.line === line && inPane(l));
      const elsewhere = !hit && entered.find((l) => l.line === line);
      return {
        ok: !!hit,
        detail: hit ? `entered in ${hit.terminalId} at ${new Date(hit.at).toISOString()}` : elsewhere ? `entered in ${elsewhere.terminalId}, not in ${where}` : 'not entered during this step',
        says: hit ? `You ran ${short(line)} in ${where}.` : elsewhere ? `You ran ${short(line)}, but in another terminal: run it in ${where}.` : `To do: run ${short(line)} in ${where}.`,
      };
    };
  }
  if ('capabilityHas' in rule || 'capabilityLacks' in rule) {
    const want = 'capabilityHas' in rule;
    const name = (want ? rule.capabilityHas : (rule as { capabilityLacks: string }).capabilityLacks) as CapName;
    return ({ inspection }) => {
      const eff = BigInt(`0x${statusField(inspection.pid, 'CapEff')}`);
      const has = ((eff >> BigInt(capNumber(name))) & 1n) === 1n;
      const count = CAPS.filter((c) => (eff >> BigInt(capNumber(c))) & 1n).length;
      return {
        ok: has === want,
        detail: `CapEff ${eff.toString(16).padStart(16, '0')} of PID ${inspection.pid}: CAP_${name} ${has ? 'set' : 'not set'}`,
        says: has
          ? `Root in the container holds CAP_${name} (${count} capabilities in all).`
          : `Root in the container lacks CAP_${name}: the kernel refuses what needs it (${count} capabilities kept).`,
      };
    };
  }
  if ('seccompFiltered' in rule) {
    return ({ inspection }) => {
      const mode = Number(statusField(inspection.pid, 'Seccomp'));
      const filtered = mode === 2;
      return {
        ok: filtered === rule.seccompFiltered,
        detail: `Seccomp: ${mode} in /proc/${inspection.pid}/status (0 none, 1 strict, 2 filter)`,
        says: filtered ? 'The container runs under a seccomp filter: some system calls are refused before the kernel looks at capabilities.' : 'The container runs without a seccomp filter.',
      };
    };
  }
  if ('mountedAt' in rule) {
    const path = rule.mountedAt.replace(/\/+$/, '') || '/';
    return ({ inspection }) => {
      const found = inspection.mounts.filter((m) => m.mountPoint === path);
      const top = found[found.length - 1];
      return {
        ok: !!top,
        detail: top ? `${top.fsType} ${top.source} on ${path} (${top.options})` : `nothing is mounted on ${path} in the container's mount table`,
        says: top ? `The container has a ${top.fsType} mounted on ${path}; the host's mount table does not.` : `Nothing is mounted on ${path} in the container yet.`,
      };
    };
  }
  if ('upperHas' in rule || 'upperDeleted' in rule) {
    const deleted = 'upperDeleted' in rule;
    const path = deleted ? (rule as { upperDeleted: string }).upperDeleted : (rule as { upperHas: string }).upperHas;
    return ({ inspection, id }) => {
      const o = overlayOf(inspection, id);
      const st = lstatInside(o.upper, path);
      const ok = deleted ? isWhiteout(st) : !!st && !isWhiteout(st);
      const what = !st ? 'nothing' : isWhiteout(st) ? 'a whiteout (character device 0:0)' : st.isDirectory() ? 'a directory' : `a ${st.size}-byte file`;
      return {
        ok,
        detail: `${join(o.upper, path)}: ${what}`,
        says: deleted
          ? ok ? `The upper layer holds a whiteout for /${path}: the file is hidden, the image keeps it.` : `The upper layer has no whiteout for /${path} yet: delete it in the container.`
          : ok ? `The container's write went to the upper layer: /${path} is in ${o.upper}.` : `The upper layer holds no /${path} yet: write it in the container.`,
      };
    };
  }
  if ('imageHas' in rule || 'imageLacks' in rule) {
    const want = 'imageHas' in rule;
    const path = want ? rule.imageHas : (rule as { imageLacks: string }).imageLacks;
    return ({ inspection, id }) => {
      const o = overlayOf(inspection, id);
      const layer = o.lower.find((l) => { const st = lstatInside(l, path); return !!st && !isWhiteout(st); });
      return {
        ok: !!layer === want,
        detail: layer ? `/${path} is in the image layer ${layer}` : `/${path} is in none of the image layers (${o.lower.join(', ')})`,
        says: layer ? `The image still holds /${path}, unchanged.` : `The image has no /${path}: it exists only where the container wrote it.`,
      };
    };
  }
  if ('shareHas' in rule) {
    return ({ shareDir }) => {
      if (!shareDir) return { ok: false, detail: 'no share folder is known', says: 'The share folder is not known here.' };
      const st = lstatInside(shareDir, rule.shareHas);
      const ok = !!st && st.isFile();
      return {
        ok,
        detail: `${join(shareDir, rule.shareHas)}: ${!st ? 'missing' : st.isFile() ? `a ${st.size}-byte file owned by uid ${st.uid}` : 'not a regular file'}`,
        says: ok ? `The host's ${join(shareDir, rule.shareHas)} exists: written through the volume.` : `The host has no ${join(shareDir, rule.shareHas)} yet.`,
      };
    };
  }
  if ('interfacesAre' in rule) {
    const want = [...rule.interfacesAre].sort();
    return ({ inspection, container }) => {
      const names = interfaceNames(read(`/proc/${inspection.pid}/net/dev`));
      const ok = names.length === want.length && [...names].sort().every((n, i) => n === want[i]);
      return {
        ok,
        detail: `interfaces in the container's network namespace: ${names.join(', ') || 'none'}; wanted exactly ${want.join(', ')}`,
        says: ok
          ? `The container's network namespace has exactly ${names.join(' and ')}: none of the host's interfaces.`
          : `The container's interfaces are ${names.join(', ') || 'none'}, not ${want.join(' and ')}.${withoutRoot(container)}`,
      };
    };
  }
  if ('vethOnBridge' in rule) {
    const bridge = rule.vethOnBridge;
    return ({ inspection, container }) => {
      const info = inspection.network?.info;
      if (!info || info.mode !== 'bridge' || !info.hostVeth) {
        return { ok: false, detail: `network mode ${info?.mode ?? 'unknown'}: no veth`, says: `This container has no veth into the host.${withoutRoot(container) || ` Its network is ${info?.mode ?? 'unknown'}; this step wants the bridge (network bridge, net ticked).`}` };
      }
      // the host's side read now from sysfs (the inspection's host list may be a second old)
      const host = hostLink(info.hostVeth);
      const inside = inspection.network!.container.find((i) => i.name === info.containerInterface);
      const ok = !!host && host.master === bridge && !!inside && inside.peerIndex === host.index;
      return {
        ok,
        detail: host
          ? `host ${host.name} (ifindex ${host.index}, master ${host.master ?? 'none'}) ↔ container ${inside ? `${inside.name}@if${inside.peerIndex}` : `no ${info.containerInterface}`}`
          : `the host has no interface ${info.hostVeth}`,
        says: ok
          ? `The host's ${host!.name} is on the bridge ${bridge}; its other end is the container's ${inside!.name} (${inside!.name}@if${host!.index}: the peer is interface ${host!.index} of the host).`
          : `The host's end of the container's veth (${info.hostVeth}) is ${host ? `not on ${bridge}` : 'missing'}.`,
      };
    };
  }
  if ('pingAnswered' in rule || 'connectionAccepted' in rule) {
    const ping = 'pingAnswered' in rule;
    const want = ping ? rule.pingAnswered : (rule as { connectionAccepted: boolean }).connectionAccepted;
    const [group, field] = ping ? ['Icmp', 'InEchoReps'] : ['Tcp', 'PassiveOpens'];
    return ({ inspection, container }) => {
      const n = snmpField(inspection.pid, group, field);
      const hostNet = inspection.namespaces.find((x) => x.type === 'net')?.shared === true;
      const whose = hostNet ? "the host's network namespace (the container shares it)" : "the container's network namespace";
      return {
        ok: (n > 0) === want,
        detail: `${group} ${field} = ${n} in /proc/${inspection.pid}/net/snmp (${whose})`,
        says: ping
          ? n > 0 ? `${whose[0].toUpperCase()}${whose.slice(1)} received ${plural(n, 'echo reply', 'echo replies')}: a ping was answered.` : `No ping has been answered in ${whose} yet.${withoutRoot(container)}`
          : n > 0 ? `${whose[0].toUpperCase()}${whose.slice(1)} accepted ${plural(n, 'TCP connection', 'TCP connections')} on a listening socket.` : `No TCP connection has reached a listener in ${whose} yet.${withoutRoot(container)}`,
      };
    };
  }
  if ('natUsed' in rule) {
    const kind = rule.natUsed;
    return ({ inspection, container }) => {
      const nat = inspection.network?.info?.nat;
      if (!nat) {
        return { ok: false, detail: 'the container has no nftables table', says: `The host holds no NAT rules for this container.${withoutRoot(container) || ' Its network is not the bridge (network bridge, net ticked).'}` };
      }
      const r = spawnSync(tool('nft', 'nftables'), ['list', 'table', ...nat.table.split(' ')], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', LC_ALL: 'C' } });
      if (r.status !== 0) return { ok: false, detail: `nft list table ${nat.table}: ${r.stderr.trim() || `exit ${r.status}`}`, says: `The container's NAT table ${nat.table} cannot be read.` };
      const used = natCounts(r.stdout, kind);
      const n = used.reduce((a, u) => a + u.packets, 0);
      return {
        ok: used.length > 0 && n > 0,
        detail: used.length ? used.map((u) => `${u.rule} (packets ${u.packets})`).join('; ') : `no ${kind} rule in table ${nat.table}`,
        says: kind === 'masquerade'
          ? n > 0 ? `The host's masquerade rule (${nat.table}) has rewritten ${plural(n, 'connection', 'connections')} from the container to the host's own address on the way out.` : `The masquerade rule in ${nat.table} has counted nothing yet: nothing from the container has left the host.`
          : n > 0 ? `The host's DNAT rule (${nat.table}) has sent ${plural(n, 'connection', 'connections')} for the published port to the container.` : used.length ? `The DNAT rule in ${nat.table} has counted nothing yet: connect to the published port.` : `No port is published for this container (set the ports field, then Run).`,
      };
    };
  }
  const never: never = rule;
  throw new Error(`unknown rule ${JSON.stringify(never)}`);
}

/** A host interface's ifindex and bridge (its master), from /sys/class/net; undefined when it does not exist. */
function hostLink(name: string): { name: string; index: number; master?: string } | undefined {
  if (!/^[^\s/]{1,15}$/.test(name) || name === '.' || name === '..') return undefined;
  let index: number;
  try {
    index = Number(read(`/sys/class/net/${name}/ifindex`).trim());
  } catch {
    return undefined;
  }
  let master: string | undefined;
  try {
    master = readlinkSync(`/sys/class/net/${name}/master`).split('/').pop();
  } catch {
    master = undefined;
  }
  return { name, index, master };
}

/** One line on why a rootless container's network differs (empty for a rootful one). */
function withoutRoot(container: ContainerInfo): string {
  if (!container.rootless) return '';
  return container.network?.mode === 'pasta'
    ? ' Without root Locker makes no veth, bridge or nftables rule: pasta, a user-space process, carries its traffic through a tap device.'
    : ' Without root Locker makes no veth, bridge or nftables rule, and pasta cannot run here: the container has loopback only.';
}

/** A counter of /proc/<pid>/net/snmp (the process's network namespace), e.g. Icmp InEchoReps. */
export function snmpField(pid: number, group: string, field: string): number {
  const lines = read(`/proc/${pid}/net/snmp`).split('\n').filter((l) => l.startsWith(`${group}: `));
  const [names, values] = lines.map((l) => l.slice(group.length + 2).trim().split(/\s+/));
  const i = names?.indexOf(field) ?? -1;
  if (i < 0 || !values) throw new Error(`/proc/${pid}/net/snmp has no ${group} ${field}`);
  return Number(values[i]);
}

/** The masquerade (outbound) or DNAT rules of `nft list table` text, with their counters. */
export function natCounts(table: string, kind: 'masquerade' | 'dnat'): { rule: string; packets: number }[] {
  const re = kind === 'masquerade' ? /oifname != .*\bcounter packets (\d+) bytes \d+ masquerade\b/ : /\bcounter packets (\d+) bytes \d+ dnat to \S+/;
  return table.split('\n').map((l) => l.trim()).flatMap((l) => {
    const m = re.exec(l);
    return m ? [{ rule: l, packets: Number(m[1]) }] : [];
  });
}

/** A field of /proc/<pid>/status, e.g. CapEff or Seccomp. */
function statusField(pid: number, field: string): string {
  const m = new RegExp(`^${field}:\\s+(\\S+)`, 'm').exec(read(`/proc/${pid}/status`));
  if (!m) throw new Error(`/proc/${pid}/status has no ${field} line`);
  return m[1];
}

/**
 * lstat of `rel` under `root`, never following a symlink on the way: the container writes the
 * upper layer and the share, and a link it planted there must not make the host look elsewhere.
 * undefined when missing (or behind a link).
 */
export function lstatInside(root: string, rel: string): Stats | undefined {
  const parts = rel.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) return undefined;
  let at = root;
  for (const [i, part] of parts.entries()) {
    at = join(at, part);
    let st: Stats;
    try {
      st = lstatSync(at);
    } catch {
      return undefined;
    }
    if (i === parts.length - 1) return st;
    if (!st.isDirectory()) return undefined;
  }
  return lstatSync(root);
}

/** The container's overlay (its own upper dir), read from its init's mount table. */
function overlayOf(inspection: Inspection, id: string) {
  const o = containerOverlay(read(`/proc/${inspection.pid}/mountinfo`), id);
  if (!o) throw new Error('the container has no overlay root (it needs the mnt namespace and a kernel that mounts overlay for it)');
  return o;
}

const isWhiteout = (st: Stats | undefined): boolean => !!st && st.isCharacterDevice() && st.rdev === 0;

/** A rule over one counter of the container's cgroup that starts at 0: holds (true) once the kernel has counted. */
function cgroupCounter(want: boolean, counter: (st: CgroupStats) => number | null, text: {
  none: string; unknown: [string, string]; detail: (n: number, st: CgroupStats) => string; happened: (n: number) => string; notYet: string;
}): Judge {
  return ({ inspection }) => {
    const r = inspection.resources;
    if (!r) return { ok: false, detail: 'the container has no cgroup limits', says: text.none };
    const n = counter(r.stats);
    if (n === null) return { ok: false, detail: text.unknown[0], says: text.unknown[1] };
    return { ok: (n > 0) === want, detail: text.detail(n, r.stats), says: n > 0 ? text.happened(n) : text.notYet };
  };
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function short(line: string): string {
  return `“${line.length > 60 ? `${line.slice(0, 57)}…` : line}”`;
}

/** One line when the container was not launched with this step's namespaces; undefined when it was. */
export function presetMismatch(step: LessonStep, container: ContainerInfo): string | undefined {
  const want = presetNamespaces(step.preset, { rootless: container.rootless } as Capabilities);
  const have = NAMESPACES.filter((n) => container.namespaces.includes(n));
  const again = 'Press “Set up the launch form”, then Run.';
  const list = (ns: readonly string[]) => (ns.length ? ns.join(', ') : 'no namespaces');
  if (want.join() !== have.join()) return `This container was started with ${list(have)}; this step wants ${list(want)}. ${again}`;
  // the network select: none is loopback only; bridge as root is a veth on locker0 (rootless: pasta or loopback)
  const mode = container.network?.mode;
  const network = step.preset.network ?? 'bridge';
  const shown = mode === 'loopback' ? 'none (loopback only)' : mode;
  if ((network === 'none' && mode !== 'loopback') || (network === 'bridge' && want.includes('net') && !container.rootless && mode !== 'bridge')) {
    return `This container was started with network ${shown ?? 'unknown'}; this step wants network ${network}. ${again}`;
  }
  const published = new Set((container.network?.published ?? []).map((p) => `${p.hostPort}/${p.protocol}`));
  const ports = portList((step.preset.ports ?? []).join(','));
  const missing = Array.isArray(ports) ? ports.filter((p) => !published.has(`${p.hostPort}/${p.protocol}`)) : [];
  if (missing.length) return `This container publishes no host port ${missing.map((p) => p.hostPort).join(', ')}; this step wants -p ${step.preset.ports!.join(' -p ')}. ${again}`;
  return undefined;
}

export function ruleLabel(rule: VerifyRule): string {
  const [[k, v]] = Object.entries(rule);
  return `${k}: ${JSON.stringify(v)}`;
}

/** What verifyRules needs besides the rules: the inspection is read here, the rest defaults for direct use. */
export type VerifyInput = Pick<VerifyContext, 'runtime' | 'id'> & Partial<Pick<VerifyContext, 'step' | 'entered' | 'container' | 'shareDir'>>;

/** Checks every rule; a rule that cannot read its state fails with the reason, it never throws. */
export async function verifyRules(rules: VerifyRule[], input: VerifyInput): Promise<VerifyResult> {
  const container = input.container ?? input.runtime.get(input.id);
  let inspection: Inspection;
  try {
    if (!container) throw new Error(`no container "${input.id}"`);
    inspection = await input.runtime.inspect(input.id);
  } catch (e) {
    const detail = (e as Error).message;
    const outcomes = rules.map((r) => ({ rule: ruleLabel(r), ok: false, detail, says: `The container cannot be read: ${detail}.` }));
    return { ok: false, outcomes };
  }
  const ctx: VerifyContext = { entered: [], ...input, container, inspection };
  const outcomes: RuleOutcome[] = rules.map((r) => {
    try {
      return { rule: ruleLabel(r), ...judge(r)(ctx) };
    } catch (e) {
      const detail = `cannot read: ${(e as Error).message}`;
      return { rule: ruleLabel(r), ok: false, detail, says: `This could not be checked (${(e as Error).message}).` };
    }
  });
  const mismatch = ctx.step ? presetMismatch(ctx.step, container) : undefined;
  return { ok: !mismatch && outcomes.every((o) => o.ok), outcomes, ...(mismatch ? { mismatch } : {}) };
}
