// Presence (agents/presence.ts) through the simulator's AMI: each phone's device states land in the ACD in the
// order Asterisk sent them, while phones do not wait for each other.
import { startLab, type CallLab } from '../helpers/telephony';

jest.setTimeout(60_000);

describe('presence from AMI device states', () => {
  let lab: CallLab;
  afterEach(async () => {
    await lab?.close();
  });

  it('keeps each phone\'s last state after a burst of changes on several phones', async () => {
    lab = await startLab();
    const agents = [await lab.addAgent({ answerAfterMs: 20 }), await lab.addAgent({ answerAfterMs: 20 }), await lab.addAgent({ answerAfterMs: 20 })];
    // 15 flips each, interleaved across the phones; the last state differs per phone.
    for (let i = 0; i < 15; i++) {
      for (const [k, a] of agents.entries()) lab.sim.setOnline(a.endpoint, (i + k) % 2 === 0);
    }
    const want = agents.map((_, k) => ((14 + k) % 2 === 0 ? 'NOT_INUSE' : 'UNAVAILABLE'));
    await lab.waitFor(async () => {
      const got = await Promise.all(agents.map(async (a) => (await lab.t.app.acd.get(a.agentId)).device));
      return got.every((d, k) => d === want[k]);
    }, 'each phone at its last state');
    // And the ACD acts on it: only the phones that are registered are reserved for callers.
    const got = await lab.t.app.acd.reserveMany(agents.map((_, k) => ({ callId: `probe-${k}`, skill: null })));
    expect(got.map((r) => r.agentId).sort()).toEqual(agents.filter((_, k) => want[k] === 'NOT_INUSE').map((a) => a.agentId).sort());
  });
});
