// The launch form's rules as plain functions (the React component only holds the state), so Node
// tests check the very code the form runs: the shared grammar, and defaults that follow what the
// runtime can do for this user (HostInfo.capabilities).
// No Node or Electron imports: the renderer compiles this file too.
import { runRequestProblem, splitCommand, type Capabilities, type LaunchSettings, type LessonPreset } from './api';
import { parsePidsLimit, parseVolume, problemLine } from './grammar';
import { fillVolume } from './lesson-command';
import { NAMESPACES, type Namespace, type NetworkMode, type PortSpec, type VolumeSpec } from './types';
import { checkPublishList, parsePublish } from './grammar';

/** The form as typed. */
export interface LaunchFields {
  useDefault: boolean;
  rootfs: string;
  command: string;
  hostname: string;
  namespaces: Namespace[];
  memory: string;
  cpus: string;
  pidsLimit: string;
  /** --cap-add / --cap-drop as typed: names separated by commas or spaces (checked by the main side's table). */
  capAdd?: string;
  capDrop?: string;
  /** -v lines, one per line: HOST:CONTAINER[:ro][,rslave]. */
  volumes?: string;
  /** -p entries separated by commas, spaces or lines: [IP:]HOSTPORT:CONTAINERPORT[/udp]. */
  ports?: string;
  network?: NetworkMode;
}

/** "SYS_ADMIN, net_admin" → ["SYS_ADMIN", "net_admin"]. */
export function capList(text: string | undefined): string[] | undefined {
  const list = (text ?? '').split(/[\s,]+/).filter(Boolean);
  return list.length ? list : undefined;
}

/** The volumes field: one -v per line, in the CLI's grammar. */
export function volumeList(text: string | undefined): VolumeSpec[] | string | undefined {
  const lines = (text ?? '').split('\n').map((l) => l.trim()).filter(Boolean);
  const out: VolumeSpec[] = [];
  for (const line of lines) {
    const r = parseVolume(line);
    if (!r.ok) return r.problem;
    out.push(r.value);
  }
  return out.length ? out : undefined;
}

/** The ports field: -p entries in the CLI's grammar (a range gives one port each). */
export function portList(text: string | undefined): PortSpec[] | string | undefined {
  const out: PortSpec[] = [];
  for (const entry of (text ?? '').split(/[\s,]+/).filter(Boolean)) {
    const r = parsePublish(entry);
    if (!r.ok) return r.problem;
    out.push(...r.value);
  }
  const all = checkPublishList(out);
  if (!all.ok) return all.problem;
  return out.length ? out : undefined;
}

/** A lesson step's -v lines for the volumes field, {share} filled in with the app's share folder. */
export function presetVolumes(preset: LessonPreset, shareDir: string | undefined): string {
  return (preset.volumes ?? []).map((v) => fillVolume(v, shareDir ?? '{share}')).join('\n');
}

export const USER_NS_LOCKED = 'as an ordinary user, the user namespace is what makes you root inside';

/** What the runtime does without --ns: every namespace, user too when rootless. */
export function defaultNamespaces(caps: Capabilities | undefined): Namespace[] {
  return NAMESPACES.filter((n) => n !== 'user' || caps?.rootless === true);
}

/** Checkboxes the user may not change, with the one-line reason shown beside them. */
export function lockedNamespaces(caps: Capabilities | undefined): Partial<Record<Namespace, string>> {
  return caps?.rootless ? { user: USER_NS_LOCKED } : {};
}

type LimitField = 'memory' | 'cpus' | 'pids';

/** Limit fields that cannot work for this user, each with why (shown as the field's reason). */
export function disabledLimits(caps: Capabilities | undefined): Partial<Record<LimitField, string>> {
  if (!caps) return {};
  const out: Partial<Record<LimitField, string>> = {};
  for (const f of ['memory', 'cpus', 'pids'] as const) {
    if (!caps.cgroupLimits[f]) out[f] = caps.cgroupLimits.reason ?? 'cgroup limits are not available here';
  }
  return out;
}

/** A lesson step's namespaces for this user: rootless, the user namespace is always added. */
export function presetNamespaces(preset: LessonPreset, caps: Capabilities | undefined): Namespace[] {
  return NAMESPACES.filter((n) => preset.namespaces.includes(n) || (n === 'user' && caps?.rootless === true));
}

/** "needs root: …" when a lesson step cannot run for this user; undefined when it can. */
export function presetNeedsRoot(preset: LessonPreset, caps: Capabilities | undefined): string | undefined {
  if (!caps?.rootless) return undefined;
  const off = disabledLimits(caps);
  const wanted = ([['memory', preset.memory], ['cpus', preset.cpus], ['pids', preset.pidsLimit]] as const).filter(([f, v]) => v !== undefined && off[f]);
  if (wanted.length > 0) return `needs root: the ${wanted.map(([f]) => f).join(' and ')} limit${wanted.length > 1 ? 's' : ''} of this step (${off[wanted[0][0]]})`;
  // -p without root is pasta's listening socket; without pasta nothing can carry it (the runtime refuses it too)
  if (preset.ports?.length && caps.network.mode === 'loopback') return `needs root: a published port (-p) without root needs pasta, which cannot run here (${caps.network.note ?? 'see the preflight checks'})`;
  return undefined;
}

/** A lesson step's ports for the ports field (-p entries separated by commas). */
export function presetPorts(preset: LessonPreset): string {
  return (preset.ports ?? []).join(', ');
}

/** The form as typed → the settings to launch, or the one-line problem shown inline. */
export function formSettings(f: LaunchFields, caps: Capabilities | undefined): LaunchSettings | string {
  let argv: string[];
  try {
    argv = splitCommand(f.command);
  } catch (err) {
    return (err as Error).message;
  }
  const blank = (s: string): string | undefined => (s.trim() === '' ? undefined : s.trim());
  const pids = blank(f.pidsLimit);
  const volumes = volumeList(f.volumes);
  if (typeof volumes === 'string') return volumes;
  const publish = portList(f.ports);
  if (typeof publish === 'string') return publish;
  const network = f.network && f.network !== 'bridge' ? f.network : undefined;
  if (publish && network) return `ports cannot be published with network ${network}; choose bridge or clear the ports`;
  if (network === 'host' && f.namespaces.includes('net')) return 'network host shares the host\'s network: untick net (or choose bridge)';
  if (network === 'none' && !f.namespaces.includes('net')) return 'network none needs its own net namespace: tick net';
  if (publish && !f.namespaces.includes('net')) return 'ports need the net namespace: tick net';
  const req: LaunchSettings = {
    command: argv,
    rootfs: f.useDefault ? undefined : f.rootfs.trim(),
    hostname: blank(f.hostname),
    namespaces: f.namespaces,
    memory: blank(f.memory),
    cpus: blank(f.cpus),
    pidsLimit: pids === undefined ? undefined : Number(pids),
    ...(capList(f.capAdd) ? { capAdd: capList(f.capAdd) } : {}),
    ...(capList(f.capDrop) ? { capDrop: capList(f.capDrop) } : {}),
    ...(volumes ? { volumes } : {}),
    ...(publish ? { publish } : {}),
    ...(network ? { network } : {}),
  };
  if (volumes && !req.namespaces.includes('mnt')) return 'volumes need the mnt namespace (the bind is made in it); tick mnt';
  // judged as typed: Number("abc") would show as NaN
  const pidsParsed = pids === undefined ? undefined : parsePidsLimit(pids);
  if (pidsParsed && !pidsParsed.ok) return problemLine('pids', pids!, pidsParsed.problem);
  if (caps?.rootless && !caps.userNamespaces.ok) return `as an ordinary user a container needs a user namespace, and this user cannot create one: ${caps.userNamespaces.reason ?? 'see the preflight checks'}`;
  if (caps?.rootless && !req.namespaces.includes('user')) return `tick user: ${USER_NS_LOCKED}`;
  const off = disabledLimits(caps);
  for (const [field, value] of [['memory', req.memory], ['cpus', req.cpus], ['pids', req.pidsLimit]] as const) {
    if (value !== undefined && off[field]) return `${field}: ${off[field]}; leave it empty`;
  }
  const problem = runRequestProblem({ ...req, cols: 80, rows: 24 }, caps?.cpus)
    ?? (!f.useDefault && !req.rootfs ? 'type a rootfs path, or choose the embedded default' : undefined);
  return problem ?? req;
}
