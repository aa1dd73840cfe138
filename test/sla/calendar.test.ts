import { formatLocal, localDay, WorkCalendar } from '../../src/sla/calendar';
import { build, type TestApp } from '../helpers/build';

// Instants in China time (UTC+8).
const cst = (s: string) => new Date(`${s}+08:00`);

describe('working days (pure)', () => {
  const cal = new WorkCalendar(
    new Map([
      ['2026-04-06', 'holiday'],
      ['2026-02-14', 'workday'],
    ] as const),
  );

  it('skips a weekend: Friday 10:00 + 3 → Wednesday 10:00', () => {
    expect(cal.addWorkingDays(cst('2026-03-13T10:00:00'), 3)).toEqual(cst('2026-03-18T10:00:00'));
  });

  it('starting on a day off counts full working days from the next working morning', () => {
    expect(cal.addWorkingDays(cst('2026-03-14T15:00:00'), 1)).toEqual(cst('2026-03-17T00:00:00'));
  });

  it('a make-up working Saturday (调休) counts', () => {
    expect(cal.addWorkingDays(cst('2026-02-13T09:30:00'), 1)).toEqual(cst('2026-02-14T09:30:00'));
  });

  it('late evening in China is already the next day in China time', () => {
    expect(localDay(new Date('2026-03-13T17:00:00Z'))).toBe('2026-03-14');
    expect(formatLocal(new Date('2026-03-13T17:05:00Z'))).toBe('2026-03-14 01:05');
  });
});

describe('working days with the holidays table (2026 notice)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await build();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('across the Qingming weekend + holiday: Thursday 2 April + 3 → Wednesday 8 April', async () => {
    const cal = await t.app.workOrders.sla.calendar();
    expect(cal.isWorkingDay('2026-04-06')).toBe(false);
    expect(cal.addWorkingDays(cst('2026-04-02T10:00:00'), 3)).toEqual(cst('2026-04-08T10:00:00'));
  });

  it('Spring Festival: 9 days off, 14 and 28 February worked', async () => {
    const cal = await t.app.workOrders.sla.calendar();
    expect(cal.addWorkingDays(cst('2026-02-13T10:00:00'), 2)).toEqual(cst('2026-02-24T10:00:00'));
    expect(cal.isWorkingDay('2026-02-28')).toBe(true);
  });

  it('complaint (监督投诉, also its sub-categories) gets 13 working days, help 3, urgent 30 min / 2 h', async () => {
    const { rows } = await t.app.db.query<{ id: number }>(
      `with p as (insert into categories (code, name) values ('complaint', '监督投诉') returning id)
       insert into categories (code, name, parent_id) select 'complaint-noise', '噪音扰民', id from p returning id`,
    );
    const noise = rows[0]!.id;
    const start = cst('2026-09-24T10:00:00'); // Thursday before the Mid-Autumn weekend
    const complaint = await t.app.workOrders.sla.deadlines({ urgency: 'normal', categoryId: noise }, start);
    // 25–27 Sep off; 28, 29, 30 Sep (3); 1–7 Oct off; 8, 9 Oct, Saturday 10 Oct worked (6); 12–16 (11); 19, 20 (13)
    expect(complaint.policyName).toMatch(/监督投诉/);
    expect(complaint.resolveDeadline).toEqual(cst('2026-10-20T10:00:00'));
    const help = await t.app.workOrders.sla.deadlines({ urgency: 'normal', categoryId: null }, start);
    expect(help.resolveDeadline).toEqual(cst('2026-09-30T10:00:00'));
    const urgent = await t.app.workOrders.sla.deadlines({ urgency: 'urgent', categoryId: noise }, start);
    expect(urgent.signDeadline.getTime() - start.getTime()).toBe(30 * 60_000);
    expect(urgent.resolveDeadline.getTime() - start.getTime()).toBe(120 * 60_000);
  });
});
