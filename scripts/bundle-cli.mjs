// Bundles the compiled CLI (build/app/main/cli/main.js and every module it can reach) into one
// file beside it, main.bundle.js, plus V8's code cache of that file (main.bundle.cache): `locker`
// then reads one file and skips compiling ~440 modules at every start (bin/locker.js loads it).
// The bundle keeps each module lazy (rolldown wraps each CommonJS module and runs it at its first
// require), and each module's own __dirname, so paths to native/build, lessons/ and workers hold.
// Run after tsc (npm run build does); a later tsc run makes the bundle stale, and bin/locker.js
// then uses the unbundled files until the next build.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { Module, createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';
import { rolldown } from 'rolldown';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cliDir = join(root, 'build', 'app', 'main', 'cli');
const out = join(cliDir, 'main.bundle.js');

const bundle = await rolldown({
  input: join(cliDir, 'main.js'),
  platform: 'node',
  // Native addons and the packages that load them stay node_modules' own; so does package.json.
  external: [/^koffi$/, /^node-pty(\/|$)/, /^ws$/, /^electron(\/|$)/, /\.node$/, /package\.json$/],
  logLevel: 'warn',
  plugins: [{
    name: 'module-dirname',
    // Each module's __dirname as it was beside its own file (they find native/build, workers, lessons).
    transform(code, id) {
      if (!code.includes('__dirname') || dirname(id) === cliDir) return null;
      const rel = relative(cliDir, dirname(id));
      return { code: code.replaceAll('__dirname', `require("node:path").join(__dirname, ${JSON.stringify(rel)})`), map: null };
    },
  }],
});
const tmp = `${out}.${process.pid}.tmp`;
await bundle.write({ file: tmp, format: 'cjs', sourcemap: false });
await bundle.close();

// A function that runs every module of the bundle once, for the code cache below only (never
// called at run time): V8 caches the bytecode of what has run, so no command compiles a module.
const names = [...readFileSync(tmp, 'utf8').matchAll(/^var (require_[\w$]+) = /gm)].map((m) => m[1]);
writeFileSync(tmp, readFileSync(tmp, 'utf8') + `\nexports.warmCodeCache = () => { for (const r of [${names.join(', ')}]) try { r(); } catch {} };\n`);

// The code cache is made from exactly the text bin/locker.js compiles (the CommonJS wrapper around
// the bundle). V8 rejects a cache made by another V8 or for other text, and then simply compiles.
const script = new Script(Module.wrap(readFileSync(tmp, 'utf8')), { filename: out });
const m = { exports: {} };
script.runInThisContext().call(m.exports, m.exports, createRequire(out), m, out, cliDir);
m.exports.warmCodeCache();
writeFileSync(`${tmp}.cache`, script.createCachedData());
// The bundle last: bin/locker.js trusts a bundle newer than main.js, and the cache beside it.
renameSync(`${tmp}.cache`, join(cliDir, 'main.bundle.cache'));
renameSync(tmp, out);
// Modules the warm-up loaded (a worker, timers) must not keep the build waiting.
process.exit(0);
