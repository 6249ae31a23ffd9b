// Outbound NAT, -p and --network through the real CLI, rootful: a peer outside the container's
// namespace (a netns of the test's own behind a veth that is not locker0) reached through the
// bridge and masquerade; a TCP listener in the container (busybox nc) and a UDP one (the host's
// python3, --no-ns mnt) reached from the host's 127.0.0.1 and from the peer; ports in use refused;
// nothing left after the end, a SIGKILL of the CLI (then locker cleanup), or a detached end.
// Unique names, ports and subnets: another test file may run beside this one.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { lockerNatTables } from '../runtime/network/nat';
import { PORTS_DIR } from '../runtime/network/ports';
import { IP_FORWARD, PRIOR_FILE } from '../runtime/network/forwarding';
import { leases } from '../runtime/network';
import { runAsUser, sandbox, startCli, until, userDataDir, cliForTestUser, TEST_USER } from '../testing/harness';

const root = process.getuid?.() === 0;
const hasNft = spawnSync('nft', ['--version']).status === 0;
const skip = !root ? 'needs root' : !hasNft ? 'nft is not installed' : false;
const sb = sandbox();
const tag = randomBytes(3).toString('hex');
const PEER_NS = `lkt-${tag}`;
const HOST_IF = `lkp${tag}`;
const octet = 100 + (parseInt(tag.slice(0, 2), 16) % 100);
const HOST_ADDR = `10.199.${octet}.1`;
const PEER_ADDR = `10.199.${octet}.2`;

/** A port no socket holds now, from a range of this run's own (two files run at once). */
function freePort(): number {
  for (;;) {
    const p = 20000 + Math.floor(Math.random() * 20000);
    const bound = ['tcp', 'tcp6', 'udp', 'udp6'].some((f) => readFileSync(`/proc/net/${f}`, 'utf8').includes(`:${hex(p)} `));
    if (!bound && !existsSync(join(PORTS_DIR, `tcp-${p}`)) && !existsSync(join(PORTS_DIR, `udp-${p}`))) return p;
  }
}

const hex = (port: number): string => port.toString(16).toUpperCase().padStart(4, '0');
/** A TCP listener on port in the namespace `prefix` enters (busybox nc listens on the IPv6 wildcard). */
const listens = (prefix: string, port: number): boolean => new RegExp(`:${hex(port)} [0-9A-F]+:0000 0A`).test(String(sh(`${prefix} cat /proc/net/tcp /proc/net/tcp6`).stdout));
const sh = (cmd: string): ReturnType<typeof spawnSync> => spawnSync('sh', ['-c', cmd], { encoding: 'utf8', timeout: 30000 });
const ours = (id: string): string => `locker_${id.slice(0, 10)}`;

function tcpSend(host: string, port: number, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = connect({ host, port }, () => c.end(text));
    c.on('close', () => resolve());
    c.on('error', reject);
  });
}

function udpAsk(host: string, port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    const timer = setInterval(() => s.send(text, port, host), 300);
    s.on('message', (m) => {
      clearInterval(timer);
      s.close();
      resolve(m.toString());
    });
    s.on('error', (e) => {
      clearInterval(timer);
      reject(e);
    });
    s.send(text, port, host);
  });
}

/**
 * busybox nc listening in the peer namespace. Its stdin is a pipe kept open: with /dev/null, nc may
 * take stdin's EOF as the end of the session and exit before it reads what a slow client sent.
 */
function peerListener(port: number): ChildProcessWithoutNullStreams {
  return spawn('ip', ['netns', 'exec', PEER_NS, 'busybox', 'nc', '-l', '-p', String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
}

before(() => {
  if (skip) return;
  // The peer: a namespace of this test's own behind a veth that is not locker0.
  const r = sh(`ip netns add ${PEER_NS} && ip link add ${HOST_IF} type veth peer name eth0 netns ${PEER_NS} && ip addr add ${HOST_ADDR}/30 dev ${HOST_IF} && ip link set ${HOST_IF} up && ip -n ${PEER_NS} addr add ${PEER_ADDR}/30 dev eth0 && ip -n ${PEER_NS} link set eth0 up && ip -n ${PEER_NS} link set lo up`);
  assert.equal(r.status, 0, String(r.stderr));
});

after(() => {
  sb.run(['rm', '-f', `pub-${tag}`, `udp-${tag}`]);
  sb.cleanup();
  sh(`ip link del ${HOST_IF} 2>/dev/null; ip netns del ${PEER_NS} 2>/dev/null`);
});

describe('rootful networking: NAT, -p, --network', { skip }, () => {
  test('outbound: a container reaches a peer outside its netns through locker0 and masquerade, and its table goes with it', async () => {
    const port = freePort();
    // The peer has no route to 10.88.0.0/24: only a masqueraded connection (from HOST_ADDR) can be answered.
    const peer = peerListener(port);
    let got = '';
    peer.stdout.on('data', (d) => (got += d));
    await until(() => listens(`ip netns exec ${PEER_NS}`, port), 10000);
    const r = sb.run(['run', '--', 'sh', '-c', `echo from-container | nc -w 5 ${PEER_ADDR} ${port} && echo sent`], { timeoutMs: 30000 });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    await until(() => got.includes('from-container'), 10000);
    peer.kill();
  });

  test('-p TCP: a busybox nc in the container gets bytes from the host (127.0.0.1) and from the peer; inspect lists the DNAT rules; nothing is left', async () => {
    const hp = freePort();
    const id = sb.run(['run', '-d', '--name', `pub-${tag}`, '-p', `${hp}:8080`, '--', 'sh', '-c', 'nc -l -p 8080; nc -l -p 8080']).stdout.trim();
    assert.match(id, /^[0-9a-f]{12}$/);
    const info = JSON.parse(sb.run(['inspect', id]).stdout);
    assert.deepEqual(info.network.published, [{ hostPort: hp, containerPort: 8080, protocol: 'tcp', via: 'dnat' }]);
    assert.equal(info.network.nat.table, `ip ${ours(id)}`);
    assert.match(info.network.nat.rules, new RegExp(`tcp dport ${hp} counter packets \\d+ bytes \\d+ dnat to ${info.network.address.replace(/\./g, '\\.')}:8080`));
    assert.ok(info.network.hostChanges.some((l: string) => l.includes('route_localnet')));
    assert.ok(lockerNatTables().includes(ours(id)));
    // Listening yet? (busybox nc binds when it starts.)
    await until(() => listens(`nsenter --net=/proc/${info.pid}/ns/net`, 8080), 10000);
    await tcpSend('127.0.0.1', hp, 'hello-from-host\n');
    await until(() => sb.run(['logs', id]).stdout.includes('hello-from-host'), 10000);
    // From outside the host: the peer connects to the host's address on its veth (prerouting DNAT).
    await until(() => listens(`nsenter --net=/proc/${info.pid}/ns/net`, 8080), 10000);
    const p = sh(`echo hello-from-peer | ip netns exec ${PEER_NS} busybox nc -w 5 ${HOST_ADDR} ${hp}`);
    assert.equal(p.status, 0, String(p.stderr));
    await until(() => sb.run(['logs', id]).stdout.includes('hello-from-peer'), 10000);
    // It ended by itself, with no CLI around: its monitor's exit command took the rules away.
    await until(() => !lockerNatTables().includes(ours(id)) && !existsSync(join(PORTS_DIR, `tcp-${hp}`)), 20000);
  });

  test('-p UDP: a UDP listener in the container answers a datagram sent to 127.0.0.1', async () => {
    const hp = freePort();
    const server = 'import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(("0.0.0.0",9999))\nprint("ready",flush=True)\nd,a=s.recvfrom(100)\ns.sendto(b"pong:"+d,a)\n';
    const c = startCli(sb, ['run', '--name', `udp-${tag}`, '--no-ns', 'mnt', '-p', `127.0.0.1:${hp}:9999/udp`, '--', 'python3', '-c', server]);
    await until(() => c.output().includes('ready'), 15000);
    assert.equal(await udpAsk('127.0.0.1', hp, 'ping'), 'pong:ping');
    const { code } = await c.done;
    assert.equal(code, 0);
    assert.ok(!existsSync(join(PORTS_DIR, `udp-${hp}`)));
  });

  test('bad -p is one line and makes nothing: a port in use on the host, one another container publishes, --network none/host', async () => {
    const hp = freePort();
    const server: Server = createServer().listen(hp, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const tables = lockerNatTables();
    const inUse = sb.run(['run', '-p', `${hp}:80`, '--', 'true']);
    server.close();
    assert.equal(inUse.status, 2);
    assert.match(inUse.stderr, new RegExp(`^locker: -p ${hp}/tcp: port ${hp}/tcp is in use on the host \\(127\\.0\\.0\\.1:${hp}\\); pick another host port\\n$`));
    const none = sb.run(['run', '--network', 'none', '-p', '8080:80', '--', 'true']);
    assert.equal(none.stderr, 'locker: -p cannot be used with --network none: the container has loopback only; leave out -p or use --network bridge\n');
    const host = sb.run(['run', '--network', 'host', '-p', '8080:80', '--', 'true']);
    assert.equal(host.stderr, "locker: -p cannot be used with --network host: the container already uses the host's ports; leave out -p\n");
    const range = sb.run(['run', '-p', '0:80', '--', 'true']);
    assert.match(range.stderr, /^locker: -p "0:80": ports are whole numbers from 1 to 65535/);
    // Held by another container.
    const hp2 = freePort();
    const a = startCli(sb, ['run', '-p', `${hp2}:80`, '--', 'sh', '-c', 'echo up; exec sleep 30']);
    await until(() => a.output().includes('up'), 15000);
    const twice = sb.run(['run', '-p', `${hp2}:81`, '--', 'true']);
    assert.match(twice.stderr, new RegExp(`^locker: -p ${hp2}/tcp: port ${hp2}/tcp is published by container [0-9a-f]{12}; pick another host port or stop it\\n$`));
    const [{ id: aId }] = JSON.parse(sb.run(['ps', '--json']).stdout).filter((x: { command: string[] }) => x.command.join(' ').includes('echo up; exec sleep 30'));
    assert.ok(lockerNatTables().includes(ours(aId)));
    a.child.kill('SIGTERM');
    await a.done;
    assert.ok(!lockerNatTables().includes(ours(aId)), 'the publishing container took its table along');
    // No refused run left a table: a new one is another file's container's, which holds an address lease
    // (one being torn down lets go of its lease a moment before its table: a leak stays, so wait a little).
    const strays = (): string[] => lockerNatTables().filter((t) => !tables.includes(t) && !leases().some((l) => ours(l.id) === t));
    await until(() => strays().length === 0, 15000).catch(() => assert.deepEqual(strays(), []));
  });

  test('--network none has loopback only; --network host is the host\'s own namespace; /etc/hosts, hostname and resolv.conf are the container\'s', () => {
    const none = sb.run(['run', '--network', 'none', '--', 'sh', '-c', 'ls /sys/class/net']);
    assert.equal(none.stdout, 'lo\n', none.stderr);
    const hostNs = spawnSync('readlink', ['/proc/self/ns/net'], { encoding: 'utf8' }).stdout.trim();
    const host = sb.run(['run', '--network', 'host', '--', 'readlink', '/proc/self/ns/net']);
    assert.equal(host.stdout.trim(), hostNs, host.stderr);
    const files = sb.run(['run', '--hostname', `h${tag}`, '--', 'sh', '-c', 'cat /etc/hostname; grep -c nameserver /etc/resolv.conf; grep -c "nameserver 127" /etc/resolv.conf; ip -4 -o addr show eth0; grep h' + tag + ' /etc/hosts']);
    assert.equal(files.status, 0, files.stderr);
    const [hostname, servers, loop, addr, hostsLine] = files.stdout.trim().split('\n');
    assert.equal(hostname, `h${tag}`);
    assert.ok(Number(servers) >= 1);
    assert.equal(loop, '0');
    const address = /inet (10\.88\.0\.\d+)\//.exec(addr)?.[1];
    assert.equal(hostsLine, `${address}\th${tag}`);
  });

  test('a SIGKILLed CLI leaves its table, port lock and address to locker cleanup, which takes them and puts ip_forward back', async () => {
    const hp = freePort();
    // A runtime process killed (Node, not the resident server, which would clean up after its killed client).
    const c = startCli({ ...sb, env: { ...sb.env, LOCKER_NO_CLI_SERVER: '1' } }, ['run', '-p', `${hp}:80`, '--', 'sh', '-c', 'echo up; exec sleep 60']);
    await until(() => c.output().includes('up'), 15000);
    const [{ id }] = JSON.parse(sb.run(['ps', '--json']).stdout).filter((x: { command: string[] }) => x.command.join(' ').includes('echo up'));
    assert.ok(lockerNatTables().includes(ours(id)));
    assert.ok(existsSync(join(PORTS_DIR, `tcp-${hp}`)));
    assert.equal(readFileSync(IP_FORWARD, 'utf8').trim(), '1');
    c.child.kill('SIGKILL');
    await c.done;
    // The container died with its CLI (PR_SET_PDEATHSIG); what it held on the host is still there.
    assert.ok(lockerNatTables().includes(ours(id)));
    const r = sb.run(['cleanup']);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!lockerNatTables().includes(ours(id)));
    assert.ok(!existsSync(join(PORTS_DIR, `tcp-${hp}`)));
    assert.ok(!leases().some((l) => l.id === id));
    // Another file's bridged container may still hold forwarding on; with none left, the old value is
    // back. One being torn down lets go of its lease a moment before it puts the value back: wait for either.
    const settled = () => leases().length > 0 || !existsSync(PRIOR_FILE);
    await until(settled, 15000).catch(() => assert.ok(settled(), 'ip_forward put back once no bridged container is left'));
  });
});

const tunOpen = (statSync('/dev/net/tun', { throwIfNoEntry: false })?.mode ?? 0) & 0o006;
const hasPasta = spawnSync('sh', ['-c', 'command -v pasta'], { encoding: 'utf8' }).status === 0;

describe('rootless networking', { skip: !root ? 'needs root (to run as the test user)' : false }, () => {
  test(tunOpen ? 'skipped: /dev/net/tun opens for every user here' : 'without a usable /dev/net/tun: loopback only, and -p is one line naming the fix', { skip: tunOpen ? 'tun open' : false }, () => {
    const dir = userDataDir();
    const r = runAsUser(dir, ['run', '--', 'ls', '/sys/class/net']);
    assert.equal(r.stdout, 'lo\n', r.stderr);
    const p = runAsUser(dir, ['run', '-p', '18080:80', '--', 'true']);
    assert.match(p.stderr, /^locker: -p needs a user-mode network without root, and (pasta cannot run: \/dev\/net\/tun is not readable and writable|pasta is not installed)/);
  });

  test('with pasta: outbound to the peer and -p from the host reach the container (a private /dev/net/tun node of mode 0666, in a mount namespace of the test\'s own)', { skip: hasPasta ? false : 'pasta is not installed' }, async () => {
    const dir = userDataDir();
    const hp = freePort();
    const port = freePort();
    const cli = cliForTestUser();
    const peer = peerListener(port);
    let got = '';
    peer.stdout.on('data', (d) => (got += d));
    // pasta takes the host's address: the peer is reached through the host's route to HOST_ADDR's /30.
    const script = `set -e; t=$(mktemp -d); mount -t tmpfs -o mode=755 none $t; mknod -m 666 $t/tun c 10 200; mount --bind $t/tun /dev/net/tun; cd /tmp
      runuser -u ${TEST_USER} -- env LOCKER_DATA_DIR=${dir} HOME=/tmp ${cli} run -- sh -c 'sleep 1; echo via-pasta | nc -w 5 ${PEER_ADDR} ${port}'
      runuser -u ${TEST_USER} -- env LOCKER_DATA_DIR=${dir} HOME=/tmp ${cli} run -p ${hp}:8080 -- sh -c 'ls /sys/class/net; nc -l -p 8080'`;
    const c = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (err += d));
    const closed = new Promise((r) => c.on('close', r));
    await until(() => got.includes('via-pasta'), 30000).catch(() => assert.fail(`outbound: ${out} ${err}`));
    peer.kill();
    await until(() => listens('', hp), 30000).catch(() => assert.fail(`pasta never listened: ${out} ${err}`));
    // pasta listens as soon as the namespace is set up; the nc inside may start a moment later.
    for (let i = 0; i < 50 && !out.includes('over-pasta'); i++) {
      await tcpSend('127.0.0.1', hp, 'over-pasta\n').catch(() => undefined);
      await new Promise((r) => setTimeout(r, 200));
    }
    const code = await closed;
    assert.equal(code, 0, err);
    assert.match(out, /over-pasta/);
    assert.match(out, /^lo$/m);
    // pasta exits with the container's namespace: the port is free again.
    await until(() => !listens('', hp), 10000);
  });
});
