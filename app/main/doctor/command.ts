// `locker doctor`: the preflight checks as a table (with the fix for each problem) or JSON.
import { flag, parseArgs } from '../cli/args';
import { table } from '../cli/format';
import { runChecks, type Check } from './checks';

export const DOCTOR_HELP = `Usage: locker doctor [--json]

Checks that this machine can run Locker containers: privileges, user namespaces (sysctls and a
real probe), cgroups, overlayfs (a real mount in a private mount namespace), the kernel version
and busybox-static. Exits 0 when no check fails, 1 otherwise.
`;

const MARK: Record<Check['status'], string> = { ok: 'ok', warn: 'WARN', fail: 'FAIL' };

export function formatChecks(checks: Check[]): string {
  const rows = [['STATUS', 'CHECK', 'DETAIL']];
  for (const c of checks) {
    rows.push([MARK[c.status], c.title, c.detail]);
    if (c.fix && c.status !== 'ok') rows.push(['', '', `fix: ${c.fix}`]);
  }
  const fails = checks.filter((c) => c.status === 'fail').length;
  const warns = checks.filter((c) => c.status === 'warn').length;
  const summary = fails ? `${fails} check(s) failed: containers cannot run until fixed` : warns ? `ready, with ${warns} warning(s)` : 'ready';
  return table(rows) + `\n${summary}\n`;
}

export const doctorExitCode = (checks: Check[]): number => (checks.some((c) => c.status === 'fail') ? 1 : 0);

export async function doctorCommand(argv: string[]): Promise<number> {
  const p = parseArgs(argv, [{ names: ['json'], value: false }, { names: ['help', 'h'], value: false }], 'doctor');
  if (flag(p, 'help')) {
    process.stdout.write(DOCTOR_HELP);
    return 0;
  }
  const checks = runChecks();
  const code = doctorExitCode(checks);
  process.stdout.write(flag(p, 'json') ? JSON.stringify({ ok: code === 0, checks }, null, 2) + '\n' : formatChecks(checks));
  return code;
}
