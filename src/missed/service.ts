// The missed-call callback list (未接来电回拨): abandoned and failed inbound calls, one open entry per number,
// matched automatically when that number gets through later; agents call back (click-to-call) and close entries.
import type { AuthUser } from '../auth/types';
import type { Db } from '../infra/db';
import { ConflictError, ForbiddenError, NotFoundError, TelephonyDownError } from '../infra/errors';
import { agentEndpoint } from '../agents/endpoint';
import type { MissedRepo, MissedResult, MissedRow, MissedStatus } from './repo';

export interface MissedDto {
  id: number;
  number: string;
  callerName: string | null;
  reason: string;
  status: MissedStatus;
  firstMissedAt: string;
  lastMissedAt: string;
  missedCount: number;
  waitedMs: number | null;
  maxWaitMs: number | null;
  attempts: number;
  lastAttemptAt: string | null;
  lastAttemptResult: string | null;
  result: MissedResult | null;
  note: string | null;
  firstCallId: string;
  lastCallId: string;
  matchedCallId: string | null;
  closedAt: string | null;
  /** abandoned 排队中挂机 / missed 未接通 / after_hours 非工作时间预约回电 / callback_failed 保留排位回电未接通 */
  kind: MissedKind;
  /** The oldest callback promised to this resident that is still open (null: none was promised). */
  promisedAt: string | null;
}

export type MissedKind = 'abandoned' | 'missed' | 'after_hours' | 'callback_failed';

export interface CallbackWorkSummary {
  open: number;
  byKind: Record<MissedKind, number>;
  promisedOpen: number;
  /** Promised callbacks older than CALLBACK_PROMISE_MAX_AGE_MIN and still open. */
  promisedLate: number;
  promiseMaxAgeMin: number;
  oldestPromiseAt: string | null;
  closedToday: number;
}

function kindOf(reason: string): MissedKind {
  if (reason === 'abandoned' || reason === 'after_hours' || reason === 'callback_failed') return reason;
  return 'missed';
}

export const RESULT_LABELS: Record<MissedResult, string> = {
  reached: '已联系上',
  no_answer: '无人接听',
  invalid_number: '空号/错号',
  not_needed: '无需回拨',
};

/** Where an entry goes after the agent reports a result: no answer keeps it open for another try. */
const RESULT_STATUS: Record<MissedResult, MissedStatus> = {
  reached: 'called_back',
  no_answer: 'open',
  invalid_number: 'closed',
  not_needed: 'closed',
};

function iso(d: Date | null): string | null {
  return d ? d.toISOString() : null;
}

export function toDto(r: MissedRow): MissedDto {
  return {
    id: r.id,
    number: r.caller_number,
    callerName: r.caller_name,
    reason: r.reason,
    status: r.status,
    firstMissedAt: r.first_missed_at.toISOString(),
    lastMissedAt: r.last_missed_at.toISOString(),
    missedCount: r.missed_count,
    waitedMs: r.last_wait_ms,
    maxWaitMs: r.max_wait_ms,
    attempts: r.attempts,
    lastAttemptAt: iso(r.last_attempt_at),
    lastAttemptResult: r.last_attempt_result,
    result: r.result,
    note: r.note,
    firstCallId: r.first_call_id,
    lastCallId: r.last_call_id,
    matchedCallId: r.matched_call_id,
    closedAt: iso(r.closed_at),
    kind: kindOf(r.reason),
    promisedAt: iso(r.promised_at),
  };
}

/** The outbound dialler's click-to-call as this module uses it (attached while call control runs on this process). */
export interface ClickToCall {
  place(input: { agentEndpoint: string; number: string; kind: 'missed'; refId: number; userId: number; agentId: number | null }): Promise<{ callId: string }>;
}

export class MissedService {
  private dialer: ClickToCall | null = null;

  constructor(
    private readonly db: Db,
    private readonly repo: MissedRepo,
    private readonly agentEndpointTemplate: string,
    private readonly promiseMaxAgeMin = 24 * 60,
  ) {}

  async summary(): Promise<CallbackWorkSummary> {
    const r = await this.repo.summary(this.promiseMaxAgeMin);
    return {
      open: r.open,
      byKind: { abandoned: r.abandoned, missed: r.missed, after_hours: r.after_hours, callback_failed: r.callback_failed },
      promisedOpen: r.promised_open,
      promisedLate: r.promised_late,
      promiseMaxAgeMin: this.promiseMaxAgeMin,
      oldestPromiseAt: iso(r.oldest_promise_at),
      closedToday: r.closed_today,
    };
  }

  setDialer(d: ClickToCall | null): void {
    this.dialer = d;
  }

  async list(q: { status: MissedStatus | 'all'; number?: string; limit: number; offset: number }): Promise<{ total: number; items: MissedDto[] }> {
    const { rows, total } = await this.repo.list(q);
    return { total, items: rows.map(toDto) };
  }

  private async load(id: number): Promise<MissedRow> {
    const row = await this.repo.get(id);
    if (!row) throw new NotFoundError('未接来电记录不存在', 'missed_call_not_found');
    return row;
  }

  async get(id: number): Promise<MissedDto> {
    return toDto(await this.load(id));
  }

  /** Click-to-call: rings the agent's phone, then the resident. */
  async call(user: AuthUser, id: number): Promise<{ entry: MissedDto; callbackCallId: string; agentEndpoint: string }> {
    if (user.agentId === null) throw new ForbiddenError('当前用户没有坐席分机，不能外呼', 'not_an_agent');
    const row = await this.load(id);
    if (row.status !== 'open') throw new ConflictError(`该未接来电已处理（${STATUS_LABELS[row.status]}），无需回拨`, 'missed_call_closed');
    const seat = await this.repo.agentEndpoint(user.agentId);
    if (!seat || !seat.active) throw new ForbiddenError('当前用户没有可用的坐席分机，不能外呼', 'not_an_agent');
    const endpoint = agentEndpoint(this.agentEndpointTemplate, seat);
    const dialer = this.dialer;
    if (!dialer) throw new TelephonyDownError('ari');
    const placed = await dialer.place({ agentEndpoint: endpoint, number: row.caller_number, kind: 'missed', refId: id, userId: user.id, agentId: user.agentId });
    await this.repo.recordAttempt(id, user.id);
    return { entry: await this.get(id), callbackCallId: placed.callId, agentEndpoint: endpoint };
  }

  async done(user: AuthUser, id: number, input: { result: MissedResult; note?: string }): Promise<MissedDto> {
    const note = input.note?.trim() || null;
    await this.db.withTransaction(async (tx) => {
      const status = await this.repo.lockStatus(id, tx);
      if (status === null) throw new NotFoundError('未接来电记录不存在', 'missed_call_not_found');
      if (status !== 'open') throw new ConflictError(`该未接来电已处理（${STATUS_LABELS[status]}）`, 'missed_call_closed');
      await this.repo.close(id, user.id, RESULT_STATUS[input.result], input.result, note, tx);
      if (RESULT_STATUS[input.result] !== 'open') await this.repo.settlePromises(id, tx);
    });
    return this.get(id);
  }
}

export const STATUS_LABELS: Record<MissedStatus, string> = {
  open: '待回拨',
  called_back: '已回拨',
  matched: '来电已接通',
  closed: '已关闭',
};
