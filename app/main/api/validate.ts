// Every message from a renderer or a WebSocket is untrusted: check it before the service sees it.
// Hand-written rather than a schema library: the API is small and the errors read as one line.
import { availableParallelism } from 'node:os';
import { CALL_NAMES, LIMITS, type CallArg, type CallName } from '../../shared/api';
import { checkVolumeSpec, parseCapabilities, parseCpus, parseHostname, parseMemory, parsePidsLimit, problemLine, type Parsed } from '../../shared/grammar';
import { NAMESPACES, SECCOMP_MODES, type VolumeSpec } from '../../shared/types';
import { CAPS } from '../runtime/security/capabilities';
import { MAX_PUBLISH_RANGE, checkPortSpec } from '../../shared/grammar';
import { NETWORK_MODES, type PortSpec } from '../../shared/types';

export class ValidationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ValidationError';
  }
}

type Check<T> = (value: unknown, where: string) => T;

function fail(where: string, problem: string): never {
  throw new ValidationError(`${where} ${problem}`);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  // NaN and Infinity (Electron IPC carries them) are numbers too: say which one
  if (typeof value === 'number') return `a number (${value})`;
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** `form` says what the pattern wants, for the error line, e.g. "an absolute path starting with /". */
export function str(opts: { max?: number; allowNul?: boolean; pattern?: RegExp; form?: string; allowEmpty?: boolean } = {}): Check<string> {
  const max = opts.max ?? LIMITS.maxString;
  return (v, where) => {
    if (typeof v !== 'string') fail(where, `must be a string, got ${describe(v)}`);
    if (v.length > max) fail(where, `is ${v.length} characters long; the limit is ${max}`);
    if (!opts.allowNul && v.includes('\0')) fail(where, 'contains a NUL byte');
    if (!opts.allowEmpty && v.length === 0) fail(where, 'is empty');
    if (opts.pattern && !opts.pattern.test(v)) fail(where, `has an unexpected form${opts.form ? `: ${opts.form}` : ''}`);
    return v;
  };
}

export function int(min: number, max: number): Check<number> {
  return (v, where) => {
    if (typeof v !== 'number' || !Number.isInteger(v)) fail(where, `must be an integer, got ${describe(v)}`);
    if (v < min || v > max) fail(where, `must be between ${min} and ${max}, got ${v}`);
    return v;
  };
}

export function oneOf<T extends string>(values: readonly T[]): Check<T> {
  return (v, where) => {
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) fail(where, `must be one of ${values.join(', ')}`);
    return v as T;
  };
}

export function arrayOf<T>(item: Check<T>, max: number, opts: { unique?: boolean } = {}): Check<T[]> {
  return (v, where) => {
    if (!Array.isArray(v)) fail(where, `must be an array, got ${describe(v)}`);
    if (v.length > max) fail(where, `has ${v.length} entries; the limit is ${max}`);
    const out = v.map((x, i) => item(x, `${where}[${i}]`));
    if (opts.unique && new Set(out).size !== out.length) fail(where, 'has duplicates');
    return out;
  };
}

type Shape = Record<string, Check<unknown>>;
type FromShape<S extends Shape> = { [K in keyof S]: ReturnType<S[K]> };

/** A plain object with exactly these keys (the optional ones may be missing); anything else is refused. */
export function obj<R extends Shape, O extends Shape = Record<never, never>>(required: R, optional?: O): Check<FromShape<R> & Partial<FromShape<O>>> {
  return (v, where) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(where, `must be an object, got ${describe(v)}`);
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) fail(where, 'must be a plain object');
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(v)) {
      // own keys only: `in` would also find "__proto__", "constructor", "toString" on Object.prototype
      if (!Object.hasOwn(required, key) && !(optional && Object.hasOwn(optional, key))) fail(where, `has an unknown field "${key.slice(0, 40)}"`);
    }
    const rec = v as Record<string, unknown>;
    for (const [key, check] of Object.entries(required)) {
      if (!(key in rec) || rec[key] === undefined) fail(where, `is missing "${key}"`);
      out[key] = check(rec[key], `${where}.${key}`);
    }
    for (const [key, check] of Object.entries(optional ?? {})) {
      if (rec[key] !== undefined) out[key] = check(rec[key], `${where}.${key}`);
    }
    return out as FromShape<R> & Partial<FromShape<O>>;
  };
}

export function bool(v: unknown, where: string): boolean {
  if (typeof v !== 'boolean') fail(where, `must be true or false, got ${describe(v)}`);
  return v;
}

function none(v: unknown, where: string): undefined {
  if (v !== undefined && v !== null) fail(where, `takes no argument, got ${describe(v)}`);
  return undefined;
}

const id = str({ max: 128, pattern: /^[A-Za-z0-9][A-Za-z0-9_.-]*$/, form: "a container id (letters, digits, '_', '.', '-')" });
const terminalId = str({ max: 128, pattern: /^[a-z]+-[A-Za-z0-9_.-]+$/, form: 'a terminal id like h-1' });
const cols = int(1, LIMITS.maxCols);
const rows = int(1, LIMITS.maxRows);

/** A field typed by a person: a string (or, for counts, a number) that the shared grammar (app/shared/grammar.ts) accepts. */
function typed<T extends string | number>(kind: 'string' | 'number', parse: (v: T) => Parsed<unknown>, max = 32): Check<T> {
  return (v, where) => {
    if (kind === 'string') str({ max })(v, where);
    else if (typeof v !== 'number' || !Number.isInteger(v)) fail(where, `must be an integer, got ${describe(v)}`);
    const r = parse(v as T);
    if (!r.ok) throw new ValidationError(problemLine(where, v as T, r.problem));
    return v as T;
  };
}

/** --cap-add / --cap-drop as a list: each entry a capability the shared grammar knows (or ALL). */
function capabilities(flag: string): Check<string[]> {
  return (v, where) => {
    const list = arrayOf(str({ max: 64 }), CAPS.length + 1)(v, where);
    const r = parseCapabilities(list, flag, CAPS);
    if (!r.ok) throw new ValidationError(`${where}: ${r.problem}`);
    return list;
  };
}

/** A bind mount as data: the same grammar as the CLI's -v (where it may come from is the service's share rule). */
const volume: Check<VolumeSpec> = (v, where) => {
  const o = obj({ source: str(), target: str() }, { readonly: bool, propagation: str() })(v, where);
  const r = checkVolumeSpec(o);
  if (!r.ok) throw new ValidationError(`${where}: ${r.problem}`);
  return { source: o.source, target: r.value.target, readonly: r.value.readonly, ...(r.value.propagation ? { propagation: r.value.propagation } : {}) };
};

/** A published port as data: the same grammar as the CLI's -p. */
const port: Check<PortSpec> = (v, where) => {
  const r = checkPortSpec(v);
  if (!r.ok) throw new ValidationError(`${where}: ${r.problem}`);
  return r.value;
};

const slug = str({ max: 64, pattern: /^[a-z0-9][a-z0-9-]*$/, form: "an id of lowercase letters, digits and '-'" });
const launch = {
  required: { command: arrayOf(str(), LIMITS.maxArgs), namespaces: arrayOf(oneOf(NAMESPACES), NAMESPACES.length, { unique: true }) },
  optional: {
    // relative paths would resolve against the app's working directory
    rootfs: str({ allowEmpty: true, pattern: /^(\/|$)/, form: 'an absolute path, or empty for the embedded default' }),
    hostname: typed<string>('string', parseHostname, 253),
    memory: typed<string>('string', parseMemory),
    cpus: typed<string>('string', (v) => parseCpus(v, availableParallelism())),
    pidsLimit: typed<number>('number', parsePidsLimit),
    seccomp: oneOf(SECCOMP_MODES),
    capAdd: capabilities('--cap-add'),
    capDrop: capabilities('--cap-drop'),
    volumes: arrayOf(volume, 16),
    publish: arrayOf(port, MAX_PUBLISH_RANGE),
    network: oneOf(NETWORK_MODES),
  },
};

const checks: { [M in CallName]: Check<CallArg<M>> } = {
  hostInfo: none,
  listContainers: none,
  run: obj({ ...launch.required, cols, rows }, { ...launch.optional, stepThrough: bool }),
  stop: obj({ id }),
  remove: obj({ id }),
  inspect: obj({ id }),
  watchInspection: obj({ id }),
  unwatchInspection: obj({ id }),
  listDir: obj({ id, side: oneOf(['host', 'container'] as const), path: str({ pattern: /^\//, form: 'an absolute path starting with /' }) }),
  rootfsLayers: obj({ id }),
  listTerminals: obj({ id }),
  openHostShell: obj({ cols, rows }),
  exec: obj({ id, cols, rows }),
  attachTerminal: obj({ terminalId }),
  // Terminal input may carry NUL (Ctrl-@): it goes to a pty, never to a path or argv.
  writeTerminal: obj({ terminalId, data: str({ max: LIMITS.maxWrite, allowNul: true }) }),
  resizeTerminal: obj({ terminalId, cols, rows }),
  ackTerminal: obj({ terminalId, bytes: int(0, 1 << 30) }),
  detachTerminal: obj({ terminalId }),
  closeTerminal: obj({ terminalId }),
  listLessons: none,
  verifyStep: obj({ lessonId: slug, stepId: slug, id }, { since: int(0, Number.MAX_SAFE_INTEGER) }),
  syscallLog: obj({ id }),
  preflight: none,
  equivalent: obj(launch.required, launch.optional),
  hostCheck: none,
  cleanupHost: none,
  listStepping: none,
  stepNext: obj({ id }),
  stepRunToEnd: obj({ id }),
  stepCancel: obj({ id }),
};

export function isCallName(name: unknown): name is CallName {
  return typeof name === 'string' && (CALL_NAMES as readonly string[]).includes(name);
}

/** Returns the checked argument or throws one ValidationError line naming the method and the field. */
export function validateCall<M extends CallName>(method: M, arg: unknown): CallArg<M> {
  if (!isCallName(method)) throw new ValidationError(`unknown method "${String(method).slice(0, 40)}"`);
  return (checks[method] as Check<CallArg<M>>)(arg, method);
}
