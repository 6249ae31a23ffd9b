// Loads lessons/*.json (a teacher's folder) once per call: bad files are skipped with one line each.
import { lstatSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import type { LessonList } from '../../shared/api';
import { LessonError, parseLesson } from './schema';

/** The repo's lessons/ (build/app/main/lessons → ../../../../lessons), or $LOCKER_LESSONS_DIR. */
export function defaultLessonsDir(): string {
  return process.env.LOCKER_LESSONS_DIR || resolve(__dirname, '..', '..', '..', '..', 'lessons');
}

export const MAX_LESSON_BYTES = 1024 * 1024;

/** Why a *.json entry is no lesson file to read: a FIFO would block the reader, a symlink could show another file's first bytes in a JSON error. */
function notALessonFile(dir: string, name: string): string | undefined {
  const path = join(dir, name);
  if (lstatSync(path).isSymbolicLink() && !realpathSync(path).startsWith(realpathSync(dir) + sep)) {
    return 'a symlink out of the lessons folder; copy the file in instead';
  }
  const st = statSync(path);
  if (!st.isFile()) return 'not a regular file';
  if (st.size > MAX_LESSON_BYTES) return `${st.size} bytes; the limit is ${MAX_LESSON_BYTES}`;
  return undefined;
}

export function loadLessons(dir = defaultLessonsDir()): LessonList {
  const out: LessonList = { lessons: [], problems: [], dir };
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json')).sort();
  } catch (e) {
    out.problems.push(`${dir}: cannot read the lessons folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); create it or set LOCKER_LESSONS_DIR`);
    return out;
  }
  const ids = new Map<string, string>();
  for (const name of names) {
    try {
      const why = notALessonFile(dir, name);
      if (why) {
        out.problems.push(`${name}: not a lesson file: ${why}`);
        continue;
      }
      const lesson = parseLesson(readFileSync(join(dir, name), 'utf8'), name);
      const earlier = ids.get(lesson.id);
      if (earlier) throw new LessonError('id', `"${lesson.id}" is already used by ${earlier}; give this lesson another id`);
      ids.set(lesson.id, name);
      out.lessons.push(lesson);
    } catch (e) {
      out.problems.push(`${name}: ${e instanceof LessonError ? e.message : `cannot read (${(e as Error).message})`}`);
    }
  }
  return out;
}
