// Callback (回访): resolved cases wait in the callback list; an agent calls the resident back (click-to-call
// through an injected placeCall, wired to ARI originate by call control) and records whether it was solved and
// the satisfaction. 不满意 reopens the case to the same department (重办: new dispatch number → new queue job,
// new deadlines); otherwise the case is closed.
import type { AuthUser } from '../auth/types';
import type { Db } from '../infra/db';
import type { Logger } from '../infra/logger';
import { agentEndpoint as endpointRule } from '../agents/endpoint';
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError, ServiceUnavailableError } from '../infra/errors';
import { toCaseDto, type CasesService } from '../cases/service';
import type { CaseDto } from '../case-model/dto';
import { assertRole } from '../cases/state';
import { CASE_SELECT, type CaseRow } from '../cases/repo';

export type Satisfaction = 'satisfied' | 'basically_satisfied' | 'unsatisfied';

export const SATISFACTION_LABELS: Record<Satisfaction, string> = {
  satisfied: '满意',
  basically_satisfied: '基本满意',
  unsatisfied: '不满意',
};

/** Originates a call to the agent's endpoint, then to the resident; resolves with an id of the call when known. */
export type PlaceCall = (agentEndpoint: string, residentNumber: string) => Promise<{ callId?: string } | void>;

export interface CallbackCallDto {
  caseId: number;
  status: string;
  agentEndpoint: string;
  callId: string | null;
}

export function createCallbacksService(deps: {
  db: Db;
  cases: CasesService;
  logger: Logger;
  agentEndpointTemplate: string;
  placeCall?: PlaceCall | null;
}) {
  let placeCall: PlaceCall | null = deps.placeCall ?? null;

  async function list(input: { status?: 'resolved' | 'callback'; limit: number; offset: number }): Promise<CaseDto[]> {
    const { rows } = await deps.db.query<CaseRow>(
      `${CASE_SELECT}
        where s.status = any($1)
        order by s.resolved_at nulls last, s.id
        limit $2 offset $3`,
      [input.status ? [input.status] : ['resolved', 'callback'], input.limit, input.offset],
    );
    return rows.map(toCaseDto);
  }

  /** A contact taken over by 并单 (404 when it is not this case's). */
  async function contact(caseId: number, contactId: number) {
    const { rows } = await deps.db.query<{ id: number; name: string | null; phone: string | null; callback_done_at: Date | null; from_tracking_no: string }>(
      `select k.id, k.name, k.phone, k.callback_done_at, f.tracking_no as from_tracking_no
         from case_contacts k join cases f on f.id = k.from_case_id where k.id = $1 and k.case_id = $2`,
      [contactId, caseId],
    );
    if (!rows[0]) throw new NotFoundError('该工单没有这位并单市民', 'contact_not_found');
    return rows[0];
  }

  /** Residents of merged cases (并单) on a case, with their callback state. */
  async function contacts(user: AuthUser, caseId: number) {
    await deps.cases.load(user, caseId);
    const { rows } = await deps.db.query<{ id: number; name: string | null; phone: string | null; from_case_id: number; from_tracking_no: string; callback_done_at: Date | null }>(
      `select k.id, k.name, k.phone, k.from_case_id, f.tracking_no as from_tracking_no, k.callback_done_at
         from case_contacts k join cases f on f.id = k.from_case_id where k.case_id = $1 order by k.id`,
      [caseId],
    );
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      phone: r.phone,
      fromCaseId: r.from_case_id,
      fromTrackingNo: r.from_tracking_no,
      callbackDoneAt: r.callback_done_at ? r.callback_done_at.toISOString() : null,
    }));
  }

  /**
   * Records a callback: of the case's own resident, or (contactId) of a resident whose case was merged into it.
   * 不满意 from anyone reopens the case; otherwise the case closes when the last of them has been called back,
   * and stays 回访中 (callback) until then.
   */
  async function record(
    user: AuthUser,
    caseId: number,
    input: { solved: boolean; satisfaction: Satisfaction; note?: string; contactId?: number },
  ): Promise<CaseDto> {
    const note = input.note?.trim() || null;
    const label = SATISFACTION_LABELS[input.satisfaction];
    const who = input.contactId !== undefined ? await contact(caseId, input.contactId) : null;
    if (who?.callback_done_at) throw new ConflictError('这位并单市民已经回访过了', 'callback_already_recorded');
    const summary = `${who ? `回访并单市民（${who.from_tracking_no}${who.name ? `，${who.name}` : ''}）` : ''}回访结果：${input.solved ? '已解决' : '未解决'}，${label}${note ? `。${note}` : ''}`;
    const save = async (tx: Parameters<Parameters<Db['withTransaction']>[0]>[0]) => {
      await deps.db.query(
        `insert into case_callbacks (case_id, agent_user_id, solved, satisfaction, note, contact_id) values ($1, $2, $3, $4, $5, $6)`,
        [caseId, user.id, input.solved, input.satisfaction, note, who?.id ?? null],
        tx,
      );
      if (who) {
        const done = await deps.db.query(
          `update case_contacts set callback_done_at = now() where id = $1 and callback_done_at is null`,
          [who.id],
          tx,
        );
        if (!done.rowCount) throw new ConflictError('这位并单市民已经回访过了', 'callback_already_recorded');
      }
    };
    if (input.satisfaction === 'unsatisfied') {
      return deps.cases.transition(user, caseId, 'callback_reopen', async (c, _to, tx) => {
        if (!c.department_id) throw new BadRequestError('工单没有承办部门，不能重办', 'validation_failed');
        const { rows } = await deps.db.query<{ id: number; code: string; reopen_count: number }>(
          `select d.id, d.code, s.reopen_count from cases s join departments d on d.id = s.department_id where s.id = $1`,
          [c.id],
          tx,
        );
        const dept = rows[0]!;
        await save(tx);
        const routed = await deps.cases.routeTo(c, dept, user, tx);
        return {
          ...routed,
          fields: { ...routed.fields, satisfaction: input.satisfaction, reopen_count: dept.reopen_count + 1, resolved_at: null },
          note: summary,
          detail: { ...(routed.detail as object), solved: input.solved, satisfaction: input.satisfaction, contactId: who?.id ?? null },
        };
      });
    }
    // Who else is still owed a callback once this one is recorded (read under the case lock below).
    const remaining = async (tx: Parameters<Parameters<Db['withTransaction']>[0]>[0]) => {
      const { rows } = await deps.db.query<{ contacts: number; main_done: boolean }>(
        `select (select count(*)::int from case_contacts where case_id = $1 and callback_done_at is null and id is distinct from $2) as contacts,
                exists (select 1 from case_callbacks b join cases s on s.id = b.case_id
                         where b.case_id = $1 and b.contact_id is null and b.created_at >= coalesce(s.resolved_at, '-infinity')) as main_done`,
        [caseId, who?.id ?? null],
        tx,
      );
      const r = rows[0]!;
      return r.contacts + (who && !r.main_done ? 1 : 0);
    };
    const pending = await deps.db.withTransaction(remaining);
    if (pending > 0) {
      return deps.cases.transition(user, caseId, 'callback_partial', async (_c, _to, tx) => {
        await save(tx);
        return { note: summary, detail: { solved: input.solved, satisfaction: input.satisfaction, contactId: who?.id ?? null, pending: await remaining(tx) } };
      });
    }
    return deps.cases.transition(user, caseId, 'callback_close', async (_c, _to, tx) => {
      await save(tx);
      return {
        fields: { satisfaction: input.satisfaction, closed_at: new Date() },
        note: summary,
        detail: { solved: input.solved, satisfaction: input.satisfaction, contactId: who?.id ?? null },
      };
    });
  }

  async function agentEndpoint(user: AuthUser): Promise<string> {
    if (user.agentId === null) throw new ForbiddenError('当前用户没有话务员席位，不能外呼');
    const { rows } = await deps.db.query<{ extension: string; endpoint: string | null }>(
      `select extension, endpoint from agents where id = $1`,
      [user.agentId],
    );
    const a = rows[0];
    if (!a) throw new ForbiddenError('当前用户没有话务员席位，不能外呼');
    return endpointRule(deps.agentEndpointTemplate, a);
  }

  /** Click-to-call: rings the agent, then the resident; marks the case 回访中 (callback). 503 while telephony is absent. */
  async function call(user: AuthUser, caseId: number, contactId?: number): Promise<CallbackCallDto> {
    assertRole('start_callback', user.role);
    const c = await deps.cases.load(user, caseId);
    if (c.status !== 'resolved' && c.status !== 'callback') {
      // Goes through the state machine for the standard 409 message.
      await deps.cases.transition(user, caseId, 'start_callback');
    }
    const number = contactId !== undefined ? (await contact(caseId, contactId)).phone : c.contactPhone;
    if (!number) throw new BadRequestError('没有市民联系电话，不能回访外呼', 'no_contact_phone');
    const endpoint = await agentEndpoint(user);
    const place = placeCall;
    if (!place) throw new ServiceUnavailableError('电话系统暂时不可用，无法外呼回访', 'ari_unavailable');
    let placed: { callId?: string } | void;
    try {
      placed = await place(endpoint, number);
    } catch (err) {
      deps.logger.warn({ err, caseId }, 'callback originate failed');
      throw new ServiceUnavailableError('电话系统暂时不可用，无法外呼回访', 'ari_unavailable');
    }
    const callId = (placed && placed.callId) || null;
    let status = c.status;
    if (c.status === 'resolved') {
      status = (await deps.cases.transition(user, caseId, 'start_callback', () => ({
        note: '话务员发起回访外呼',
        detail: { callId },
      }))).status;
    }
    return { caseId, status, agentEndpoint: endpoint, callId };
  }

  return {
    list,
    record,
    contacts,
    call,
    /** Wires click-to-call (ARI originate); null while telephony is absent → 503 ari_unavailable. */
    setPlaceCall(fn: PlaceCall | null) {
      placeCall = fn;
    },
  };
}

export type CallbacksService = ReturnType<typeof createCallbacksService>;
