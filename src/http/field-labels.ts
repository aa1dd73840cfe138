// Chinese names of the request fields, for validation messages a person reads ("「联系电话」格式不正确" rather than
// "phone"). The API keeps its English field names in `details[].field` for programs.
const LABELS: Record<string, string> = {
  // people, contact
  name: '姓名', first_name: '名', last_name: '姓', displayName: '显示名称', username: '用户名', password: '密码',
  newPassword: '新密码', currentPassword: '当前密码', role: '角色', phone: '联系电话', number: '电话号码',
  contactName: '联系人', contactPhone: '联系电话', email: '电子邮箱', gender: '性别', address: '地址', district: '区县',
  location: '发生地点', vip: '重点关注', tags: '标签', extension: '分机号', agentId: '话务员', userId: '用户',
  // cases, requests
  title: '标题', description: '诉求内容', content: '小结内容', note: '备注', body: '正文', reply: '答复', reason: '理由',
  category: '诉求分类', categoryId: '诉求分类', department: '部门', departmentCode: '部门', departmentId: '部门',
  urgency: '紧急程度', status: '状态', channel: '渠道', days: '延期天数', until: '延期至', approve: '审批结果',
  solved: '是否解决', satisfaction: '满意度', result: '结果', callIds: '关联通话', callId: '通话', caseId: '工单',
  intoCaseId: '并入的工单', trackingNo: '受理编号', phoneLast4: '手机号后四位', code: '查询码', kind: '类型',
  mine: '只看我的', unreadOnly: '只看未读', id: '编号', q: '关键词', types: '类型', keywords: '关键词',
  service_code: '服务类别', service_request_id: '受理编号', api_key: '接入密钥', lat: '纬度', long: '经度',
  address_string: '地址', media_url: '图片地址', device_id: '设备编号', account_id: '账号', zipcode: '邮编',
  start_date: '开始日期', end_date: '结束日期', jurisdiction_id: '辖区',
  // calls, seats, supervision
  state: '状态', mode: '方式', police: '110 联动', endpoint: '话机', skill: '技能组', skills: '技能组',
  callerNumber: '来电号码', resolved: '当场解决', ticket: '票据', action: '操作',
  // reports, paging
  from: '开始时间', to: '结束时间', granularity: '统计粒度', serviceLevelSec: '服务水平秒数', topics: '热词个数',
  format: '导出格式', section: '导出的表', limit: '每页条数', offset: '起始位置', cursor: '分页游标', sort: '排序',
  order: '排序', includeInactive: '包含已停用', expiresInDays: '有效天数', label: '说明', active: '启用',
  sortOrder: '排序号', parentCode: '上级分类', publishedAt: '发布时间', departmentName: '部门名称',
};

/**
 * 「联系电话」 for "phone", 「标签」第 2 项 for "tags.1", 「来电人」的「姓名」 style paths read from the last named part.
 * Unknown names are given as they are (a new field without a label shows up in review, not as a crash).
 */
export function fieldLabel(path: string): string {
  const parts = path.split('.').filter(Boolean);
  const named = [...parts].reverse().find((p) => !/^\d+$/.test(p));
  if (!named) return '请求参数';
  const label = LABELS[named] ?? named;
  const index = parts[parts.length - 1];
  return index !== named && index !== undefined && /^\d+$/.test(index) ? `「${label}」第 ${Number(index) + 1} 项` : `「${label}」`;
}

export function hasFieldLabel(name: string): boolean {
  return name in LABELS;
}
