// Demo knowledge articles (办事指南 / 政务公开). seedKnowledge(db) is idempotent (matched by title) and resolves
// categories and departments by code, skipping codes that do not exist.
import type { Db } from '../infra/db';

interface ArticleSeed {
  kind: 'guide' | 'public_info';
  title: string;
  category?: string;
  department?: string;
  tags: string[];
  body: string;
}

export const KNOWLEDGE_ARTICLES: ArticleSeed[] = [
  {
    kind: 'guide', title: '居民供暖不热如何报修', category: 'help-heating', department: 'heating', tags: ['供暖', '室温', '报修'],
    body: '供暖期内（11月15日至次年3月15日），居民室内温度应不低于18℃。室温不达标时，可先检查暖气片阀门是否全部打开、是否需要排气；仍不热的，请拨打供热公司服务热线或114阳光政务服务热线报修，说明小区名称、楼号、单元、户号和联系电话。供热公司接单后24小时内上门测温，确属供热原因的按规定退费。',
  },
  {
    kind: 'guide', title: '停水、水压低的查询与报修', category: 'help-water', department: 'water', tags: ['停水', '水压', '供水'],
    body: '计划停水信息提前24小时在自来水公司网站和小区公告栏公布。遇到突发停水或水压低，请先询问邻居是否同样停水，再拨打自来水公司客服电话或114热线反映，提供详细地址。管网抢修一般在8小时内恢复供水，期间可到指定送水点取水。',
  },
  {
    kind: 'guide', title: '路灯不亮、井盖缺失怎么反映', category: 'help-streetlight', department: 'urban-management', tags: ['路灯', '井盖', '市政设施'],
    body: '发现道路路灯不亮、灯杆倾斜，或井盖缺失、破损、移位，请拨打114热线或通过网站求助栏反映，尽量说明道路名称、附近门牌号或标志性建筑，可上传照片。井盖缺失存在安全隐患的，城管部门接单后2小时内设置警示并尽快补装。',
  },
  {
    kind: 'guide', title: '夜间施工噪音扰民的投诉途径', category: 'complaint-noise', department: 'environment', tags: ['噪音', '扰民', '夜间施工'],
    body: '除抢修、抢险作业和因生产工艺要求必须连续作业并取得证明的以外，禁止在22时至次日6时进行产生噪声污染的建筑施工作业。市民遇到夜间施工噪音扰民，可拨打114热线投诉，说明施工地点、时间和噪音情况，生态环境部门将依法调查处理。',
  },
  {
    kind: 'guide', title: '社会保障卡申领、补换办理指南', department: 'human-resources', tags: ['社保卡', '补卡', '人社'],
    body: '首次申领社会保障卡，可携带本人有效身份证件到合作银行网点或人社服务大厅办理，也可通过“爱山东”等政务服务平台线上申领。卡片遗失的，请先拨打服务电话挂失，再携带身份证件办理补换，即时制卡网点可当场领卡。',
  },
  {
    kind: 'guide', title: '新生儿落户办理流程', department: 'public-security', tags: ['户口', '落户', '出生证明'],
    body: '新生儿出生后一个月内，由父母一方携带《出生医学证明》、父母双方身份证、户口簿、结婚证到户籍所在地派出所办理出生登记。符合条件的可通过“出生一件事”联办平台网上申请，审核通过后领取户口簿。',
  },
  {
    kind: 'guide', title: '最低生活保障申请条件和材料', category: 'gov-consult', department: 'civil-affairs', tags: ['低保', '社会救助', '民政'],
    body: '持有本市户籍、家庭人均收入低于当地最低生活保障标准且家庭财产符合规定的居民，可向户籍所在地街道（乡镇）申请最低生活保障。需提交申请书、家庭成员身份证件、户口簿、收入证明及家庭经济状况核对授权书。审核审批时限一般不超过30个工作日。',
  },
  {
    kind: 'guide', title: '物业纠纷的调解与投诉', category: 'complaint-property', department: 'housing', tags: ['物业', '纠纷', '业主委员会'],
    body: '业主与物业服务企业就服务质量、收费等发生纠纷的，可先向业主委员会或社区居委会反映协调；协调不成的，可拨打114热线向住建部门投诉，也可申请人民调解或依法提起诉讼。物业服务收费应当明码标价，公示收费项目和标准。',
  },
  {
    kind: 'public_info', title: '2025—2026年度供暖期安排公告', category: 'gov-info', department: 'heating', tags: ['供暖期', '公告'],
    body: '本年度城区集中供暖期为2025年11月15日至2026年3月15日，视天气情况可提前或延长供暖。供热单位应于11月10日前完成注水试压，供暖期间保证居民室内温度不低于18℃。供暖期间设立24小时服务热线受理供暖不热、漏水等问题。',
  },
  {
    kind: 'public_info', title: '城区部分路段停水通知', category: 'gov-info', department: 'water', tags: ['停水', '通知', '管网改造'],
    body: '因供水管网改造施工，定于本周六8时至20时对经十路以南、历山路以东部分区域停止供水，请相关区域居民提前做好储水准备。如遇施工延期将另行通知，给您带来的不便敬请谅解。咨询电话：0531-86160005。',
  },
  {
    kind: 'public_info', title: '114阳光政务服务热线受理范围说明', category: 'gov-info', tags: ['热线', '受理范围'],
    body: '114阳光政务服务热线24小时受理市民对政府工作的咨询、求助、投诉、建议和表扬。涉及110、119、120等紧急事项的，请直接拨打相应紧急电话；已进入诉讼、仲裁、行政复议程序的事项，以及涉及国家秘密的事项不在受理范围。',
  },
  {
    kind: 'public_info', title: '政府信息依申请公开办理指南', category: 'gov-info', department: 'admin-service-center', tags: ['信息公开', '依申请公开'],
    body: '公民、法人或其他组织可向行政机关申请获取政府信息，可通过网上申请、信函或当面提交申请表。行政机关收到申请后能够当场答复的当场答复，不能当场答复的自收到申请之日起20个工作日内予以答复；需要延长的，经负责人同意可延长不超过20个工作日。',
  },
];

/** Inserts the demo articles that are not there yet (by title); returns how many were inserted. */
export async function seedKnowledge(db: Db): Promise<number> {
  let inserted = 0;
  for (const a of KNOWLEDGE_ARTICLES) {
    const { rowCount } = await db.query(
      `insert into knowledge_articles (kind, title, body, category_id, department_id, tags, status, published_at)
       select $1, $2, $3, (select id from categories where code = $4), (select id from departments where code = $5), $6,
              'published', now()
        where not exists (select 1 from knowledge_articles where title = $2)`,
      [a.kind, a.title, a.body, a.category ?? null, a.department ?? null, a.tags],
    );
    inserted += rowCount ?? 0;
  }
  return inserted;
}
