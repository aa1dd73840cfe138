// The live-call registry: one call per channel, and a removed call takes only its own channels with it.
import { Call } from '../../src/calls/call';
import type { CallRepo } from '../../src/calls/repo';
import { CallRegistry } from '../../src/calls/registry';

// The registry never touches the repo; a call needs one to be constructed.
const repo = {} as CallRepo;
const call = (id: string, channelId: string) => new Call(id, channelId, '13800000000', null, Date.now(), repo);

describe('CallRegistry', () => {
  it('keeps the first call registered for a channel and hands it to the second', () => {
    const reg = new CallRegistry();
    const first = call('c1', 'ch1');
    const second = call('c2', 'ch1');
    expect(reg.add(first)).toBe(first);
    expect(reg.add(second)).toBe(first);
    expect(reg.get('c2')).toBeUndefined();
    expect(reg.size).toBe(1);
    expect(reg.add(first)).toBe(first); // adding the same call again is harmless
  });

  it('removes a call with its mapped channels and leaves a channel that moved to another call', () => {
    const reg = new CallRegistry();
    const a = call('a', 'a-caller');
    const b = call('b', 'b-caller');
    reg.add(a);
    reg.add(b);
    reg.mapChannel('a-a1', a);
    reg.mapChannel('shared', a);
    reg.mapChannel('shared', b); // e.g. a leg taken over by the other call
    reg.unmapChannel('a-a1');
    reg.mapChannel('a-a2', a);
    reg.remove(a);
    expect(reg.get('a')).toBeUndefined();
    expect(reg.forChannel('a-caller')).toBeUndefined();
    expect(reg.forChannel('a-a2')).toBeUndefined();
    expect(reg.forChannel('shared')).toBe(b);
    expect(reg.forChannel('b-caller')).toBe(b);
    expect(reg.all()).toEqual([b]);
    reg.remove(b);
    expect(reg.forChannel('shared')).toBeUndefined();
    expect(reg.size).toBe(0);
  });
});
