// What the dialplan tells the service in Stasis(hotline114,inbound,…) (asterisk-config/extensions.conf).
import { inboundOptions } from '../../src/calls/stasis';

describe('inboundOptions', () => {
  it.each([
    [['inbound'], { ringing: false, recording: null }],
    [['inbound', 'ringing'], { ringing: true, recording: null }],
    [['inbound', 'ringing', 'recording=hotline114/2026-12-05/1733371200.42'], { ringing: true, recording: 'hotline114/2026-12-05/1733371200.42' }],
    // HOTLINE_RECORD=no leaves the name empty: the service records (CALL_RECORD) instead.
    [['inbound', 'ringing', 'recording='], { ringing: true, recording: null }],
    // Never a path outside the recording directory.
    [['inbound', 'recording=/etc/passwd'], { ringing: false, recording: null }],
    [['inbound', 'recording=hotline114/../../x'], { ringing: false, recording: null }],
    // Flags count only for inbound callers.
    [['agent-dialin', 'ringing'], { ringing: false, recording: null }],
    [[], { ringing: false, recording: null }],
  ])('%j → %j', (args, expected) => {
    expect(inboundOptions(args)).toEqual(expected);
  });
});
