// Every message from a renderer or a WebSocket is untrusted: check it before the service sees it.
// Hand-written rather than a schema library: the API is small and the errors read as one line.
import { CALL_NAMES, CPUS, LIMITS, MEMORY, type CallArg, type CallName } from '../../shared/api';
import { NAMESPACES } from '../../shared/types';

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

const slug = str({ max: 64, pattern: /^[a-z0-9][a-z0-9-]*$/, form: "an id of lowercase letters, digits and '-'" });
const launch = {
  required: { command: arrayOf(str(), LIMITS.maxArgs), namespaces: arrayOf(oneOf(NAMESPACES), NAMESPACES.length, { unique: true }) },
  optional: {
    // relative paths would resolve against the app's working directory
    rootfs: str({ allowEmpty: true, pattern: /^(\/|$)/, form: 'an absolute path, or empty for the embedded default' }),
    hostname: str({ max: 253 }),
    memory: str({ max: 32, pattern: MEMORY, form: 'a size, e.g. 64m, 512k or 1g' }),
    cpus: str({ max: 32, pattern: CPUS, form: 'a number of CPUs, e.g. 0.5' }),
    pidsLimit: int(1, 4194304),
  },
};

const checks: { [M in CallName]: Check<CallArg<M>> } = {
  hostInfo: none,
  listContainers: none,
  run: obj({ ...launch.required, cols, rows }, { ...launch.optional, stepThrough: bool }),
  stop: obj({ id }),
  remove: obj({ id }),
  inspect: obj({ id }),
  listDir: obj({ id, side: oneOf(['host', 'container'] as const), path: str({ pattern: /^\//, form: 'an absolute path starting with /' }) }),
  listTerminals: obj({ id }),
  openHostShell: obj({ cols, rows }),
  exec: obj({ id, cols, rows }),
  attachTerminal: obj({ terminalId }),
  // Terminal input may carry NUL (Ctrl-@): it goes to a pty, never to a path or argv.
  writeTerminal: obj({ terminalId, data: str({ max: LIMITS.maxWrite, allowNul: true }) }),
  resizeTerminal: obj({ terminalId, cols, rows }),
  ackTerminal: obj({ terminalId, bytes: int(0, 1 << 30) }),
  closeTerminal: obj({ terminalId }),
  listLessons: none,
  verifyStep: obj({ lessonId: slug, stepId: slug, id }),
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
