/**
 * The Functions timer trigger's reading of a schedule, so that what passes the configuration
 * check is what the host registers. The host (azure-webjobs-sdk-extensions, `CronSchedule`)
 * parses with NCrontab (the `NCrontab.Signed` package, built from atifaziz/NCrontab); the rules
 * below are ported from that repository at commit d122d586a0665580f3fde9b8cfc03c5e3abf1909:
 * field ranges from `NCrontab/CrontabFieldImpl.cs` (Second 0-59, Minute 0-59, Hour 0-23,
 * Day 1-31, Month 1-12, DayOfWeek 0-6, names for months and days of the week matched as a
 * case-insensitive prefix), list, step, wildcard and range syntax from
 * `CrontabFieldImpl.InternalParse`, and the range checks from `CrontabField.Accumulate`.
 *
 * Two deliberate differences, both refusing what NCrontab reads differently from how it looks:
 * a step of 0 (`*\/0`), which NCrontab silently reads as 1 (every second, every minute ...), and
 * a number too large for a 32-bit integer, on which NCrontab throws an OverflowException that its
 * own TryParse does not catch.
 */

interface CronField {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const MONTH_NAMES = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

export const NCRONTAB_FIELDS: readonly CronField[] = [
  { name: 'second', min: 0, max: 59 },
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTH_NAMES },
  { name: 'day of week', min: 0, max: 6, names: DAY_NAMES },
];

const INT32_MAX = 2 ** 31 - 1;

/** Why NCrontab would refuse this field, or undefined when it reads it. */
export function cronFieldProblem(text: string, field: CronField): string | undefined {
  for (const item of text.split(',')) {
    const problem = cronItemProblem(item, field);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function cronItemProblem(item: string, field: CronField): string | undefined {
  if (item === '') return 'has an empty value in its list';
  let body = item;
  const slash = item.indexOf('/');
  if (slash > 0) {
    const step = item.slice(slash + 1);
    if (!/^\d+$/.test(step) || Number(step) > INT32_MAX) return `has a step "${step}" that is not a number`;
    if (Number(step) === 0) return 'has a step of 0 (the host would read it as 1); use a step of 1 or more';
    body = item.slice(0, slash);
  }
  if (body === '*') return undefined;
  const dash = body.indexOf('-');
  const parts = dash > 0 ? [body.slice(0, dash), body.slice(dash + 1)] : [body];
  for (const part of parts) {
    const value = cronValue(part, field);
    if (typeof value === 'string') return value;
    if (value < field.min || value > field.max) {
      return `has ${value}, outside ${field.min}-${field.max}`;
    }
  }
  return undefined;
}

/** A number or a name's position (NCrontab: `Comparer.IsPrefix(name, text, IgnoreCase)`), or why not. */
function cronValue(text: string, field: CronField): number | string {
  if (text === '') return 'has a range with an empty end';
  if (/^\d/.test(text)) {
    if (!/^\d+$/.test(text) || Number(text) > INT32_MAX) return `has "${text}", which is not a number`;
    return Number(text);
  }
  const index = field.names?.findIndex((name) => name.toLowerCase().startsWith(text.toLowerCase())) ?? -1;
  if (index < 0) {
    return field.names === undefined
      ? `has "${text}"; it takes numbers from ${field.min} to ${field.max}`
      : `has "${text}", which is not a number from ${field.min} to ${field.max} or a name (${field.names.map((name) => name.slice(0, 3)).join(', ')})`;
  }
  return index + field.min;
}
