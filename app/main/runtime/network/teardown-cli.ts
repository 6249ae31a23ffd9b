// `node teardown-cli.js ID DIR [--network] [--rm]`: run by a detached container's monitor after the
// container ended (exit-command.ts). --network: removes what container ID held on the host's network
// (its veth, nft table, port locks, address; ip_forward back when it was the last; its pasta, from
// DIR). --rm (run -d --rm): then its cgroup and its container dir DIR (record, log, layer) too.
// Neither flag (an exit command written by an older Locker): --network.
import { teardownAfterExit } from './after-exit';

const [id = '', dir, ...flags] = process.argv.slice(2);
if (!/^[0-9a-f]{12}$/.test(id) || flags.some((f) => f !== '--network' && f !== '--rm') || (flags.includes('--rm') && !dir)) {
  process.stderr.write('usage: teardown-cli.js CONTAINER_ID (12 hex digits) DIR [--network] [--rm]\n');
  process.exit(2);
}
teardownAfterExit(id, dir, { network: flags.length === 0 || flags.includes('--network'), remove: flags.includes('--rm') })
  .catch((e: Error) => process.stderr.write(`locker: removing the cgroup of ${id}: ${e.message}\n`));
