// npm run seed: demo data for a district's 114 hotline (idempotent upserts), after applying migrations.
// Prints the demo users' sign-in passwords (set only where a user has none yet, so a changed password is kept)
// and one fresh demo token per demo user. seed(db) is exported for tests.
import { createAuthService } from '../auth/service';
import { hashPassword, temporaryPassword } from '../auth/password';
import { createCredentialsRepo } from '../auth/credentials-repo';
import type { Role } from '../auth/types';
import { createDb, type Db } from '../infra/db';
import { createLogger, type Logger } from '../infra/logger';
import { migrate } from '../infra/migrate';
import { seedKnowledge } from '../knowledge/seed';
import { cliConfig, runCli } from './common';

export const DEPARTMENTS: { code: string; name: string; phone: string }[] = [
  { code: 'public-security', name: '公安局', phone: '0531-86110110' },
  { code: 'court', name: '人民法院', phone: '0531-86120001' },
  { code: 'admin-service-center', name: '行政服务中心', phone: '0531-86123456' },
  { code: 'civil-affairs', name: '民政局', phone: '0531-86130002' },
  { code: 'housing', name: '住建局', phone: '0531-86140003' },
  { code: 'heating', name: '供热公司', phone: '0531-86150004' },
  { code: 'water', name: '自来水公司', phone: '0531-86160005' },
  { code: 'urban-management', name: '城管局', phone: '0531-86170006' },
  { code: 'market-regulation', name: '市场监管局', phone: '0531-86180007' },
  { code: 'human-resources', name: '人社局', phone: '0531-86190008' },
  { code: 'education', name: '教育局', phone: '0531-86200009' },
  { code: 'transport', name: '交通局', phone: '0531-86210010' },
  { code: 'environment', name: '生态环境局', phone: '0531-86220011' },
  { code: 'health', name: '卫健委', phone: '0531-86230012' },
];

interface CategorySeed {
  code: string;
  name: string;
  children?: { code: string; name: string }[];
}

export const CATEGORIES: CategorySeed[] = [
  { code: 'gov-info', name: '政务公开' },
  { code: 'gov-consult', name: '政务咨询' },
  { code: 'service-guide', name: '办事指南' },
  {
    code: 'complaint',
    name: '监督投诉',
    children: [
      { code: 'complaint-noise', name: '噪音扰民' },
      { code: 'complaint-illegal-building', name: '违章建筑' },
      { code: 'complaint-pollution', name: '环境污染' },
      { code: 'complaint-property', name: '物业纠纷' },
    ],
  },
  {
    code: 'help',
    name: '求助',
    children: [
      { code: 'help-heating', name: '供暖' },
      { code: 'help-water', name: '供水' },
      { code: 'help-streetlight', name: '路灯' },
      { code: 'help-manhole', name: '井盖' },
    ],
  },
  { code: 'housekeeping', name: '家政服务' },
  { code: 'daily-life', name: '生活疑难' },
  { code: 'suggestion', name: '建议' },
  { code: 'praise', name: '表扬' },
  { code: 'other', name: '其他' },
];

interface UserSeed {
  username: string;
  displayName: string;
  role: Role;
  departmentCode?: string;
  extension?: string;
}

export const USERS: UserSeed[] = [
  { username: 'admin', displayName: '系统管理员', role: 'admin' },
  { username: 'supervisor', displayName: '王丽华（班长）', role: 'supervisor' },
  { username: 'dispatcher', displayName: '李建军（派单员）', role: 'dispatcher' },
  { username: 'heating-staff', displayName: '张志刚（供热公司）', role: 'department_staff', departmentCode: 'heating' },
  { username: 'water-staff', displayName: '赵春梅（自来水公司）', role: 'department_staff', departmentCode: 'water' },
  { username: 'agent1001', displayName: '刘晓燕', role: 'agent', extension: '1001' },
  { username: 'agent1002', displayName: '陈静', role: 'agent', extension: '1002' },
  { username: 'agent1003', displayName: '王磊', role: 'agent', extension: '1003' },
  { username: 'agent1004', displayName: '赵敏', role: 'agent', extension: '1004' },
  { username: 'agent1005', displayName: '孙丽娟', role: 'agent', extension: '1005' },
  { username: 'agent1006', displayName: '周强', role: 'agent', extension: '1006' },
];

export const CALLERS: {
  number: string;
  name: string;
  gender: 'male' | 'female';
  address: string;
  district: string;
  note?: string;
  tags?: string[];
  vip?: boolean;
}[] = [
  { number: '13800138001', name: '张建国', gender: 'male', address: '幸福小区3号楼2单元501', district: '城关区', tags: ['老年人'], note: '耳背，请大声说话' },
  { number: '13900139002', name: '李秀英', gender: 'female', address: '和平路18号院1号楼302', district: '城关区', tags: ['独居老人'], vip: true },
  { number: '13700137003', name: '王建华', gender: 'male', address: '新华街道锦绣家园5号楼1201', district: '新华区' },
  { number: '15800158004', name: '刘芳', gender: 'female', address: '东湖花园8号楼2单元601', district: '东湖区', tags: ['多次来电'] },
  { number: '18600186005', name: '陈伟', gender: 'male', address: '滨河路66号', district: '新华区' },
  { number: '05318612345', name: '阳光幼儿园', gender: 'female', address: '文化路12号', district: '城关区', note: '单位座机' },
];

export interface SeedResult {
  departments: number;
  categories: number;
  users: number;
  agents: number;
  callers: number;
  tokens: { username: string; displayName: string; role: Role; token: string }[];
  /** password: what was set now, or null when the user already had one (kept as it was). */
  credentials: { username: string; displayName: string; role: Role; password: string | null }[];
}

const ROLE_NAMES: Record<Role, string> = {
  agent: '话务员',
  dispatcher: '派单员',
  department_staff: '部门工作人员',
  supervisor: '班长',
  admin: '管理员',
};

/** The demo password of every seeded user (SEED_PASSWORD overrides; production draws one per user instead). */
export const DEMO_PASSWORD = 'demo-114';

export async function seed(
  db: Db,
  opts: { issueTokens?: boolean; logger?: Logger; password?: (username: string) => string } = {},
): Promise<SeedResult> {
  await db.withTransaction(async (tx) => {
    for (const d of DEPARTMENTS) {
      await db.query(
        `insert into departments (code, name, phone) values ($1, $2, $3)
         on conflict (code) do update set name = excluded.name, phone = excluded.phone, active = true`,
        [d.code, d.name, d.phone],
        tx,
      );
    }
    let order = 0;
    for (const c of CATEGORIES) {
      order += 10;
      const { rows } = await db.query<{ id: number }>(
        `insert into categories (code, name, parent_id, sort_order) values ($1, $2, null, $3)
         on conflict (code) do update set name = excluded.name, parent_id = null, sort_order = excluded.sort_order,
           active = true
         returning id`,
        [c.code, c.name, order],
        tx,
      );
      const parentId = rows[0]!.id;
      let childOrder = 0;
      for (const ch of c.children ?? []) {
        childOrder += 10;
        await db.query(
          `insert into categories (code, name, parent_id, sort_order) values ($1, $2, $3, $4)
           on conflict (code) do update set name = excluded.name, parent_id = excluded.parent_id,
             sort_order = excluded.sort_order, active = true`,
          [ch.code, ch.name, parentId, childOrder],
          tx,
        );
      }
    }
    for (const u of USERS) {
      const { rows } = await db.query<{ id: number }>(
        `insert into users (username, display_name, role, department_id)
         values ($1, $2, $3, (select id from departments where code = $4))
         on conflict (username) do update set display_name = excluded.display_name, role = excluded.role,
           department_id = excluded.department_id, active = true
         returning id`,
        [u.username, u.displayName, u.role, u.departmentCode ?? null],
        tx,
      );
      if (u.extension) {
        // endpoint null: the call service derives it from AGENT_ENDPOINT_TEMPLATE.
        await db.query(
          `insert into agents (user_id, extension, endpoint) values ($1, $2, null)
           on conflict (user_id) do update set extension = excluded.extension, active = true`,
          [rows[0]!.id, u.extension],
          tx,
        );
      }
    }
    for (const c of CALLERS) {
      await db.query(
        `insert into callers (number, name, gender, address, district, note, tags, vip)
         values ($1, $2, $3, $4, $5, $6, $7, $8)
         on conflict (number) do update set name = excluded.name, gender = excluded.gender, address = excluded.address,
           district = excluded.district, note = excluded.note, tags = excluded.tags, vip = excluded.vip,
           updated_at = now()`,
        [c.number, c.name, c.gender, c.address, c.district, c.note ?? null, c.tags ?? [], c.vip ?? false],
        tx,
      );
    }
  });
  await seedKnowledge(db);

  const credentials: SeedResult['credentials'] = [];
  const repo = createCredentialsRepo(db);
  for (const u of USERS) {
    const row = await repo.byUsername(u.username);
    const password = (opts.password ?? (() => DEMO_PASSWORD))(u.username);
    const set = row ? await repo.setInitialPassword(row.id, await hashPassword(password)) : false;
    credentials.push({ username: u.username, displayName: u.displayName, role: u.role, password: set ? password : null });
  }

  const tokens: SeedResult['tokens'] = [];
  if (opts.issueTokens ?? true) {
    const auth = createAuthService({ db, logger: opts.logger ?? createLogger('silent') });
    for (const u of USERS) {
      const issued = await auth.issueTokenForUsername(u.username, 'seed demo');
      tokens.push({ username: u.username, displayName: u.displayName, role: u.role, token: issued.token });
    }
  }
  const { rows } = await db.query<Omit<SeedResult, 'tokens'>>(
    `select (select count(*) from departments)::int as departments, (select count(*) from categories)::int as categories,
            (select count(*) from users)::int as users, (select count(*) from agents)::int as agents,
            (select count(*) from callers)::int as callers`,
  );
  return { ...rows[0]!, tokens, credentials };
}

if (require.main === module) {
  runCli(async () => {
    const { config, logger } = cliConfig();
    await migrate(config.databaseUrl, config.dbSchema, logger);
    const db = createDb({ url: config.databaseUrl, schema: config.dbSchema, max: 2, logger });
    try {
      // Production never gets a shared, documented password: one random password per user (printed once).
      const fixed = process.env.SEED_PASSWORD || (config.env === 'production' ? null : DEMO_PASSWORD);
      const r = await seed(db, { logger, password: () => fixed ?? temporaryPassword() });
      process.stdout.write(
        `演示数据已写入：部门 ${r.departments} 个，分类 ${r.categories} 个，用户 ${r.users} 个，话务员 ${r.agents} 个，来电人 ${r.callers} 个\n\n` +
          `登录账号（浏览器打开 http://<服务地址>/signin/）：\n`,
      );
      for (const c of r.credentials) {
        const pw = c.password ?? '（已设置过密码，未更改）';
        process.stdout.write(`  ${c.username.padEnd(14)} ${pw.padEnd(14)} ${ROLE_NAMES[c.role].padEnd(6, '　')} ${c.displayName}\n`);
      }
      process.stdout.write(`\n演示令牌（供接口和脚本使用，每次运行重新签发）：\n`);
      for (const t of r.tokens) process.stdout.write(`  ${t.username.padEnd(14)} ${ROLE_NAMES[t.role].padEnd(6, '　')} ${t.token}  ${t.displayName}\n`);
    } finally {
      await db.close();
    }
  });
}
