// SQL for public intake: web help requests (求助栏) and Open311 service requests, both stored as cases
// (status draft, for the dispatcher) plus an intake_requests row with what a case has no columns for.
// Tracking numbers come from the cases module (case_counters); the history row goes to case_events.
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { Db } from '../infra/db';
import { createCasesRepo } from '../cases/repo';
import { hashLookupCode } from '../cases/lookup-code';

export interface NewIntake {
  source: 'web' | 'open311';
  categoryId: number;
  title: string;
  description: string;
  contactName: string | null;
  contactPhone: string | null;
  clientId: number | null;
  serviceCode: string | null;
  address: string | null;
  addressId: string | null;
  zipcode: string | null;
  lat: number | null;
  long: number | null;
  mediaUrl: string | null;
  email: string | null;
  deviceId: string | null;
  accountId: string | null;
  attributes: Record<string, unknown>;
  /** The resident's lookup code (plain, only its hash is stored), or null. */
  lookupCode: string | null;
}

export interface CategoryRow {
  id: number;
  code: string;
  name: string;
  parent_name: string | null;
}

export interface RequestRow {
  id: number;
  tracking_no: string;
  status: string;
  channel: string;
  title: string;
  description: string;
  reply: string | null;
  contact_phone: string | null;
  lookup_code_hash: Buffer | null;
  category_code: string | null;
  category_name: string | null;
  department_name: string | null;
  created_at: Date;
  updated_at: Date;
  resolved_at: Date | null;
  resolve_deadline: Date | null;
  merged_into_tracking_no: string | null;
  address: string | null;
  address_id: string | null;
  zipcode: string | null;
  lat: number | null;
  long: number | null;
  media_url: string | null;
  /** Staff reviewed the description and published it (Open311 shows it, redacted), or null. */
  description_public_at: Date | null;
  history: { at: string; action: string; to_status: string }[];
}

export const hashKey = (key: string) => createHash('sha256').update(key, 'utf8').digest();

const REQUEST_COLUMNS = `
  select c.id, c.tracking_no, c.status, c.channel, c.title, c.description, c.reply, c.contact_phone, c.lookup_code_hash,
         cat.code as category_code, cat.name as category_name, d.name as department_name, c.created_at, c.updated_at,
         c.resolved_at, c.resolve_deadline, m.tracking_no as merged_into_tracking_no,
         i.address, i.address_id, i.zipcode, i.lat, i.long, i.media_url, c.description_public_at,
         coalesce((select json_agg(json_build_object('at', e.at, 'action', e.action, 'to_status', e.to_status) order by e.id)
                     from case_events e where e.case_id = c.id), '[]'::json) as history`;
const REQUEST_JOINS = `
    left join categories cat on cat.id = c.category_id
    left join departments d on d.id = c.department_id
    left join cases m on m.id = c.merged_into`;
const REQUEST_SELECT = `${REQUEST_COLUMNS}
    from intake_requests i
    join cases c on c.id = i.case_id${REQUEST_JOINS}`;
/** Any case, whatever its channel (a phone-created case has no intake row): for the residents' status lookup. */
const ANY_CASE_SELECT = `${REQUEST_COLUMNS}
    from cases c
    left join intake_requests i on i.case_id = c.id${REQUEST_JOINS}`;

export interface RequestFilter {
  trackingNos?: string[];
  serviceCodes?: string[];
  start: string;
  end: string;
  statuses?: string[];
  limit: number;
}

export function createIntakeRepo(db: Db) {
  const cases = createCasesRepo(db);
  return {
    async activeCategories(): Promise<CategoryRow[]> {
      const { rows } = await db.query<CategoryRow>(
        `select c.id, c.code, c.name, p.name as parent_name
           from categories c left join categories p on p.id = c.parent_id
          where c.active order by coalesce(p.sort_order, c.sort_order), c.parent_id nulls first, c.sort_order, c.id`,
      );
      return rows;
    },

    async categoryByCode(code: string): Promise<CategoryRow | null> {
      const { rows } = await db.query<CategoryRow>(
        `select c.id, c.code, c.name, p.name as parent_name from categories c left join categories p on p.id = c.parent_id
          where c.code = $1 and c.active`,
        [code],
      );
      return rows[0] ?? null;
    },

    async insert(r: NewIntake): Promise<{ id: number; trackingNo: string }> {
      return db.withTransaction(async (tx: pg.PoolClient) => {
        const trackingNo = await cases.nextTrackingNo(tx);
        const { rows } = await db.query<{ id: number }>(
          `insert into cases (tracking_no, channel, status, contact_name, contact_phone, category_id, title, description, lookup_code_hash)
           values ($1, $2, 'draft', $3, $4, $5, $6, $7, $8) returning id`,
          [trackingNo, r.source, r.contactName, r.contactPhone, r.categoryId, r.title, r.description,
            r.lookupCode ? hashLookupCode(trackingNo, r.lookupCode) : null],
          tx,
        );
        const id = rows[0]!.id;
        await db.query(
          `insert into intake_requests (case_id, source, open311_client_id, service_code, address, address_id, zipcode, lat, long,
                                        media_url, email, device_id, account_id, attributes)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
          [id, r.source, r.clientId, r.serviceCode, r.address, r.addressId, r.zipcode, r.lat, r.long, r.mediaUrl, r.email,
            r.deviceId, r.accountId, JSON.stringify(r.attributes)],
          tx,
        );
        await cases.insertEvent(
          { caseId: id, actorId: null, action: 'create', from: null, to: 'draft', detail: { source: r.source, clientId: r.clientId } },
          tx,
        );
        return { id, trackingNo };
      });
    },

    /** A case of any channel (web, Open311, phone) by tracking number, for the status lookup. */
    async anyCaseByTrackingNo(trackingNo: string): Promise<RequestRow | null> {
      const { rows } = await db.query<RequestRow>(`${ANY_CASE_SELECT} where c.tracking_no = $1`, [trackingNo]);
      return rows[0] ?? null;
    },

    async byTrackingNo(trackingNo: string): Promise<RequestRow | null> {
      const { rows } = await db.query<RequestRow>(`${REQUEST_SELECT} where c.tracking_no = $1`, [trackingNo]);
      return rows[0] ?? null;
    },

    /**
     * The case a merged case (并单) lives on in: follows merged_into to the end (a surviving case may itself be
     * merged later), phone cases included. Status, department, reply and history only — nothing personal.
     */
    async survivorOf(caseId: number) {
      const { rows } = await db.query<{
        id: number; tracking_no: string; status: string; department_name: string | null; updated_at: Date; resolved_at: Date | null;
        reply: string | null; history: { at: string; action: string; to_status: string }[];
      }>(
        `with recursive chain as (
           select merged_into as id, 1 as depth from cases where id = $1 and merged_into is not null
           union all
           select c.merged_into, chain.depth + 1 from chain join cases c on c.id = chain.id
            where c.merged_into is not null and chain.depth < 10
         )
         select c.id, c.tracking_no, c.status, d.name as department_name, c.updated_at, c.resolved_at, c.reply,
                coalesce((select json_agg(json_build_object('at', e.at, 'action', e.action, 'to_status', e.to_status) order by e.id)
                            from case_events e where e.case_id = c.id), '[]'::json) as history
           from cases c left join departments d on d.id = c.department_id
          where c.id = (select id from chain order by depth desc limit 1)`,
        [caseId],
      );
      return rows[0] ?? null;
    },

    async list(f: RequestFilter): Promise<RequestRow[]> {
      const { rows } = await db.query<RequestRow>(
        `${REQUEST_SELECT}
          where ($1::text[] is null or c.tracking_no = any($1))
            and ($2::text[] is null or cat.code = any($2))
            and c.created_at >= $3::timestamptz and c.created_at <= $4::timestamptz
            and ($5::text[] is null or c.status = any($5))
          order by c.created_at desc, c.id desc
          limit $6`,
        [f.trackingNos ?? null, f.serviceCodes ?? null, f.start, f.end, f.statuses ?? null, f.limit],
      );
      return rows;
    },

    /** Publishes (or withdraws) an intake request's description; false when no intake request has that case id. */
    async setDescriptionPublic(caseId: number, userId: number, published: boolean): Promise<boolean> {
      const { rowCount } = await db.query(
        `update cases set description_public_at = case when $3 then now() end, description_public_by = case when $3 then $2::int end
          where id = $1 and exists (select 1 from intake_requests i where i.case_id = cases.id)`,
        [caseId, userId, published],
      );
      return (rowCount ?? 0) > 0;
    },

    async clientByKey(key: string): Promise<{ id: number; name: string } | null> {
      const { rows } = await db.query<{ id: number; name: string }>(
        `update open311_clients set last_used_at = now() where key_hash = $1 and revoked_at is null returning id, name`,
        [hashKey(key)],
      );
      return rows[0] ?? null;
    },

    async insertClient(name: string, key: string): Promise<number> {
      const { rows } = await db.query<{ id: number }>(`insert into open311_clients (name, key_hash) values ($1, $2) returning id`, [name, hashKey(key)]);
      return rows[0]!.id;
    },

    async listClients() {
      const { rows } = await db.query<{ id: number; name: string; created_at: Date; revoked_at: Date | null; last_used_at: Date | null }>(
        `select id, name, created_at, revoked_at, last_used_at from open311_clients order by id`,
      );
      return rows;
    },

    async revokeClient(id: number): Promise<boolean> {
      const { rowCount } = await db.query(`update open311_clients set revoked_at = coalesce(revoked_at, now()) where id = $1`, [id]);
      return (rowCount ?? 0) > 0;
    },
  };
}

export type IntakeRepo = ReturnType<typeof createIntakeRepo>;
