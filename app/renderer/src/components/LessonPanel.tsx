// The guided lesson: steps from lessons/*.json (served by the main side). Each step presets the
// launch form, offers click-to-run commands for the host or container terminal, says what to look
// for, and is ticked only when the main side has read the real state and the step's rules hold.
import { useEffect, useRef, useState } from 'react';
import type { Lesson, LessonCommand, LessonList, LessonPreset, LockerApi, VerifyResult } from '../../../shared/api';
import type { ContainerInfo } from '../../../shared/types';
import { useStored } from '../lib/settings';

interface Props {
  api: LockerApi;
  container: ContainerInfo | null;
  /** Terminal ids the commands can be typed into. */
  terminals: { host: string | null; container: string | null };
  onPreset(preset: LessonPreset): void;
}

const AUTO_CHECK_MS = 1500;

export function fillCommand(cmd: LessonCommand, container: ContainerInfo | null): string {
  return cmd.run.replace(/\{pid\}/g, container ? String(container.pid) : '{pid}').replace(/\{id\}/g, container?.id ?? '{id}');
}

export function LessonPanel({ api, container, terminals, onPreset }: Props) {
  const [list, setList] = useState<LessonList | null>(null);
  const [loadError, setLoadError] = useState('');
  const [lessonId, setLessonId] = useStored<string>('lesson', '');
  const [stepIndex, setStepIndex] = useStored<number>('lessonStep', 0);
  const [done, setDone] = useStored<Record<string, boolean>>('lessonDone', {});
  const [result, setResult] = useState<VerifyResult | null>(null);
  const [checkError, setCheckError] = useState('');
  const [panes, setPanes] = useState<Record<number, 'host' | 'container'>>({});
  const [open, setOpen] = useStored<boolean>('lessonOpen', true);

  useEffect(() => {
    api.listLessons().then(setList, (e: Error) => setLoadError(e.message));
  }, [api]);

  const lesson: Lesson | undefined = list?.lessons.find((l) => l.id === lessonId) ?? list?.lessons[0];
  const index = lesson ? Math.min(stepIndex, lesson.steps.length - 1) : 0;
  const step = lesson?.steps[index];
  const key = lesson && step ? `${lesson.id}/${step.id}` : '';
  const ticked = !!done[key];
  const running = container?.state === 'running' ? container.id : null;

  // a fresh step or container: the old verdict no longer applies
  useEffect(() => {
    setResult(null);
    setCheckError('');
    setPanes({});
  }, [key, running]);

  const check = useRef<() => Promise<void>>(async () => {});
  check.current = async () => {
    if (!lesson || !step || !running) return;
    try {
      const r = await api.verifyStep({ lessonId: lesson.id, stepId: step.id, id: running });
      setResult(r);
      setCheckError('');
      if (r.ok) setDone({ ...done, [key]: true });
    } catch (e) {
      setCheckError((e as Error).message);
    }
  };

  // checks itself while the learner works, until the step holds
  useEffect(() => {
    if (!running || !key || ticked) return;
    void check.current();
    const t = setInterval(() => void check.current(), AUTO_CHECK_MS);
    return () => clearInterval(t);
  }, [running, key, ticked]);

  const go = (i: number) => {
    if (!lesson) return;
    setStepIndex(i);
    onPreset(lesson.steps[i].preset);
  };

  const type = (i: number, cmd: LessonCommand) => {
    const pane = panes[i] ?? cmd.pane;
    const terminalId = terminals[pane];
    if (!terminalId) {
      setCheckError(pane === 'container' ? 'run a container first (Run, below), then click the command' : 'the host shell is not open yet');
      return;
    }
    void api.writeTerminal({ terminalId, data: fillCommand(cmd, container) + '\r' }).catch((e: Error) => setCheckError(e.message));
  };

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
            <select value={lesson.id} onChange={(e) => { setLessonId(e.target.value); setStepIndex(0); }} data-testid="lesson-select" aria-label="lesson">
              {list!.lessons.map((l) => <option key={l.id} value={l.id}>{l.title}</option>)}
            </select>
          )}
          <ol className="steps">
            {lesson.steps.map((s, i) => (
              <li key={s.id} className={i === index ? 'current' : ''}>
                <button type="button" onClick={() => go(i)} data-testid={`lesson-step-${i}`} data-done={!!done[`${lesson.id}/${s.id}`]}>
                  <span className="tick" aria-label={done[`${lesson.id}/${s.id}`] ? 'verified' : 'not yet'}>{done[`${lesson.id}/${s.id}`] ? '✔' : '○'}</span> {s.title}
                </button>
              </li>
            ))}
          </ol>
          {step && (
            <div className="step" data-testid="lesson-current" data-step={step.id}>
              <p className="explain">{step.explain}</p>
              <button type="button" onClick={() => onPreset(step.preset)} data-testid="lesson-preset">
                Set up the launch form: {step.preset.namespaces.length ? step.preset.namespaces.join(', ') : 'no namespaces'}
                {step.preset.pidsLimit ? `, pids ${step.preset.pidsLimit}` : ''}
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
                      {fillCommand(c, container)}
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
                {index < lesson.steps.length - 1 && (
                  <button type="button" onClick={() => go(index + 1)} data-testid="lesson-next" className={ticked ? 'primary' : ''}>Next step</button>
                )}
              </div>
              {checkError && <p className="error">{checkError}</p>}
              {result && (
                <ul className="outcomes" data-testid="lesson-outcomes">
                  {result.outcomes.map((o) => (
                    <li key={o.rule} className={o.ok ? 'ok' : 'no'} data-ok={o.ok}>
                      {o.ok ? '✔' : '✘'} <span className="mono">{o.rule}</span> <span className="muted">{o.detail}</span>
                    </li>
                  ))}
                </ul>
              )}
            </div>
          )}
        </>
      )}
    </section>
  );
}
