// The caller's side: opening hours, the optional IVR menu, and keep-my-place callbacks (虚拟排队).
import { AsteriskSimulator } from '../asterisk';
import { startLab, type CallLab } from '../helpers/telephony';
import { uniqueName } from '../helpers/db';
import { isOpenAt, parseOpeningHours } from '../../src/calls/hours';
import { WorkCalendar } from '../../src/sla/calendar';

// Each test builds its own schema, service and simulator: on a loaded 2-core machine that alone can take ~20 s, so the
// deadline is for a stall, not for speed (waits inside poll with their own deadlines).
jest.setTimeout(120_000);

/** A one-hour window (China time) that excludes now, so the hotline is closed for the test. */
function closedWindow(): string {
  const chinaHour = (new Date().getUTCHours() + 8) % 24;
  const h = (chinaHour + 12) % 24;
  return `daily ${String(h).padStart(2, '0')}:00-${String(h).padStart(2, '0')}:59`;
}

describe('opening hours', () => {
  const cal = new WorkCalendar(new Map([['2026-10-01', 'holiday'], ['2026-09-27', 'workday']]));
  const at = (local: string) => new Date(`${local}+08:00`);

  it.each([
    ['24/7', '2026-10-01T03:00:00', true],
    ['08:30-12:00,13:30-17:30', '2026-09-30T08:29:00', false],
    ['08:30-12:00,13:30-17:30', '2026-09-30T08:30:00', true],
    ['08:30-12:00,13:30-17:30', '2026-09-30T12:30:00', false],
    ['08:30-12:00,13:30-17:30', '2026-09-30T17:29:00', true],
    ['08:30-12:00,13:30-17:30', '2026-10-01T10:00:00', false], // 国庆 holiday
    ['08:30-12:00,13:30-17:30', '2026-09-27T10:00:00', true], // Sunday make-up workday (调休)
    ['08:30-12:00,13:30-17:30', '2026-10-03T10:00:00', false], // Saturday
    ['daily 08:00-20:00', '2026-10-03T10:00:00', true],
  ])('%s at %s → open %s', (spec, local, open) => {
    expect(isOpenAt(parseOpeningHours(spec), cal, at(local))).toBe(open);
  });

  it('rejects malformed specs with a readable message', () => {
    expect(() => parseOpeningHours('9-5')).toThrow(/HH:MM-HH:MM/);
    expect(() => parseOpeningHours('18:00-08:00')).toThrow(/valid window/);
  });
});

describe('caller side through the simulator', () => {
  const labs: CallLab[] = [];
  afterEach(async () => {
    for (const l of labs.reverse()) await l.close();
    labs.length = 0;
  });

  it('after hours: plays the after-hours message and records a callback request on 1', async () => {
    const lab = await startLab({ env: { BUSINESS_HOURS: closedWindow() } });
    labs.push(lab);
    const { sim, t, waitFor } = lab;
    const agent = await lab.addAgent({ answerAfterMs: 10 });
    const caller = sim.dial({ from: 'caller1', callerNumber: '13900000901', app: 'hotline114', appArgs: ['inbound'] });
    await waitFor(() => sim.restLog.find((r) => r.path.startsWith(`/ari/channels/${caller.id}/play`) && r.path.includes('after-hours')), 'after-hours message');
    caller.sendDtmf('1');
    await caller.waitFor('destroyed');
    const row = await waitFor(async () => (await t.app.db.query('select * from calls where channel_id = $1 and ended_at is not null', [caller.id])).rows[0], 'closed record');
    expect(row).toMatchObject({ state: 'closed', outcome: 'after_hours', callback_requested: true, agent_id: null });
    const cb = await t.app.db.query('select kind, status, number from queue_callbacks where call_id = $1', [row.id]);
    expect(cb.rows).toEqual([{ kind: 'after_hours', status: 'manual', number: '13900000901' }]);
    expect(agent.console.messages.some((m) => m.type === 'call.offered')).toBe(false);
  });

  it('IVR menu: the chosen skill routes the call to an agent with that skill', async () => {
    const lab = await startLab({ env: { IVR_ENABLED: 'true', IVR_TIMEOUT_SEC: '5' } });
    labs.push(lab);
    const { sim, t, waitFor } = lab;
    const consult = await lab.addAgent({ answerAfterMs: 10 }, { login: false });
    const complaints = await lab.addAgent({ answerAfterMs: 10 }, { login: false });
    await t.app.db.query(`update agents set skills = '{consult}' where id = $1`, [consult.agentId]);
    await t.app.db.query(`update agents set skills = '{complaint}' where id = $1`, [complaints.agentId]);
    for (const a of [consult, complaints]) await t.inject({ method: 'POST', url: '/api/agents/me/login', headers: a.user.headers, payload: {} });
    // consult is the longest idle, but the caller asks for 投诉举报 (2).
    const caller = sim.dial({ from: 'caller1', callerNumber: '13900000902', app: 'hotline114', appArgs: ['inbound'] });
    await waitFor(() => sim.restLog.find((r) => r.path.startsWith(`/ari/channels/${caller.id}/play`) && r.path.includes('ivr-menu')), 'menu prompt');
    caller.sendDtmf('2');
    const pop = await complaints.console.next('call.offered');
    await complaints.console.next('call.connected');
    expect(consult.console.messages.some((m) => m.type === 'call.offered')).toBe(false);
    expect(await lab.callRow(pop.callId as string)).toMatchObject({ skill: 'complaint' });
    caller.hangup();
    await complaints.console.next('call.ended');
  });

  it('keep my place: the caller hangs up on 1 and is called back first when an agent frees up', async () => {
    const lab = await startLab({ env: { CALL_ANNOUNCE_EVERY_SEC: '0' } });
    labs.push(lab);
    const { sim, t, waitFor } = lab;
    const agent = await lab.addAgent({ answerAfterMs: 10 }, { login: false });
    const first = sim.dial({ from: 'caller1', callerNumber: '13900000911', app: 'hotline114', appArgs: ['inbound'] });
    await first.waitFor('Up');
    await waitFor(() => sim.channel(first.id)?.mohPlaying, 'first caller waiting');
    const second = sim.dial({ from: 'caller2', callerNumber: '13900000912', app: 'hotline114', appArgs: ['inbound'] });
    await second.waitFor('Up');
    first.sendDtmf('1');
    await first.waitFor('destroyed'); // confirmation played, then hung up
    const original = await waitFor(async () => (await t.app.db.query(`select * from calls where channel_id = $1 and ended_at is not null`, [first.id])).rows[0], 'first call closed');
    expect(original).toMatchObject({ state: 'callback_requested', outcome: 'callback', callback_requested: true });
    expect(t.app.calls!.queue.size).toBe(2); // the kept place and the live caller

    sim.addEndpoint('13900000911', { context: 'from-trunk', behavior: { answerAfterMs: 50 } }); // the resident's phone
    await t.inject({ method: 'POST', url: '/api/agents/me/login', headers: agent.user.headers, payload: {} });
    const pop = await agent.console.next('call.offered');
    expect(pop).toMatchObject({ callerNumber: '13900000911', callback: true });
    await agent.console.next('call.connected');
    const resident = sim.channels().find((c) => c.endpoint === '13900000911')!;
    await resident.waitFor('bridged');
    const row = await lab.callRow(pop.callId as string);
    expect(row).toMatchObject({ direction: 'outbound', state: 'connected', callback_id: original.callback_id });
    resident.hangup();
    await agent.console.next('call.ended');
    // Then the live caller who came second.
    const next = await agent.console.next('call.offered');
    expect(next.callerNumber).toBe('13900000912');
    await agent.console.next('call.connected');
    second.hangup();
    await agent.console.next('call.ended');
    const cb = await t.app.db.query('select status, attempts from queue_callbacks where id = $1', [original.callback_id]);
    expect(cb.rows).toEqual([{ status: 'done', attempts: 1 }]);
  });

  it('keep my place survives a restart and is fired exactly once, in order', async () => {
    const sim = await AsteriskSimulator.start({ defaultSoundMs: 100 });
    const prefix = uniqueName('h114vq');
    try {
      const first = await startLab({ sim, env: { REDIS_PREFIX: prefix } });
      labs.push(first);
      const a = sim.dial({ from: 'caller1', callerNumber: '13900000921', app: 'hotline114', appArgs: ['inbound'] });
      await a.waitFor('Up');
      const b = sim.dial({ from: 'caller2', callerNumber: '13900000922', app: 'hotline114', appArgs: ['inbound'] });
      await b.waitFor('Up');
      a.sendDtmf('1');
      b.sendDtmf('1');
      await Promise.all([a.waitFor('destroyed'), b.waitFor('destroyed')]);
      await first.t.app.close(); // restart while both wait for their callback

      const second = await startLab({ sim, env: { REDIS_PREFIX: prefix }, schema: first.t.schema });
      labs.push(second);
      await second.waitFor(() => second.t.app.calls!.queue.size === 2 || null, 'kept places restored');
      sim.addEndpoint('13900000921', { context: 'from-trunk', behavior: { answerAfterMs: 20 } });
      sim.addEndpoint('13900000922', { context: 'from-trunk', behavior: { answerAfterMs: 20 } });
      const agent = await second.addAgent({ answerAfterMs: 10 });
      const p1 = await agent.console.next('call.offered');
      expect(p1.callerNumber).toBe('13900000921');
      await agent.console.next('call.connected');
      sim.channels().find((c) => c.endpoint === '13900000921')!.hangup();
      await agent.console.next('call.ended');
      const p2 = await agent.console.next('call.offered');
      expect(p2.callerNumber).toBe('13900000922');
      await agent.console.next('call.connected');
      sim.channels().find((c) => c.endpoint === '13900000922')!.hangup();
      await agent.console.next('call.ended');
      const legs = sim.restLog.filter((r) => r.method === 'POST' && /endpoint=PJSIP%2F1390000092[12]/.test(r.path));
      expect(legs).toHaveLength(2);
      const rows = await second.waitFor(async () => {
        const r = await second.t.app.db.query('select number, status, attempts from queue_callbacks order by position_at');
        return r.rows.every((x) => x.status === 'done') ? r : null;
      }, 'both callbacks done');
      expect(rows.rows).toEqual([
        { number: '13900000921', status: 'done', attempts: 1 },
        { number: '13900000922', status: 'done', attempts: 1 },
      ]);
    } finally {
      for (const l of labs.reverse()) await l.close();
      labs.length = 0;
      await sim.stop();
    }
  }, 120_000);
});
