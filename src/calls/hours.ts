// Opening hours of the hotline in China time, on the working days of the work-order calendar (weekends,
// public holidays and make-up working days from the holidays table). "24/7" keeps it always open, as 12345
// lines are.
import type { WorkCalendar } from '../sla/calendar';
import { localDay } from '../sla/calendar';
import type { OpeningHours } from '../infra/opening-hours';

export { parseOpeningHours, type OpeningHours } from '../infra/opening-hours';

const TZ_OFFSET_MIN = 8 * 60;

export function isOpenAt(hours: OpeningHours, calendar: WorkCalendar, at: Date): boolean {
  if (hours.alwaysOpen) return true;
  if (!hours.everyDay && !calendar.isWorkingDay(localDay(at))) return false;
  const minute = Math.floor((at.getTime() / 60_000 + TZ_OFFSET_MIN) % (24 * 60));
  return hours.windows.some(([a, b]) => minute >= a && minute < b);
}
