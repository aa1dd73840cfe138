// Public intake. Rules:
// - Web help requests (求助栏) need no account: category (code), description ≤ 4000, location; name and phone
//   optional. They become cases with channel 'web', status 'draft' (the dispatcher's inbox). Without a phone
//   number the resident gets a random lookup code instead (src/cases/lookup-code.ts).
// - Status lookup needs the tracking number and the phone's last 4 digits or the lookup code: it shows status,
//   category, department and the department's reply — never names, phone numbers or addresses. Unknown tracking
//   number and wrong secret answer the same 404; wrong guesses are limited per tracking number and per address
//   (LookupGuard). Personal data in texts shown publicly is redacted.
// - Open311 GeoReport v2: services from active categories; POST needs an api_key (open311_clients, SHA-256 hashed);
//   GET lists intake requests only (web and open311 channels) in their public view (src/intake/public-view.ts):
//   no description unless staff published it, no contact data, a coarse location.
import { randomBytes } from 'node:crypto';
import type { Db } from '../infra/db';
import { AppError, BadRequestError, NotFoundError } from '../infra/errors';
import { normalizePhone, PHONE_RE } from '../http/schemas';
import { STATUS_LABELS } from '../search/service';
import { redactPersonalData } from '../infra/redact';
import { createIntakeRepo, type CategoryRow, type RequestRow } from './repo';
import { publicRequest } from './public-view';
import { createLookupGuard } from './lookup';
import { formatLookupCode, generateLookupCode, lookupCodeMatches } from '../cases/lookup-code';
import { DEFAULT_PUBLIC_LOCATION, type LookupLimits, type PublicLocationSettings } from '../config';
import { fieldLabel } from '../http/field-labels';

export const DESCRIPTION_MAX = 4000;
const OPEN311_STATUSES: Record<'open' | 'closed', string[]> = {
  open: ['draft', 'dispatched', 'signed', 'in_progress', 'returned', 'extension_requested', 'reopened'],
  closed: ['resolved', 'callback', 'closed', 'merged'],
};

export class Open311Error extends AppError {
  constructor(statusCode: number, description: string) {
    super(statusCode, `open311_${statusCode}`, description);
  }
}

export interface WebRequestInput {
  category: string;
  description: string;
  location: string;
  name?: string;
  phone?: string;
}

export interface Open311Attribute {
  variable: boolean;
  code: string;
  datatype: 'string' | 'number' | 'datetime' | 'text' | 'singlevaluelist' | 'multivaluelist';
  required: boolean;
  datatype_description: string;
  order: number;
  description: string;
  values?: { key: string; name: string }[];
}

const COMMON_ATTRIBUTES: Open311Attribute[] = [
  { variable: true, code: 'location_detail', datatype: 'string', required: false, datatype_description: '楼号、单元、门牌等', order: 1, description: '具体位置' },
];

/** Service definitions: attributes per category code (all services share location_detail). */
export const SERVICE_ATTRIBUTES: Record<string, Open311Attribute[]> = {
  'help-heating': [
    { variable: true, code: 'room_temperature', datatype: 'number', required: false, datatype_description: '摄氏度，例如 15', order: 2, description: '室内温度' },
  ],
  'complaint-noise': [
    {
      variable: true, code: 'noise_period', datatype: 'singlevaluelist', required: true, datatype_description: '', order: 2, description: '噪音发生时段',
      values: [{ key: 'day', name: '白天（6时至22时）' }, { key: 'night', name: '夜间（22时至次日6时）' }],
    },
  ],
  'help-manhole': [
    {
      variable: true, code: 'hazard', datatype: 'singlevaluelist', required: true, datatype_description: '', order: 2, description: '井盖情况',
      values: [{ key: 'missing', name: '缺失' }, { key: 'broken', name: '破损' }, { key: 'displaced', name: '移位' }],
    },
  ],
};

export function attributesOf(code: string): Open311Attribute[] {
  return [...COMMON_ATTRIBUTES, ...(SERVICE_ATTRIBUTES[code] ?? [])];
}

function cleanText(v: string | undefined, field: string, max: number, required: boolean): string | null {
  const s = (v ?? '').trim();
  if (!s) {
    if (required) throw new BadRequestError(`${fieldLabel(field)}不能为空`, 'validation_failed');
    return null;
  }
  if ([...s].length > max) throw new BadRequestError(`${fieldLabel(field)}长度不能超过 ${max} 个字符`, 'validation_failed');
  return s;
}

const titleOf = (description: string) => description.replace(/\s+/g, ' ').slice(0, 40);


function parseIsoDate(v: string, field: string): number {
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(v)) {
    throw new Open311Error(400, `${field} 不是有效的 ISO 8601 时间，例如 2026-11-01T00:00:00+08:00`);
  }
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new Open311Error(400, `${field} 不是有效的 ISO 8601 时间`);
  return t;
}

const DAY = 86_400_000;

export function createIntakeService(deps: { db: Db; lookupLimits?: LookupLimits; publicLocation?: PublicLocationSettings }) {
  const location = deps.publicLocation ?? DEFAULT_PUBLIC_LOCATION;
  const toOpen311 = (r: RequestRow) => publicRequest(r, location);
  const repo = createIntakeRepo(deps.db);
  const guard = createLookupGuard(deps.db, deps.lookupLimits);

  async function submitWeb(input: WebRequestInput) {
    const category = await repo.categoryByCode(input.category.trim());
    if (!category) throw new BadRequestError('诉求分类不存在，请从分类列表中选择', 'unknown_category');
    const description = cleanText(input.description, 'description', DESCRIPTION_MAX, true)!;
    const location = cleanText(input.location, 'location', 200, true)!;
    const name = cleanText(input.name, 'name', 50, false);
    let phone: string | null = null;
    if (input.phone?.trim()) {
      phone = normalizePhone(input.phone);
      if (!PHONE_RE.test(phone) || phone.replace(/\D/g, '').length < 7) {
        throw new BadRequestError('联系电话格式不正确', 'invalid_phone');
      }
    }
    const lookupCode = phone ? null : generateLookupCode();
    const { trackingNo } = await repo.insert({
      source: 'web', categoryId: category.id, title: titleOf(description), description, contactName: name, contactPhone: phone,
      clientId: null, serviceCode: category.code, address: location, addressId: null, zipcode: null, lat: null, long: null,
      mediaUrl: null, email: null, deviceId: null, accountId: null, attributes: {}, lookupCode,
    });
    const shown = lookupCode ? formatLookupCode(lookupCode) : null;
    return {
      trackingNo,
      lookupCode: shown,
      message: phone
        ? `已收到您的求助，受理编号 ${trackingNo}。可凭受理编号和手机号后四位查询办理进度。`
        : `已收到您的求助，受理编号 ${trackingNo}，查询码 ${shown}。请妥善保存，凭受理编号和查询码查询办理进度。`,
    };
  }

  /**
   * Status by tracking number + secret: the phone's last 4 digits (cases with a contact phone) or the lookup code.
   * A 4-digit `phoneLast4` on a case without a phone is tried as a code (codes issued before were 4 digits).
   */
  async function lookupWeb(trackingNo: string, secret: { phoneLast4?: string; code?: string }, ip: string) {
    const wanted = trackingNo.trim();
    const r = await guard.verify({ trackingNo: wanted, ip }, async () => {
      const row = await repo.anyCaseByTrackingNo(wanted); // phone-created cases too (issue 12)
      if (!row) return null;
      const digits = row.contact_phone?.replace(/\D/g, '') ?? '';
      if (secret.phoneLast4 && digits.length >= 4 && digits.slice(-4) === secret.phoneLast4) return row;
      const code = secret.code ?? (digits ? undefined : secret.phoneLast4);
      if (code && lookupCodeMatches(row.tracking_no, code, row.lookup_code_hash)) return row;
      return null;
    });
    if (!r) throw new NotFoundError('未找到该受理编号，或手机号后四位（查询码）不匹配', 'request_not_found');
    // 并单: the resident follows the case their request was merged into.
    const s = r.status === 'merged' ? await repo.survivorOf(r.id) : null;
    return {
      trackingNo: r.tracking_no,
      status: r.status,
      statusLabel: STATUS_LABELS[r.status] ?? r.status,
      categoryName: r.category_name,
      departmentName: r.department_name,
      submittedAt: r.created_at.toISOString(),
      updatedAt: r.updated_at.toISOString(),
      resolvedAt: r.resolved_at ? r.resolved_at.toISOString() : null,
      reply: r.reply ? redactPersonalData(r.reply) : null,
      mergedInto: r.merged_into_tracking_no,
      history: r.history.map((h) => ({ at: new Date(h.at).toISOString(), status: h.to_status, statusLabel: STATUS_LABELS[h.to_status] ?? h.to_status })),
      mergedCase: s && {
        trackingNo: s.tracking_no,
        status: s.status,
        statusLabel: STATUS_LABELS[s.status] ?? s.status,
        departmentName: s.department_name,
        updatedAt: s.updated_at.toISOString(),
        resolvedAt: s.resolved_at ? s.resolved_at.toISOString() : null,
        reply: s.reply ? redactPersonalData(s.reply) : null,
        history: s.history.map((h) => ({ at: new Date(h.at).toISOString(), status: h.to_status, statusLabel: STATUS_LABELS[h.to_status] ?? h.to_status })),
      },
    };
  }

  async function categories() {
    return (await repo.activeCategories()).map((c) => ({ code: c.code, name: c.name, group: c.parent_name }));
  }

  // --- Open311 ---

  async function services() {
    return (await repo.activeCategories()).map((c: CategoryRow) => ({
      service_code: c.code,
      service_name: c.name,
      description: c.parent_name ? `${c.parent_name} - ${c.name}` : c.name,
      metadata: true,
      type: 'realtime' as const,
      keywords: [c.name, c.parent_name].filter(Boolean).join(','),
      group: c.parent_name ?? c.name,
    }));
  }

  async function serviceDefinition(code: string) {
    const c = await repo.categoryByCode(code);
    if (!c) throw new Open311Error(404, `service_code ${code} 不存在`);
    return { service_code: c.code, attributes: attributesOf(c.code) };
  }

  async function createOpen311(params: Record<string, unknown>) {
    const str = (k: string): string | undefined => {
      const v = params[k];
      if (v === undefined || v === null || v === '') return undefined;
      if (typeof v === 'number') return String(v);
      if (typeof v !== 'string') throw new Open311Error(400, `${k} 必须是字符串`);
      return v;
    };
    const apiKey = str('api_key');
    if (!apiKey) throw new Open311Error(400, '缺少 api_key');
    const client = await repo.clientByKey(apiKey);
    if (!client) throw new Open311Error(403, 'api_key 无效或已停用');
    const code = str('service_code');
    if (!code) throw new Open311Error(400, '缺少 service_code');
    const category = await repo.categoryByCode(code);
    if (!category) throw new Open311Error(400, `service_code ${code} 不存在`);
    const description = str('description')?.trim() ?? '';
    if (!description) throw new Open311Error(400, '缺少 description');
    if ([...description].length > DESCRIPTION_MAX) throw new Open311Error(400, `description 不能超过 ${DESCRIPTION_MAX} 个字符`);
    const num = (k: string, min: number, max: number): number | null => {
      const v = str(k);
      if (v === undefined) return null;
      const n = Number(v);
      if (!Number.isFinite(n) || n < min || n > max) throw new Open311Error(400, `${k} 取值无效`);
      return n;
    };
    const lat = num('lat', -90, 90);
    const long = num('long', -180, 180);
    if ((lat === null) !== (long === null)) throw new Open311Error(400, 'lat 和 long 必须同时提供');
    const address = str('address_string')?.trim() ?? null;
    const addressId = str('address_id')?.trim() ?? null;
    if (lat === null && !address && !addressId) throw new Open311Error(400, '请提供位置：lat/long、address_string 或 address_id 之一');
    const limit = (k: string, v: string | null, max: number) => {
      if (v !== null && [...v].length > max) throw new Open311Error(400, `${k} 不能超过 ${max} 个字符`);
      return v;
    };
    const mediaUrl = limit('media_url', str('media_url') ?? null, 1000);
    if (mediaUrl && !/^https?:\/\/\S+$/i.test(mediaUrl)) throw new Open311Error(400, 'media_url 必须是 http(s) 地址');
    let phone: string | null = null;
    const rawPhone = str('phone');
    if (rawPhone) {
      phone = normalizePhone(rawPhone);
      if (!PHONE_RE.test(phone)) throw new Open311Error(400, 'phone 格式不正确');
    }
    const email = limit('email', str('email') ?? null, 200);
    if (email && !/^[^\s@]+@[^\s@]+$/.test(email)) throw new Open311Error(400, 'email 格式不正确');
    // attribute[code]=value (form) or attribute: {code: value} (JSON)
    const given: Record<string, unknown> = {};
    const attrObj = params.attribute;
    if (attrObj && typeof attrObj === 'object' && !Array.isArray(attrObj)) Object.assign(given, attrObj);
    for (const [k, v] of Object.entries(params)) {
      const m = /^attribute\[(.+)\]$/.exec(k);
      if (m) given[m[1]!] = v;
    }
    const attributes: Record<string, unknown> = {};
    const defs = attributesOf(category.code);
    for (const d of defs) {
      const v = given[d.code];
      const present = v !== undefined && v !== null && v !== '';
      if (!present) {
        if (d.required) throw new Open311Error(400, `缺少必填属性 attribute[${d.code}]（${d.description}）`);
        continue;
      }
      if (d.datatype === 'number') {
        const n = Number(v);
        if (!Number.isFinite(n)) throw new Open311Error(400, `attribute[${d.code}] 必须是数字`);
        attributes[d.code] = n;
      } else if (d.datatype === 'singlevaluelist') {
        if (typeof v !== 'string' || !d.values?.some((x) => x.key === v)) {
          throw new Open311Error(400, `attribute[${d.code}] 取值无效，可选值：${(d.values ?? []).map((x) => x.key).join('、')}`);
        }
        attributes[d.code] = v;
      } else {
        if (typeof v !== 'string' || v.length > 500) throw new Open311Error(400, `attribute[${d.code}] 必须是不超过 500 字的字符串`);
        attributes[d.code] = v;
      }
    }
    for (const k of Object.keys(given)) {
      if (!defs.some((d) => d.code === k)) throw new Open311Error(400, `不支持的属性 attribute[${k}]`);
    }
    const name = [str('last_name'), str('first_name')].filter(Boolean).join('') || null;
    const { trackingNo } = await repo.insert({
      source: 'open311', categoryId: category.id, title: titleOf(description), description,
      contactName: limit('first_name/last_name', name, 50), contactPhone: phone, clientId: client.id, serviceCode: category.code,
      address: limit('address_string', address, 500), addressId: limit('address_id', addressId, 100),
      zipcode: limit('zipcode', str('zipcode') ?? null, 20), lat, long, mediaUrl, email,
      deviceId: limit('device_id', str('device_id') ?? null, 100), accountId: limit('account_id', str('account_id') ?? null, 100),
      attributes, lookupCode: null,
    });
    return [{ service_request_id: trackingNo, service_notice: '已受理，将由派单员分派至承办部门', account_id: str('account_id') ?? null }];
  }

  async function listOpen311(q: { service_request_id?: string; service_code?: string; start_date?: string; end_date?: string; status?: string }) {
    const ids = q.service_request_id?.split(',').map((s) => s.trim()).filter(Boolean);
    if (ids && ids.length > 100) throw new Open311Error(400, 'service_request_id 最多 100 个');
    const now = Date.now();
    let end = q.end_date ? parseIsoDate(q.end_date, 'end_date') : now;
    let start = q.start_date ? parseIsoDate(q.start_date, 'start_date') : end - 90 * DAY;
    if (q.start_date && !q.end_date) end = Math.min(now, start + 90 * DAY);
    if (ids?.length && !q.start_date && !q.end_date) {
      start = 0;
      end = now + DAY;
    } else {
      if (start > end) throw new Open311Error(400, 'start_date 不能晚于 end_date');
      if (end - start > 90 * DAY) throw new Open311Error(400, 'start_date 与 end_date 相隔不能超过 90 天');
    }
    let statuses: string[] | undefined;
    if (q.status) {
      const wanted = q.status.split(',').map((s) => s.trim());
      for (const s of wanted) if (s !== 'open' && s !== 'closed') throw new Open311Error(400, 'status 只能是 open 或 closed');
      statuses = wanted.flatMap((s) => OPEN311_STATUSES[s as 'open' | 'closed']);
    }
    const codes = q.service_code?.split(',').map((s) => s.trim()).filter(Boolean);
    const rows = await repo.list({
      trackingNos: ids,
      serviceCodes: codes,
      start: new Date(start).toISOString(),
      end: new Date(end).toISOString(),
      statuses,
      limit: 1000,
    });
    return rows.map(toOpen311);
  }

  async function getOpen311(id: string) {
    const r = await repo.byTrackingNo(id);
    if (!r) throw new Open311Error(404, `service_request_id ${id} 不存在`);
    return [toOpen311(r)];
  }

  // --- Open311 client administration ---
  async function createClient(name: string) {
    const apiKey = `h114_${randomBytes(24).toString('base64url')}`;
    const id = await repo.insertClient(name.trim(), apiKey);
    return { id, name: name.trim(), apiKey };
  }

  async function listClients() {
    return (await repo.listClients()).map((c) => ({
      id: c.id,
      name: c.name,
      createdAt: c.created_at.toISOString(),
      revokedAt: c.revoked_at ? c.revoked_at.toISOString() : null,
      lastUsedAt: c.last_used_at ? c.last_used_at.toISOString() : null,
    }));
  }

  /** Staff publish (or withdraw) a request's description after review: who and when are kept on the case. */
  async function setDescriptionPublic(caseId: number, userId: number, published: boolean) {
    if (!(await repo.setDescriptionPublic(caseId, userId, published))) throw new NotFoundError('网上求助或 Open311 请求不存在', 'request_not_found');
    return { caseId, descriptionPublic: published };
  }

  async function revokeClient(id: number) {
    if (!(await repo.revokeClient(id))) throw new NotFoundError('Open311 客户端不存在', 'client_not_found');
  }

  return { submitWeb, lookupWeb, categories, services, serviceDefinition, createOpen311, listOpen311, getOpen311, setDescriptionPublic, createClient, listClients, revokeClient };
}

export type IntakeService = ReturnType<typeof createIntakeService>;
