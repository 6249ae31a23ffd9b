// The guided lesson: steps from lessons/*.json (served by the main side). Each step presets the
// launch form, offers click-to-run commands for the host or container terminal, says what to look
// for, and is ticked only when the main side has read the real state and the step's rules hold:
// rules the learner's own action makes true (a command entered during this step, a rename, a
// refused fork), never the launch alone. A tick belongs to the container that earned it.
import { useEffect, useRef, useState } from 'react';
import type { Lesson, LessonCommand, LessonList, LessonPreset, LockerApi, VerifyResult } from '../../../shared/api';
import { fillCommand } from '../../../shared/lesson-command';
import type { ContainerInfo } from '../../../shared/types';
import { useStored } from '../lib/settings';

interface Props {
  api: LockerApi;
  container: ContainerInfo | null;
  /** Every container the app knows: a tick shows only while the container that earned it is one of them. */
  containers: ContainerInfo[];
  /** Terminal ids the commands can be typed into. */
  terminals: { host: string | null; container: string | null };
  onPreset(preset: LessonPreset): void;
  /** The app's share folder: {share} in commands. */
  shareDir?: string;
}

const AUTO_CHECK_MS = 1500;

/** "lesson/step" → the id of the container the step was verified with. */
type Ticks = Record<string, string>;

export function LessonPanel({ api, container, containers, terminals, onPreset, shareDir }: Props) {
  const [list, setList] = useState<LessonList | null>(null);
  const [loadError, setLoadError] = useState('');
  const [lessonId, setLessonId] = useStored<string>('lesson', '');
  const [stepIndex, setStepIndex] = useStored<number>('lessonStep', 0);
  const [stored, setTicks] = useStored<Ticks | Record<string, boolean>>('lessonTicks', {});
  const [result, setResult] = useState<VerifyResult | null>(null);
  const [checkError, setCheckError] = useState('');
  const [panes, setPanes] = useState<Record<number, 'host' | 'container'>>({});
  const [open, setOpen] = useStored<boolean>('lessonOpen', true);
  // what counts is done from here on: the step's start (or a reset), never before this page loaded
  const [since, setSince] = useState(() => Date.now());

  useEffect(() => {
    api.listLessons().then(setList, (e: Error) => setLoadError(e.message));
  }, [api]);

  const known = new Set(containers.map((c) => c.id));
  // an old format (key → true) or a container that is gone: no tick
  const ticks: Ticks = Object.fromEntries(Object.entries(stored).filter((e): e is [string, string] => typeof e[1] === 'string' && known.has(e[1])));
  const lesson: Lesson | undefined = list?.lessons.find((l) => l.id === lessonId) ?? list?.lessons[0];
  const index = lesson ? Math.min(stepIndex, lesson.steps.length - 1) : 0;
  const step = lesson?.steps[index];
  const key = lesson && step ? `${lesson.id}/${step.id}` : '';
  const running = container?.state === 'running' ? container.id : null;
  const ticked = !!key && !!running && ticks[key] === running;
  const tickedElsewhere = !!key && !!ticks[key] && !ticked;

  // a fresh step or container: the old verdict no longer applies (and the new one is read at once)
  useEffect(() => {
    setResult(null);
    setCheckError('');
    setPanes({});
  }, [key, running]);

  const check = useRef<() => Promise<void>>(async () => {});
  check.current = async () => {
    if (!lesson || !step || !running) return;
    try {
      const r = await api.verifyStep({ lessonId: lesson.id, stepId: step.id, id: running, since });
      setResult(r);
      setCheckError('');
      if (r.ok) setTicks({ ...ticks, [key]: running });
    } catch (e) {
      setCheckError((e as Error).message);
    }
  };

  // checks itself while the learner works, until the step holds; again whenever the container changes
  useEffect(() => {
    if (!running || !key || ticked) return;
    void check.current();
    const t = setInterval(() => void check.current(), AUTO_CHECK_MS);
    return () => clearInterval(t);
  }, [running, key, ticked, since]);

  const go = (i: number) => {
    if (!lesson) return;
    setStepIndex(i);
    setSince(Date.now());
    onPreset(lesson.steps[i].preset);
  };

  const reset = () => {
    setTicks({});
    setResult(null);
    setSince(Date.now());
  };

  const type = (i: number, cmd: LessonCommand) => {
    const pane = panes[i] ?? cmd.pane;
    const terminalId = terminals[pane];
    if (!terminalId) {
      setCheckError(pane === 'container' ? 'run a container first (Run, below), then click the command' : 'the host shell is not open yet');
      return;
    }
    void api.writeTerminal({ terminalId, data: fillCommand(cmd, container, shareDir) + '\r' }).catch((e: Error) => setCheckError(e.message));
  };

  const stepTicked = (id: string) => !!lesson && !!ticks[`${lesson.id}/${id}`];

  return (
    <section className="panel lesson" data-testid="lesson-panel">
      <h2>
        <button type="button" className="link" onClick={() => setOpen(!open)} aria-expanded={open} data-testid="lesson-toggle">{open ? '▾' : '▸'}</button>{' '}
        Lesson{lesson ? `: ${lesson.title}` : ''}
      </h2>
      {loadError && <p className="error">{loadError}</p>}
      {list?.problems.map((p) => <p key={p} className="error lesson-problem" data-testid="lesson-problem">{p}</p>)}
      {open && list && list.lessons.length === 0 && <p className="muted">No lessons in {list.dir}.</p>}
      {open && lesson && (
        <>
          {list!.lessons.length > 1 && (
            <select value={lesson.id} onChange={(e) => { setLessonId(e.target.value); setStepIndex(0); setSince(Date.now()); }} data-testid="lesson-select" aria-label="lesson">
              {list!.lessons.map((l) => <option key={l.id} value={l.id}>{l.title}</option>)}
            </select>
          )}
          <ol className="steps">
            {lesson.steps.map((s, i) => (
              <li key={s.id} className={i === index ? 'current' : ''}>
                <button type="button" onClick={() => go(i)} data-testid={`lesson-step-${i}`} data-done={stepTicked(s.id)}>
                  <span className="tick" aria-label={stepTicked(s.id) ? 'verified' : 'not yet'}>{stepTicked(s.id) ? '✔' : '○'}</span> {s.title}
                </button>
              </li>
            ))}
          </ol>
          <button type="button" className="link reset" onClick={reset} data-testid="lesson-reset" title="clear every tick: each step ticks again only when it is done again">Reset ticks</button>
          {step && (
            <div className="step" data-testid="lesson-current" data-step={step.id}>
              <p className="explain">{step.explain}</p>
              <button type="button" onClick={() => onPreset(step.preset)} data-testid="lesson-preset">
                Set up the launch form: {step.preset.namespaces.length ? step.preset.namespaces.join(', ') : 'no namespaces'}
                {step.preset.pidsLimit ? `, pids ${step.preset.pidsLimit}` : ''}
                {step.preset.capAdd ? `, cap-add ${step.preset.capAdd.join(',')}` : ''}
                {step.preset.capDrop ? `, cap-drop ${step.preset.capDrop.join(',')}` : ''}
                {step.preset.seccomp === false ? ', no seccomp filter' : ''}
                {step.preset.volumes ? `, ${step.preset.volumes.length === 1 ? 'a volume' : `${step.preset.volumes.length} volumes`}` : ''}
                {step.preset.network && step.preset.network !== 'bridge' ? `, network ${step.preset.network}` : ''}
                {step.preset.ports ? `, -p ${step.preset.ports.join(' -p ')}` : ''}
              </button>
              <h3>Try</h3>
              <ul className="commands">
                {step.commands.map((c, i) => (
                  <li key={i}>
                    <select value={panes[i] ?? c.pane} onChange={(e) => setPanes({ ...panes, [i]: e.target.value as 'host' | 'container' })} aria-label="terminal" data-testid={`lesson-pane-${i}`}>
                      <option value="host">host</option>
                      <option value="container">container</option>
                    </select>
                    <button type="button" className="cmd mono" title="type it into the chosen terminal" onClick={() => type(i, c)} data-testid={`lesson-cmd-${i}`}>
                      {fillCommand(c, container, shareDir)}
                    </button>
                    {c.note && <div className="muted note">{c.note}</div>}
                  </li>
                ))}
              </ul>
              <h3>Look for</h3>
              <p className="look-for">{step.lookFor}</p>
              <div className="verify">
                <button type="button" onClick={() => void check.current()} disabled={!running} data-testid="lesson-check">Check</button>{' '}
                {!running && <span className="muted">run a container for this step, then it checks itself</span>}
                {ticked && <b className="ok" data-testid="lesson-verified">✔ verified</b>}
                {tickedElsewhere && <span className="muted" data-testid="lesson-verified-elsewhere">verified with another container; checking this one</span>}
                {index < lesson.steps.length - 1 && (
                  <button type="button" onClick={() => go(index + 1)} data-testid="lesson-next" className={ticked ? 'primary' : ''}>Next step</button>
                )}
              </div>
              {checkError && <p className="error">{checkError}</p>}
              {result?.mismatch && <p className="hint" data-testid="lesson-mismatch">{result.mismatch}</p>}
              {result && !result.mismatch && (
                <>
                  <ul className="outcomes" data-testid="lesson-outcomes">
                    {result.outcomes.map((o) => (
                      <li key={o.rule} className={o.ok ? 'ok' : 'todo'} data-ok={o.ok}>
                        <span aria-hidden>{o.ok ? '✔' : '○'}</span> {o.says}
                      </li>
                    ))}
                  </ul>
                  <details className="outcome-details" data-testid="lesson-details">
                    <summary>details: the rules and what was read</summary>
                    <ul>
                      {result.outcomes.map((o) => (
                        <li key={o.rule}><span className="mono">{o.rule}</span> {o.ok ? 'holds' : 'not yet'}: <span className="muted">{o.detail}</span></li>
                      ))}
                    </ul>
                  </details>
                </>
              )}
            </div>
          )}
        </>
      )}
    </section>
  );
}
