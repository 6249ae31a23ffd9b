// Volumes asked for through the app's API (the launch form, a lesson, a web page) may bind only
// what is inside the share folder: `<data dir>/share`, or the folder the teacher named with
// `locker ui --share DIR` (LOCKER_SHARE_DIR). The CLI's -v is the person's own shell and binds what
// they choose; a page, a student at the form or a lesson file cannot reach /etc or a home directory.
// Missing folders inside the share are made (as docker makes a missing -v source); a symlink
// anywhere below the share is refused (a container with the share bound could plant one), and
// after the launch each bind is checked to be the very directory that was checked.
import { existsSync, lstatSync, mkdirSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { VolumeSpec } from '../../shared/types';

export class ShareError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShareError';
  }
}

/** With create: false, a source inside the share that is not there yet (Run makes it). */
export class MissingSource extends ShareError {
  constructor(readonly path: string) {
    super(`${path} does not exist yet; Run makes it inside the share folder`);
  }
}

/** The share folder for a data dir: $LOCKER_SHARE_DIR when set (absolute), else `<data dir>/share`. */
export function shareDirFor(dataRoot: string, env: NodeJS.ProcessEnv = process.env): string {
  const chosen = env.LOCKER_SHARE_DIR;
  if (chosen && isAbsolute(chosen)) return resolve(chosen);
  return join(dataRoot, 'share');
}

/** A volume checked against the share: its source resolved, with the identity the bind must have. */
export interface SharedVolume extends VolumeSpec {
  dev: number;
  ino: number;
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** Checks (and makes) each source inside shareDir; throws one line naming the volume and the fix. */
export function volumesInShare(volumes: readonly VolumeSpec[], shareDir: string, opts: { create?: boolean } = {}): SharedVolume[] {
  if (volumes.length === 0) return [];
  const create = opts.create !== false;
  if (create) mkdirSync(shareDir, { recursive: true, mode: 0o755 });
  else if (!existsSync(shareDir)) throw new MissingSource(shareDir);
  const root = realpathSync(shareDir);
  return volumes.map((v) => {
    const source = resolve(v.source);
    if (!inside(shareDir, source) && !inside(root, source)) {
      throw new ShareError(`volume source ${JSON.stringify(v.source)} is outside the share folder ${shareDir}; from the app, volumes come from there only (put the files there, or start locker ui --share DIR to share another folder; the CLI's -v binds any path)`);
    }
    const parts = relative(inside(shareDir, source) ? shareDir : root, source).split(sep).filter(Boolean);
    let at = root;
    for (const [i, part] of parts.entries()) {
      at = join(at, part);
      let st;
      try {
        st = lstatSync(at);
      } catch {
        if (!create) throw new MissingSource(at);
        mkdirSync(at, { mode: 0o755 });
        continue;
      }
      if (st.isSymbolicLink()) throw new ShareError(`volume source ${JSON.stringify(v.source)}: ${at} is a symlink; the share folder binds real directories only (a link could point anywhere on the host)`);
      if (i < parts.length - 1 && !st.isDirectory()) throw new ShareError(`volume source ${JSON.stringify(v.source)}: ${at} is not a directory`);
    }
    const real = realpathSync(at);
    if (!inside(root, real)) throw new ShareError(`volume source ${JSON.stringify(v.source)} resolves to ${real}, outside the share folder ${shareDir}`);
    const st = statSync(real);
    return { source: real, target: v.target, readonly: v.readonly, ...(v.propagation ? { propagation: v.propagation } : {}), dev: st.dev, ino: st.ino };
  });
}

/** After the launch: each target in the container is the checked source (not something swapped in since). */
export function checkBinds(pid: number, volumes: readonly SharedVolume[]): string | undefined {
  for (const v of volumes) {
    let st;
    try {
      st = statSync(`/proc/${pid}/root${v.target}`);
    } catch (e) {
      return `volume ${v.target}: cannot read it in the container (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
    }
    if (st.dev !== v.dev || st.ino !== v.ino) return `volume ${v.target} is not ${v.source} (it changed while the container started); removed the container`;
  }
  return undefined;
}
