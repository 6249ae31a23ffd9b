// Validates a RunSpec before anything is created, so bad input costs nothing and leaves nothing behind.
import { hostnameProblem } from '../../shared/api';
import { NAMESPACES, type Namespace, type RunSpec } from '../../shared/types';
import { parseLimits, type Limits } from './cgroups';
import { LockerError, quote } from './errors';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_ARG = 128 * 1024;

export function parseNamespaceList(list: string, flag: string): Namespace[] {
  const out: Namespace[] = [];
  // "none" says on purpose what an empty list would say by accident: no isolation at all.
  if (list.trim() === 'none') return out;
  const names = list.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new LockerError(`${flag} ${quote(list)} names no namespace; list some (e.g. ${flag} pid,uts) or say ${flag} none`);
  for (const raw of names) {
    if (!(NAMESPACES as readonly string[]).includes(raw)) {
      throw new LockerError(`unknown namespace ${quote(raw)} in ${flag}; choose from ${NAMESPACES.join(',')}`);
    }
    if (!out.includes(raw as Namespace)) out.push(raw as Namespace);
  }
  return out;
}

export function defaultNamespaces(rootless: boolean): Namespace[] {
  return NAMESPACES.filter((n) => rootless || n !== 'user');
}

function checkString(value: string, what: string): void {
  if (value.includes('\0')) throw new LockerError(`${what} contains a NUL byte; remove it`);
  if (value.length > MAX_ARG) throw new LockerError(`${what} is ${value.length} characters long; keep it under ${MAX_ARG}`);
}

export interface ValidSpec {
  command: string[];
  rootfs?: string;
  hostname?: string;
  name?: string;
  env: string[];
  workdir?: string;
  namespaces: Namespace[];
  tty: boolean;
  cols: number;
  rows: number;
  limits: Limits;
}

/** Checks every field; throws LockerError with one line naming the problem and the fix. */
export function validateSpec(spec: RunSpec, rootless: boolean): ValidSpec {
  if (!Array.isArray(spec.command) || spec.command.length === 0 || spec.command.some((a) => typeof a !== 'string')) {
    throw new LockerError('no command given; name one, e.g. locker run -- /bin/sh');
  }
  if (spec.command[0] === '') throw new LockerError('the command is empty; name one, e.g. /bin/sh');
  spec.command.forEach((a, i) => checkString(a, `command argument ${i}`));
  const namespaces = spec.namespaces ?? defaultNamespaces(rootless);
  for (const n of namespaces) {
    if (!(NAMESPACES as readonly string[]).includes(n)) throw new LockerError(`unknown namespace ${quote(String(n))}; choose from ${NAMESPACES.join(',')}`);
  }
  if (rootless && !namespaces.includes('user')) {
    throw new LockerError('without root, a container needs the user namespace: keep "user" in --ns (or run as root)');
  }
  if (spec.hostname !== undefined) {
    checkString(spec.hostname, 'the hostname');
    const problem = hostnameProblem(spec.hostname);
    if (problem) throw new LockerError(problem);
    if (!namespaces.includes('uts')) throw new LockerError('--hostname needs the uts namespace (it would rename the host); add uts to --ns');
  }
  if (spec.name !== undefined && !NAME.test(spec.name)) {
    throw new LockerError(`invalid name "${String(spec.name).slice(0, 70)}": use letters, digits, '_', '.', '-' (at most 64), starting with a letter or digit`);
  }
  const env = spec.env ?? [];
  for (const e of env) {
    checkString(e, 'an --env value');
    const key = e.split('=', 1)[0];
    if (!e.includes('=') || !ENV_KEY.test(key)) throw new LockerError(`invalid --env "${e.slice(0, 70)}": expected KEY=VALUE, e.g. --env GREETING=hello`);
  }
  if (spec.workdir !== undefined) {
    checkString(spec.workdir, '--workdir');
    if (!spec.workdir.startsWith('/')) throw new LockerError(`--workdir "${spec.workdir}" must be an absolute path, e.g. /root`);
  }
  if (spec.rootfs !== undefined) {
    checkString(spec.rootfs, '--rootfs');
    if (spec.rootfs === '') throw new LockerError('--rootfs is empty; give a directory or a .tar/.tar.gz, or omit it for the default rootfs');
    if (!namespaces.includes('mnt')) throw new LockerError('--rootfs needs the mnt namespace (pivot_root happens in it); add mnt to --ns');
  }
  let limits: Limits;
  try {
    limits = parseLimits({ memory: spec.memory, cpus: spec.cpus, pidsLimit: spec.pidsLimit });
  } catch (e) {
    throw new LockerError((e as Error).message);
  }
  const size = (v: number | undefined, d: number): number => (Number.isInteger(v) && v! > 0 && v! < 10000 ? v! : d);
  return {
    command: spec.command,
    rootfs: spec.rootfs,
    hostname: spec.hostname,
    name: spec.name,
    env,
    workdir: spec.workdir,
    namespaces,
    tty: spec.tty === true,
    cols: size(spec.cols, 80),
    rows: size(spec.rows, 24),
    limits,
  };
}
