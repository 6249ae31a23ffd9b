// One grammar per rule: every place a person types a memory size, a CPU count, a pids limit, a
// hostname, a namespace list or a container name (the CLI, the API validator, the launch form,
// lesson files) parses it here, so the same text is accepted or refused everywhere, with the
// same bounds and the same one-line problem naming the fix.
// No Node or Electron imports: the renderer compiles this file too.
import { NAMESPACES, NETWORK_MODES, PROPAGATIONS, type Namespace, type NetworkMode, type PortSpec, type Propagation, type VolumeSpec } from './types';

/** A parsed value, or one line saying what is wrong and what to write instead. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = <T>(problem: string): Parsed<T> => ({ ok: false, problem });

/** Quotes what was typed for a problem line, cut to a readable length. */
export function shown(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}

/** `--memory "abc": expected …` / `steps[0].preset.memory "abc": expected …`: the field, what was typed, the problem. */
export function problemLine(field: string, text: string | number, problem: string): string {
  return `${field} ${shown(String(text).trim())}: ${problem}`;
}

/** Smallest memory limit accepted: below this even a shell cannot start. */
export const MIN_MEMORY = 6 * 1024 * 1024;
/** The kernel's PID_MAX_LIMIT: no pids limit above it means anything. */
export const MAX_PIDS = 4194304;
/** The smallest CPU share: cpu.max / cfs_quota_us take at least 1000 µs per 100000 µs period. */
export const MIN_CPUS = 0.01;
/** The kernel allows 64 bytes (HOST_NAME_MAX). */
export const HOSTNAME_BYTES = 64;

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };
const DECIMAL = /^(\d+(?:\.\d*)?|\.\d+)$/;

/** "64m", "64M", "1g", "1.5g", "8192k", "1GiB", "10485760" → bytes; at least 6m. */
export function parseMemory(input: string | number): Parsed<number> {
  const text = String(input).trim();
  const m = /^(\d+(?:\.\d*)?|\.\d+)\s*([bkmgt]?)(?:i?b)?$/i.exec(text);
  if (!m) return bad('expected a size like 64m or 1g (units b, k, m, g)');
  const bytes = Math.floor(Number(m[1]) * UNITS[m[2].toLowerCase()]);
  if (!Number.isSafeInteger(bytes)) return bad('too large; use a size like 64m or 1g');
  if (bytes < MIN_MEMORY) return bad('the minimum is 6m; use a size like 64m or 1g');
  return ok(bytes);
}

/** "0.5", ".5", "2" → CPUs; between 0.01 and the CPUs of the machine that runs the container. */
export function parseCpus(input: string | number, ncpu: number): Parsed<number> {
  const text = String(input).trim();
  if (!DECIMAL.test(text)) return bad('expected a number of CPUs like 0.5 or 2');
  const cpus = Number(text);
  if (cpus < MIN_CPUS || cpus > ncpu) return bad(`must be between ${MIN_CPUS} and ${ncpu} (the CPUs on this machine)`);
  return ok(cpus);
}

/** "20" → 20: a whole number of processes from 1 to the kernel's PID_MAX_LIMIT. */
export function parsePidsLimit(input: string | number): Parsed<number> {
  const text = String(input).trim();
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1) return bad('expected a whole number of processes, at least 1 (e.g. 100)');
  if (n > MAX_PIDS) return bad(`at most ${MAX_PIDS} (the kernel's limit); e.g. 100`);
  return ok(n);
}

const LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** RFC 1123: dot-separated labels of letters, digits and inner hyphens, at most 64 bytes. */
export function parseHostname(hostname: string): Parsed<string> {
  if (hostname.length === 0) return bad('the hostname is empty');
  if (hostname.includes('\0')) return bad('the hostname contains a NUL byte');
  const bytes = new TextEncoder().encode(hostname).length;
  if (bytes > HOSTNAME_BYTES) return bad(`hostname "${hostname.slice(0, 20)}…" is ${bytes} bytes; the kernel allows at most ${HOSTNAME_BYTES}`);
  if (!hostname.split('.').every((l) => LABEL.test(l))) return bad(`invalid hostname "${hostname.slice(0, 70)}": use letters, digits and inner '-' (dot-separated labels), e.g. demo-1`);
  return ok(hostname);
}

/** A list of namespace names (from a form, a lesson or the API): each known, none twice. `where`: e.g. "--ns". */
export function checkNamespaces(names: readonly string[], where?: string): Parsed<Namespace[]> {
  const out: Namespace[] = [];
  for (const raw of names) {
    if (!(NAMESPACES as readonly string[]).includes(raw)) return bad(`unknown namespace ${shown(raw)}${where ? ` in ${where}` : ''}; choose from ${NAMESPACES.join(',')}`);
    if (out.includes(raw as Namespace)) return bad(`namespace "${raw}" is listed twice; name each once`);
    out.push(raw as Namespace);
  }
  return ok(out);
}

/** "pid,uts" (the CLI's --ns / --no-ns) → namespaces; "none" says on purpose what an empty list would say by accident. */
export function parseNamespaceList(list: string, flag = '--ns'): Parsed<Namespace[]> {
  if (list.trim() === 'none') return ok([]);
  const names = list.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) return bad(`${flag} ${shown(list)} names no namespace; list some (e.g. ${flag} pid,uts) or say ${flag} none`);
  return checkNamespaces(names, flag);
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** A container name for locker ps/exec/stop. */
export function parseName(name: string): Parsed<string> {
  if (!NAME.test(name)) return bad(`invalid name "${name.slice(0, 70)}": use letters, digits, '_', '.', '-' (at most 64), starting with a letter or digit`);
  return ok(name);
}

const PUBLISH_FIX = 'write -p HOSTPORT:CONTAINERPORT, e.g. -p 8080:80, -p 127.0.0.1:8080:80 or -p 5353:53/udp';
/** A range like 8000-8010 publishes each port; more than this in one -p is refused (each is a rule). */
export const MAX_PUBLISH_RANGE = 64;

function portRange(text: string): [number, number] | undefined {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  if (!m) return undefined;
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  return lo >= 1 && hi <= 65535 && lo <= hi ? [lo, hi] : undefined;
}

function ipv4(text: string): boolean {
  const parts = text.split('.');
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

/**
 * `-p [IP:]HOSTPORT:CONTAINERPORT[/tcp|udp]` (docker's --publish; ranges like 8000-8001:80-81 give one
 * port each). IP 0.0.0.0 or none: every IPv4 address of the host. A random host port (-p 80) and
 * IPv6 host addresses are refused with the fix.
 */
export function parsePublish(text: string): Parsed<PortSpec[]> {
  const t = text.trim();
  const slash = t.lastIndexOf('/');
  const proto = slash < 0 ? 'tcp' : t.slice(slash + 1).toLowerCase();
  if (proto !== 'tcp' && proto !== 'udp') return bad(problemLine('-p', text, `unknown protocol ${shown(proto)}; use /tcp (the default) or /udp`));
  const body = slash < 0 ? t : t.slice(0, slash);
  if (body.startsWith('[') || body.split(':').length > 3) return bad(problemLine('-p', text, `IPv6 host addresses are not supported; publish on IPv4 (e.g. -p 127.0.0.1:8080:80)`));
  const parts = body.split(':');
  if (parts.length === 1) return bad(problemLine('-p', text, `name the host port too (Locker does not pick a random one); ${PUBLISH_FIX}`));
  const [ip, host, cont] = parts.length === 3 ? parts : ['', parts[0], parts[1]];
  if (ip !== '' && !ipv4(ip)) return bad(problemLine('-p', text, `${shown(ip)} is not an IPv4 address; ${PUBLISH_FIX}`));
  const hostRange = portRange(host);
  const contRange = portRange(cont);
  if (!hostRange || !contRange) return bad(problemLine('-p', text, `ports are whole numbers from 1 to 65535 (or a range like 8000-8010); ${PUBLISH_FIX}`));
  const n = hostRange[1] - hostRange[0];
  if (n !== contRange[1] - contRange[0]) return bad(problemLine('-p', text, 'the host and container ranges differ in length; give ranges of the same size'));
  if (n + 1 > MAX_PUBLISH_RANGE) return bad(problemLine('-p', text, `at most ${MAX_PUBLISH_RANGE} ports in one range`));
  const hostIp = ip === '' || ip === '0.0.0.0' ? undefined : ip;
  const out: PortSpec[] = [];
  for (let i = 0; i <= n; i++) out.push({ ...(hostIp ? { hostIp } : {}), hostPort: hostRange[0] + i, containerPort: contRange[0] + i, protocol: proto });
  return ok(out);
}

/** A published port that arrives as data (the API): the same rules as -p, one port. */
export function checkPortSpec(v: unknown): Parsed<PortSpec> {
  const o = v as Partial<PortSpec> | null;
  if (!o || !Number.isInteger(o.hostPort) || !Number.isInteger(o.containerPort)) return bad(`a published port needs a hostPort and a containerPort; ${PUBLISH_FIX}`);
  const proto = o.protocol ?? 'tcp';
  const r = parsePublish(`${o.hostIp ? `${String(o.hostIp)}:` : ''}${o.hostPort}:${o.containerPort}/${String(proto)}`);
  if (!r.ok) return r;
  if (r.value.length !== 1) return bad(`a published port is one port; ${PUBLISH_FIX}`);
  return ok(r.value[0]);
}

/** Several -p (the same host port and protocol twice is refused: the second could never be reached). */
export function checkPublishList(ports: readonly PortSpec[]): Parsed<PortSpec[]> {
  const seen = new Set<string>();
  for (const p of ports) {
    const key = `${p.hostPort}/${p.protocol}`;
    if (seen.has(key)) return bad(`host port ${key} is published twice; publish each host port once`);
    seen.add(key);
  }
  return ok([...ports]);
}

/** `--network bridge|none|host` (docker's names; "default" is bridge). */
export function parseNetworkMode(text: string): Parsed<NetworkMode> {
  const t = text.trim() === 'default' ? 'bridge' : text.trim();
  if ((NETWORK_MODES as readonly string[]).includes(t)) return ok(t as NetworkMode);
  if (t.startsWith('container:')) return bad(problemLine('--network', text, 'joining another container\'s network is not supported; use bridge, none or host'));
  return bad(problemLine('--network', text, `unknown network; use bridge (the default), none (loopback only) or host (the host's own network)`));
}

const VOLUME_FIX = 'write -v /host/path:/container/path[:ro][,rslave]';

/** A propagation name as typed (one of -v's options, or --mount's bind-propagation value). */
function propagationProblem(name: string): string | undefined {
  if ((PROPAGATIONS as readonly string[]).includes(name)) return undefined;
  if (name === 'shared' || name === 'rshared') return `${name} is not supported: Locker never sends the container's mounts back to the host; use rslave (the host's new mounts appear inside) or rprivate (the default)`;
  return `unknown propagation ${shown(name)}; use ${PROPAGATIONS.join(', ')}`;
}

function volume(flag: string, text: string, source: string, target: string, readonly: boolean, propagation?: string): Parsed<VolumeSpec> {
  if (source === '') return bad(problemLine(flag, text, `no host path; ${VOLUME_FIX}`));
  // Docker reads a bare name as a named volume; Locker binds host paths only.
  if (!source.startsWith('/')) return bad(problemLine(flag, text, `the host path must be absolute (named volumes are not supported); ${VOLUME_FIX}`));
  if (!target.startsWith('/')) return bad(problemLine(flag, text, `the container path must be absolute; ${VOLUME_FIX}`));
  if (target.split('/').includes('..')) return bad(problemLine(flag, text, `the container path may not contain '..'; ${VOLUME_FIX}`));
  if (target.replace(/\/+/g, '/') === '/') return bad(problemLine(flag, text, `cannot bind over the container's /; name a directory such as /data`));
  if (source.includes('\0') || target.includes('\0')) return bad(problemLine(flag, text, 'contains a NUL byte; remove it'));
  const problem = propagation === undefined ? undefined : propagationProblem(propagation);
  if (problem) return bad(problemLine(flag, text, problem));
  const out: VolumeSpec = { source, target: target.replace(/\/+/g, '/').replace(/(.)\/$/, '$1'), readonly };
  if (propagation !== undefined && propagation !== 'rprivate') out.propagation = propagation as Propagation;
  return ok(out);
}

/** `-v HOST:CONTAINER[:OPTIONS]` (docker's --volume, host paths only; options ro, rw and a propagation, comma-separated) → a bind mount. */
export function parseVolume(text: string): Parsed<VolumeSpec> {
  const parts = text.split(':');
  if (parts.length < 2 || parts.length > 3) return bad(problemLine('-v', text, `expected HOST:CONTAINER or HOST:CONTAINER:ro; ${VOLUME_FIX}`));
  const opts = parts[2] === undefined ? [] : parts[2].split(',');
  const known = ['ro', 'rw', ...PROPAGATIONS, 'shared', 'rshared'];
  const unknown = opts.find((o) => !known.includes(o));
  if (unknown !== undefined) return bad(problemLine('-v', text, `unknown option ${shown(unknown)}; Locker knows ro, rw and a propagation (${PROPAGATIONS.join(', ')})`));
  const propagations = opts.filter((o) => o !== 'ro' && o !== 'rw');
  if (propagations.length > 1) return bad(problemLine('-v', text, `names ${propagations.join(' and ')}; give one propagation`));
  return volume('-v', text, parts[0], parts[1], opts.includes('ro'), propagations[0]);
}

/** `--mount type=bind,src=…,dst=…[,readonly][,bind-propagation=rslave]` (docker's spelling; source/target/destination too) → a bind mount. */
export function parseMount(text: string): Parsed<VolumeSpec> {
  const fields = new Map<string, string>();
  for (const item of text.split(',')) {
    const eq = item.indexOf('=');
    const key = (eq < 0 ? item : item.slice(0, eq)).trim();
    const value = eq < 0 ? 'true' : item.slice(eq + 1);
    const canonical = ({ src: 'source', source: 'source', dst: 'target', destination: 'target', target: 'target', type: 'type', readonly: 'readonly', ro: 'readonly', 'bind-propagation': 'propagation' } as Record<string, string>)[key];
    if (!canonical) return bad(problemLine('--mount', text, `unknown field ${shown(key)}; write --mount type=bind,src=/host/path,dst=/container/path[,readonly][,bind-propagation=rslave]`));
    fields.set(canonical, value);
  }
  if (fields.get('type') !== 'bind') return bad(problemLine('--mount', text, 'only type=bind is supported; write --mount type=bind,src=/host/path,dst=/container/path'));
  const ro = fields.get('readonly') ?? 'false';
  if (!['true', 'false', '1', '0'].includes(ro)) return bad(problemLine('--mount', text, 'readonly takes true or false (or no value)'));
  return volume('--mount', text, fields.get('source') ?? '', fields.get('target') ?? '', ro === 'true' || ro === '1', fields.get('propagation'));
}

/** A bind mount that arrives as data (the API, a lesson): the same checks as -v, with the path normalised. */
export function checkVolumeSpec(v: unknown): Parsed<VolumeSpec> {
  const o = v as Partial<VolumeSpec> | null;
  if (!o || typeof o.source !== 'string' || typeof o.target !== 'string') return bad(`a volume needs a source and a target path; ${VOLUME_FIX}`);
  if (o.propagation !== undefined && typeof o.propagation !== 'string') return bad(`a volume's propagation must be one of ${PROPAGATIONS.join(', ')}`);
  return volume('volume', `${o.source}:${o.target}`, o.source, o.target, o.readonly === true, o.propagation);
}

/** The -v line for a volume (the equivalent commands, the form): options only when they differ from the default. */
export function volumeText(v: VolumeSpec): string {
  const opts = [...(v.readonly ? ['ro'] : []), ...(v.propagation ? [v.propagation] : [])];
  return `${v.source}:${v.target}${opts.length ? `:${opts.join(',')}` : ''}`;
}

/**
 * --cap-add / --cap-drop: docker's names, with or without CAP_, any case, comma-separated or
 * repeated, and ALL. `known` is the runtime's capability table (kept out of this file: it reads
 * the kernel). Answers the names without CAP_, upper case.
 */
export function parseCapabilities(values: readonly string[], flag: string, known: readonly string[]): Parsed<string[]> {
  const out: string[] = [];
  for (const raw of values.flatMap((v) => v.split(','))) {
    const name = raw.trim().toUpperCase().replace(/^CAP_/, '');
    if (name !== 'ALL' && !known.includes(name)) return bad(problemLine(flag, raw, `unknown capability; use docker's names such as CHOWN, NET_ADMIN, SYS_ADMIN (CAP_ prefix optional) or ALL`));
    if (!out.includes(name)) out.push(name);
  }
  return ok(out);
}

/** The highest id a uid/gid may be: (uid_t)-1 means "unchanged" to the kernel. */
const MAX_ID = 4294967294;

/** A user or group as typed: a number, or a name to look up in the image's /etc/passwd or /etc/group. */
export type IdOrName = { id: number } | { name: string };

/** POSIX-portable user and group names (what useradd accepts), at most 32 characters. */
const ID_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$/;

/**
 * `--user UID[:GID]` or `NAME[:GROUP]` (each part a number or a name, as docker takes it). Names are
 * resolved later, in the image's /etc/passwd and /etc/group (runtime/users.ts).
 */
export function parseUser(text: string): Parsed<{ user: IdOrName; group?: IdOrName }> {
  const parts = text.trim().split(':');
  const fix = 'e.g. --user 1000:1000 or --user nobody:nogroup';
  if (parts.length > 2 || parts.some((p) => p === '')) return bad(problemLine('--user', text, `expected UID[:GID] or NAME[:GROUP]; ${fix}`));
  const one = (p: string): IdOrName | undefined => (/^\d{1,10}$/.test(p) ? { id: Number(p) } : ID_NAME.test(p) ? { name: p } : undefined);
  const [user, group] = parts.map(one);
  if (!user || (parts.length === 2 && !group)) return bad(problemLine('--user', text, `not a number or a user/group name; ${fix}`));
  for (const x of [user, group]) if (x && 'id' in x && x.id > MAX_ID) return bad(problemLine('--user', text, `ids go up to ${MAX_ID}; ${fix}`));
  return ok(group ? { user, group } : { user });
}

/** Linux signal numbers (x86-64, arm64 and most others), docker's names without SIG. */
export const SIGNAL_NUMBERS: Readonly<Record<string, number>> = {
  HUP: 1, INT: 2, QUIT: 3, ILL: 4, TRAP: 5, ABRT: 6, IOT: 6, BUS: 7, FPE: 8, KILL: 9, USR1: 10, SEGV: 11, USR2: 12, PIPE: 13,
  ALRM: 14, TERM: 15, STKFLT: 16, CHLD: 17, CLD: 17, CONT: 18, STOP: 19, TSTP: 20, TTIN: 21, TTOU: 22, URG: 23, XCPU: 24,
  XFSZ: 25, VTALRM: 26, PROF: 27, WINCH: 28, IO: 29, POLL: 29, PWR: 30, SYS: 31, RTMIN: 34, RTMAX: 64,
};

/** `kill -s`: KILL, SIGKILL, sigterm, 9, RTMIN+3 → the signal number (1-64). */
export function parseSignal(text: string, flag = '--signal'): Parsed<number> {
  const t = text.trim().toUpperCase().replace(/^SIG/, '');
  const rt = /^RT(MIN|MAX)([+-]\d{1,2})?$/.exec(t);
  const n = /^\d{1,2}$/.test(t) ? Number(t) : rt ? SIGNAL_NUMBERS[`RT${rt[1]}`] + Number(rt[2] ?? 0) : SIGNAL_NUMBERS[t];
  if (n === undefined || !(n >= 1 && n <= 64)) return bad(problemLine(flag, text, 'not a signal; use a name such as TERM, SIGKILL, HUP, USR1 or a number from 1 to 64'));
  return ok(n);
}

/** docker's --ulimit names → RLIMIT_* numbers (linux/resource.h). */
export const ULIMITS: Readonly<Record<string, number>> = {
  cpu: 0, fsize: 1, data: 2, stack: 3, core: 4, rss: 5, nproc: 6, nofile: 7, memlock: 8, as: 9, locks: 10,
  sigpending: 11, msgqueue: 12, nice: 13, rtprio: 14, rttime: 15,
};

export interface Ulimit { name: string; soft: number; hard: number }

/** "unlimited" / -1 is RLIM_INFINITY, kept as -1 here. */
const RLIM_VALUE = /^(-1|\d{1,19}|unlimited)$/;
const rlimValue = (v: string): number => (v === 'unlimited' || v === '-1' ? -1 : Number(v));

/** `--ulimit nofile=1024:2048` (docker's spelling; HARD defaults to SOFT; -1 or unlimited) → a limit. */
export function parseUlimit(text: string): Parsed<Ulimit> {
  const m = /^([a-z]+)=([^:]+)(?::(.+))?$/.exec(text.trim());
  if (!m) return bad(problemLine('--ulimit', text, 'expected NAME=SOFT[:HARD], e.g. --ulimit nofile=1024:2048'));
  if (ULIMITS[m[1]] === undefined) return bad(problemLine('--ulimit', text, `unknown limit ${shown(m[1])}; use one of ${Object.keys(ULIMITS).join(', ')}`));
  const hardText = m[3] ?? m[2];
  if (!RLIM_VALUE.test(m[2]) || !RLIM_VALUE.test(hardText)) return bad(problemLine('--ulimit', text, 'limits are whole numbers (or -1/unlimited), e.g. --ulimit nofile=1024:2048'));
  const soft = rlimValue(m[2]);
  const hard = rlimValue(hardText);
  if (!Number.isSafeInteger(soft) || !Number.isSafeInteger(hard)) return bad(problemLine('--ulimit', text, 'too large; use -1 (unlimited) for no limit'));
  if (hard !== -1 && (soft === -1 || soft > hard)) return bad(problemLine('--ulimit', text, `the soft limit ${m[2]} is above the hard limit ${hardText}; make SOFT <= HARD`));
  return ok({ name: m[1], soft, hard });
}

/**
 * An --env-file as docker reads it: one VAR=VALUE a line taken literally (no quotes or `$`
 * expansion), blank lines and lines starting with # skipped, and a bare VAR taken from `hostEnv`
 * (skipped when unset there). `where` names the file for the problem line.
 */
export function parseEnvFile(text: string, where: string, hostEnv: Readonly<Record<string, string | undefined>>): Parsed<string[]> {
  const out: string[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, '').replace(/^\s+/, '');
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const key = eq < 0 ? line : line.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) return bad(`${where} line ${i + 1}: ${shown(key)} is not a variable name; write VAR=VALUE (no spaces around =, no quotes needed)`);
    if (eq >= 0) out.push(line);
    else if (hostEnv[key] !== undefined) out.push(`${key}=${hostEnv[key]}`);
  }
  return ok(out);
}
