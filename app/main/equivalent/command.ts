// `locker equivalent [run options] -- CMD`: the same launch as an unshare command line, a runc
// config.json and the closest docker run, for copying.
import { lstatSync } from 'node:fs';
import { hostname as hostHostname } from 'node:os';
import { join } from 'node:path';
import { getgid, getuid } from '../../../native/libc';
import { dataDir, imagesDir } from '../runtime/data-dir';
import { randomContainerId } from '../runtime/ids';
import { locateRootfs } from '../runtime/rootfs/resolve';
import { checkUser, validateSpec, type ValidSpec } from '../runtime/spec';
import { bundledShortFlags } from '../cli/args';
import { RUN_OPTIONS, specFromArgs } from '../cli/run';
import { shellQuote, equivalents, type EquivalentInput, type Equivalents } from './equivalent';

export const EQUIVALENT_HELP = `Usage: locker equivalent [RUN OPTIONS] [--json] [--] COMMAND [ARG...]

Print what \`locker run\` with the same options would be as
  1. an unshare(1) command line (util-linux),
  2. a runc/OCI config.json,
  3. the closest docker run.
Takes every locker run option (locker run --help). --json prints the three as one JSON object.
`;

function isDir(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Resolves what a launch needs beyond the spec, as `locker run` would: the rootfs directory (the
 * default one is built; a tarball names the image `locker run` imports it to), the hostname and the working directory.
 */
export function equivalentInput(v: ValidSpec, rootless: boolean, root = dataDir()): EquivalentInput {
  const mnt = v.namespaces.includes('mnt');
  let rootfs = '/';
  let dockerImage = 'busybox';
  let workdir = v.workdir ?? (mnt ? '/' : process.cwd());
  if (mnt) {
    const r = locateRootfs(imagesDir(root), v.rootfs);
    rootfs = r.dir;
    if (v.workdir === undefined && isDir(join(rootfs, 'root'))) workdir = '/root';
    if (v.rootfs !== undefined) {
      // docker import takes a tarball; a directory is tarred on the fly.
      dockerImage = isDir(r.label) ? `"$(tar -C ${shellQuote(r.label)} -c . | docker import -)"` : `"$(docker import ${shellQuote(r.label)})"`;
    }
  }
  // --user names (and a UID's passwd entry) resolve in the rootfs, as locker run resolves them.
  if (v.userText !== undefined) v = { ...v, user: checkUser(v.userText, rootless, v.namespaces.includes('user'), rootfs) };
  // locker names the host after the new container's id (not its --name): draw one the same way.
  const hostname = v.namespaces.includes('uts') ? (v.hostname ?? randomContainerId()) : hostHostname();
  return { spec: v, rootfs, rootless, hostname, uid: getuid(), gid: getgid(), workdir, dockerImage };
}

export function formatEquivalents(e: Equivalents): string {
  const out = [
    '# unshare (util-linux)',
    e.unshare,
    '',
    '# runc: config.json (runc run --bundle DIR NAME)',
    JSON.stringify(e.ociConfig, null, 2),
    '',
    '# docker (closest)',
    e.docker,
  ];
  if (e.notes.length) out.push('', '# notes', ...e.notes.map((n) => `- ${n}`));
  return out.join('\n') + '\n';
}

/** Removes --json from the options (not from the command after them). */
export function takeJsonFlag(argv: string[]): { json: boolean; rest: string[] } {
  let json = false;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--' || !a.startsWith('-') || a === '-') {
      rest.push(...argv.slice(i));
      break;
    }
    const bundle = bundledShortFlags(a, RUN_OPTIONS, 'equivalent');
    if (bundle) {
      argv = [...argv.slice(0, i), ...bundle, ...argv.slice(i + 1)];
      i--;
      continue;
    }
    if (a === '--json') {
      json = true;
      continue;
    }
    rest.push(a);
    const name = a.replace(/^--?/, '');
    if (!a.includes('=') && RUN_OPTIONS.some((o) => o.value && o.names.includes(name)) && i + 1 < argv.length) rest.push(argv[++i]);
  }
  return { json, rest };
}

export async function equivalentCommand(argv: string[]): Promise<number> {
  const { json, rest } = takeJsonFlag(argv);
  const rootless = getuid() !== 0;
  const { spec, help, detach, rm } = specFromArgs(rest, rootless, !!process.stdin.isTTY);
  if (help) {
    process.stdout.write(EQUIVALENT_HELP);
    return 0;
  }
  const e = equivalents({ ...equivalentInput(validateSpec(spec, rootless), rootless), detach, detachRemoved: detach && rm });
  process.stdout.write(json ? JSON.stringify(e, null, 2) + '\n' : formatEquivalents(e));
  return 0;
}
