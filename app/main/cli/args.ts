// Command-line parsing: options first, then the command (after `--`, or from the first non-option).
import { LockerError } from '../runtime/errors';

export interface OptionSpec {
  /** names without dashes, e.g. ['hostname'] or ['env', 'e'] */
  names: string[];
  /** takes a value */
  value: boolean;
  repeat?: boolean;
}

export interface Parsed {
  options: Map<string, string[]>;
  rest: string[];
}

export function parseArgs(argv: string[], specs: OptionSpec[], command: string): Parsed {
  const options = new Map<string, string[]>();
  const rest: string[] = [];
  const lookup = (name: string): OptionSpec => {
    const spec = specs.find((s) => s.names.includes(name));
    const shown = name.length > 60 ? `${name.slice(0, 60)}…` : name;
    if (!spec) throw new LockerError(`unknown option ${name.length === 1 ? '-' : '--'}${shown} for locker ${command}; see locker ${command} --help`);
    return spec;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      rest.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      rest.push(...argv.slice(i));
      break;
    }
    // Combined short flags, as docker (pflag) reads them: -it, -dit, -ti, and -e K=V's -eK=V.
    const bundled = bundledShortFlags(arg, specs, command);
    if (bundled) {
      argv = [...argv.slice(0, i), ...bundled, ...argv.slice(i + 1)];
      i--;
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.replace(/^--?/, '').slice(0, eq > 0 ? eq - (arg.startsWith('--') ? 2 : 1) : undefined);
    const spec = lookup(name);
    const key = spec.names[0];
    let value = 'true';
    if (spec.value) {
      if (eq > 0) value = arg.slice(eq + 1);
      else if (i + 1 < argv.length) value = argv[++i];
      else throw new LockerError(`option ${arg} needs a value; e.g. ${arg} VALUE`);
    } else if (eq > 0) {
      throw new LockerError(`option --${name} takes no value`);
    }
    const list = options.get(key) ?? [];
    if (list.length > 0 && !spec.repeat) throw new LockerError(`option --${key} given twice; give it once`);
    list.push(value);
    options.set(key, list);
  }
  return { options, rest };
}

/**
 * `-dit` → `-d -i -t`; `-wVALUE` / `-itw /x` → the value option last, its value after it. Only a
 * single dash followed by two or more letters that are not one option's own name (`-hostname`
 * still means --hostname); undefined when arg is not such a bundle.
 */
export function bundledShortFlags(arg: string, specs: OptionSpec[], command = ''): string[] | undefined {
  if (!/^-[A-Za-z][^-]/.test(arg) || specs.some((s) => s.names.includes(arg.slice(1).split('=')[0]))) return undefined;
  const out: string[] = [];
  for (let k = 1; k < arg.length; k++) {
    const letter = arg[k];
    const spec = specs.find((s) => s.names.includes(letter));
    if (!spec && k === 1) return undefined;
    if (!spec) throw new LockerError(`unknown option -${letter} in ${arg.slice(0, 40)} for locker ${command}; see locker ${command} --help`);
    if (spec.value) {
      // The rest of the word is the value (-m64m, -eK=V, -e=K=V), or the next argument.
      const value = arg.slice(k + 1).replace(/^=/, '');
      out.push(`-${letter}`, ...(value ? [value] : []));
      return out;
    }
    out.push(`-${letter}`);
  }
  return out;
}

export const one = (p: Parsed, key: string): string | undefined => p.options.get(key)?.[0];
export const flag = (p: Parsed, key: string): boolean => p.options.has(key);
