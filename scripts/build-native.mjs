// Builds native/src/nsexec.c into a shared library (and, with a main, into native/build/locker-nsexec), native/src/monitor.c (detached containers) into
// native/build/locker-monitor, native/src/client.c (bin/locker's first step) into native/build/locker-client,
// and native/src/init.c (run --init) into native/build/locker-init, at install, with the C toolchain node-pty already needs.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'native', 'build', 'libnsexec.so');
mkdirSync(dirname(out), { recursive: true });
const cc = process.env.CC || 'cc';
try {
  execFileSync(cc, ['-O2', '-Wall', '-Wextra', '-Werror', '-std=c11', '-shared', '-fPIC', '-o', out,
    join(root, 'native', 'src', 'nsexec.c')], { stdio: 'inherit' });
  // locker_spawn_exec's small process that clones for a big caller (the same file, with a main): static, no loader to find.
  execFileSync(cc, ['-O2', '-Wall', '-Wextra', '-Werror', '-std=c11', '-static', '-s', '-DLOCKER_NSEXEC_MAIN', '-o', join(dirname(out), 'locker-nsexec'),
    join(root, 'native', 'src', 'nsexec.c')], { stdio: 'inherit' });
  // The monitor of detached containers runs the same library's locker_spawn_in_cgroup, found beside it.
  execFileSync(cc, ['-O2', '-Wall', '-Wextra', '-Werror', '-std=c11', '-o', join(dirname(out), 'locker-monitor'),
    join(root, 'native', 'src', 'monitor.c'), '-L', dirname(out), '-l:libnsexec.so', '-Wl,-rpath,$ORIGIN'], { stdio: 'inherit' });
  // What `locker` starts first (bin/locker): hands the command to the resident CLI server, or to Node.
  execFileSync(cc, ['-O2', '-Wall', '-Wextra', '-Werror', '-std=c11', '-s', '-o', join(dirname(out), 'locker-client'),
    join(root, 'native', 'src', 'client.c')], { stdio: 'inherit' });
  // The PID 1 of run --init (native/src/init.c): static, as it runs inside any image.
  execFileSync(cc, ['-O2', '-Wall', '-Wextra', '-Werror', '-std=c11', '-static', '-s', '-o', join(dirname(out), 'locker-init'),
    join(root, 'native', 'src', 'init.c')], { stdio: 'inherit' });
} catch (e) {
  console.error(`locker: could not build ${out} with ${cc}: ${e.message}. Install a C compiler (apt-get install build-essential) and run npm install again.`);
  process.exit(1);
}
