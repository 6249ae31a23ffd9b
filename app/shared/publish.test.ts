// -p and --network: one grammar for the CLI, the API validator and the launch form.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkPortSpec, checkPublishList, parseNetworkMode, parsePublish } from './grammar';
import { formSettings, portList, presetNeedsRoot, presetPorts, type LaunchFields } from './launch-form';
import { NAMESPACES } from './types';

describe('-p grammar', () => {
  test('docker spellings', () => {
    assert.deepEqual(parsePublish('8080:80'), { ok: true, value: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] });
    assert.deepEqual(parsePublish('127.0.0.1:5353:53/udp'), { ok: true, value: [{ hostIp: '127.0.0.1', hostPort: 5353, containerPort: 53, protocol: 'udp' }] });
    assert.deepEqual(parsePublish('0.0.0.0:80:80/TCP'), { ok: true, value: [{ hostPort: 80, containerPort: 80, protocol: 'tcp' }] });
    const range = parsePublish('8000-8002:9000-9002');
    assert.ok(range.ok && range.value.map((p) => `${p.hostPort}>${p.containerPort}`).join(' ') === '8000>9000 8001>9001 8002>9002');
  });
  test('bad input is one line naming the fix', () => {
    const cases: Array<[string, RegExp]> = [
      ['80', /name the host port too/],
      ['0:80', /ports are whole numbers from 1 to 65535/],
      ['65536:80', /ports are whole numbers from 1 to 65535/],
      ['8080:80/sctp', /unknown protocol "sctp"; use \/tcp/],
      ['[::1]:8080:80', /IPv6 host addresses are not supported/],
      ['300.1.1.1:8080:80', /"300.1.1.1" is not an IPv4 address/],
      ['8000-8001:80', /ranges differ in length/],
      ['1-100:1-100', /at most 64 ports in one range/],
      ['a:b', /ports are whole numbers/],
    ];
    for (const [text, problem] of cases) {
      const r = parsePublish(text);
      assert.ok(!r.ok, text);
      assert.match(r.problem, problem);
      assert.ok(r.problem.startsWith(`-p ${JSON.stringify(text)}: `) && !r.problem.includes('\n'), r.problem);
    }
    assert.match((checkPublishList([{ hostPort: 1, containerPort: 1, protocol: 'tcp' }, { hostPort: 1, containerPort: 2, protocol: 'tcp' }]) as { problem: string }).problem, /published twice/);
    assert.ok(checkPublishList([{ hostPort: 1, containerPort: 1, protocol: 'tcp' }, { hostPort: 1, containerPort: 1, protocol: 'udp' }]).ok);
  });
  test('as data (the API): the same rules', () => {
    assert.deepEqual(checkPortSpec({ hostPort: 8080, containerPort: 80 }), { ok: true, value: { hostPort: 8080, containerPort: 80, protocol: 'tcp' } });
    assert.ok(!checkPortSpec({ hostPort: 8080.5, containerPort: 80 }).ok);
    assert.ok(!checkPortSpec({ hostPort: 8080, containerPort: 80, protocol: 'icmp' }).ok);
    assert.ok(!checkPortSpec({ hostIp: '1.2.3.4; rm -rf /', hostPort: 8080, containerPort: 80 }).ok);
  });
  test('--network', () => {
    assert.deepEqual(parseNetworkMode('default'), { ok: true, value: 'bridge' });
    assert.deepEqual(parseNetworkMode('none'), { ok: true, value: 'none' });
    assert.match((parseNetworkMode('container:abc') as { problem: string }).problem, /not supported/);
    assert.match((parseNetworkMode('macvlan') as { problem: string }).problem, /use bridge \(the default\), none/);
  });
});

describe('launch form: ports and network mode', () => {
  const base: LaunchFields = { useDefault: true, rootfs: '', command: 'sh', hostname: '', namespaces: [...NAMESPACES].filter((n) => n !== 'user'), memory: '', cpus: '', pidsLimit: '' };
  test('ports go through the -p grammar', () => {
    assert.deepEqual(portList('8080:80, 5353:53/udp'), [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }, { hostPort: 5353, containerPort: 53, protocol: 'udp' }]);
    assert.match(portList('8080') as string, /name the host port too/);
    const s = formSettings({ ...base, ports: '8080:80' }, undefined);
    assert.ok(typeof s !== 'string' && s.publish?.[0].hostPort === 8080 && s.network === undefined);
  });
  test('network none/host with ports, or against the net checkbox, is one line', () => {
    assert.match(formSettings({ ...base, ports: '8080:80', network: 'none' }, undefined) as string, /ports cannot be published with network none/);
    assert.match(formSettings({ ...base, network: 'host' }, undefined) as string, /untick net/);
    const host = formSettings({ ...base, network: 'host', namespaces: base.namespaces.filter((n) => n !== 'net') }, undefined);
    assert.ok(typeof host !== 'string' && host.network === 'host');
  });
});

describe('a lesson step\'s network preset in the launch form', () => {
  const rootless = (mode: 'bridge' | 'loopback') => ({
    rootless: true, userNamespaces: { ok: true }, cpus: 2, cgroupLimits: { memory: true, cpus: true, pids: true },
    network: { mode, note: mode === 'loopback' ? 'rootless containers have loopback only: install passt (pasta) for outbound network and -p' : undefined },
  });
  test('ports fill the ports field; without root and without pasta the form says why before Run', () => {
    const preset = { namespaces: ['net' as const], ports: ['18080:8080', '5353:53/udp'] };
    assert.equal(presetPorts(preset), '18080:8080, 5353:53/udp');
    assert.equal(presetPorts({ namespaces: [] }), '');
    assert.equal(presetNeedsRoot(preset, rootless('loopback')),
      'needs root: a published port (-p) without root needs pasta, which cannot run here (rootless containers have loopback only: install passt (pasta) for outbound network and -p)');
    assert.equal(presetNeedsRoot(preset, rootless('bridge')), undefined); // pasta carries -p
    assert.equal(presetNeedsRoot({ namespaces: ['net'] }, rootless('loopback')), undefined);
    assert.equal(presetNeedsRoot(preset, { ...rootless('loopback'), rootless: false }), undefined);
  });
});
