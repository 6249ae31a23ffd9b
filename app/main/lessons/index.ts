export { loadLessons, defaultLessonsDir } from './loader';
export { parseLesson, LessonError, rule as parseRule } from './schema';
export { verifyRules, ruleLabel, outsideUidOfRoot, interfaceNames } from './verify';
