// Typing of asterisk-manager 0.2.0 (no @types/asterisk-manager exists). Use it only through src/telephony/ami.
declare module 'asterisk-manager' {
  namespace AsteriskManager {
    /** A parsed AMI message: keys lower-cased. `variable`/`chanvariable` headers become objects, repeated keys arrays. */
    type AmiRawMessage = Record<string, string | string[] | Record<string, string> | undefined>;
    /** err is the Error response (Response: Error) or undefined; res is the first response for the ActionID. */
    type ActionCallback = (err: AmiRawMessage | undefined, res: AmiRawMessage) => void;
  }

  class AsteriskManager {
    /** A falsy port means: do not connect now (call connect/login yourself). */
    constructor(port: number | undefined, host: string, username: string, password: string, events: boolean);
    options: { port: number; host: string; username: string; password: string; events: boolean };
    on(event: string, listener: (...args: never[]) => void): void;
    once(event: string, listener: (...args: never[]) => void): void;
    removeListener(event: string, listener: (...args: never[]) => void): void;
    removeAllListeners(event?: string): void;
    listeners(event: string): Array<(...args: never[]) => void>;
    setMaxListeners(n: number): void;
    emit(event: string, ...args: unknown[]): boolean;

    /** Opens the TCP connection; the callback runs on 'connect' (never on failure: watch 'close'/'error'). */
    connect(port: number, host: string, callback?: () => void): void;
    /** Sends Login with the constructor's credentials; err is the Error response (e.g. "Authentication failed"). */
    login(callback?: (err?: AsteriskManager.AmiRawMessage) => void): void;
    keepConnected(): void;
    /** Sends an action; keys are case-insensitive; a lower-case `actionid` chooses the ActionID. Returns the ActionID. */
    action(action: Record<string, unknown>, callback?: AsteriskManager.ActionCallback): string;
    disconnect(callback?: () => void): void;
    isConnected(): boolean;
  }

  export = AsteriskManager;
}
