// Shared fixture for search tests: departments, categories, cases of every channel, a call with a note.
import { randomUUID } from 'node:crypto';
import type { TestApp } from '../helpers/build';

export interface SearchFixture {
  dept: { heating: number; water: number };
  cat: { help: number; heating: number; water: number; noise: number };
  cases: Record<string, number>;
  callId: string;
  noteId: number;
}

export async function insertCase(
  t: TestApp,
  c: { trackingNo: string; channel: string; status: string; dept?: number | null; cat?: number | null; description: string; phone?: string | null; createdAt?: string },
): Promise<number> {
  const { rows } = await t.app.db.query<{ id: number }>(
    `insert into cases (tracking_no, channel, status, department_id, category_id, title, description, contact_phone, created_at)
     values ($1, $2, $3, $4, $5, '', $6, $7, coalesce($8::timestamptz, now())) returning id`,
    [c.trackingNo, c.channel, c.status, c.dept ?? null, c.cat ?? null, c.description, c.phone ?? null, c.createdAt ?? null],
  );
  return rows[0]!.id;
}

export async function searchFixture(t: TestApp): Promise<SearchFixture> {
  const q = t.app.db.query;
  const d = await q<{ id: number; code: string }>(
    `insert into departments (code, name) values ('heating', '供热公司'), ('water', '自来水公司') returning id, code`,
  );
  const dept = { heating: d.rows.find((r) => r.code === 'heating')!.id, water: d.rows.find((r) => r.code === 'water')!.id };
  const help = (await q<{ id: number }>(`insert into categories (code, name) values ('help', '求助') returning id`)).rows[0]!.id;
  const c = await q<{ id: number; code: string }>(
    `insert into categories (code, name, parent_id) values ('help-heating', '供暖', $1), ('help-water', '供水', $1) returning id, code`,
    [help],
  );
  const noise = (await q<{ id: number }>(`insert into categories (code, name) values ('complaint-noise', '噪音扰民') returning id`)).rows[0]!.id;
  const cat = { help, heating: c.rows.find((r) => r.code === 'help-heating')!.id, water: c.rows.find((r) => r.code === 'help-water')!.id, noise };

  const cases: Record<string, number> = {};
  cases.heat1 = await insertCase(t, { trackingNo: '114-20261101-000001', channel: 'phone', status: 'dispatched', dept: dept.heating, cat: cat.heating, description: '幸福小区3号楼供暖不热，室温只有15度，请尽快处理。', phone: '13800000001', createdAt: '2026-11-01T08:00:00Z' });
  cases.water1 = await insertCase(t, { trackingNo: '114-20261102-000001', channel: 'phone', status: 'draft', dept: dept.water, cat: cat.water, description: '和平路停水三天了，水压低，老人做饭困难。', phone: '13800000002', createdAt: '2026-11-02T08:00:00Z' });
  cases.heatWeb = await insertCase(t, { trackingNo: '114-20261103-000001', channel: 'web', status: 'draft', dept: dept.heating, cat: cat.heating, description: '暖气不热，供暖公司不处理<script>alert(1)</script>', phone: '13800000003', createdAt: '2026-11-03T08:00:00Z' });
  cases.noise = await insertCase(t, { trackingNo: '114-20261104-000001', channel: 'open311', status: 'draft', dept: null, cat: cat.noise, description: '工地夜间施工噪音扰民，凌晨两点还在打桩。', createdAt: '2026-11-04T08:00:00Z' });
  // All three bigrams of 供暖不热 but not the phrase: must not match "供暖不热".
  cases.decoy = await insertCase(t, { trackingNo: '114-20261105-000001', channel: 'phone', status: 'resolved', dept: dept.heating, cat: cat.heating, description: '供暖不好，屋里不热，已经反映过。', phone: '13800000004', createdAt: '2026-11-05T08:00:00Z' });

  const callId = randomUUID();
  await q(
    `insert into calls (id, node_id, channel_id, caller_number, state, started_at) values ($1, 'n1', 'ch-1', '13900000002', 'ended', '2026-11-06T08:00:00Z')`,
    [callId],
  );
  const author = await t.createUser('agent');
  const noteId = (
    await q<{ id: number }>(
      `insert into call_notes (call_id, author_id, category_id, content, created_at) values ($1, $2, $3, '来电反映供暖不热，已告知供热公司报修电话。', '2026-11-06T08:05:00Z') returning id`,
      [callId, author.id, cat.heating],
    )
  ).rows[0]!.id;
  await q(
    `insert into knowledge_articles (kind, title, body, category_id, status, created_at) values
       ('public_info', '供暖期安排公告', '本年度供暖期为11月15日至次年3月15日。', $1, 'published', '2026-10-01T00:00:00Z'),
       ('guide', '供暖收费标准（草稿）', '供暖费按建筑面积收取。', $1, 'draft', '2026-10-02T00:00:00Z')`,
    [cat.heating],
  );
  return { dept, cat, cases, callId, noteId };
}
