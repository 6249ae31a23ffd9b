// One grammar per rule: the CLI, the API validator, the launch form and the lesson loader accept
// and refuse exactly the same rows of the shared table (app/main/testing/grammar-rows.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import type { Capabilities } from '../../shared/api';
import { formSettings, type LaunchFields } from '../../shared/launch-form';
import { NAMESPACES, type Namespace } from '../../shared/types';
import { specFromArgs } from '../cli/run';
import { parseLesson } from '../lessons/schema';
import { validateSpec } from '../runtime/spec';
import { CPUS_ROWS, HOSTNAME_ROWS, MEMORY_ROWS, PIDS_ROWS, type Row } from '../testing/grammar-rows';
import { validateCall } from './validate';

const ncpu = availableParallelism();
// as root with every limit available: only the grammar decides
const caps: Capabilities = {
  rootless: false, userNamespaces: { ok: true }, cgroupLimits: { memory: true, cpus: true, pids: true }, network: { mode: 'bridge' }, cpus: ncpu,
};
const allButUser = NAMESPACES.filter((n) => n !== 'user');

type Field = 'memory' | 'cpus' | 'pidsLimit' | 'hostname';
const FLAG: Record<Field, string> = { memory: '--memory', cpus: '--cpus', pidsLimit: '--pids-limit', hostname: '--hostname' };
const FORM: Record<Field, keyof LaunchFields> = { memory: 'memory', cpus: 'cpus', pidsLimit: 'pidsLimit', hostname: 'hostname' };

/** What each consumer says about one typed value: accepted (true) or its problem line. */
function verdicts(field: Field, text: string): Record<'cli' | 'validator' | 'form' | 'lesson', true | string> {
  const attempt = (f: () => unknown): true | string => {
    try {
      const r = f();
      return typeof r === 'string' ? r : true;
    } catch (e) {
      return (e as Error).message;
    }
  };
  // counts travel as numbers through the API and in lesson files; text that is no number stays text (and is refused as such)
  const asSent = field === 'pidsLimit' && /^\d+$/.test(text) ? Number(text) : text;
  return {
    cli: attempt(() => validateSpec(specFromArgs([FLAG[field], text, '--', 'true'], false, false).spec, false)),
    validator: attempt(() => validateCall('run', { command: ['true'], namespaces: allButUser, cols: 80, rows: 24, [field]: asSent })),
    form: attempt(() => formSettings({ useDefault: true, rootfs: '', command: '/bin/sh', hostname: '', namespaces: allButUser, memory: '', cpus: '', pidsLimit: '', [FORM[field]]: text }, caps)),
    lesson: attempt(() => parseLesson(JSON.stringify({
      id: 'l', title: 'L', steps: [{ id: 's', title: 'S', explain: 'e', lookFor: 'l', commands: [{ pane: 'container', run: 'hostname' }], verify: [{ hostnameDiffers: true }, { ran: 0 }], preset: { namespaces: ['uts'], [field]: asSent } }],
    }), 'l.json')),
  };
}

function agree<T>(field: Field, rows: Row<T>[]): void {
  for (const [text, want] of rows) {
    if (text === '') continue; // an empty field means "no limit" / "the default" to every consumer
    const v = verdicts(field, text);
    for (const [who, verdict] of Object.entries(v)) {
      if (want instanceof RegExp) {
        assert.notEqual(verdict, true, `${who} accepted ${field} ${JSON.stringify(text)}`);
        assert.ok(!String(verdict).includes('\n'), `${who}: one line`);
      } else {
        assert.equal(verdict, true, `${who} refused ${field} ${JSON.stringify(text)}: ${verdict}`);
      }
    }
    // the grammar's own words reach the user, whoever checked
    if (want instanceof RegExp && field !== 'pidsLimit') for (const [who, verdict] of Object.entries(v)) assert.match(String(verdict), want, who);
  }
}

test('memory: the CLI, the validator, the form and lessons agree on every row', () => agree('memory', MEMORY_ROWS));
test('cpus: .5 is accepted everywhere, with the same upper bound', () => agree('cpus', CPUS_ROWS(ncpu)));
test('pids: 0, 5 and huge are judged alike everywhere', () => agree('pidsLimit', PIDS_ROWS));
test('hostnames: bad characters and 64+ bytes are refused everywhere', () => agree('hostname', HOSTNAME_ROWS));

test('namespace lists with unknown or duplicate names are refused everywhere', () => {
  const rows: [string, boolean][] = [['pid,uts', true], ['pid,bogus', false], ['pid,pid', false], ['user,mnt', true]];
  for (const [list, accepted] of rows) {
    const names = list.split(',') as Namespace[];
    const said = {
      cli: (() => { try { validateSpec(specFromArgs(['--ns', list, '--', 'true'], false, false).spec, false); return true; } catch { return false; } })(),
      validator: (() => { try { validateCall('run', { command: ['true'], namespaces: names, cols: 80, rows: 24 }); return true; } catch { return false; } })(),
      form: typeof formSettings({ useDefault: true, rootfs: '', command: '/bin/sh', hostname: '', namespaces: names, memory: '', cpus: '', pidsLimit: '' }, caps) !== 'string',
      lesson: (() => {
        try {
          parseLesson(JSON.stringify({ id: 'l', title: 'L', steps: [{ id: 's', title: 'S', explain: 'e', lookFor: 'l', commands: [{ pane: 'container', run: 'ls' }], verify: [{ rootDiffers: true }, { ran: 0 }], preset: { namespaces: names } }] }), 'l.json');
          return true;
        } catch {
          return false;
        }
      })(),
    };
    assert.deepEqual(said, { cli: accepted, validator: accepted, form: accepted, lesson: accepted }, list);
  }
});
