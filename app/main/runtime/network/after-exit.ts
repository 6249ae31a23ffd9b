// What a detached container held on the host beyond its own processes, given back once it ended:
// its network (veth, NAT table, port locks, address, its pasta) and, with run -d --rm, its cgroup
// and its container dir. Run by its monitor's exit command (teardown-cli.ts, a Node of its own), or
// in this process by the locker stop that ended it (runtime.ts), which spares the machine one Node
// start per container: stop of 50 would otherwise start 50 at the same moment.
import { rmSync } from 'node:fs';
import { openCgroup } from '../cgroups';
import { teardownNetwork } from './setup';

export interface AfterExit { network: boolean; remove: boolean }

/** Resolves when done; a cgroup that would not go is the rejection (the dir goes all the same). */
export async function teardownAfterExit(id: string, dir: string | undefined, what: AfterExit): Promise<void> {
  if (what.network) teardownNetwork(id, dir);
  if (!what.remove) return;
  try {
    // The container's processes are gone (its PID 1 ended, the kernel killed the rest): the cgroup
    // empties, then nothing of it is left but what another command may still be reading.
    await openCgroup(id).remove();
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}
