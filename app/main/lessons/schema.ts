// Lesson files are written by teachers: check every field and say, in one line, which file, which
// field and what to write instead. Nothing half-valid reaches the UI.
import { CPUS, MEMORY, VERIFY_RULES, hostnameProblem, type Lesson, type LessonCommand, type LessonPreset, type LessonStep, type VerifyRule } from '../../shared/api';
import { NAMESPACES, type Namespace } from '../../shared/types';

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
  const r = object(v, field, { required: ['namespaces'], optional: ['command', 'hostname', 'memory', 'cpus', 'pidsLimit', 'stepThrough'] });
  if (!Array.isArray(r.namespaces)) fail(`${field}.namespaces`, `must be a list like ["pid", "uts"] ([] for none), got ${kind(r.namespaces)}`);
  const namespaces = r.namespaces.map((n, i) => namespace(n, `${field}.namespaces[${i}]`));
  if (new Set(namespaces).size !== namespaces.length) fail(`${field}.namespaces`, 'lists a namespace twice; remove the duplicate');
  const out: LessonPreset = { namespaces };
  if (r.command !== undefined) out.command = text(r.command, `${field}.command`, 1000);
  if (r.hostname !== undefined) {
    out.hostname = text(r.hostname, `${field}.hostname`, 64);
    const p = hostnameProblem(out.hostname);
    if (p) fail(`${field}.hostname`, p);
    if (!namespaces.includes('uts')) fail(`${field}.hostname`, 'needs "uts" in namespaces (it would rename the host); add it or drop the hostname');
  }
  if (r.memory !== undefined) {
    out.memory = text(r.memory, `${field}.memory`, 32);
    if (!MEMORY.test(out.memory)) fail(`${field}.memory`, `"${out.memory}" is not a size; write e.g. "64m"`);
  }
  if (r.cpus !== undefined) {
    out.cpus = text(r.cpus, `${field}.cpus`, 32);
    if (!CPUS.test(out.cpus) || Number(out.cpus) <= 0) fail(`${field}.cpus`, `"${out.cpus}" is not a positive number; write e.g. "0.5"`);
  }
  if (r.pidsLimit !== undefined) out.pidsLimit = whole(r.pidsLimit, `${field}.pidsLimit`, 1);
  if (r.stepThrough !== undefined) {
    if (typeof r.stepThrough !== 'boolean') fail(`${field}.stepThrough`, `must be true or false, got ${kind(r.stepThrough)}`);
    out.stepThrough = r.stepThrough;
  }
  return out;
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
      return { [name]: bool(value, at) } as VerifyRule;
    case 'pid1Is':
      return { pid1Is: text(value, at, 15) };
    case 'uidMapOutsideNot':
      return { uidMapOutsideNot: whole(value, at, 0) };
    case 'pidsLimit':
      return { pidsLimit: whole(value, at, 1) };
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
  return {
    id: slug(r.id, `${field}.id`),
    title: text(r.title, `${field}.title`, 200),
    explain: prose(r.explain, `${field}.explain`),
    preset: preset(r.preset, `${field}.preset`),
    commands: commands.map((c, i) => command(c, `${field}.commands[${i}]`)),
    lookFor: prose(r.lookFor, `${field}.lookFor`),
    verify: r.verify.map((x, i) => rule(x, `${field}.verify[${i}]`)),
  };
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
