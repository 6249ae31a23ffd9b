// Whether this caller may create a user namespace, read from the sysctls that forbid it, so the
// refusal names the switch to flip instead of a bare EPERM.
import { readFileSync } from 'node:fs';
import { LockerError } from './errors';

function sysctl(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

export function userNamespaceProblem(rootless: boolean): string | undefined {
  if (sysctl('/proc/sys/user/max_user_namespaces') === '0') {
    return 'user namespaces are disabled (user.max_user_namespaces = 0); enable them with: sysctl -w user.max_user_namespaces=15000' +
      (rootless ? '' : ', or run without the user namespace (--no-ns user)');
  }
  if (!rootless) return undefined;
  if (sysctl('/proc/sys/kernel/unprivileged_userns_clone') === '0') {
    return 'unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone = 0); enable them with: sysctl -w kernel.unprivileged_userns_clone=1, or run as root';
  }
  if (sysctl('/proc/sys/kernel/apparmor_restrict_unprivileged_userns') === '1') {
    return 'AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns = 1, Ubuntu 23.10+); install Locker\'s AppArmor profile (see README) or run: sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, or run as root';
  }
  return undefined;
}

export function assertUserNamespaces(rootless: boolean): void {
  const problem = userNamespaceProblem(rootless);
  if (problem) throw new LockerError(problem);
}

/** Turns a failed clone() into the reason a person can act on. */
export function explainCloneFailure(code: string, rootless: boolean, wantsUser: boolean): string | undefined {
  if (wantsUser && (code === 'ENOSPC' || code === 'EUSERS')) {
    return 'cannot create a user namespace: the limit user.max_user_namespaces is reached or set to 0; raise it with sysctl -w user.max_user_namespaces=15000';
  }
  if (code === 'EPERM' && rootless) {
    return 'the kernel refused to create namespaces for a non-root user (EPERM); check that unprivileged user namespaces are allowed (locker doctor) or run as root';
  }
  if (code === 'EPERM') return 'the kernel refused to create namespaces (EPERM): is this already inside a restricted container? run `locker doctor`';
  return undefined;
}
