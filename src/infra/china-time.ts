// Dates as people in China read them (UTC+8, no daylight saving), whatever the server's own time zone: file names,
// labels. Storage and APIs stay in UTC ISO 8601.
const DAY = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit' });

/** 2026-12-04 — the calendar day in China of a moment. */
export function chinaDate(at: Date | string | number): string {
  return DAY.format(new Date(at));
}

/** The last day a half-open range [from, to) covers, in China: the day before `to`'s midnight. */
export function chinaLastDay(toExclusive: Date | string | number): string {
  return chinaDate(new Date(new Date(toExclusive).getTime() - 1));
}
