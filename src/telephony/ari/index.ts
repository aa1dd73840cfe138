export { AriSwitch, type AriSwitchOptions } from './switch';
export { toChannel, toBridge } from './events';
export {
  AriConnection,
  AriConnectError,
  type AriConnectionOptions,
  type AriConnectionEvents,
  type AriConnectFailure,
  type AriConnectFailureKind,
  type AriRawEvent,
} from './connection';
export { AriRest, SwitchTimeoutError } from './rest';
export { Backoff, type BackoffOptions } from './backoff';
