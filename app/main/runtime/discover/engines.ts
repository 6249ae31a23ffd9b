// Which engine made a container, from the engine's own state where there is some (runc and crun
// state dirs, conmon's and containerd shims' command lines, docker's config, Locker's records),
// else from the process that started it (bwrap, unshare, systemd-nspawn, lxc-start).
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { readProcText } from '../inspect/proc-read';
import type { NamespaceGroup, ScannedProcess } from './scan';

export type Engine = 'locker' | 'locker-oci' | 'runc' | 'crun' | 'podman' | 'docker' | 'containerd' | 'systemd-nspawn' | 'lxc' | 'bubblewrap' | 'unshare' | 'unknown';

export interface Owner {
  engine: Engine;
  /** The engine's id for it (a pid-based stand-in when the engine keeps none). */
  id: string;
  name: string;
  /** Where the name came from, e.g. "/run/runc/web/state.json" or "conmon -n". */
  source: string;
}

/** What Locker itself knows: running records by init PID. */
export type LockerRecords = Map<number, { id: string; name: string }>;

interface RuntimeState { engine: 'runc' | 'crun' | 'locker-oci'; id: string; root: string }

/** `--root DIR` (or --root=DIR) in a command line. */
function rootArg(args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--root' && args[i + 1]) return args[i + 1];
    if (args[i].startsWith('--root=')) return args[i].slice(7);
  }
  return undefined;
}

const argvOf = (pid: number): string[] => (readProcText(`/proc/${pid}/cmdline`) ?? '').split('\0').filter(Boolean);

function subdirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch {
    return [];
  }
}

function readJson(path: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/**
 * runc and crun keep a directory per container under their --root: runc's state.json names the
 * init as init_process_pid, crun's status file as pid. Default roots, rootless roots under
 * /run/user/UID, and any --root a running runc/crun/conmon/shim was given are all read.
 */
export function runtimeStates(procs: ScannedProcess[]): Map<number, RuntimeState> {
  const roots = new Set<string>(['/run/runc', '/run/crun', '/run/docker/runtime-runc/moby', '/run/locker-oci']);
  for (const uid of subdirs('/run/user')) for (const r of ['runc', 'crun', 'locker-oci']) roots.add(join('/run/user', uid, r));
  for (const p of procs) {
    if (!/^(runc|crun|conmon|containerd-shim|podman|locker-runtime)/.test(p.name)) continue;
    const r = rootArg(argvOf(p.pid));
    if (r) roots.add(r);
  }
  const out = new Map<number, RuntimeState>();
  for (const root of roots) {
    for (const id of subdirs(root)) {
      const runc = readJson(join(root, id, 'state.json'));
      if (typeof runc?.init_process_pid === 'number') out.set(runc.init_process_pid, { engine: 'runc', id, root });
      const crun = readJson(join(root, id, 'status'));
      if (typeof crun?.pid === 'number') out.set(crun.pid, { engine: 'crun', id, root });
      // `locker oci` (app/main/oci/state.ts): the OCI state with the init's pid; syscalls.jsonl beside it is the launch's syscall log.
      if (typeof runc?.pid === 'number' && typeof runc.pidStartTime === 'string') out.set(runc.pid, { engine: 'locker-oci', id, root });
    }
  }
  return out;
}

/** The value after a short or long option in argv (`-n NAME`, `--name NAME`, `--name=NAME`). */
function option(args: string[], ...names: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    for (const n of names) {
      if (args[i] === n && args[i + 1] !== undefined) return args[i + 1];
      if (n.startsWith('--') && args[i].startsWith(n + '=')) return args[i].slice(n.length + 1);
    }
  }
  return undefined;
}

function dockerName(id: string): string | undefined {
  const name = readJson(join('/var/lib/docker/containers', id, 'config.v2.json'))?.Name;
  return typeof name === 'string' ? name.replace(/^\//, '') : undefined;
}

/** Every ancestor of the group's init, nearest first (the engine may sit a level or two up). */
function ancestors(init: ScannedProcess, byPid: Map<number, ScannedProcess>): ScannedProcess[] {
  const out: ScannedProcess[] = [];
  for (let p = byPid.get(init.ppid); p && out.length < 8; p = byPid.get(p.ppid)) out.push(p);
  return out;
}

export function ownerOf(g: NamespaceGroup, procs: ScannedProcess[], states: Map<number, RuntimeState>, locker: LockerRecords): Owner {
  const init = g.init;
  const fallbackId = `pid-${init.pid}`;
  const mine = locker.get(init.pid);
  if (mine) return { engine: 'locker', id: mine.id, name: mine.name, source: 'locker records' };
  const byPid = new Map(procs.map((p) => [p.pid, p]));
  const up = ancestors(init, byPid);
  const conmon = up.find((p) => p.name === 'conmon');
  if (conmon) {
    const args = argvOf(conmon.pid);
    const id = option(args, '-c', '--cid') ?? fallbackId;
    return { engine: 'podman', id, name: option(args, '-n', '--name') ?? id.slice(0, 12), source: 'conmon command line' };
  }
  const shim = up.find((p) => p.name.startsWith('containerd-shim'));
  if (shim) {
    const args = argvOf(shim.pid);
    const id = option(args, '-id') ?? fallbackId;
    const ns = option(args, '-namespace') ?? '';
    if (ns === 'moby') return { engine: 'docker', id, name: dockerName(id) ?? id.slice(0, 12), source: 'containerd shim (namespace moby)' };
    return { engine: 'containerd', id, name: `${ns}/${id.slice(0, 12)}`, source: `containerd shim (namespace ${ns})` };
  }
  const state = states.get(init.pid);
  if (state) return { engine: state.engine, id: state.id, name: state.id, source: join(state.root, state.id) };
  const nspawn = up.find((p) => p.name === 'systemd-nspawn');
  if (nspawn) {
    const args = argvOf(nspawn.pid);
    const dir = option(args, '-D', '--directory');
    const name = option(args, '-M', '--machine') ?? (dir ? basename(dir) : fallbackId);
    return { engine: 'systemd-nspawn', id: name, name, source: 'systemd-nspawn command line' };
  }
  const lxcCgroup = /lxc\.payload\.([^/\n]+)|\/lxc\/([^/\n]+)/.exec(readProcText(`/proc/${init.pid}/cgroup`) ?? '');
  const lxcStart = up.find((p) => p.name === 'lxc-start');
  if (lxcCgroup || lxcStart) {
    const name = lxcCgroup?.[1] ?? lxcCgroup?.[2] ?? (lxcStart ? option(argvOf(lxcStart.pid), '-n', '--name') : undefined) ?? fallbackId;
    return { engine: 'lxc', id: name, name, source: lxcCgroup ? 'cgroup path' : 'lxc-start command line' };
  }
  if (init.name === 'bwrap' || up[0]?.name === 'bwrap') return { engine: 'bubblewrap', id: fallbackId, name: fallbackId, source: 'bwrap process' };
  if (up[0]?.name === 'unshare') return { engine: 'unshare', id: fallbackId, name: fallbackId, source: 'unshare(1) process' };
  // A detached Locker container is the child of its locker-monitor (another data dir's, or one whose record is gone).
  if (up[0]?.name === 'locker-monitor') {
    return { engine: 'locker', id: fallbackId, name: fallbackId, source: 'locker-monitor (detached; another data dir)' };
  }
  // Locker's native step clones from the runtime's Node process (another user's or another data dir's).
  if (up[0] && /locker/.test(up[0].cmdline) && /node/.test(up[0].name + up[0].cmdline)) {
    return { engine: 'locker', id: fallbackId, name: fallbackId, source: `started by ${up[0].cmdline.slice(0, 60)} (another data dir)` };
  }
  return { engine: 'unknown', id: fallbackId, name: fallbackId, source: up[0] ? `parent: ${up[0].cmdline.slice(0, 80)}` : 'no visible parent' };
}
