// `locker lessons [check] [DIR]`: lets a teacher check lesson files without starting the app.
import { resolve } from 'node:path';
import { defaultLessonsDir, loadLessons } from '../lessons';
import { LockerError } from '../runtime/errors';
import { parseArgs } from './args';

export async function lessonsCommand(argv: string[]): Promise<number> {
  const rest = parseArgs(argv, [], 'lessons').rest;
  const args = rest[0] === 'check' ? rest.slice(1) : rest;
  if (args.length > 1) throw new LockerError('locker lessons takes at most one directory; e.g. locker lessons check ./my-lessons');
  const dir = args[0] ? resolve(args[0]) : defaultLessonsDir();
  const list = loadLessons(dir);
  for (const l of list.lessons) process.stdout.write(`ok  ${l.file}: ${l.title} (${l.steps.length} steps)\n`);
  for (const p of list.problems) process.stdout.write(`bad ${p}\n`);
  if (list.lessons.length === 0 && list.problems.length === 0) process.stdout.write(`no *.json lesson files in ${dir}\n`);
  return list.problems.length > 0 ? 1 : 0;
}
