// Verify rules read the container's real state, the way the side-by-side view does: the kernel's
// namespace links, /proc of the container's init, its cgroup files. Nothing is taken from what the
// terminal printed.
import { readFileSync, statSync } from 'node:fs';
import type { RuleOutcome, VerifyResult, VerifyRule } from '../../shared/api';
import type { Inspection } from '../../shared/types';
import type { ContainerRuntime } from '../runtime/handles';

export interface VerifyContext {
  runtime: ContainerRuntime;
  id: string;
  inspection: Inspection;
}

/** The host uid that uid 0 inside maps to, or undefined when 0 is unmapped. */
export function outsideUidOfRoot(uidMap: string): number | undefined {
  for (const line of uidMap.trim().split('\n')) {
    const [inside, outside, count] = line.trim().split(/\s+/).map(Number);
    if ([inside, outside, count].some((n) => !Number.isFinite(n))) continue;
    if (inside <= 0 && 0 < inside + count) return outside - inside;
  }
  return undefined;
}

/** Interface names in /proc/net/dev text. */
export function interfaceNames(netDev: string): string[] {
  return netDev.split('\n').slice(2).map((l) => l.split(':')[0].trim()).filter(Boolean);
}

function read(path: string): string {
  return readFileSync(path, 'utf8');
}

type Judge = (ctx: VerifyContext) => { ok: boolean; detail: string };

function judge(rule: VerifyRule): Judge {
  if ('namespaceSeparate' in rule || 'namespaceShared' in rule) {
    const type = 'namespaceSeparate' in rule ? rule.namespaceSeparate : rule.namespaceShared;
    const wantShared = 'namespaceShared' in rule;
    return ({ inspection }) => {
      const n = inspection.namespaces.find((x) => x.type === type);
      if (!n) return { ok: false, detail: `no ${type} namespace link to compare` };
      return { ok: n.shared === wantShared, detail: `${type}: host ${n.host}, container ${n.container} → ${n.shared ? 'shared' : 'separate'}` };
    };
  }
  if ('hostnameDiffers' in rule) {
    return ({ inspection: { hostname: h } }) => ({
      ok: (h.host !== h.container) === rule.hostnameDiffers,
      detail: `host "${h.host}", container "${h.container}"`,
    });
  }
  if ('pid1Is' in rule) {
    return ({ inspection }) => {
      const p1 = inspection.containerProcesses.find((p) => p.containerPid === 1);
      if (!p1) {
        const init = inspection.containerProcesses.find((p) => p.pid === inspection.pid);
        return { ok: false, detail: `no process is PID 1 in the container (its init is PID ${init?.containerPid ?? inspection.pid}: no PID namespace)` };
      }
      return { ok: p1.name === rule.pid1Is, detail: `container PID 1 is "${p1.name}" (host PID ${p1.pid})` };
    };
  }
  if ('procShowsHost' in rule) {
    return ({ runtime, id, inspection }) => {
      // what `ps` inside reads: the /proc mounted in the container's root
      const listed = runtime.listDir(id, 'container', '/proc').entries.filter((e) => /^\d+$/.test(e.name)).map((e) => Number(e.name));
      const own = new Set(inspection.containerProcesses.map((p) => p.containerPid));
      const foreign = listed.filter((p) => !own.has(p));
      // a process may start or end between the two reads: allow a little slack
      const showsHost = foreign.length > 2;
      return {
        ok: showsHost === rule.procShowsHost,
        detail: `the container's /proc lists ${listed.length} processes; ${inspection.containerProcesses.length} belong to the container${showsHost ? `, the rest are the host's` : ''}`,
      };
    };
  }
  if ('rootDiffers' in rule) {
    return ({ inspection }) => {
      const host = statSync('/');
      const ctr = statSync(`/proc/${inspection.pid}/root/`);
      const differs = host.dev !== ctr.dev || host.ino !== ctr.ino;
      return {
        ok: differs === rule.rootDiffers,
        detail: `host / is device ${host.dev} inode ${host.ino}; the container's / is device ${ctr.dev} inode ${ctr.ino}${differs ? '' : ' (the same directory)'}`,
      };
    };
  }
  if ('uidMapOutsideNot' in rule) {
    return ({ inspection }) => {
      const outside = outsideUidOfRoot(inspection.uidMap);
      const map = inspection.uidMap.trim().split(/\s+/).join(' ');
      if (outside === undefined) return { ok: false, detail: `uid 0 is not mapped (uid_map "${map}")` };
      return { ok: outside !== rule.uidMapOutsideNot, detail: `root inside is uid ${outside} outside (uid_map "${map}")` };
    };
  }
  if ('onlyLoopback' in rule) {
    return ({ inspection }) => {
      const names = interfaceNames(read(`/proc/${inspection.pid}/net/dev`));
      const only = names.every((n) => n === 'lo');
      return { ok: only === rule.onlyLoopback, detail: `interfaces in the container's network namespace: ${names.join(', ') || 'none'}` };
    };
  }
  if ('pidsLimit' in rule) {
    return ({ inspection }) => {
      const r = inspection.resources;
      if (!r) return { ok: false, detail: 'the container has no cgroup limits; set pids-limit in the launch form' };
      const max = r.stats.pidsMax;
      return { ok: r.limits.pidsLimit === rule.pidsLimit && (max === null || max === rule.pidsLimit), detail: `pids.max is ${max ?? 'unknown'} (limit asked: ${r.limits.pidsLimit ?? 'none'})` };
    };
  }
  if ('pidsRejected' in rule) {
    return ({ inspection }) => {
      const r = inspection.resources;
      if (!r) return { ok: false, detail: 'the container has no cgroup limits' };
      const n = r.stats.pidsRejected;
      if (n === null) return { ok: false, detail: 'this kernel does not report refused forks (pids.events)' };
      return { ok: (n > 0) === rule.pidsRejected, detail: `the kernel refused ${n} fork${n === 1 ? '' : 's'} (pids.events max), ${r.stats.pidsCurrent ?? '?'} of ${r.stats.pidsMax ?? '?'} pids in use` };
    };
  }
  const never: never = rule;
  throw new Error(`unknown rule ${JSON.stringify(never)}`);
}

export function ruleLabel(rule: VerifyRule): string {
  const [[k, v]] = Object.entries(rule);
  return `${k}: ${JSON.stringify(v)}`;
}

/** Checks every rule; a rule that cannot read its state fails with the reason, it never throws. */
export async function verifyRules(rules: VerifyRule[], ctx: Omit<VerifyContext, 'inspection'>): Promise<VerifyResult> {
  let inspection: Inspection;
  try {
    inspection = await ctx.runtime.inspect(ctx.id);
  } catch (e) {
    const detail = (e as Error).message;
    const outcomes = rules.map((r) => ({ rule: ruleLabel(r), ok: false, detail }));
    return { ok: false, outcomes };
  }
  const outcomes: RuleOutcome[] = rules.map((r) => {
    try {
      return { rule: ruleLabel(r), ...judge(r)({ ...ctx, inspection }) };
    } catch (e) {
      return { rule: ruleLabel(r), ok: false, detail: `cannot read: ${(e as Error).message}` };
    }
  });
  return { ok: outcomes.every((o) => o.ok), outcomes };
}
