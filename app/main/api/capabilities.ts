// What the runtime can do for the user this process runs as, so the launch form offers what will
// work (an ordinary user's first click on Run must start a container) and says why the rest is off.
import { availableParallelism } from 'node:os';
import type { Capabilities } from '../../shared/api';
import { hostLayout } from '../runtime/cgroups/detect';
import { rootlessNetworkSummary, userModeTools } from '../runtime/network/usermode';

/** The user namespace probe needs the native helper: loaded on first use, and its answer kept. */
let userns: Capabilities['userNamespaces'] | undefined;
function probeUserNamespaces(rootless: boolean): Capabilities['userNamespaces'] {
  if (userns) return userns;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const doctor = require('../doctor') as typeof import('../doctor');
    const check = doctor.usernsProbeCheck(rootless);
    const sysctls = doctor.usernsSysctlCheck(doctor.readUsernsSysctls(), rootless);
    userns = check.status === 'ok' ? { ok: true } : { ok: false, reason: [check.detail, sysctls.fix ?? check.fix].filter(Boolean).join('; ') };
  } catch (e) {
    userns = { ok: false, reason: `the user namespace probe failed: ${(e as Error).message}` };
  }
  return userns;
}

export function hostCapabilities(uid = process.getuid?.() ?? 0): Capabilities {
  const rootless = uid !== 0;
  const layout = hostLayout();
  const can = (c: 'memory' | 'cpu' | 'pids'): boolean => layout.canWrite && layout.backend[c] !== null;
  const cgroupLimits: Capabilities['cgroupLimits'] = { memory: can('memory'), cpus: can('cpu'), pids: can('pids') };
  if (!(cgroupLimits.memory && cgroupLimits.cpus && cgroupLimits.pids)) cgroupLimits.reason = layout.reason ?? 'no writable cgroup hierarchy';
  return {
    rootless,
    userNamespaces: probeUserNamespaces(rootless),
    cgroupLimits,
    network: rootless ? rootlessNetwork() : { mode: 'bridge' },
    cpus: availableParallelism(),
  };
}

/** Rootless: pasta's network when it can run here, else loopback only, with doctor's one line. */
function rootlessNetwork(): Capabilities['network'] {
  const tools = userModeTools();
  return { mode: tools.pasta && !tools.tunProblem ? 'bridge' : 'loopback', note: rootlessNetworkSummary(tools) };
}
