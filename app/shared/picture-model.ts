// The kernel picture as data: what the kernel holds for one container, from its inspection (the
// truth, read from /proc) and its syscall log (what has happened so far, so step-through can show
// each call's effect before the next refresh lands). Pure: the renderer draws it
// (components/KernelPicture.tsx) and the tests check it. A box is one kernel object; `parent`
// nests boxes (the container's namespaces inside the host); edges join the two ends of a pair
// (host PID ↔ container PID, uid inside ↔ outside, veth ↔ veth).
import type { RootfsLayers, SyscallRecord } from './api';
import { explainSyscall, namespacesInFlags, overlayFields, splitArgs } from './syscall-sentence';
import type { Inspection, NamespaceComparison, NetworkInterface } from './types';

export type BoxKind = 'host' | 'container' | 'namespace' | 'process' | 'idmap' | 'interface' | 'bridge' | 'layer' | 'change' | 'cgroup' | 'bind' | 'rule';

export interface Box {
  /** Stable across refreshes, e.g. "ns:uts", "proc:4242", "layer:upper". */
  id: string;
  kind: BoxKind;
  parent?: string;
  title: string;
  lines: string[];
  /** Changed by the last call of the log (drawn highlighted). */
  fresh?: boolean;
}

export interface Edge {
  from: string;
  to: string;
  label: string;
}

export interface Picture {
  boxes: Box[];
  edges: Edge[];
  /** What the last call did, in plain English (step-through's caption). */
  caption?: string;
  /** How far the launch is: cloned (namespaces exist), pivoted (its / is the image), running (exec'd). */
  stage: 'none' | 'cloned' | 'pivoted' | 'running';
}

export interface PictureInput {
  inspection: Inspection | null;
  /** The container's syscall log so far. */
  records: SyscallRecord[];
  layers?: RootfsLayers | null;
  /** Shown on the container's box until it has a hostname of its own. */
  name: string;
  hostHostname?: string;
  /** The uid the runtime runs as (rootless: the user's uid). */
  hostUid?: number;
}

const NS_FROM_WORD: Record<string, NamespaceComparison['type']> = {
  mount: 'mnt', UTS: 'uts', IPC: 'ipc', PID: 'pid', network: 'net', user: 'user', cgroup: 'cgroup', time: 'time',
};

/** What each namespace isolates, in a few words (a box's second line). */
const NS_SHOWS: Record<NamespaceComparison['type'], string> = {
  pid: 'process IDs', uts: 'hostname', mnt: 'mount table', user: 'user IDs', ipc: 'System V IPC, mqueues', net: 'network stack', cgroup: 'cgroup root', time: 'clocks',
};

export interface IdMapLine {
  inside: number;
  outside: number;
  count: number;
}

/** /proc/PID/uid_map text → its lines. */
export function parseIdMap(text: string): IdMapLine[] {
  return text.split('\n').map((l) => l.trim().split(/\s+/).map(Number)).filter((f) => f.length === 3 && f.every(Number.isFinite))
    .map(([inside, outside, count]) => ({ inside, outside, count }));
}

/** One map line as a person reads it: "0 ↔ 100000 (65536 ids)"; the identity map is "the host's own ids". */
export function describeIdMap(line: IdMapLine): string {
  if (line.inside === 0 && line.outside === 0 && line.count === 4294967295) return "0 ↔ 0, every id: the host's own";
  return `${line.inside} ↔ ${line.outside}${line.count === 1 ? '' : ` (${line.count} ids)`}`;
}

/** Namespace types created so far by the log's clone and unshare calls. */
export function namespacesMade(records: SyscallRecord[]): NamespaceComparison['type'][] {
  const out = new Set<NamespaceComparison['type']>();
  for (const r of records) {
    if (r.errno || (r.name !== 'clone' && r.name !== 'unshare')) continue;
    for (const w of namespacesInFlags(r.args)) out.add(NS_FROM_WORD[w]);
  }
  return [...out];
}

/** Facts the log states before an inspection can show them (a refresh is up to half a second behind). */
export function logFacts(records: SyscallRecord[]): { hostname?: string; pivoted: boolean; execd: boolean; overlay?: { target: string; lower: string[]; upper?: string; work?: string }; hostPid?: number } {
  const facts: ReturnType<typeof logFacts> = { pivoted: false, execd: false };
  for (const r of records) {
    if (r.errno) continue;
    const a = splitArgs(r.args);
    if (r.name === 'clone' && r.where === 'host' && Number(r.result) > 0) facts.hostPid = Number(r.result);
    if (r.name === 'sethostname') facts.hostname = a[0];
    if (r.name === 'pivot_root') facts.pivoted = true;
    if (r.name === 'execve' && r.where === 'child') facts.execd = true;
    if (r.name === 'mount' && a[2] === 'overlay') facts.overlay = { target: a[1], ...overlayFields(a.slice(4).join(', ')) };
  }
  return facts;
}

/** The host side of this container's veth: the runtime names it lk + the first 10 characters of the id. */
function hostVeth(inspection: Inspection): NetworkInterface | undefined {
  const name = inspection.network?.info?.hostVeth ?? `lk${inspection.id.slice(0, 10)}`;
  return inspection.network?.host.find((i) => i.name === name);
}

/** "uts:[4026532256]" → "4026532256". */
const inode = (link: string): string => /\[(\d+)\]/.exec(link)?.[1] ?? link;

const inet = (i: NetworkInterface | undefined): string[] => (i?.addresses ?? []).filter((a) => a.family === 'inet').map((a) => `${a.address}/${a.prefixLength}`);

function bytes(n: number | null): string {
  if (n === null) return '?';
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(0)} KiB`;
  return `${n} B`;
}

/** Which box the last call changed, so the drawing can highlight it. */
function freshBox(r: SyscallRecord | undefined): string | undefined {
  if (!r) return undefined;
  if (r.name === 'sethostname' || r.name === 'pivot_root' || r.name === 'umount2') return 'container';
  if (r.name === 'clone' || r.name === 'unshare') return 'container';
  if (r.name === 'mount' && /"overlay"/.test(r.args)) return 'layer:upper';
  if (r.name === 'write' && /_map"/.test(r.args)) return 'idmap:uid';
  if (r.name === 'execve' && r.where === 'child') return 'procs';
  return undefined;
}

export function buildPicture(input: PictureInput): Picture {
  const { inspection: ins, records } = input;
  const facts = logFacts(records);
  const boxes: Box[] = [];
  const edges: Edge[] = [];
  const last = records.filter((r) => r.where === 'child' || r.name === 'clone' || r.name === 'write').at(-1);
  const stage: Picture['stage'] = facts.execd ? 'running' : facts.pivoted ? 'pivoted' : facts.hostPid || ins ? 'cloned' : 'none';
  boxes.push({ id: 'host', kind: 'host', title: `host ${ins?.hostname.host ?? input.hostHostname ?? ''}`.trim(), lines: ["the host's namespaces, processes and files"] });
  if (!ins && !facts.hostPid) return { boxes, edges, stage, caption: last ? explainSyscall(last) : undefined };

  // The container: its hostname (the log says it first), its root.
  const separate = new Set(ins ? ins.namespaces.filter((n) => !n.shared).map((n) => n.type) : namespacesMade(records));
  const ownUts = separate.has('uts');
  const hostname = ownUts ? (facts.hostname ?? ins?.hostname.container) : undefined;
  const root = !separate.has('mnt') ? "host / (no mount namespace)" : facts.pivoted ? 'the image (pivot_root)' : facts.overlay ? `host / (the image is mounted at ${facts.overlay.target}, not yet its root)` : 'host / (a copy of the host mount table)';
  boxes.push({
    id: 'container', kind: 'container', parent: 'host',
    title: hostname ? `container ${hostname}` : `container ${input.name}`,
    lines: [
      `hostname: ${hostname ?? (ownUts ? `${ins?.hostname.container ?? '?'} (still the host's name, copied at clone)` : `${ins?.hostname.host ?? '?'} (the host's: no UTS namespace)`)}`,
      `root: ${root}`,
      `stage: ${stage === 'running' ? 'running its program' : stage === 'pivoted' ? 'setting up, inside its own root' : 'setting up (paused before exec)'}`,
    ],
  });

  // One box per namespace type: separate ones inside the container, shared ones on the host's line.
  const made = new Set(namespacesMade(records));
  const nsList: NamespaceComparison[] = ins?.namespaces ?? [...made].map((t) => ({ type: t, host: '', container: '', shared: false }));
  for (const n of nsList) {
    if (n.shared) continue;
    boxes.push({
      id: `ns:${n.type}`, kind: 'namespace', parent: 'container', title: `${n.type} namespace`,
      lines: [NS_SHOWS[n.type], n.container ? `${inode(n.container)} (host ${inode(n.host)})` : 'new'],
    });
  }
  const shared = nsList.filter((n) => n.shared).map((n) => n.type);
  if (shared.length) boxes.push({ id: 'ns:shared', kind: 'namespace', parent: 'host', title: 'shared with the host', lines: [shared.join(', ')] });

  // Processes: host PID ↔ container PID.
  const procs = ins?.containerProcesses ?? [];
  boxes.push({ id: 'procs', kind: 'process', parent: separate.has('pid') ? 'ns:pid' : 'container', title: `processes (${procs.length})`, lines: [] });
  for (const p of procs.slice(0, 8)) {
    const inner = p.containerPid ?? p.pid;
    boxes.push({ id: `proc:${p.pid}`, kind: 'process', parent: 'procs', title: `${p.pid} ↔ ${inner}`, lines: [p.cmdline || p.name] });
  }
  if (procs.length > 8) boxes.push({ id: 'proc:more', kind: 'process', parent: 'procs', title: `… ${procs.length - 8} more`, lines: [] });
  if (!ins && facts.hostPid) boxes.push({ id: `proc:${facts.hostPid}`, kind: 'process', parent: 'procs', title: `${facts.hostPid} ↔ ${separate.has('pid') ? 1 : facts.hostPid}`, lines: ['the setup process'] });

  // User ids: inside ↔ outside.
  const uid = ins ? parseIdMap(ins.uidMap) : [];
  const gid = ins ? parseIdMap(ins.gidMap) : [];
  boxes.push({
    id: 'idmap:uid', kind: 'idmap', parent: separate.has('user') ? 'ns:user' : 'container', title: 'uid map (inside ↔ host)',
    lines: uid.length ? uid.map(describeIdMap) : [separate.has('user') ? 'not written yet: every uid is the overflow id' : '…'],
  });
  if (gid.length && JSON.stringify(gid) !== JSON.stringify(uid)) boxes.push({ id: 'idmap:gid', kind: 'idmap', parent: separate.has('user') ? 'ns:user' : 'container', title: 'gid map', lines: gid.map(describeIdMap) });
  if (input.hostUid !== undefined && input.hostUid !== 0 && uid[0]) edges.push({ from: 'idmap:uid', to: 'host', label: `root inside is uid ${uid[0].outside} (${input.hostUid === uid[0].outside ? 'you' : 'another user'}) outside` });

  // Network: the veth pair to the bridge, and addresses.
  if (ins?.network && separate.has('net')) {
    const inner = ins.network.container.filter((i) => i.name !== 'lo');
    const lo = ins.network.container.find((i) => i.name === 'lo');
    if (lo) boxes.push({ id: 'if:lo', kind: 'interface', parent: 'ns:net', title: 'lo', lines: [...inet(lo), lo.up ? 'up' : 'down'] });
    for (const i of inner) boxes.push({ id: `if:${i.name}`, kind: 'interface', parent: 'ns:net', title: `${i.name}${i.kind ? ` (${i.kind})` : ''}`, lines: [...inet(i), i.mac] });
    const veth = hostVeth(ins);
    const bridgeName = veth?.master ?? ins.network.info?.bridge;
    const bridge = bridgeName ? ins.network.host.find((i) => i.name === bridgeName) : undefined;
    if (bridge) boxes.push({ id: `bridge:${bridge.name}`, kind: 'bridge', parent: 'host', title: `${bridge.name} (bridge)`, lines: inet(bridge) });
    if (veth) {
      boxes.push({ id: `if:host:${veth.name}`, kind: 'interface', parent: 'host', title: `${veth.name} (veth)`, lines: [bridge ? `port of ${bridge.name}` : 'no bridge'] });
      const peer = inner.find((i) => i.kind === 'veth') ?? inner[0];
      if (peer) edges.push({ from: `if:host:${veth.name}`, to: `if:${peer.name}`, label: 'veth pair' });
      if (bridge) edges.push({ from: `if:host:${veth.name}`, to: `bridge:${bridge.name}`, label: 'enslaved' });
    }
    const info = ins.network.info;
    // the container's own nftables table (NetworkInfo.nat is its name and `nft list table` text): the NAT rules in it
    if (info?.nat) {
      const rules = info.nat.rules.split('\n').map((l) => l.trim()).filter((l) => /\b(masquerade|dnat|snat)\b/.test(l));
      boxes.push({ id: `rule:nat:${info.nat.table}`, kind: 'rule', parent: 'host', title: `NAT (nft table ${info.nat.table})`, lines: rules.length ? rules : ['no NAT rule'] });
    }
    for (const p of info?.published ?? []) {
      boxes.push({ id: `rule:port:${p.protocol}:${p.hostPort}`, kind: 'rule', parent: 'host', title: 'published port', lines: [`host ${p.hostIp ?? ''}:${p.hostPort} → ${info?.address ?? 'container'}:${p.containerPort}/${p.protocol} (${p.via})`] });
    }
    if (info?.gateway) boxes.push({ id: 'rule:route', kind: 'rule', parent: 'ns:net', title: 'default route', lines: [`via ${info.gateway}`] });
  }

  // The rootfs: overlay layers (the mount table's super options) and what the container changed.
  const layers = input.layers ?? null;
  const lower = layers?.lower ?? facts.overlay?.lower ?? [];
  const upper = layers?.upper ?? facts.overlay?.upper;
  const work = layers?.work ?? facts.overlay?.work;
  if (upper) {
    const at = layers?.mountPoint ?? facts.overlay?.target ?? '?';
    boxes.push({ id: 'rootfs', kind: 'layer', parent: separate.has('mnt') ? 'ns:mnt' : 'container', title: `overlay at ${at}`, lines: [facts.pivoted ? "the container's /" : 'not yet the container\'s /'] });
    boxes.push({ id: 'layer:upper', kind: 'layer', parent: 'rootfs', title: 'upper (writable)', lines: [upper] });
    boxes.push({ id: 'layer:work', kind: 'layer', parent: 'rootfs', title: 'work', lines: [work ?? '?'] });
    lower.forEach((l, i) => boxes.push({ id: `layer:lower:${i}`, kind: 'layer', parent: 'rootfs', title: `lower ${i + 1} (read-only image)`, lines: [l] }));
    const changes = layers?.upperEntries ?? [];
    boxes.push({
      id: 'changes', kind: 'change', parent: 'layer:upper', title: `the container's changes (${changes.length}${layers?.truncated ? '+' : ''})`,
      lines: changes.length ? changes.map((e) => (e.type === 'char' && e.size === 0 ? `✕ ${e.name} (deleted)` : `${e.name}${e.type === 'dir' ? '/' : ''}`)) : ['none yet'],
    });
  }

  // Bind mounts from host paths (volumes); /dev nodes and the /proc, /sys masks are the runtime's own.
  for (const m of ins?.mounts ?? []) {
    if (m.root === '/' || /^\/(dev|proc|sys)(\/|$)/.test(m.mountPoint)) continue;
    boxes.push({ id: `bind:${m.mountPoint}`, kind: 'bind', parent: separate.has('mnt') ? 'ns:mnt' : 'container', title: `bind ${m.mountPoint}`, lines: [`${m.source}:${m.root} (${m.fsType}, ${m.options.split(',')[0]})`] });
  }

  // The cgroup: limits and live usage.
  const res = ins?.resources;
  if (res) {
    const s = res.stats;
    const lines = [
      `pids ${s.pidsCurrent ?? '?'}${s.pidsMax === null ? ' (no limit)' : ` of ${s.pidsMax}`}`,
      `memory ${bytes(s.memoryCurrent)}${s.memoryMax === null ? ' (no limit)' : ` of ${bytes(s.memoryMax)}`}`,
      ...(res.limits.cpus !== undefined ? [`cpus ${res.limits.cpus}${s.nrThrottled ? `, throttled ${s.nrThrottled}×` : ''}`] : []),
      ...(s.memoryEvents.oomKill ? [`OOM kills: ${s.memoryEvents.oomKill}`] : []),
    ];
    boxes.push({ id: 'cgroup', kind: 'cgroup', parent: 'host', title: `cgroup ${res.paths[0]?.replace(/^\/sys\/fs\/cgroup\/(\w+\/)?/, '') ?? ''}`, lines });
    edges.push({ from: 'cgroup', to: 'procs', label: 'limits' });
  }

  const fresh = freshBox(last);
  for (const b of boxes) if (b.id === fresh) b.fresh = true;
  return { boxes, edges, stage, caption: last ? explainSyscall(last) : undefined };
}
