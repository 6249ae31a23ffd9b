// The bench's CLI and scale rows (issue 13): `locker run/ps/exec/inspect` from a shell next to
// runc's run/list/exec/state and `node -e 0`, each with and without NODE_EXTRA_CA_CERTS; 50
// concurrent `locker run -d` next to 50 concurrent `runc run -d`; one `locker stop -t 1` of all
// 50; the memory each running container costs beyond its own processes (its monitor's RSS). The
// locker commands are served by the resident CLI server (app/main/cli/server.ts), which the first
// of them starts, as a user's shell gets it; the same commands with Node (LOCKER_NO_CLI_SERVER=1)
// are measured beside them, and the server's own memory is a row.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { equivalents } from '../app/main/equivalent/equivalent';
import { validateSpec } from '../app/main/runtime/spec';

const REPO = join(__dirname, '..', '..');
const CLI = join(REPO, 'bin', 'locker');

const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;
const round = (v: number, d = 2): number => Math.round(v * 10 ** d) / 10 ** d;
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

interface Done { ms: number; out: string }

/**
 * Runs cmd to its exit; resolves with the wall time from spawn to exit and its stdout; rejects on a
 * non-zero exit. `quiet`: no pipes (runc run -d hands its own stdio to the container, which would
 * hold them open), timed to the process's exit.
 */
function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv, quiet = false): Promise<Done> {
  return new Promise((resolve, reject) => {
    const t0 = nowMs();
    let out = '';
    let err = '';
    const child = spawn(cmd, args, { env, stdio: quiet ? 'ignore' : ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d) => (out += d));
    child.stderr?.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on(quiet ? 'exit' : 'close', (code) => (code === 0 ? resolve({ ms: nowMs() - t0, out }) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err.trim()}`))));
  });
}

/** A runc bundle on a copy of the rootfs, running `command` without a terminal. */
function runcBundle(data: string, rootfs: string, name: string, command: string[]): string {
  const bundle = join(data, name);
  spawnSync('mkdir', ['-p', bundle]);
  const cp = spawnSync('cp', ['-a', rootfs, join(bundle, 'rootfs')], { encoding: 'utf8' });
  if (cp.status !== 0) throw new Error(`copying the rootfs for runc: ${cp.stderr}`);
  const spec = validateSpec({ command, hostname: 'bench', tty: false }, false);
  const config = equivalents({ spec, rootfs: join(bundle, 'rootfs'), rootless: false, hostname: 'bench', uid: 0, gid: 0, workdir: '/' }).ociConfig;
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
  return bundle;
}

export interface CliScaleOptions { runs: number; smoke: boolean; scale: number }

export interface CliScaleResult { rows: string[][]; json: Record<string, number> }

function withoutCa(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const e = { ...env };
  delete e.NODE_EXTRA_CA_CERTS;
  return e;
}

/** Medians of each command, measured round-robin so the machine's drift hits all alike. */
async function measureCommands(opts: CliScaleOptions, data: string, rootfs: string): Promise<Record<string, number>> {
  const state = join(data, 'runc-cli-state');
  const oneShot = runcBundle(data, rootfs, 'runc-cli-true', ['/bin/true']);
  const sleeper = runcBundle(data, rootfs, 'runc-cli-sleep', ['/bin/sleep', '600']);
  const caFile = process.env.NODE_EXTRA_CA_CERTS ?? (readdirSync('/etc/ssl/certs').includes('ca-certificates.crt') ? '/etc/ssl/certs/ca-certificates.crt' : undefined);
  const env = { ...process.env, LOCKER_DATA_DIR: data };
  const ca = caFile ? { ...env, NODE_EXTRA_CA_CERTS: caFile } : undefined;
  const noCa = withoutCa(env);
  const nodeCli = { ...env, LOCKER_NO_CLI_SERVER: '1' };
  const runcId = `locker-bench-cli-${process.pid}`;
  let n = 0;
  const lockerId = (await timed(CLI, ['run', '-d', '--name', `bench-cli-${process.pid}`, '--', 'sleep', '600'], env)).out.trim();
  await timed('runc', ['--root', state, 'run', '-d', '--bundle', sleeper, runcId], env, true);
  const probes: Record<string, () => Promise<Done>> = {
    'locker run': () => timed(CLI, ['run', '--no-tty', '--', '/bin/true'], env),
    'locker run (no CA env)': () => timed(CLI, ['run', '--no-tty', '--', '/bin/true'], noCa),
    'runc run': () => timed('runc', ['--root', state, 'run', '--bundle', oneShot, `${runcId}-${n++}`], env),
    'locker run (Node)': () => timed(CLI, ['run', '--no-tty', '--', '/bin/true'], nodeCli),
    'locker ps': () => timed(CLI, ['ps'], env),
    'locker ps (Node)': () => timed(CLI, ['ps'], nodeCli),
    'runc list': () => timed('runc', ['--root', state, 'list'], env),
    'locker exec': () => timed(CLI, ['exec', lockerId, '--', '/bin/true'], env),
    'runc exec': () => timed('runc', ['--root', state, 'exec', runcId, '/bin/true'], env),
    'locker inspect': () => timed(CLI, ['inspect', lockerId], env),
    'runc state': () => timed('runc', ['--root', state, 'state', runcId], env),
    'node -e 0 (no CA env)': () => timed(process.execPath, ['-e', '0'], noCa),
    ...(ca ? { 'node -e 0 (NODE_EXTRA_CA_CERTS)': () => timed(process.execPath, ['-e', '0'], ca) } : {}),
  };
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(probes).map((k) => [k, []]));
  try {
    for (const p of Object.values(probes)) await p(); // warm caches
    for (let i = 0; i < opts.runs; i++) for (const [k, p] of Object.entries(probes)) samples[k].push((await p()).ms);
  } finally {
    spawnSync(CLI, ['rm', '-f', lockerId], { env });
    spawnSync('runc', ['--root', state, 'delete', '--force', runcId]);
    for (const id of spawnSync('runc', ['--root', state, 'list', '-q'], { encoding: 'utf8' }).stdout?.split('\n').filter(Boolean) ?? []) {
      spawnSync('runc', ['--root', state, 'delete', '--force', id]);
    }
  }
  return { ...Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, round(median(v))])), serverRssMb: serverRss(data) / 2 ** 20 };
}

/** VmRSS of the data dir's resident CLI servers, from the pid line their logs start with (0: none). */
function serverRss(data: string): number {
  let total = 0;
  for (const log of readdirSync(join(data, 'run')).filter((f) => f.endsWith('.log'))) {
    const m = /pid (\d+) listening/.exec(readFileSync(join(data, 'run', log), 'utf8'));
    if (m) total += rssBytes(Number(m[1]));
  }
  return total;
}

/** VmRSS of a process in bytes (0 when it is gone). */
function rssBytes(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** N containers at once from the CLI and from runc; stopping them; the monitors' memory. */
async function measureScale(opts: CliScaleOptions, data: string, rootfs: string): Promise<Record<string, number>> {
  const N = opts.scale;
  const env = { ...process.env, LOCKER_DATA_DIR: data };
  const state = join(data, 'runc-scale-state');
  const bundle = runcBundle(data, rootfs, 'runc-scale', ['/bin/sleep', '600']);
  const ids: string[] = [];
  const runcIds = Array.from({ length: N }, (_, i) => `locker-bench-scale-${process.pid}-${i}`);
  try {
    // Locker: N `locker run -d` started together; done when every one has returned (its container runs).
    let t0 = nowMs();
    const started = await Promise.all(Array.from({ length: N }, () => timed(CLI, ['run', '-d', '--', 'sleep', '600'], env)));
    const lockerStart = nowMs() - t0;
    ids.push(...started.map((s) => s.out.trim()));
    const records = ids.map((id) => JSON.parse(readFileSync(join(data, 'containers', id, 'state.json'), 'utf8')) as { pid: number; monitor?: { pid: number } });
    const monitors = records.map((r) => r.monitor?.pid ?? 0);
    if (monitors.some((m) => !m)) throw new Error('a detached container has no monitor in its record');
    const monitorRss = monitors.map(rssBytes);
    // runc: N `runc run -d` started together (its containers run with no process of runc left).
    t0 = nowMs();
    await Promise.all(runcIds.map((id) => timed('runc', ['--root', state, 'run', '-d', '--bundle', bundle, id], env, true)));
    const runcStart = nowMs() - t0;

    t0 = nowMs();
    await timed(CLI, ['stop', '-t', '1', ...ids], env);
    const lockerStop = nowMs() - t0;
    t0 = nowMs();
    await Promise.all(runcIds.map((id) => timed('runc', ['--root', state, 'delete', '--force', id], env)));
    const runcStop = nowMs() - t0;
    return {
      lockerStart, runcStart, lockerStop, runcStop,
      rssMaxMb: Math.max(...monitorRss) / 2 ** 20, rssMeanMb: monitorRss.reduce((a, b) => a + b, 0) / N / 2 ** 20,
    };
  } finally {
    if (ids.length) spawnSync(CLI, ['rm', '-f', ...ids], { env });
    for (const id of runcIds) spawnSync('runc', ['--root', state, 'delete', '--force', id]);
  }
}

export async function measureCliAndScale(opts: CliScaleOptions, data: string, rootfs: string): Promise<CliScaleResult> {
  process.stderr.write(`bench: CLI commands next to runc and node, ${opts.runs} runs each…\n`);
  const c = await measureCommands(opts, data, rootfs);
  process.stderr.write(`bench: ${opts.scale} concurrent run -d next to runc run -d…\n`);
  const s = await measureScale(opts, data, rootfs);
  const ratio = (a: number, b: number): number => round(a / b, 2);
  const ms = (v: number): string => `${round(v, 1)} ms`;
  const nodeCa = c['node -e 0 (NODE_EXTRA_CA_CERTS)'];
  const nodeNote = `node -e 0 ${c['node -e 0 (no CA env)']} ms${nodeCa === undefined ? '' : `, ${nodeCa} ms with NODE_EXTRA_CA_CERTS`}`;
  const rows = [
    ['cli: locker run -- /bin/true', ms(c['locker run']), '', `to exit, served; runc run ${c['runc run']} ms (×${ratio(c['locker run'], c['runc run'])}); without NODE_EXTRA_CA_CERTS ${c['locker run (no CA env)']} ms`],
    ['cli: locker run, with Node', ms(c['locker run (Node)']), '', `LOCKER_NO_CLI_SERVER=1 (×${ratio(c['locker run (Node)'], c['runc run'])} runc); ${nodeNote}`],
    ['cli: locker ps', ms(c['locker ps']), '', `served; runc list ${c['runc list']} ms (×${ratio(c['locker ps'], c['runc list'])}); with Node ${c['locker ps (Node)']} ms`],
    ['cli: locker exec ID -- /bin/true', ms(c['locker exec']), '', `runc exec ${c['runc exec']} ms (×${ratio(c['locker exec'], c['runc exec'])})`],
    ['cli: locker inspect ID', ms(c['locker inspect']), '', `runc state ${c['runc state']} ms (×${ratio(c['locker inspect'], c['runc state'])}; inspect reads namespaces, processes, mounts)`],
    [`scale: ${opts.scale} × run -d at once`, ms(s.lockerStart), '', `all returned, running; ${opts.scale} × runc run -d ${round(s.runcStart, 1)} ms (×${ratio(s.lockerStart, s.runcStart)})`],
    [`scale: stop -t 1 of ${opts.scale}`, ms(s.lockerStop), '', `one locker stop of all ids (grace 1000 ms, ×${ratio(s.lockerStop, 1000)}); runc delete --force ×${opts.scale} at once ${round(s.runcStop, 1)} ms`],
    ['scale: RSS per container', `${round(s.rssMeanMb, 2)} MB`, '', `its monitor's VmRSS (max ${round(s.rssMaxMb, 2)} MB), beyond the container's own processes; no CLI stays`],
    ['cli: resident server RSS', `${round(c.serverRssMb, 1)} MB`, '', 'one per user and data dir (not per container); it ends by itself after 10 idle minutes'],
  ];
  return {
    rows,
    json: {
      cli_run_ms: c['locker run'], cli_run_no_ca_ms: c['locker run (no CA env)'], runc_run_to_exit_ms: c['runc run'],
      cli_ratio_vs_runc: ratio(c['locker run'], c['runc run']), cli_ratio_vs_node: ratio(c['locker run'], c['node -e 0 (no CA env)']),
      cli_node_run_ms: c['locker run (Node)'], cli_node_ps_ms: c['locker ps (Node)'], cli_server_rss_mb: round(c.serverRssMb, 1),
      cli_exec_ratio_vs_runc: ratio(c['locker exec'], c['runc exec']), cli_inspect_ratio_vs_runc: ratio(c['locker inspect'], c['runc state']),
      node_e0_ms: c['node -e 0 (no CA env)'], ...(nodeCa === undefined ? {} : { node_e0_ca_ms: nodeCa }),
      cli_ps_ms: c['locker ps'], runc_list_ms: c['runc list'], cli_ps_ratio_vs_runc: ratio(c['locker ps'], c['runc list']),
      cli_exec_ms: c['locker exec'], runc_exec_ms: c['runc exec'], cli_inspect_ms: c['locker inspect'], runc_state_ms: c['runc state'],
      scale_n: opts.scale, scale_ms: round(s.lockerStart), runc_scale_ms: round(s.runcStart), scale50_ratio_vs_runc: ratio(s.lockerStart, s.runcStart),
      stop_all_ms: round(s.lockerStop), stop_all_ratio_vs_grace: ratio(s.lockerStop, 1000), runc_delete_all_ms: round(s.runcStop),
      rss_per_container_mb: round(s.rssMeanMb), rss_per_container_max_mb: round(s.rssMaxMb),
    },
  };
}
