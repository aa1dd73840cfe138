// Cases (工单): creation (generic or from a call), dispatch through the outbox, every transition of the state
// machine (state.ts) with role and department checks, history in case_events — each in one transaction that
// locks the case row (SELECT … FOR UPDATE), so transitions of one case run one after the other.
import type pg from 'pg';
import type { AuthUser } from '../auth/types';
import type { Db } from '../infra/db';
import type { Logger } from '../infra/logger';
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError } from '../infra/errors';
import { requirePhone } from '../http/schemas';
import { enqueue, type OutboxMessage } from './outbox';
import { createCasesRepo, type CaseEventRow, type CaseRow, type LockedCase } from './repo';
import { assertRole, nextStatus, TRANSITIONS, type CaseAction } from './state';
import { isStatus, QUEUED_STATUSES, STATUS_LABELS, STATUSES, type CaseStatus } from '../case-model/status';
import type { CaseDto } from '../case-model/dto';
import { TRANSFER_JOB, deadlinePriority, transferJobId, transferQueueName, type TransferJobData } from '../departments/queue';
import type { SlaPolicy } from '../sla/policy';
import { planTimers } from '../sla/timers';
import { formatLookupCode, issueLookupCode } from './lookup-code';
import { isMobile, type SmsGateway } from '../notify/sms';
import { fieldLabel } from '../http/field-labels';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export interface CaseEventDto {
  id: number;
  at: string;
  actorId: number | null;
  actorName: string | null;
  action: string;
  fromStatus: string | null;
  toStatus: string;
  note: string | null;
  detail: unknown;
}

export function toCaseDto(r: CaseRow): CaseDto {
  return {
    id: r.id,
    trackingNo: r.tracking_no,
    status: r.status,
    statusLabel: isStatus(r.status) ? STATUS_LABELS[r.status] : r.status,
    channel: r.channel,
    urgency: r.urgency,
    categoryId: r.category_id,
    categoryName: r.category_name,
    title: r.title,
    description: r.description,
    contactName: r.contact_name,
    contactPhone: r.contact_phone,
    callerId: r.caller_id,
    callIds: r.call_ids,
    departmentId: r.department_id,
    departmentCode: r.department_code,
    departmentName: r.department_name,
    dispatchNo: r.dispatch_no,
    dispatchedAt: iso(r.dispatched_at),
    signedAt: iso(r.signed_at),
    signedBy: r.signed_by,
    signedByName: r.signed_by_name,
    resolvedAt: iso(r.resolved_at),
    reply: r.reply,
    returnReason: r.return_reason,
    slaStartedAt: iso(r.sla_started_at),
    signDeadline: iso(r.sign_deadline),
    resolveDeadline: iso(r.resolve_deadline),
    deadlineVersion: r.deadline_version,
    warningLevel: r.warning_level,
    overdue: r.overdue,
    extensionUntil: iso(r.extension_until),
    extensionReason: r.extension_reason,
    extensionCount: r.extension_count,
    mergedInto: r.merged_into,
    pendingCallbacks: r.pending_callbacks ?? 0,
    closedAt: iso(r.closed_at),
    satisfaction: r.satisfaction,
    reopenCount: r.reopen_count,
    createdBy: r.created_by,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

function toEventDto(e: CaseEventRow): CaseEventDto {
  return {
    id: e.id,
    at: e.at.toISOString(),
    actorId: e.actor_id,
    actorName: e.actor_name,
    action: e.action,
    fromStatus: e.from_status,
    toStatus: e.to_status,
    note: e.note,
    detail: e.detail,
  };
}

export interface CreateCaseInput {
  channel?: 'phone' | 'web' | 'open311';
  title?: string;
  description?: string;
  categoryId?: number;
  urgency?: 'normal' | 'urgent';
  contactName?: string;
  contactPhone?: string;
  callIds?: string[];
  departmentCode?: string;
  note?: string;
}

export interface ListInput {
  status?: string[];
  departmentCode?: string;
  limit: number;
  offset: number;
}

/** What a transition's work step returns: extra columns, the history note/detail, jobs to add after commit. */
export interface TransitionWork {
  fields?: Record<string, unknown>;
  note?: string | null;
  detail?: unknown;
  outbox?: OutboxMessage[];
}

const DEFAULT_INBOX: CaseStatus[] = ['draft', 'returned', 'extension_requested'];

function clean(s: string | undefined, field: string, required: boolean): string | null {
  const v = s?.trim() ?? '';
  if (!v) {
    if (required) throw new BadRequestError(`${fieldLabel(field)}不能为空`, 'validation_failed');
    return null;
  }
  return v;
}

/** A case opened from a call: what the agent reads to the caller (and what an SMS gateway, if any, sent). */
export type CaseFromCallDto = CaseDto & { lookupCode: string; smsSent: boolean };

export function createCasesService(deps: {
  db: Db;
  sla: SlaPolicy;
  logger: Logger;
  wake: () => void;
  removeJob?: (queue: string, jobId: string) => Promise<void>;
  /** Sends the tracking number and lookup code of a phone-created case to the caller; none by default. */
  sms?: SmsGateway | null;
}) {
  const { db, sla } = deps;
  const repo = createCasesRepo(db);

  /** department_staff see and act on their own department's cases only. */
  function assertScope(user: AuthUser, departmentId: number | null): void {
    if (user.role === 'department_staff' && (departmentId === null || departmentId !== user.departmentId)) {
      throw new ForbiddenError('只能查看和处理本部门的工单');
    }
  }

  async function departmentByCode(code: string, tx?: pg.PoolClient) {
    const d = await repo.department(code, tx);
    if (!d) throw new NotFoundError(`部门 ${code} 不存在`, 'department_not_found');
    if (!d.active) throw new BadRequestError(`部门 ${d.name} 已停用，不能派单`, 'department_inactive');
    return d;
  }

  /** Routing to a department: new dispatch number, deadlines from the SLA policy, transfer job + SLA timers. */
  async function routeTo(c: LockedCase, dept: { id: number; code: string }, user: AuthUser | null, tx: pg.PoolClient): Promise<TransitionWork> {
    const now = new Date();
    const dispatchNo = c.dispatch_no + 1;
    const version = c.deadline_version + 1;
    const d = await sla.deadlines({ urgency: c.urgency, categoryId: c.category_id }, now, tx);
    const data: TransferJobData = { caseId: c.id, dispatchNo, trackingNo: c.tracking_no, urgency: c.urgency, departmentCode: dept.code };
    return {
      fields: {
        department_id: dept.id,
        dispatch_no: dispatchNo,
        dispatched_at: now,
        dispatched_by: user?.id ?? null,
        sla_policy_id: d.policyId,
        sla_started_at: now,
        sign_deadline: d.signDeadline,
        resolve_deadline: d.resolveDeadline,
        deadline_version: version,
        warning_level: null,
        signed_at: null,
        signed_by: null,
        extension_until: null,
      },
      detail: {
        departmentCode: dept.code,
        dispatchNo,
        slaPolicy: d.policyName,
        signDeadline: d.signDeadline.toISOString(),
        resolveDeadline: d.resolveDeadline.toISOString(),
      },
      outbox: [
        {
          queue: transferQueueName(dept.code),
          jobName: TRANSFER_JOB,
          jobId: transferJobId(c.id, dispatchNo),
          data,
          priority: deadlinePriority(d.resolveDeadline),
        },
        ...planTimers({ caseId: c.id, version, urgency: c.urgency }, { ...d }, now),
      ],
    };
  }

  /**
   * The one way a case changes: role (403) → lock the row → department scope (403) → state machine (409) →
   * work → update + case_events + outbox, all in one transaction; the relay is woken after commit.
   */
  async function transitionIn(
    tx: pg.PoolClient,
    user: AuthUser | null,
    caseId: number,
    action: CaseAction,
    work?: (c: LockedCase, to: CaseStatus) => Promise<TransitionWork> | TransitionWork,
  ): Promise<{ from: string; to: CaseStatus; outbox: boolean }> {
    const c = await repo.lock(caseId, tx);
    if (!c) throw new NotFoundError('工单不存在', 'case_not_found');
    if (user) assertScope(user, c.department_id);
    const to = nextStatus(action, c.status);
    const w = (await work?.(c, to)) ?? {};
    await repo.update(caseId, { status: to, ...w.fields }, tx);
    await repo.insertEvent({ caseId, actorId: user?.id ?? null, action, from: c.status, to, note: w.note, detail: w.detail }, tx);
    if (w.outbox?.length) await enqueue(db, tx, w.outbox);
    return { from: c.status, to, outbox: !!w.outbox?.length };
  }

  async function transition(
    user: AuthUser,
    caseId: number,
    action: CaseAction,
    work?: (c: LockedCase, to: CaseStatus, tx: pg.PoolClient) => Promise<TransitionWork> | TransitionWork,
  ): Promise<CaseDto> {
    assertRole(action, user.role);
    const r = await db.withTransaction((tx) => transitionIn(tx, user, caseId, action, work && ((c, to) => work(c, to, tx))));
    if (r.outbox) deps.wake();
    return load(user, caseId);
  }

  /** One case as the user may see it (403 for another department's staff). */
  async function load(user: AuthUser, caseId: number): Promise<CaseDto> {
    const row = await repo.find(caseId);
    if (!row) throw new NotFoundError('工单不存在', 'case_not_found');
    assertScope(user, row.department_id);
    return toCaseDto(row);
  }

  /** One case with its history. */
  async function get(user: AuthUser, caseId: number): Promise<CaseDto & { events: CaseEventDto[] }> {
    const dto = await load(user, caseId);
    return { ...dto, events: (await repo.events(caseId)).map(toEventDto) };
  }

  async function create(user: AuthUser, input: CreateCaseInput, fromCall?: { callId: string; callerId: number | null }): Promise<CaseDto> {
    return (await createWithCode(user, input, fromCall, false)).dto;
  }

  /** Creation in one transaction; with withCode the case gets a lookup code (查询码) in that same transaction. */
  async function createWithCode(
    user: AuthUser,
    input: CreateCaseInput,
    fromCall: { callId: string; callerId: number | null } | undefined,
    withCode: boolean,
  ): Promise<{ dto: CaseDto; lookupCode: string | null }> {
    let lookupCode: string | null = null;
    const description = clean(input.description, 'description', true)!;
    const contactPhone = input.contactPhone ? requirePhone(input.contactPhone, 'contactPhone') : null;
    const title = clean(input.title, 'title', false) ?? description.replace(/\s+/g, ' ').slice(0, 40);
    const callIds = [...new Set([...(fromCall ? [fromCall.callId] : []), ...(input.callIds ?? [])])];
    const dispatchNow = input.departmentCode !== undefined;
    if (dispatchNow) assertRole('dispatch', user.role);
    const id = await db.withTransaction(async (tx) => {
      if (input.categoryId !== undefined && !(await repo.categoryExists(input.categoryId, tx))) {
        throw new BadRequestError('诉求分类不存在', 'unknown_category');
      }
      if (callIds.length) {
        const found = await repo.existingCalls(callIds, tx);
        const missing = callIds.filter((c) => !found.includes(c));
        if (missing.length) throw new BadRequestError(`通话记录不存在：${missing.join('、')}`, 'unknown_call');
      }
      const dept = dispatchNow ? await departmentByCode(input.departmentCode!, tx) : null;
      const trackingNo = await repo.nextTrackingNo(tx);
      const caseId = await repo.insertCase(
        {
          trackingNo,
          channel: input.channel ?? 'phone',
          callerId: fromCall?.callerId ?? null,
          contactName: clean(input.contactName, 'contactName', false),
          contactPhone,
          categoryId: input.categoryId ?? null,
          urgency: input.urgency ?? 'normal',
          title,
          description,
          callId: callIds[0] ?? null,
          createdBy: user.id,
        },
        tx,
      );
      await repo.addCalls(caseId, callIds, tx);
      if (withCode) lookupCode = await issueLookupCode(db, caseId, tx);
      await repo.insertEvent(
        { caseId, actorId: user.id, action: 'create', from: null, to: 'draft', note: clean(input.note, 'note', false), detail: { callIds } },
        tx,
      );
      if (dept) {
        await transitionIn(tx, user, caseId, 'dispatch', (c) => routeTo(c, dept, user, tx));
      }
      return caseId;
    });
    if (dispatchNow) deps.wake();
    return { dto: await load(user, id), lookupCode };
  }

  /** A case from a call: the caller becomes the resident contact, the call's notes the description/history. */
  async function createFromCall(user: AuthUser, callId: string, input: Omit<CreateCaseInput, 'callIds' | 'channel'>): Promise<CaseFromCallDto> {
    const call = await repo.callForCase(callId);
    if (!call) throw new NotFoundError('通话记录不存在', 'call_not_found');
    const notes = await repo.callNotes(callId);
    const given = input.description?.trim();
    const noteText = notes.map((n) => n.content).join('\n');
    if (!given && !noteText) {
      throw new BadRequestError('该通话还没有通话小结，请填写诉求内容', 'validation_failed');
    }
    const description = given && noteText ? `${given}\n\n【通话小结】\n${noteText}` : (given ?? noteText);
    const categoryId = input.categoryId ?? call.category_id ?? [...notes].reverse().find((n) => n.category_id !== null)?.category_id ?? undefined;
    const history = notes.map((n) => ({ noteId: n.id, author: n.author_name, at: n.created_at.toISOString(), content: n.content }));
    const { dto, lookupCode } = await createWithCode(
      user,
      {
        ...input,
        channel: 'phone',
        description,
        categoryId,
        contactName: input.contactName ?? call.caller_name ?? undefined,
        contactPhone: input.contactPhone ?? (call.caller_number || undefined),
        note: input.note ?? (history.length ? `由通话创建，附 ${history.length} 条通话小结` : '由通话创建'),
      },
      { callId, callerId: call.caller_id },
      true,
    );
    if (history.length) {
      await db.query(
        `update case_events set detail = coalesce(detail, '{}'::jsonb) || jsonb_build_object('callNotes', $2::jsonb)
          where id = (select min(id) from case_events where case_id = $1)`,
        [dto.id, JSON.stringify(history)],
      );
    }
    const code = formatLookupCode(lookupCode!);
    return { ...dto, lookupCode: code, smsSent: await textTheCaller(dto, code) };
  }

  /** The tracking number and lookup code by SMS, when a gateway is configured and the contact is a mobile. */
  async function textTheCaller(dto: CaseDto, code: string): Promise<boolean> {
    if (!deps.sms || !dto.contactPhone || !isMobile(dto.contactPhone)) return false;
    const text = `【114热线】您反映的问题已受理，受理编号 ${dto.trackingNo}，查询码 ${code}。可凭受理编号和查询码（或手机号后四位）在线查询办理进度。`;
    try {
      await deps.sms.send(dto.contactPhone, text);
      deps.logger.info({ caseId: dto.id, gateway: deps.sms.name }, 'lookup code sent by SMS');
      return true;
    } catch (err) {
      // The case and its code are stored; the agent has read them to the caller. The text is a convenience.
      deps.logger.warn({ caseId: dto.id, gateway: deps.sms.name, err: (err as Error).message }, 'SMS to the caller failed');
      return false;
    }
  }

  async function dispatch(user: AuthUser, caseId: number, input: { departmentCode: string; note?: string }): Promise<CaseDto> {
    return transition(user, caseId, 'dispatch', async (c, _to, tx) => {
      const dept = await departmentByCode(input.departmentCode, tx);
      return { ...(await routeTo(c, dept, user, tx)), note: clean(input.note, 'note', false) };
    });
  }

  async function recall(user: AuthUser, caseId: number, input: { note?: string }): Promise<CaseDto> {
    return transition(user, caseId, 'recall', (c) => ({
      fields: { deadline_version: c.deadline_version + 1, sign_deadline: null, resolve_deadline: null, warning_level: null },
      note: clean(input.note, 'note', false),
      detail: { dispatchNo: c.dispatch_no },
    }));
  }

  /** 签收 of a specific ticket (the claim route takes the next one from the queue instead). */
  async function sign(user: AuthUser, caseId: number): Promise<CaseDto> {
    let job: { queue: string; jobId: string } | null = null;
    const dto = await transition(user, caseId, 'sign', async (c, _to, tx) => {
      const dept = c.department_id ? await repo.departmentById(c.department_id, tx) : null;
      if (dept) job = { queue: transferQueueName(dept.code), jobId: transferJobId(c.id, c.dispatch_no) };
      return { fields: { signed_at: new Date(), signed_by: user.id }, detail: { dispatchNo: c.dispatch_no, via: 'direct' } };
    });
    // The queued job is now stale (a claim would skip it); remove it when possible.
    const j = job as { queue: string; jobId: string } | null;
    if (j && deps.removeJob) await deps.removeJob(j.queue, j.jobId).catch(() => undefined);
    return dto;
  }

  /**
   * 签收 through the queue: signs when the job still matches the case (same department, same dispatch, still
   * waiting); returns null for a stale job (recalled, returned, signed directly, re-dispatched).
   */
  async function signFromQueue(user: AuthUser, departmentId: number, job: TransferJobData): Promise<CaseDto | null> {
    assertRole('sign', user.role);
    const r = await repo.quickTransition({
      caseId: job.caseId,
      from: QUEUED_STATUSES,
      to: 'signed',
      set: { signed_at: new Date(), signed_by: user.id },
      departmentId,
      dispatchNo: job.dispatchNo,
      actorId: user.id,
      action: 'sign',
      note: null,
      detail: { dispatchNo: job.dispatchNo, via: 'queue' },
    });
    return r?.row ? toCaseDto(r.row) : null;
  }

  /** A transition that only sets values (no computed work): one statement. */
  async function quick(user: AuthUser, caseId: number, action: CaseAction, set: Record<string, unknown>, note: string | null): Promise<CaseDto> {
    assertRole(action, user.role);
    const t = TRANSITIONS[action] as { from: readonly string[]; to: string };
    const r = await repo.quickTransition({
      caseId,
      from: t.from,
      to: t.to,
      set,
      departmentId: user.role === 'department_staff' ? (user.departmentId ?? -1) : null,
      dispatchNo: null,
      actorId: user.id,
      action,
      note,
      detail: undefined,
    });
    if (!r) throw new NotFoundError('工单不存在', 'case_not_found');
    if (r.row) return toCaseDto(r.row);
    assertScope(user, r.oldDepartmentId);
    nextStatus(action, r.oldStatus); // throws the 409
    throw new ConflictError('工单状态已变化，请刷新后重试', 'illegal_transition');
  }

  async function progress(user: AuthUser, caseId: number, input: { note: string }): Promise<CaseDto> {
    const note = clean(input.note, 'note', true);
    return quick(user, caseId, 'progress', {}, note);
  }

  async function resolve(user: AuthUser, caseId: number, input: { reply: string }): Promise<CaseDto> {
    const reply = clean(input.reply, 'reply', true);
    return quick(user, caseId, 'resolve', { resolved_at: new Date(), resolved_by: user.id, reply }, reply);
  }

  async function returnCase(user: AuthUser, caseId: number, input: { reason: string }): Promise<CaseDto> {
    const reason = clean(input.reason, 'reason', true);
    return transition(user, caseId, 'return', (c) => ({
      // The clock of this department stops: a new deadline version makes its timers stale.
      fields: { return_reason: reason, deadline_version: c.deadline_version + 1 },
      note: reason,
      detail: { dispatchNo: c.dispatch_no },
    }));
  }

  async function requestExtension(user: AuthUser, caseId: number, input: { days?: number; until?: string; reason: string }): Promise<CaseDto> {
    const reason = clean(input.reason, 'reason', true);
    if ((input.days === undefined) === (input.until === undefined)) {
      throw new BadRequestError('请填写延期天数或延期至日期（二选一）', 'validation_failed');
    }
    return transition(user, caseId, 'request_extension', async (c, _to, tx) => {
      const current = c.resolve_deadline ?? new Date();
      const until = input.until !== undefined ? new Date(input.until) : await sla.extendByWorkingDays(current, input.days!, tx);
      if (until.getTime() <= current.getTime()) {
        throw new BadRequestError('延期后的时限必须晚于当前办结时限', 'validation_failed');
      }
      return {
        fields: { extension_until: until, extension_reason: reason },
        note: reason,
        detail: { until: until.toISOString(), days: input.days ?? null, currentDeadline: current.toISOString() },
      };
    });
  }

  async function decideExtension(user: AuthUser, caseId: number, input: { approve: boolean; note?: string }): Promise<CaseDto> {
    const note = clean(input.note, 'note', false);
    if (!input.approve) {
      return transition(user, caseId, 'refuse_extension', () => ({ fields: { extension_until: null }, note }));
    }
    return transition(user, caseId, 'approve_extension', async (c, _to, tx) => {
      const { rows } = await db.query<{ extension_until: Date | null; extension_count: number; sla_policy_id: number | null }>(
        `select extension_until, extension_count, sla_policy_id from cases where id = $1`,
        [c.id],
        tx,
      );
      const r = rows[0]!;
      if (!r.extension_until) throw new ConflictError('延期申请缺少延期时限', 'illegal_transition');
      const version = c.deadline_version + 1;
      const start = c.sla_started_at ?? new Date();
      const supervise = await db.query<{ supervise_after: number }>(`select supervise_after from sla_policies where id = $1`, [r.sla_policy_id], tx);
      const after = Number(supervise.rows[0]?.supervise_after ?? 0);
      const deadline = r.extension_until;
      const superviseAt = new Date(deadline.getTime() + after * (deadline.getTime() - start.getTime()));
      return {
        fields: {
          resolve_deadline: deadline,
          deadline_version: version,
          warning_level: null,
          extension_count: r.extension_count + 1,
        },
        note,
        detail: { previousDeadline: c.resolve_deadline?.toISOString() ?? null, resolveDeadline: deadline.toISOString() },
        outbox: planTimers({ caseId: c.id, version, urgency: c.urgency }, { startedAt: start, resolveDeadline: deadline, superviseAt }),
      };
    });
  }

  /**
   * 并单: the case joins another one that carries on. In the same transaction the surviving case takes over the
   * merged case's calls (and so their call notes), its residents as contacts who are owed a callback (回访) —
   * including contacts the merged case had itself taken over — and a history entry with its text and notes.
   */
  async function merge(user: AuthUser, caseId: number, input: { intoCaseId: number; note?: string }): Promise<CaseDto> {
    if (input.intoCaseId === caseId) throw new BadRequestError('不能并入工单自身', 'validation_failed');
    return transition(user, caseId, 'merge', async (c, _to, tx) => {
      const { rows } = await db.query<{ status: string; tracking_no: string; merged_into: number | null }>(
        `select status, tracking_no, merged_into from cases where id = $1 for update`,
        [input.intoCaseId],
        tx,
      );
      const target = rows[0];
      if (!target) throw new BadRequestError('要并入的工单不存在', 'unknown_case');
      if (target.status === 'merged') throw new BadRequestError('不能并入一张已并单的工单', 'validation_failed');
      if (target.status === 'closed') throw new BadRequestError('不能并入已结案的工单', 'validation_failed');
      const moved = await repo.moveToSurvivor(c.id, input.intoCaseId, tx);
      const note = clean(input.note, 'note', false);
      await repo.insertEvent(
        {
          caseId: input.intoCaseId,
          actorId: user.id,
          action: 'merge_in',
          from: target.status,
          to: target.status,
          note: `并入工单 ${c.tracking_no}：${moved.description}${note ? `（${note}）` : ''}`,
          detail: { fromCaseId: c.id, fromTrackingNo: c.tracking_no, callIds: moved.callIds, contacts: moved.contacts, notes: moved.notes },
        },
        tx,
      );
      return { fields: { merged_into: input.intoCaseId }, note, detail: { intoCaseId: input.intoCaseId, intoTrackingNo: target.tracking_no, contacts: moved.contacts } };
    });
  }

  async function list(user: AuthUser, input: ListInput): Promise<CaseDto[]> {
    const statuses = input.status?.length ? input.status : DEFAULT_INBOX;
    for (const s of statuses) {
      if (!isStatus(s)) throw new BadRequestError(`未知的工单状态 ${s}，可选值：${STATUSES.join('、')}`, 'validation_failed');
    }
    let departmentId: number | undefined;
    if (input.departmentCode !== undefined) {
      const d = await repo.department(input.departmentCode);
      if (!d) throw new NotFoundError(`部门 ${input.departmentCode} 不存在`, 'department_not_found');
      departmentId = d.id;
    }
    if (user.role === 'department_staff') {
      if (departmentId !== undefined && departmentId !== user.departmentId) throw new ForbiddenError('只能查看本部门的工单');
      departmentId = user.departmentId ?? -1;
    }
    return (await repo.list({ statuses, departmentId, limit: input.limit, offset: input.offset })).map(toCaseDto);
  }

  async function overdue(input: { departmentCode?: string; limit: number; offset: number }): Promise<CaseDto[]> {
    let departmentId: number | undefined;
    if (input.departmentCode !== undefined) {
      const d = await repo.department(input.departmentCode);
      if (!d) throw new NotFoundError(`部门 ${input.departmentCode} 不存在`, 'department_not_found');
      departmentId = d.id;
    }
    return (await repo.list({ overdueOnly: true, departmentId, limit: input.limit, offset: input.offset })).map(toCaseDto);
  }

  return {
    repo,
    create,
    createFromCall,
    dispatch,
    recall,
    sign,
    signFromQueue,
    progress,
    resolve,
    returnCase,
    requestExtension,
    decideExtension,
    merge,
    get,
    load,
    list,
    overdue,
    /** For sibling domains (callbacks): a transition with work, and routing to a department inside it. */
    transition,
    routeTo,
    assertScope,
  };
}

export type CasesService = ReturnType<typeof createCasesService>;
