// Working-day arithmetic in China time (UTC+8 all year, no DST): weekends are days off, the holidays table adds
// public holidays (kind 'holiday') and make-up working days on a weekend (调休, kind 'workday').

export type DayKind = 'holiday' | 'workday';

const TZ_OFFSET_MS = 8 * 3600_000;
const DAY_MS = 86_400_000;

/** The calendar day (YYYY-MM-DD) of an instant in China time. */
export function localDay(at: Date): string {
  return new Date(at.getTime() + TZ_OFFSET_MS).toISOString().slice(0, 10);
}

/** "YYYY-MM-DD HH:mm" in China time, for messages people read. */
export function formatLocal(at: Date): string {
  return new Date(at.getTime() + TZ_OFFSET_MS).toISOString().slice(0, 16).replace('T', ' ');
}

export class WorkCalendar {
  constructor(private readonly days: ReadonlyMap<string, DayKind> = new Map()) {}

  /** A day (YYYY-MM-DD) is worked unless it is a holiday, or a weekend that is not a make-up working day. */
  isWorkingDay(day: string): boolean {
    const kind = this.days.get(day);
    if (kind) return kind === 'workday';
    const dow = new Date(`${day}T00:00:00Z`).getUTCDay();
    return dow !== 0 && dow !== 6;
  }

  /**
   * start + n working days, same time of day. Starting on a day off, the count starts at 00:00 of the next working
   * day (n full working days). Friday 10:00 + 3 → Wednesday 10:00; Saturday + 3 → Thursday 00:00.
   */
  addWorkingDays(start: Date, n: number): Date {
    // "Shifted" instants: China wall-clock time expressed in UTC fields.
    let shifted = start.getTime() + TZ_OFFSET_MS;
    let dayStart = Math.floor(shifted / DAY_MS) * DAY_MS;
    if (!this.isWorkingDay(isoDay(dayStart))) {
      do dayStart += DAY_MS;
      while (!this.isWorkingDay(isoDay(dayStart)));
      shifted = dayStart;
    }
    const timeOfDay = shifted - dayStart;
    let counted = 0;
    while (counted < n) {
      dayStart += DAY_MS;
      if (this.isWorkingDay(isoDay(dayStart))) counted += 1;
    }
    return new Date(dayStart + timeOfDay - TZ_OFFSET_MS);
  }
}

function isoDay(shiftedMs: number): string {
  return new Date(shiftedMs).toISOString().slice(0, 10);
}
