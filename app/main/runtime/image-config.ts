// What a layered image's config changes in a launch, as docker applies it: Env under the user's
// --env, WorkingDir unless --workdir, Entrypoint + (the user's command or Cmd), User unless --user.
import { parseUser } from '../../shared/grammar';
import { LockerError } from './errors';
import type { ImageConfig } from './rootfs/image';

export interface LaunchBasics {
  command: string[];
  env: string[];
  workdir: string;
  /** The image's User when it is not root (resolved like --user, which overrides it). */
  user?: string;
}

const keyOf = (e: string): string => e.split('=', 1)[0];

/** a with b's variables on top (same key: b wins). */
function overlayEnv(a: string[], b: string[]): string[] {
  const keys = new Set(b.map(keyOf));
  return [...a.filter((e) => !keys.has(keyOf(e))), ...b];
}

export function applyImageConfig(c: ImageConfig, launch: LaunchBasics, given: { env: string[]; workdir?: string }, label: string): LaunchBasics {
  const user = imageUser(c.User, label);
  const env = overlayEnv(overlayEnv(launch.env, (c.Env ?? []).filter((e) => typeof e === 'string' && e.includes('='))), given.env);
  const workdir = given.workdir ?? (c.WorkingDir && c.WorkingDir.startsWith('/') ? c.WorkingDir : launch.workdir);
  const command = [...(c.Entrypoint ?? []), ...(launch.command.length ? launch.command : c.Cmd ?? [])].filter((a) => typeof a === 'string');
  if (command.length === 0) throw new LockerError(`no command given and ${label} names none (no Cmd or Entrypoint); name one, e.g. locker run --rootfs ${label} -- /bin/sh`);
  return { command, env, workdir, ...(user ? { user } : {}) };
}

/** The image's User: undefined for root (empty, 0, 0:0, root); else its text, checked as --user is. */
function imageUser(user: string | undefined, label: string): string | undefined {
  if (!user || /^(0|root)(:(0|root))?$/.test(user)) return undefined;
  if (!parseUser(user).ok) throw new LockerError(`the image ${label} runs as User ${JSON.stringify(user.slice(0, 40))}, which is not UID[:GID] or NAME[:GROUP]; override it with --user`);
  return user;
}
