// Caller records (来电人档案), their call history and the screen-pop lookup used when a call is offered.
import type { Db } from '../infra/db';
import { ConflictError, NotFoundError } from '../infra/errors';
import { decodeCursor, encodeCursor, normalizePhone, requirePhone } from '../http/schemas';
import { createCallersRepo, type CallerFields, type CallerRow, type CallSummaryRow } from './repo';

export interface CallerDto {
  id: number;
  number: string;
  name: string | null;
  gender: 'male' | 'female' | 'unknown' | null;
  address: string | null;
  district: string | null;
  note: string | null;
  tags: string[];
  vip: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface RecentCallDto {
  id: string;
  startedAt: string;
  outcome: string | null;
  agentName: string | null;
  /** Category name set on the call (or on its latest note). */
  category: string | null;
  noteExcerpt: string | null;
}

export interface OpenCaseDto {
  id: number;
  trackingNo: string;
  status: string;
  title: string;
  departmentName: string | null;
  createdAt: string;
}

export interface ScreenPop {
  caller: CallerDto | null;
  recentCalls: RecentCallDto[];
  openCases: OpenCaseDto[];
}

export interface CallSummaryDto {
  id: string;
  direction: 'inbound' | 'outbound';
  callerNumber: string;
  callerName: string | null;
  callerId: number | null;
  state: string;
  outcome: string | null;
  agentId: number | null;
  agentName: string | null;
  startedAt: string;
  answeredAt: string | null;
  connectedAt: string | null;
  endedAt: string | null;
  waitMs: number | null;
  talkMs: number | null;
  hangupBy: string | null;
  categoryId: number | null;
  categoryName: string | null;
  resolvedOnPhone: boolean | null;
  noteCount: number;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());

export function toCallerDto(r: CallerRow | (Omit<CallerRow, 'created_at' | 'updated_at'> & { created_at: string; updated_at: string })): CallerDto {
  return {
    id: r.id,
    number: r.number,
    name: r.name,
    gender: r.gender,
    address: r.address,
    district: r.district,
    note: r.note,
    tags: r.tags,
    vip: r.vip,
    createdAt: iso(r.created_at)!,
    updatedAt: iso(r.updated_at)!,
  };
}

export function toCallSummaryDto(r: CallSummaryRow): CallSummaryDto {
  return {
    id: r.id,
    direction: r.direction,
    callerNumber: r.caller_number,
    callerName: r.caller_name,
    callerId: r.caller_id,
    state: r.state,
    outcome: r.outcome,
    agentId: r.agent_id,
    agentName: r.agent_name,
    startedAt: r.started_at.toISOString(),
    answeredAt: iso(r.answered_at),
    connectedAt: iso(r.connected_at),
    endedAt: iso(r.ended_at),
    waitMs: r.wait_ms,
    talkMs: r.talk_ms,
    hangupBy: r.hangup_by,
    categoryId: r.category_id,
    categoryName: r.category_name,
    resolvedOnPhone: r.resolved_on_phone,
    noteCount: r.note_count,
  };
}

/** Rows fetched with limit + 1 → one page and the cursor of its last item when more follow. */
export function toPage(rows: CallSummaryRow[], limit: number): Page<CallSummaryDto> {
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  const last = items[items.length - 1];
  return { items: items.map(toCallSummaryDto), nextCursor: more && last ? encodeCursor({ ts: last.cursor_ts, id: last.id }) : null };
}

export function createCallersService(deps: { db: Db }) {
  const repo = createCallersRepo(deps.db);

  /**
   * Everything the agent's console shows when a call is offered, in one PostgreSQL round trip.
   * `number` is normalised like stored numbers; excludeCallId leaves the call being offered out of recentCalls.
   */
  async function lookupForScreenPop(number: string, opts: { excludeCallId?: string } = {}): Promise<ScreenPop> {
    const n = normalizePhone(number);
    if (!n) return { caller: null, recentCalls: [], openCases: [] };
    const row = await repo.screenPop(n, opts.excludeCallId ?? null);
    return {
      caller: row.caller ? toCallerDto(row.caller) : null,
      recentCalls: row.recent_calls.map((c) => ({
        id: c.id,
        startedAt: iso(c.started_at)!,
        outcome: c.outcome,
        agentName: c.agent_name,
        category: c.category,
        noteExcerpt: c.note_excerpt,
      })),
      openCases: row.open_cases.map((c) => ({
        id: Number(c.id),
        trackingNo: c.tracking_no,
        status: c.status,
        title: c.title,
        departmentName: c.department_name,
        createdAt: iso(c.created_at)!,
      })),
    };
  }

  async function findByNumber(number: string): Promise<CallerDto | null> {
    const row = await repo.findByNumber(requirePhone(number));
    return row ? toCallerDto(row) : null;
  }

  async function get(id: number): Promise<CallerDto> {
    const row = await repo.findById(id);
    if (!row) throw new NotFoundError('来电人档案不存在', 'caller_not_found');
    return toCallerDto(row);
  }

  async function create(input: CallerFields & { number: string }): Promise<CallerDto> {
    const number = requirePhone(input.number);
    const row = await repo.insert(number, input);
    if (!row) {
      const existing = await repo.findByNumber(number);
      throw new ConflictError('该号码的来电人档案已存在', 'caller_exists', existing ? { id: existing.id } : undefined);
    }
    return toCallerDto(row);
  }

  async function update(id: number, fields: CallerFields): Promise<CallerDto> {
    const row = await repo.update(id, fields);
    if (!row) throw new NotFoundError('来电人档案不存在', 'caller_not_found');
    return toCallerDto(row);
  }

  async function callHistory(id: number, opts: { limit: number; cursor?: string }): Promise<Page<CallSummaryDto>> {
    const after = decodeCursor(opts.cursor);
    const caller = await repo.findById(id);
    if (!caller) throw new NotFoundError('来电人档案不存在', 'caller_not_found');
    return toPage(await repo.callsByNumber(caller.number, after, opts.limit + 1), opts.limit);
  }

  return { lookupForScreenPop, findByNumber, get, create, update, callHistory };
}

export type CallersService = ReturnType<typeof createCallersService>;
