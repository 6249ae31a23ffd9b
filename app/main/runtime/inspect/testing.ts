// Test support: real containers made with util-linux `unshare`, always killed and reaped.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

export interface TestContainer {
  /** pid of the unshare process (the container itself when started without --fork). */
  unsharePid: number;
  /** Host pid of the container's init: unshare's child with --fork, else unshare itself. */
  pid: number;
  stop(): Promise<void>;
}

export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
    if (text) out.push(...text.split(/\s+/).map(Number));
  }
  return out;
}

function stopper(proc: ChildProcess): () => Promise<void> {
  return () => new Promise<void>((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    proc.once('exit', () => resolve());
    try {
      process.kill(-proc.pid!, 'SIGKILL');
    } catch {
      proc.kill('SIGKILL');
    }
  });
}

/**
 * Runs `unshare ...args` in its own process group and waits until it prints "ready" on stdout.
 * The script should print "ready" once the container is set up.
 */
export function startUnshare(args: string[], timeoutMs = 5000): Promise<TestContainer> {
  const fork = args.includes('--fork') || args.includes('-f');
  const proc = spawn('unshare', fork ? ['--kill-child', ...args] : args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const stop = stopper(proc);
  return new Promise<TestContainer>((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      void stop().then(() => reject(new Error(`unshare ${args.join(' ')}: no "ready" within ${timeoutMs} ms; stderr: ${err}`)));
    }, timeoutMs);
    proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (!out.includes('ready')) return;
      clearTimeout(timer);
      const unsharePid = proc.pid!;
      const pid = fork ? childrenOf(unsharePid)[0] : unsharePid;
      if (!pid) {
        void stop().then(() => reject(new Error('unshare --fork has no child')));
        return;
      }
      resolve({ unsharePid, pid, stop });
    });
    proc.once('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`unshare ${args.join(' ')} exited early (${code ?? sig}): ${err}`));
    });
  });
}
