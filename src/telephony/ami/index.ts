export {
  AmiClient,
  AmiActionError,
  AmiTimeoutError,
  AmiDisconnectedError,
  normalize as normalizeAmiMessage,
  type AmiClientOptions,
  type AmiClientEvents,
  type AmiMessage,
  type AmiHeaders,
  type AmiListResult,
  type AmiLoginFailure,
  type OriginateOptions,
} from './client';
