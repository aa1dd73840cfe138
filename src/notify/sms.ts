// Text messages to residents (e.g. the tracking number and lookup code of a case opened by phone) go through an
// SMS gateway adapter. None is configured by default: the agent reads the numbers to the caller. A city plugs in
// its gateway with SMS_WEBHOOK_URL (an HTTP endpoint of its SMS platform or a small bridge to one, receiving
// {"to", "text"} as JSON, optionally with a bearer token SMS_WEBHOOK_TOKEN), or with its own SmsGateway.
import type { SmsSettings } from '../config';
import { AppError } from '../infra/errors';

export interface SmsGateway {
  /** For logs: which gateway sent it. */
  readonly name: string;
  /** Hands one message to the gateway; rejects when the gateway did not take it. */
  send(to: string, text: string): Promise<void>;
}

export class SmsSendError extends AppError {
  constructor(message: string) {
    super(502, 'sms_failed', message);
  }
}

/** POSTs {to, text} as JSON to a webhook; a 2xx answer means accepted. */
export class WebhookSmsGateway implements SmsGateway {
  readonly name = 'webhook';

  constructor(
    private readonly url: string,
    private readonly token: string | null,
    private readonly timeoutMs = 5000,
  ) {}

  async send(to: string, text: string): Promise<void> {
    let res: Response;
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) },
        body: JSON.stringify({ to, text }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new SmsSendError(`短信网关无法连接：${(err as Error).message}`);
    }
    await res.arrayBuffer().catch(() => undefined); // drain, so the connection can be reused
    if (!res.ok) throw new SmsSendError(`短信网关拒绝发送（HTTP ${res.status}）`);
  }
}

/** The gateway config.ts describes (SMS_WEBHOOK_URL, SMS_WEBHOOK_TOKEN); null when none is configured (the default). */
export function createSmsGateway(settings: SmsSettings | null): SmsGateway | null {
  return settings ? new WebhookSmsGateway(settings.webhookUrl, settings.webhookToken) : null;
}

/** Mobile numbers in mainland China (1 + 10 digits, optionally +86): the only ones a text can reach. */
export function isMobile(phone: string): boolean {
  return /^(\+?86)?1[3-9]\d{9}$/.test(phone.replace(/[\s-]/g, ''));
}
