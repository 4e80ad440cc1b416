// Words of the console in Chinese (the default) and English, and the platform's terms.

const WORDS = {
  "app.title": ["跨境金融服务平台 · 控制台", "Cross-border finance platform · Console"],
  "login.title": ["操作员登录", "Operator sign-in"],
  "login.hint": [
    "请输入本机构网关为您签发的 API 令牌（crossborder token issue）。令牌仅保存在本标签页。",
    "Enter the API token your institution's gateway issued to you (crossborder token issue). It stays in this tab only.",
  ],
  "login.token": ["API 令牌", "API token"],
  "login.submit": ["登录", "Sign in"],
  "logout": ["退出", "Sign out"],
  "tab.queue": ["工作台", "Work queue"],
  "tab.apply": ["代申请", "Apply"],
  "tab.lookup": ["单证查询", "Document lookup"],
  "tab.stats": ["统计分析", "Statistics"],
  "refresh": ["刷新", "Refresh"],
  "loading": ["加载中…", "Loading…"],
  "none": ["暂无", "None"],
  "no-data": ["暂无数据", "No data"],
  "as-of": ["数据截至区块", "as of block"],
  "live": ["实时", "live"],
  "close": ["关闭", "Close"],
  "back": ["返回", "Back"],
  "details": ["详情", "Details"],
  // queue
  "q.to_accept": ["待受理", "To accept"],
  "q.to_review": ["待审核", "To review"],
  "q.to_disburse": ["待放款登记", "To disburse"],
  "q.repayments_due": ["待还款登记（按到期日）", "Repayments due (by due date)"],
  "q.my_applications": ["我的代申请", "My applications"],
  "q.hint.to_accept": ["受理：确认申请材料齐备", "受理: take the application in"],
  "q.hint.to_review": [
    "审核：批准或拒绝（审贷分离：申请经办人不得审核本人申请）",
    "审核: approve or reject (maker-checker: the applicant may not review)",
  ],
  "q.hint.to_disburse": ["放款登记：金额、起息日、到期日", "放款登记: amount, value date, due date"],
  "q.hint.repayments_due": ["还款登记：部分或全部还款", "还款登记: partial or full repayment"],
  "q.hint.my_applications": ["撤回可释放单证占用", "Withdrawing frees the documents"],
  "q.no-role": ["本账户在任何融资场景均无业务环节角色。", "This account holds no financing stage in any scenario."],
  "col.id": ["编号", "No."],
  "col.scenario": ["业务场景", "Scenario"],
  "col.firm": ["企业", "Firm"],
  "col.bank": ["银行", "Bank"],
  "col.region": ["地区", "Region"],
  "col.requested": ["申请金额", "Requested"],
  "col.outstanding": ["融资余额", "Outstanding"],
  "col.state": ["状态", "State"],
  "col.applied_at": ["申请时间", "Applied"],
  "col.due": ["到期日", "Due"],
  "col.actions": ["操作", "Actions"],
  "col.financings": ["融资笔数", "Financings"],
  "col.failures": ["核验失败", "Failures"],
  "col.duplicates": ["重复融资拦截", "Duplicates stopped"],
  "col.overs": ["超额融资拦截", "Over-financing stopped"],
  "mine": ["本人申请", "applied by you"],
  "overdue": ["已逾期", "overdue"],
  "act.accept": ["受理", "Accept"],
  "act.approve": ["批准", "Approve"],
  "act.reject": ["拒绝", "Reject"],
  "act.disburse": ["放款登记", "Register disbursement"],
  "act.repay": ["还款登记", "Register repayment"],
  "act.withdraw": ["撤回", "Withdraw"],
  "act.submit": ["提交", "Submit"],
  "act.cancel": ["取消", "Cancel"],
  "f.amount": ["金额", "Amount"],
  "f.currency": ["币种", "Currency"],
  "f.value_date": ["起息日", "Value date"],
  "f.due_date": ["到期日", "Due date"],
  "done.accept": ["已受理", "Accepted"],
  "done.approve": ["已批准", "Approved"],
  "done.reject": ["已拒绝", "Rejected"],
  "done.disburse": ["已放款登记", "Disbursement registered"],
  "done.repay": ["已还款登记", "Repayment registered"],
  "done.withdraw": ["已撤回", "Withdrawn"],
  "done.apply": ["代申请已提交", "Application submitted"],
  "financing": ["融资", "Financing"],
  "refused": ["被拒绝", "Refused"],
  // apply
  "apply.title": ["代申请：代企业提交融资申请", "Apply on the firm's behalf (代申请)"],
  "apply.hint": [
    "提交前链上核验单证：存在、出口企业、币种及剩余可融资金额；未通过的核验也会被记录。",
    "The ledger verifies each document first: it exists, the exporter, the currency and what is left; a failed verification is recorded too.",
  ],
  "apply.firm": ["企业（统一社会信用代码）", "Firm (USCC)"],
  "apply.document": ["单证号码", "Document number"],
  "apply.kind": ["单证类型", "Document kind"],
  "apply.add": ["添加单证", "Add a document"],
  "apply.remove": ["移除", "Remove"],
  // lookup
  "lookup.title": ["银行间融资信息互动：单证查询", "Inter-bank financing information: document lookup"],
  "lookup.hint": [
    "任何银行均可查询单证是否已被使用、剩余金额及占用起始时间；不会透露由哪家银行融资。",
    "Any bank may ask whether a document is used, how much is left and since when; never who financed it.",
  ],
  "lookup.submit": ["查询", "Look up"],
  "doc.status": ["使用状态", "Status"],
  "doc.face": ["单证金额", "Face amount"],
  "doc.held": ["已占用", "Held"],
  "doc.remaining": ["剩余可融资", "Left"],
  "doc.issued": ["签发日期", "Issued"],
  "doc.used_since": ["占用起始", "Used since"],
  "doc.fingerprint": ["单证指纹", "Fingerprint"],
  // statistics
  "stats.title": ["监管统计", "Supervisory statistics"],
  "stats.title.bank": ["本行统计", "Our bank's statistics"],
  "stats.from": ["起始日", "From"],
  "stats.to": ["截止日", "To"],
  "stats.scenario": ["业务场景", "Scenario"],
  "stats.currency": ["币种", "Currency"],
  "stats.period": ["周期", "Period"],
  "stats.group": ["分组", "Group by"],
  "stats.measure": ["指标", "Measure"],
  "stats.all": ["全部", "All"],
  "period.day": ["按日", "Daily"],
  "period.month": ["按月", "Monthly"],
  "group.bank": ["按银行", "By bank"],
  "group.region": ["按地区", "By region"],
  "measure.requested": ["申请金额", "Applied amount"],
  "measure.approved": ["审批金额", "Approved amount"],
  "measure.disbursed": ["放款金额", "Disbursed amount"],
  "measure.financings": ["申请笔数", "Applications"],
  "chart.series": ["融资时间序列（按业务场景与币种）", "Financing over time (by scenario and currency)"],
  "chart.failures": ["核验失败（按原因）", "Verification failures (by reason)"],
  "chart.interceptions": ["重复融资与超额融资拦截", "Duplicate and over-financing interceptions"],
  "chart.banks": ["各银行概况（点击下钻）", "Banks (click to drill down)"],
  "axis.period": ["期间（北京时间）", "Period (UTC+8)"],
  "axis.count": ["笔数", "count"],
  "axis.amount": ["金额", "amount"],
  "axis.each-currency": ["各币种原币", "each in its currency"],
  "series.duplicate": ["重复融资", "Duplicate"],
  "series.over": ["超额融资", "Over-financing"],
  "kpi.financings": ["融资申请笔数", "Applications"],
  "kpi.requested": ["申请金额", "Applied"],
  "kpi.failures": ["核验失败笔数", "Failed verifications"],
  "kpi.interceptions": ["拦截笔数（重复/超额）", "Interceptions (duplicate/over)"],
  "drill.bank": ["银行下钻", "Bank drill-down"],
  "drill.financings": ["融资明细（点击查看办理记录）", "Financings (click for the history)"],
  "drill.all": ["全部银行", "All banks"],
  "history": ["办理记录", "History"],
  "applicant": ["申请经办人", "Applicant"],
  "history.source": ["来源", "source"],
  "scope": ["范围", "Scope"],
  "regulator": ["监管机构", "Regulator"],
  "stage.none": ["无业务角色", "no stage"],
  "time-zone": ["时间为北京时间（UTC+8）", "Times in China Standard Time (UTC+8)"],
  "unauthorized": ["令牌无效或已吊销，请重新登录。", "The token is unknown or revoked: sign in again."],
  "network": ["无法连接网关。", "The gateway cannot be reached."],
  "store-lag": ["统计来自索引库，可能滞后数秒。", "Statistics come from the indexer's store and may lag a few seconds."],
};

const STATES = {
  applied: ["已申请", "applied"],
  accepted: ["已受理", "accepted"],
  approved: ["已批准", "approved"],
  rejected: ["已拒绝", "rejected"],
  withdrawn: ["已撤回", "withdrawn"],
  disbursed: ["已放款", "disbursed"],
  closed: ["已结清", "closed"],
};

const ACTIONS = {
  applied: ["代申请", "applied"],
  accepted: ["受理", "accepted"],
  approved: ["审核通过", "approved"],
  rejected: ["审核拒绝", "rejected"],
  withdrawn: ["撤回", "withdrawn"],
  disbursed: ["放款登记", "disbursed"],
  repaid: ["还款登记", "repaid"],
};

const STAGES = {
  apply: ["代申请", "apply"],
  accept: ["受理", "accept"],
  review: ["审核", "review"],
  disburse: ["放款登记", "disburse"],
  repay: ["还款登记", "repay"],
  statistics: ["统计员", "statistician"],
  service: ["业务开通", "service opening"],
  verify: ["付汇核验", "payment verification"],
  outlets: ["银行信息维护", "outlets"],
  match: ["对接", "matching"],
  register: ["单证登记", "registration"],
};

const KINDS_OF_PARTICIPANT = {
  regulator: ["监管机构", "regulator"],
  bank: ["银行", "bank"],
  enterprise: ["企业", "enterprise"],
  insurer: ["保险机构", "insurer"],
  customs: ["海关", "customs"],
  tax: ["税务", "tax"],
  logistics: ["物流", "logistics"],
};

const DOC_STATUS = {
  unknown: ["未登记", "not registered"],
  free: ["未使用", "free"],
  partly_used: ["部分使用", "partly used"],
  fully_used: ["已全额使用", "fully used"],
};

const REASONS = {
  1: ["单证不存在", "not found"],
  2: ["单证类型不符", "wrong document type"],
  3: ["出口企业不符", "wrong exporter"],
  4: ["币种不符", "currency mismatch"],
  5: ["重复融资", "duplicate"],
  6: ["超额融资", "over-financing"],
};

// Problem codes (RFC 9457 `code`) explained in both languages; the server's `title_zh` leads.
const PROBLEMS = {
  maker_checker_violation: [
    "审贷分离：申请经办人不得审核本人申请的融资，须由另一名审核员审核。",
    "Maker-checker: the operator who applied may not review the same financing; another reviewer must.",
  ],
  duplicate_financing: [
    "重复融资：该单证已被其他融资全额使用（任一银行），本次核验失败已记录。",
    "Duplicate financing: the document is already fully used by other financings (at any bank); the failed verification is recorded.",
  ],
  over_financing: [
    "超额融资：申请金额超过单证剩余可融资金额，本次核验失败已记录。",
    "Over-financing: the amount exceeds what is left on the document; the failed verification is recorded.",
  ],
  document_not_found: ["核验失败：单证未在账本登记。", "Verification failed: the document is not registered."],
  wrong_exporter: ["核验失败：单证的出口企业不是申请企业。", "Verification failed: the document's exporter is not the applicant firm."],
  currency_mismatch: ["核验失败：币种与单证不符。", "Verification failed: the currency differs from the document's."],
  missing_role: ["所属角色：该操作员不具备此业务环节的角色。", "Missing role: the operator does not hold this stage."],
  wrong_state: ["状态不符：该笔融资当前状态不允许此操作。", "Wrong state: the financing's state does not allow this."],
  service_not_opened: ["业务未开通：企业尚未向本行开通此业务。", "Service not opened: the firm has not opened this service with the bank."],
  limit_exceeded: ["超出限额：超过场景自身的限额。", "Limit exceeded: the scenario's own limit refuses the amount."],
  other_bank: ["他行融资：不能操作其他银行的融资。", "Another bank's financing."],
  unauthenticated: ["未登录：令牌无效或已吊销。", "Unauthenticated: the token is unknown or revoked."],
  access_denied: ["无权操作。", "Access denied."],
  not_an_operator: ["该账户不是任何机构的操作员。", "The account is no operator of any institution."],
  participant_deactivated: ["机构已停用。", "The institution is deactivated."],
  invalid_input: ["输入有误。", "Invalid input."],
  unknown_entity: ["未找到。", "Not found."],
  store_error: ["统计库暂不可用（索引器尚未运行？）。", "The reporting store is unavailable (indexer not run yet?)."],
  idempotency_conflict: ["幂等键已用于其他请求。", "The idempotency key was used for another request."],
  internal_error: ["网关内部错误。", "The gateway failed unexpectedly."],
};

let lang = "zh";

export function setLang(value) {
  lang = value === "en" ? "en" : "zh";
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
}

export function getLang() {
  return lang;
}

function pick(pair, fallback) {
  if (!pair) return fallback;
  return lang === "zh" ? pair[0] : pair[1];
}

export function t(key) {
  return pick(WORDS[key], key);
}

export const tState = (state) => pick(STATES[state], state);
export const tStage = (stage) => pick(STAGES[stage], stage);
export const tAction = (action) => pick(ACTIONS[action], action);
export const tKind = (kind) => pick(KINDS_OF_PARTICIPANT[kind], kind || "");
export const tDocStatus = (status) => pick(DOC_STATUS[status], status);
export const tReason = (code) => pick(REASONS[code], String(code));
export const tProblem = (code) => pick(PROBLEMS[code], null);

// A bilingual label of the server ("重复融资 duplicate", "出口应收账款融资 export receivables
// financing"): its part in the current language.
export function tLabel(label) {
  if (!label) return "";
  const text = String(label);
  const space = text.indexOf(" ");
  if (space < 0) return text;
  const zh = text.slice(0, space);
  if (!/[\u3400-\u9fff]/.test(zh)) return text;
  return lang === "zh" ? zh : text.slice(space + 1);
}

export function reasonCodeOf(label) {
  const zh = String(label || "").split(" ")[0];
  for (const [code, pair] of Object.entries(REASONS)) {
    if (pair[0] === zh) return Number(code);
  }
  return null;
}
