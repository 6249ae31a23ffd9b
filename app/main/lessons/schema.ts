// Lesson files are written by teachers: check every field and say, in one line, which file, which
// field and what to write instead. Nothing half-valid reaches the UI.
import { availableParallelism } from 'node:os';
import { VERIFY_RULES, hostnameProblem, type Lesson, type LessonCommand, type LessonPreset, type LessonStep, type VerifyRule } from '../../shared/api';
import { checkNamespaces, parseCapabilities, parseCpus, parseMemory, parsePidsLimit, parseVolume, shown, type Parsed } from '../../shared/grammar';
import { portList } from '../../shared/launch-form';
import { fillVolume } from '../../shared/lesson-command';
import { CAPS } from '../runtime/security/capabilities';
import { NAMESPACES, NETWORK_MODES, type Namespace, type NetworkMode } from '../../shared/types';

export class LessonError extends Error {
  constructor(readonly field: string, readonly problem: string) {
    super(`${field}: ${problem}`);
    this.name = 'LessonError';
  }
}

const SLUG = /^[a-z0-9][a-z0-9-]{0,63}$/;

function fail(field: string, problem: string): never {
  throw new LessonError(field, problem);
}

function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** Levenshtein distance ≤ 2 → "did you mean". */
function nearest(word: string, options: readonly string[]): string | undefined {
  const d = (a: string, b: string): number => {
    const row = Array.from({ length: b.length + 1 }, (_, i) => i);
    for (let i = 1; i <= a.length; i++) {
      let prev = row[0];
      row[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const cur = row[j];
        row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
        prev = cur;
      }
    }
    return row[b.length];
  };
  return options.map((o) => [o, d(word, o)] as const).filter(([, n]) => n <= 2).sort((x, y) => x[1] - y[1])[0]?.[0];
}

function object(v: unknown, field: string, keys: { required: string[]; optional?: string[] }): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(field, `must be an object ({ … }), got ${kind(v)}`);
  const known = [...keys.required, ...(keys.optional ?? [])];
  const rec = v as Record<string, unknown>;
  for (const k of Object.keys(rec)) {
    if (!known.includes(k)) {
      const near = nearest(k, known);
      fail(`${field}.${k}`, near ? `unknown field; did you mean "${near}"?` : `unknown field; allowed: ${known.join(', ')}`);
    }
  }
  for (const k of keys.required) if (rec[k] === undefined) fail(field, `is missing "${k}"`);
  return rec;
}

function text(v: unknown, field: string, max = 4000): string {
  if (typeof v !== 'string') fail(field, `must be text in quotes, got ${kind(v)}`);
  if (v.trim() === '') fail(field, 'is empty; write something');
  if (v.length > max) fail(field, `is ${v.length} characters; keep it under ${max}`);
  return v;
}

/** Long text may be given as an array of lines (JSON has no multi-line strings). */
function prose(v: unknown, field: string): string {
  if (Array.isArray(v)) {
    if (v.length === 0) fail(field, 'is an empty list of lines');
    return v.map((line, i) => {
      if (typeof line !== 'string') fail(`${field}[${i}]`, `must be text in quotes, got ${kind(line)}`);
      return line;
    }).join('\n');
  }
  return text(v, field, 8000);
}

function slug(v: unknown, field: string): string {
  const s = text(v, field, 64);
  if (!SLUG.test(s)) fail(field, `"${s}" is not an id; use lowercase letters, digits and '-', e.g. "uts-hostname"`);
  return s;
}

function namespace(v: unknown, field: string): Namespace {
  if (typeof v !== 'string' || !(NAMESPACES as readonly string[]).includes(v)) {
    const near = typeof v === 'string' ? nearest(v, NAMESPACES) : undefined;
    fail(field, `${JSON.stringify(v)} is not a namespace; use one of ${NAMESPACES.join(', ')}${near ? ` (did you mean "${near}"?)` : ''}`);
  }
  return v as Namespace;
}

function bool(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') fail(field, `must be true or false (no quotes), got ${kind(v)}`);
  return v;
}

function whole(v: unknown, field: string, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) fail(field, `must be a whole number ≥ ${min} (no quotes), got ${JSON.stringify(v)}`);
  return v;
}

function preset(v: unknown, field: string): LessonPreset {
  const r = object(v, field, { required: ['namespaces'], optional: ['command', 'hostname', 'memory', 'cpus', 'pidsLimit', 'stepThrough', 'capAdd', 'capDrop', 'seccomp', 'volumes', 'network', 'ports'] });
  if (!Array.isArray(r.namespaces)) fail(`${field}.namespaces`, `must be a list like ["pid", "uts"] ([] for none), got ${kind(r.namespaces)}`);
  const namespaces = r.namespaces.map((n, i) => namespace(n, `${field}.namespaces[${i}]`));
  const nsCheck = checkNamespaces(namespaces);
  if (!nsCheck.ok) fail(`${field}.namespaces`, nsCheck.problem);
  const out: LessonPreset = { namespaces };
  if (r.command !== undefined) out.command = text(r.command, `${field}.command`, 1000);
  if (r.hostname !== undefined) {
    out.hostname = text(r.hostname, `${field}.hostname`, 253); // the grammar judges the length (in bytes)
    const p = hostnameProblem(out.hostname);
    if (p) fail(`${field}.hostname`, p);
    if (!namespaces.includes('uts')) fail(`${field}.hostname`, 'needs "uts" in namespaces (it would rename the host); add it or drop the hostname');
  }
  // The same grammar as the CLI, the API and the launch form (app/shared/grammar.ts).
  const limit = (key: 'memory' | 'cpus' | 'pidsLimit', parse: (v: string | number) => Parsed<number>): void => {
    const v = r[key];
    if (v === undefined) return;
    if (key === 'pidsLimit' ? typeof v !== 'number' : typeof v !== 'string') {
      fail(`${field}.${key}`, key === 'pidsLimit' ? `must be a whole number (no quotes), got ${JSON.stringify(v)}` : `must be text in quotes, e.g. "${key === 'memory' ? '64m' : '0.5'}", got ${kind(v)}`);
    }
    const parsed = parse(v as string | number);
    if (!parsed.ok) fail(`${field}.${key}`, `${shown(String(v))}: ${parsed.problem}`);
  };
  limit('memory', parseMemory);
  limit('cpus', (v) => parseCpus(v, availableParallelism()));
  limit('pidsLimit', parsePidsLimit);
  if (r.memory !== undefined) out.memory = r.memory as string;
  if (r.cpus !== undefined) out.cpus = r.cpus as string;
  if (r.pidsLimit !== undefined) out.pidsLimit = r.pidsLimit as number;
  if (r.stepThrough !== undefined) {
    if (typeof r.stepThrough !== 'boolean') fail(`${field}.stepThrough`, `must be true or false, got ${kind(r.stepThrough)}`);
    out.stepThrough = r.stepThrough;
  }
  // --cap-add / --cap-drop: the CLI's grammar (docker's names, CAP_ optional, ALL)
  for (const key of ['capAdd', 'capDrop'] as const) {
    const list = r[key];
    if (list === undefined) continue;
    if (!Array.isArray(list) || list.length === 0 || list.some((c) => typeof c !== 'string')) fail(`${field}.${key}`, `must be a list of capability names like ["SYS_ADMIN"], got ${kind(list)}`);
    const parsed = parseCapabilities(list as string[], key === 'capAdd' ? '--cap-add' : '--cap-drop', CAPS);
    if (!parsed.ok) fail(`${field}.${key}`, parsed.problem);
    out[key] = parsed.value;
  }
  if (r.seccomp !== undefined) out.seccomp = bool(r.seccomp, `${field}.seccomp`);
  if (r.volumes !== undefined) {
    if (!Array.isArray(r.volumes) || r.volumes.length === 0) fail(`${field}.volumes`, `must be a list of -v lines like ["{share}/notes:/notes"], got ${kind(r.volumes)}`);
    if (!namespaces.includes('mnt')) fail(`${field}.volumes`, 'needs "mnt" in namespaces (the bind is made in the container\'s mount namespace); add it');
    out.volumes = r.volumes.map((line, i) => {
      const at = `${field}.volumes[${i}]`;
      const t = text(line, at, 1000);
      // a lesson binds only from the app's share folder: the app refuses any other host path
      if (!t.startsWith('{share}/')) fail(at, `${shown(t)}: the host path must start with {share}/ (the app's share folder), e.g. "{share}/notes:/notes"`);
      const parsed = parseVolume(fillVolume(t, '/share'));
      if (!parsed.ok) fail(at, parsed.problem);
      if (parsed.value.source.split('/').includes('..')) fail(at, `${shown(t)}: the host path may not contain '..'; name a folder inside {share}`);
      return t;
    });
  }
  // the launch form's network select and ports field, with the form's own rules (app/shared/launch-form.ts)
  if (r.network !== undefined) {
    if (typeof r.network !== 'string' || !(NETWORK_MODES as readonly string[]).includes(r.network)) fail(`${field}.network`, `${JSON.stringify(r.network)} is not a network mode; use one of ${NETWORK_MODES.join(', ')}`);
    out.network = r.network as NetworkMode;
    if (out.network === 'host' && namespaces.includes('net')) fail(`${field}.network`, '"host" is the host\'s own network: remove "net" from namespaces');
    if (out.network === 'none' && !namespaces.includes('net')) fail(`${field}.network`, '"none" is a network namespace with loopback only: add "net" to namespaces');
  }
  if (r.ports !== undefined) {
    if (!Array.isArray(r.ports) || r.ports.length === 0 || r.ports.some((p) => typeof p !== 'string')) fail(`${field}.ports`, `must be a list of -p entries like ["18080:8080"], got ${kind(r.ports)}`);
    const parsed = portList((r.ports as string[]).join(','));
    if (typeof parsed === 'string') fail(`${field}.ports`, parsed);
    if (!namespaces.includes('net') || (out.network ?? 'bridge') !== 'bridge') fail(`${field}.ports`, 'needs "net" in namespaces and the bridge network (a port is published into the container\'s own network namespace)');
    out.ports = r.ports as string[];
  }
  return out;
}

/** A path a rule names: relative to a root (the upper layer, the image, the share), no '..'. */
function relPath(v: unknown, field: string): string {
  const t = text(v, field, 1000).replace(/^\/+/, '').replace(/\/+$/, '');
  if (t === '' || t.split('/').includes('..') || t.includes('\0')) fail(field, `${shown(String(v))}: name a path such as "hello.txt" or "etc/motd" (no '..')`);
  return t;
}

function command(v: unknown, field: string): LessonCommand {
  const r = object(v, field, { required: ['pane', 'run'], optional: ['note'] });
  if (r.pane !== 'host' && r.pane !== 'container') fail(`${field}.pane`, `must be "host" or "container", got ${JSON.stringify(r.pane)}`);
  const out: LessonCommand = { pane: r.pane, run: text(r.run, `${field}.run`, 2000) };
  if (out.run.includes('\n')) fail(`${field}.run`, 'is more than one line; join commands with ; or &&');
  if (r.note !== undefined) out.note = text(r.note, `${field}.note`);
  return out;
}

export function rule(v: unknown, field: string): VerifyRule {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(field, `must be an object with one rule, e.g. { "namespaceSeparate": "uts" }; got ${kind(v)}`);
  const keys = Object.keys(v);
  if (keys.length !== 1) fail(field, `must have exactly one rule, has ${keys.length}; split it into ${keys.length || 'one'} entries`);
  const [name] = keys;
  const value = (v as Record<string, unknown>)[name];
  const at = `${field}.${name}`;
  switch (name) {
    case 'namespaceSeparate':
    case 'namespaceShared':
      return { [name]: namespace(value, at) } as VerifyRule;
    case 'hostnameDiffers':
    case 'procShowsHost':
    case 'rootDiffers':
    case 'onlyLoopback':
    case 'pidsRejected':
    case 'oomKilled':
    case 'cpuThrottled':
      return { [name]: bool(value, at) } as VerifyRule;
    case 'pid1Is':
      return { pid1Is: text(value, at, 15) };
    case 'uidMapOutsideNot':
      return { uidMapOutsideNot: whole(value, at, 0) };
    case 'pidsLimit':
      return { pidsLimit: whole(value, at, 1) };
    case 'ran':
      return { ran: whole(value, at, 0) };
    case 'capabilityHas':
    case 'capabilityLacks': {
      const parsed = parseCapabilities([text(value, at, 40)], name, CAPS);
      if (!parsed.ok || parsed.value[0] === 'ALL') fail(at, `${shown(String(value))}: name one capability such as "SYS_ADMIN" or "CHOWN" (docker's names, CAP_ optional)`);
      return { [name]: parsed.value[0] } as VerifyRule;
    }
    case 'seccompFiltered':
      return { seccompFiltered: bool(value, at) };
    case 'mountedAt': {
      const path = text(value, at, 1000);
      if (!path.startsWith('/') || path.split('/').includes('..')) fail(at, `${shown(path)}: name an absolute path in the container such as "/mnt"`);
      return { mountedAt: path.replace(/\/+$/, '') || '/' };
    }
    case 'upperHas':
    case 'upperDeleted':
    case 'imageHas':
    case 'imageLacks':
    case 'shareHas':
      return { [name]: relPath(value, at) } as VerifyRule;
    case 'interfacesAre': {
      if (!Array.isArray(value) || value.length === 0 || value.some((n) => typeof n !== 'string' || !/^[^\s/:]{1,15}$/.test(n))) {
        fail(at, `must be a list of interface names like ["lo", "eth0"], got ${kind(value)}`);
      }
      return { interfacesAre: value as string[] };
    }
    case 'vethOnBridge': {
      const bridge = text(value, at, 15);
      if (!/^[^\s/:]{1,15}$/.test(bridge)) fail(at, `${shown(bridge)}: name a bridge interface such as "locker0"`);
      return { vethOnBridge: bridge };
    }
    case 'pingAnswered':
    case 'connectionAccepted':
      return { [name]: bool(value, at) } as VerifyRule;
    case 'natUsed':
      if (value !== 'masquerade' && value !== 'dnat') fail(at, `must be "masquerade" (outbound NAT) or "dnat" (a published port), got ${JSON.stringify(value)}`);
      return { natUsed: value };
    case 'hostnameIs': {
      const name = text(value, at, 253);
      const p = hostnameProblem(name);
      if (p) fail(at, p);
      return { hostnameIs: name };
    }
    default: {
      const near = nearest(name, VERIFY_RULES);
      fail(at, `unknown rule; ${near ? `did you mean "${near}"? ` : ''}rules: ${VERIFY_RULES.join(', ')}`);
    }
  }
}

function step(v: unknown, field: string): LessonStep {
  const r = object(v, field, { required: ['id', 'title', 'explain', 'preset', 'lookFor', 'verify'], optional: ['commands'] });
  const commands = r.commands === undefined ? [] : r.commands;
  if (!Array.isArray(commands)) fail(`${field}.commands`, `must be a list of { "pane": …, "run": … }, got ${kind(commands)}`);
  if (!Array.isArray(r.verify) || r.verify.length === 0) fail(`${field}.verify`, 'must be a non-empty list of rules, e.g. [{ "namespaceSeparate": "uts" }]');
  const out: LessonStep = {
    id: slug(r.id, `${field}.id`),
    title: text(r.title, `${field}.title`, 200),
    explain: prose(r.explain, `${field}.explain`),
    preset: preset(r.preset, `${field}.preset`),
    commands: commands.map((c, i) => command(c, `${field}.commands[${i}]`)),
    lookFor: prose(r.lookFor, `${field}.lookFor`),
    verify: r.verify.map((x, i) => rule(x, `${field}.verify[${i}]`)),
  };
  out.verify.forEach((v, i) => {
    if ('ran' in v && v.ran >= out.commands.length) {
      fail(`${field}.verify[${i}].ran`, `is ${v.ran}, but the step has ${out.commands.length} command${out.commands.length === 1 ? '' : 's'} (counted from 0)`);
    }
    if ('hostnameIs' in v && v.hostnameIs === out.preset.hostname) {
      fail(`${field}.verify[${i}].hostnameIs`, `"${v.hostnameIs}" is the preset's hostname, true at launch; name the hostname the learner renames it to`);
    }
  });
  if (!out.verify.some((r) => isAction(r, out.preset))) {
    fail(`${field}.verify`, 'holds at launch, before the learner does anything; add a rule only their action makes true, e.g. { "ran": 0 } (command 0 was run)');
  }
  return out;
}

/** Mount points Locker itself makes at launch: a mountedAt there holds before the learner acts. */
function launchMount(path: string, preset: LessonPreset): boolean {
  if (path === '/' || path === '/tmp' || /^\/(proc|dev|sys)(\/|$)/.test(path)) return true;
  return (preset.volumes ?? []).some((v) => {
    const parsed = parseVolume(fillVolume(v, '/share'));
    return parsed.ok && parsed.value.target === path;
  });
}

/** A rule that launching the step's container cannot satisfy: only what the learner does makes it true. */
function isAction(rule: VerifyRule, preset: LessonPreset): boolean {
  // a network namespace of its own starts with zeroed counters, and a container's nftables table with zeroed
  // counters; the host's network (no "net", or network host) has counted for a long time
  const ownNet = preset.namespaces.includes('net') && preset.network !== 'host';
  // a new container's cgroup starts with its counters (refused forks, OOM kills, throttled periods) at 0
  return 'ran' in rule || 'hostnameIs' in rule || ('pidsRejected' in rule && rule.pidsRejected)
    || ('oomKilled' in rule && rule.oomKilled) || ('cpuThrottled' in rule && rule.cpuThrottled)
    // the upper layer is new with each container; a file in the share may be left from before, so shareHas is not one
    || 'upperHas' in rule || 'upperDeleted' in rule
    || ('mountedAt' in rule && !launchMount(rule.mountedAt, preset))
    || (ownNet && (('pingAnswered' in rule && rule.pingAnswered) || ('connectionAccepted' in rule && rule.connectionAccepted) || 'natUsed' in rule));
}

/** Parses one lesson file's text; throws LessonError (field: problem) on the first mistake. */
export function parseLesson(source: string, file: string): Lesson {
  let data: unknown;
  try {
    data = JSON.parse(source);
  } catch (e) {
    fail('(file)', `is not valid JSON (${(e as Error).message}); check commas and quotes`);
  }
  const r = object(data, '(top)', { required: ['id', 'title', 'steps'], optional: ['summary', '$schema'] });
  if (!Array.isArray(r.steps) || r.steps.length === 0) fail('steps', 'must be a non-empty list of steps');
  const steps = r.steps.map((s, i) => step(s, `steps[${i}]`));
  const seen = new Set<string>();
  steps.forEach((s, i) => {
    if (seen.has(s.id)) fail(`steps[${i}].id`, `"${s.id}" is used by an earlier step; ids must be unique within a lesson`);
    seen.add(s.id);
  });
  const lesson: Lesson = { id: slug(r.id, 'id'), title: text(r.title, 'title', 200), file, steps };
  if (r.summary !== undefined) lesson.summary = prose(r.summary, 'summary');
  return lesson;
}
