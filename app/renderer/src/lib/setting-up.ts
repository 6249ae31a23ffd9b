// A step-through launch shown in the side-by-side view before it is a container: its process
// exists from clone on (PID 1 of its namespaces), so the trees, listings and the kernel picture can
// follow each call. Not in the container list: the runtime records it only once it has exec'd.
import type { SteppingStatus } from '../../../shared/api';
import type { ContainerInfo } from '../../../shared/types';

export function settingUpContainer(s: SteppingStatus | null): ContainerInfo | null {
  if (!s || s.pid === undefined || !['starting', 'paused', 'running'].includes(s.state)) return null;
  return {
    id: s.containerId, name: s.containerId, command: [], hostname: '', state: 'running', pid: s.pid,
    namespaces: [], rootfs: '', rootless: false, tty: true, createdAt: 0,
  };
}
