import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where images and container records live: $LOCKER_DATA_DIR, else $XDG_DATA_HOME/locker, else ~/.local/share/locker. */
export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LOCKER_DATA_DIR) return env.LOCKER_DATA_DIR;
  const xdg = env.XDG_DATA_HOME && env.XDG_DATA_HOME.startsWith('/') ? env.XDG_DATA_HOME : join(env.HOME || homedir(), '.local', 'share');
  return join(xdg, 'locker');
}

export const imagesDir = (root: string): string => join(root, 'images');
export const containersDir = (root: string): string => join(root, 'containers');
