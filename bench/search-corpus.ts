// Synthetic Chinese hotline corpus for bench/search.ts: cases (工单) with titles, descriptions and replies, and the
// agents' call notes, with Zipf-like word frequencies — a few topics (供暖不热, 噪音扰民 …) and communities are very
// common, most are rare — the way real 12345/114 text is. Deterministic for a given seed.

export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Picks index i of n with probability ∝ 1 / (i + 1)^s. */
export function zipf(n: number, s: number, rand: () => number): () => number {
  const cum = new Float64Array(n);
  let acc = 0;
  for (let i = 0; i < n; i++) {
    acc += 1 / Math.pow(i + 1, s);
    cum[i] = acc;
  }
  return () => {
    const x = rand() * acc;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

export interface Topic {
  title: string;
  category: string;
  department: string;
  sentences: string[];
  reply: string;
}

// Ranked from very common to rare (frequency ∝ 1/rank).
export const TOPICS: Topic[] = [
  { title: '供暖不热', category: 'help-heating', department: 'heating', sentences: ['家中暖气不热，室温只有十四度', '供暖不热，屋里很冷，老人孩子受不了', '今年供暖一直不热，暖气片上热下凉'], reply: '供热公司已上门测温并排气，室温已恢复到十八度以上' },
  { title: '噪音扰民', category: 'complaint-noise', department: 'environment', sentences: ['楼下商铺音响噪音扰民', '附近工地夜间施工噪音扰民，凌晨还在打桩', '邻居装修噪音很大，中午也不停'], reply: '执法人员已到现场责令整改，噪音问题已解决' },
  { title: '停水', category: 'help-water', department: 'water', sentences: ['小区突然停水，没有任何通知', '停水两天了，生活很不方便', '家中水压低，高层基本停水'], reply: '自来水公司已抢修管网，供水已恢复' },
  { title: '路灯不亮', category: 'help-streetlight', department: 'urban-management', sentences: ['路口的路灯不亮，晚上很黑', '小区外面一排路灯不亮已经半个月', '路灯杆倾斜，灯也不亮'], reply: '城管局已安排维修，路灯已恢复照明' },
  { title: '物业收费', category: 'complaint-property', department: 'housing', sentences: ['物业收费不合理，服务跟不上', '物业公司乱收停车费', '物业费上涨没有公示'], reply: '住建局已约谈物业公司，要求其公示收费标准' },
  { title: '垃圾清运不及时', category: 'complaint-pollution', department: 'urban-management', sentences: ['垃圾桶满了好几天没人清运', '垃圾清运不及时，气味很大', '楼道里堆满垃圾无人清理'], reply: '环卫部门已清运完毕，并加密清运频次' },
  { title: '违章建筑', category: 'complaint-illegal-building', department: 'urban-management', sentences: ['楼顶有人私搭乱建违章建筑', '一楼住户违章建筑占用绿地', '院内违章建筑影响通行'], reply: '经现场核查属违章建筑，已下达限期拆除通知' },
  { title: '占道经营', category: 'complaint', department: 'urban-management', sentences: ['路边占道经营的摊贩很多，影响通行', '早市占道经营堵塞道路', '夜市占道经营油烟大'], reply: '城管执法队已对占道经营行为进行整治' },
  { title: '电梯故障', category: 'complaint-property', department: 'market-regulation', sentences: ['电梯故障频繁，经常困人', '电梯故障停运一周没人修', '电梯运行有异响，担心安全'], reply: '市场监管局已督促维保单位检修，电梯已恢复运行' },
  { title: '拖欠工资', category: 'gov-consult', department: 'human-resources', sentences: ['单位拖欠工资三个月', '工地老板拖欠工资不给', '公司以各种理由拖欠工资'], reply: '劳动监察大队已介入，督促企业支付拖欠工资' },
  { title: '井盖缺失', category: 'help-manhole', department: 'urban-management', sentences: ['人行道井盖缺失，很危险', '路中间井盖破损下沉', '井盖缺失后只放了个树枝'], reply: '已补装井盖并设置警示标志' },
  { title: '油烟扰民', category: 'complaint-pollution', department: 'environment', sentences: ['楼下饭店油烟扰民，窗户不敢开', '烧烤店油烟扰民严重', '餐馆排油烟管道直冲住户'], reply: '已责令餐馆安装油烟净化设施' },
  { title: '下水道堵塞', category: 'help', department: 'urban-management', sentences: ['下水道堵塞，污水漫到路面', '小区下水道堵塞返味', '雨后下水道堵塞积水严重'], reply: '已安排疏通下水道' },
  { title: '广场舞噪音', category: 'complaint-noise', department: 'public-security', sentences: ['广场舞音响声音太大', '每天晚上广场舞跳到十点', '广场舞噪音影响孩子学习'], reply: '社区已协调广场舞队伍降低音量、缩短时间' },
  { title: '违规停车', category: 'complaint', department: 'public-security', sentences: ['消防通道违规停车', '有车辆长期违规停车堵门', '人行道上违规停车很多'], reply: '交警已对违规停车车辆进行处罚' },
  { title: '社保查询', category: 'gov-consult', department: 'human-resources', sentences: ['咨询社保缴费年限如何查询', '想查询社保卡办理进度', '咨询异地社保转移'], reply: '已告知社保查询方式' },
  { title: '医保报销', category: 'gov-consult', department: 'health', sentences: ['咨询异地就医医保报销流程', '医保报销比例是多少', '门诊慢性病医保报销'], reply: '已告知医保报销政策和办理流程' },
  { title: '道路破损', category: 'help', department: 'transport', sentences: ['路面破损坑洼不平', '道路破损多次摔倒行人', '人行道砖松动破损'], reply: '交通局已安排修补道路' },
  { title: '燃气泄漏', category: 'help', department: 'housing', sentences: ['楼道里有燃气泄漏的味道', '怀疑家中燃气泄漏', '燃气管道老化泄漏'], reply: '燃气公司已上门检修，排除隐患' },
  { title: '楼道堆物', category: 'complaint-property', department: 'housing', sentences: ['楼道堆物堵塞消防通道', '邻居在楼道堆物存在火灾隐患', '楼道堆物无人清理'], reply: '物业已清理楼道堆物' },
  { title: '电动车充电', category: 'complaint', department: 'public-security', sentences: ['有人楼道内给电动车充电', '电动车充电桩不够用', '飞线给电动车充电很危险'], reply: '已清理违规充电并增设充电设施' },
  { title: '渣土车', category: 'complaint-pollution', department: 'urban-management', sentences: ['渣土车沿路撒漏', '渣土车夜间超速行驶', '渣土车带泥上路'], reply: '已对渣土车运输企业进行处罚' },
  { title: '出租车拒载', category: 'complaint', department: 'transport', sentences: ['出租车拒载还态度恶劣', '火车站出租车拒载绕路', '出租车不打表议价'], reply: '交通执法部门已调查处理' },
  { title: '流浪狗', category: 'help', department: 'public-security', sentences: ['小区里流浪狗伤人', '附近流浪狗成群', '流浪狗夜间狂叫'], reply: '已联系相关单位收容流浪狗' },
  { title: '学校收费', category: 'gov-consult', department: 'education', sentences: ['学校收费项目不明确', '幼儿园收费过高', '学校收取资料费'], reply: '教育局已核查学校收费情况' },
  { title: '户口迁移', category: 'gov-consult', department: 'public-security', sentences: ['咨询户口迁移需要什么材料', '子女户口迁移手续', '户口迁移到外地怎么办理'], reply: '已告知户口迁移所需材料' },
  { title: '房屋漏雨', category: 'complaint-property', department: 'housing', sentences: ['顶楼房屋漏雨', '房屋漏雨墙皮脱落', '下雨天房屋漏雨严重'], reply: '已协调维修资金对屋面进行防水维修' },
  { title: '共享单车乱停', category: 'complaint', department: 'urban-management', sentences: ['共享单车乱停堵住盲道', '地铁口共享单车乱停', '共享单车堆满人行道'], reply: '已督促运营企业清理' },
  { title: '快递丢件', category: 'complaint', department: 'market-regulation', sentences: ['快递丢件商家不赔偿', '快递丢件投诉无门', '快递员私自签收导致丢件'], reply: '已转邮政管理部门调查处理' },
  { title: '健身器材损坏', category: 'help', department: 'urban-management', sentences: ['小区健身器材损坏', '公园健身器材损坏伤人', '健身器材年久失修'], reply: '已更换损坏的健身器材' },
  { title: '河道污染', category: 'complaint-pollution', department: 'environment', sentences: ['河道污染发臭', '有人向河道倾倒垃圾', '河道污染鱼类死亡'], reply: '已对河道进行清理并查处排污单位' },
  { title: '外墙脱落', category: 'help', department: 'housing', sentences: ['楼房外墙脱落砸坏车辆', '外墙瓷砖脱落很危险', '外墙保温层脱落'], reply: '已设置警戒并安排维修' },
  { title: '无证经营', category: 'complaint', department: 'market-regulation', sentences: ['有人无证经营诊所', '无证经营的小作坊', '无证经营黑网吧'], reply: '已依法查处无证经营行为' },
  { title: '宠物扰民', category: 'complaint-noise', department: 'public-security', sentences: ['邻居养狗整夜狂叫', '宠物粪便无人清理', '大型犬不拴绳'], reply: '社区民警已上门劝导' },
  { title: '树木修剪', category: 'suggestion', department: 'urban-management', sentences: ['树木遮挡阳光需要修剪', '树枝碰到电线需要修剪', '行道树枯枝存在隐患'], reply: '园林部门已修剪树木' },
  { title: '公交站牌', category: 'suggestion', department: 'transport', sentences: ['建议增设公交站牌', '公交站牌信息过时', '公交站牌位置不合理'], reply: '已更新公交站牌信息' },
  { title: '网购纠纷', category: 'complaint', department: 'market-regulation', sentences: ['网购商品质量问题退货难', '网购预付款不发货', '网购商家虚假宣传'], reply: '已转市场监管部门调解' },
  { title: '表扬工作人员', category: 'praise', department: 'admin-service-center', sentences: ['表扬服务大厅工作人员耐心细致', '感谢社区工作人员帮忙', '表扬民警热心帮助'], reply: '已转达表扬' },
];

const OPENERS = ['市民来电反映：', '来电人称，', '网友留言：', '居民反映：', '群众来电：', '市民反映，'];
const SUFFIXES = ['小区', '花园', '家园', '苑', '新村', '广场'];
const A = '幸和阳锦东滨金翡丽万泉历文山花工二春秋明光华新恒泰盛安康宁静雅馨馥银青翠碧云星月朝晨曦霞琴书墨竹兰梅菊松柏桂杏桃李杨柳'.split('');
const B = '福平光绣湖河色翠景达城园苑庭轩阁院府里湾岸港洲岭峰谷坊溪泉林森源海天地都邦居舍庄屯苑乡邑郡壤禾穗田畴'.split('');
const DETAILS = [
  '已经持续一周了', '多次联系物业未果', '严重影响正常生活', '夜里无法休息', '以前反映过没有解决', '家里有老人和孩子',
  '周边居民意见很大', '存在安全隐患', '希望尽快解决', '昨天开始出现这种情况', '打过电话没人接', '社区说不归他们管',
];
const REQUESTS = ['希望相关部门尽快处理。', '要求给予答复。', '请尽快派人查看。', '希望彻底解决。', '请相关部门核实处理。'];
const CHANNELS = ['phone', 'phone', 'phone', 'phone', 'phone', 'phone', 'phone', 'phone', 'phone', 'phone', 'phone', 'phone', 'phone', 'phone', 'phone', 'web', 'web', 'web', 'web', 'open311'];
const STATUS_MIX: [string, number][] = [
  ['closed', 45], ['resolved', 10], ['callback', 5], ['in_progress', 10], ['signed', 5], ['dispatched', 8], ['draft', 7],
  ['returned', 2], ['merged', 3], ['extension_requested', 2], ['reopened', 3],
];

export const COMMUNITIES: string[] = A.flatMap((a) => B.map((b) => a + b));

export interface CorpusCase {
  trackingNo: string;
  channel: string;
  status: string;
  phone: string;
  category: string;
  department: string | null;
  title: string;
  description: string;
  reply: string | null;
  createdAt: Date;
  note: { callId: string; content: string; createdAt: Date } | null;
}

export interface CorpusOptions {
  n: number;
  seed?: number;
  /** Days back from `end` over which cases are spread. */
  days?: number;
  end?: Date;
}

function uuidFrom(rand: () => number): string {
  const h = Array.from({ length: 32 }, () => Math.floor(rand() * 16).toString(16));
  h[12] = '4';
  h[16] = '89ab'[Math.floor(rand() * 4)]!;
  const s = h.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

const DEPT_NAMES: Record<string, string> = {
  heating: '供热公司', water: '自来水公司', 'urban-management': '城管局', housing: '住建局', environment: '生态环境局',
  'market-regulation': '市场监管局', 'human-resources': '人社局', 'public-security': '公安局', health: '卫健委', transport: '交通局',
  education: '教育局', 'admin-service-center': '行政服务中心',
};

/** Cases in creation order (oldest first), about 60 % of phone cases with an agent's call note. */
export function* generateCorpus(o: CorpusOptions): Generator<CorpusCase> {
  const rand = rng(o.seed ?? 114);
  const topic = zipf(TOPICS.length, 1.0, rand);
  const community = zipf(COMMUNITIES.length, 1.0, rand);
  const caller = zipf(300_000, 0.6, rand);
  const statusTotal = STATUS_MIX.reduce((s, [, w]) => s + w, 0);
  const days = o.days ?? 730;
  const end = (o.end ?? new Date('2026-11-28T00:00:00Z')).getTime();
  const start = end - days * 86_400_000;
  const step = (end - start) / o.n;
  const perDay = new Map<string, number>();
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)]!;
  for (let i = 0; i < o.n; i++) {
    const created = new Date(start + i * step + Math.floor(rand() * step));
    const t = TOPICS[topic()]!;
    const place = COMMUNITIES[community()]! + pick(SUFFIXES);
    const building = `${1 + Math.floor(rand() * 30)}号楼${1 + Math.floor(rand() * 6)}单元`;
    const parts = [pick(OPENERS), place, building, pick(t.sentences), '，'];
    const nDetails = 1 + Math.floor(rand() * 3);
    for (let k = 0; k < nDetails; k++) parts.push(pick(DETAILS), k === nDetails - 1 ? '，' : '，');
    parts.push(pick(REQUESTS));
    let x = rand() * statusTotal;
    let status = 'closed';
    for (const [s, w] of STATUS_MIX) {
      if ((x -= w) < 0) {
        status = s;
        break;
      }
    }
    const day = created.toISOString().slice(0, 10).replace(/-/g, '');
    const seq = (perDay.get(day) ?? 0) + 1;
    perDay.set(day, seq);
    const channel = pick(CHANNELS);
    const phone = `1${3 + (caller() % 7)}${String(10_000_000 + caller() * 97).slice(-9)}`;
    const replied = ['resolved', 'callback', 'closed'].includes(status);
    const note =
      channel === 'phone' && rand() < 0.6
        ? {
            callId: uuidFrom(rand),
            content: `来电反映${place}${t.title}问题，已登记工单转${DEPT_NAMES[t.department] ?? t.department}办理，告知来电人等待回复。`,
            createdAt: new Date(created.getTime() - 60_000),
          }
        : null;
    yield {
      trackingNo: `114-${day}-${String(seq).padStart(6, '0')}`,
      channel,
      status,
      phone,
      category: t.category,
      department: status === 'draft' ? null : t.department,
      title: `${place}${t.title}`,
      description: parts.join(''),
      reply: replied ? `${t.reply}。${pick(['来电人表示满意', '已电话回复来电人', '问题已处理完毕'])}。` : null,
      createdAt: created,
      note,
    };
  }
}

export interface MixQuery {
  q: string;
  kind: string;
  filtered?: boolean;
  sort?: 'relevance';
  department?: string;
  category?: string;
  status?: string;
  channel?: string;
  from?: string;
  to?: string;
}

/**
 * Query mix: 2-, 3- and 4-character keywords from rare to very common (community names from the Zipf tail are
 * rare), partial phone numbers, the same with filters (department, category, status, channel, time range), and
 * some by relevance.
 */
export function queryMix(): MixQuery[] {
  const rareCommunities = [COMMUNITIES[COMMUNITIES.length - 1]!, COMMUNITIES[Math.floor(COMMUNITIES.length * 0.6)]!, COMMUNITIES[Math.floor(COMMUNITIES.length * 0.2)]!];
  const quarter = { from: '2026-08-01T00:00:00Z', to: '2026-11-01T00:00:00Z' };
  const plain: MixQuery[] = [
    // 2 characters
    ...rareCommunities.map((q) => ({ q, kind: '2-char community (tail)' })),
    { q: COMMUNITIES[40]!, kind: '2-char community (mid)' },
    { q: COMMUNITIES[0]!, kind: '2-char community (top)' },
    { q: '拒载', kind: '2-char' },
    { q: '电梯', kind: '2-char' },
    { q: '停水', kind: '2-char' },
    { q: '噪音', kind: '2-char' },
    { q: '供暖', kind: '2-char' },
    { q: '不热', kind: '2-char' },
    { q: '小区', kind: '2-char very common' },
    { q: '反映', kind: '2-char very common' },
    // 3 characters
    { q: '健身器', kind: '3-char' },
    { q: '广场舞', kind: '3-char' },
    { q: '下水道', kind: '3-char' },
    { q: '电动车', kind: '3-char' },
    { q: '供热公', kind: '3-char common' },
    { q: '暖气不', kind: '3-char common' },
    { q: `${COMMUNITIES[COMMUNITIES.length - 3]!}小`, kind: '3-char rare' },
    // 4 characters
    { q: '河道污染', kind: '4-char' },
    { q: '拖欠工资', kind: '4-char' },
    { q: '路灯不亮', kind: '4-char' },
    { q: '噪音扰民', kind: '4-char common' },
    { q: '供暖不热', kind: '4-char common' },
    { q: '相关部门', kind: '4-char very common' },
    { q: `${COMMUNITIES[COMMUNITIES.length - 5]!}花园`, kind: '4-char rare' },
    // digits: part of caller/contact numbers
    { q: '0485', kind: '4 digits (phone part)' },
    { q: '1000048', kind: '7 digits (phone part)' },
  ];
  const filtered: MixQuery[] = [
    { q: '供暖', kind: '+ department', department: 'heating' },
    { q: '噪音', kind: '+ status closed', status: 'closed' },
    { q: '停水', kind: '+ last quarter', ...quarter },
    { q: '小区', kind: '+ channel web', channel: 'web' },
    { q: '反映', kind: '+ category (parent)', category: 'complaint' },
    { q: '电梯', kind: '+ department + status', department: 'market-regulation', status: 'in_progress' },
    { q: COMMUNITIES[0]!, kind: 'community (top) + last quarter', ...quarter },
    { q: '拖欠工资', kind: '+ channel phone', channel: 'phone' },
    { q: rareCommunities[1]!, kind: 'community (tail) + status', status: 'closed' },
    { q: '相关部门', kind: '+ department + quarter', department: 'urban-management', ...quarter },
  ].map((m) => ({ ...m, filtered: true }));
  const relevance: MixQuery[] = [
    { q: '供暖', kind: 'relevance' },
    { q: '停水', kind: 'relevance' },
    { q: '小区', kind: 'relevance, very common' },
    { q: '路灯不亮', kind: 'relevance' },
    { q: rareCommunities[0]!, kind: 'relevance, rare' },
    { q: '噪音', kind: 'relevance + status', status: 'closed', filtered: true },
  ].map((m) => ({ ...m, sort: 'relevance' as const }));
  return [...plain, ...filtered, ...relevance];
}
