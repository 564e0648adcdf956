"""Seeded generators: help-desk tickets (as condition snapshots) and workflow rules (condition JSON).

    tickets = make_tickets(10_000, seed=1)       # snapshot dicts, as portal.conditions.snapshot makes them
    rules = make_rules(200, tickets[:1000], seed=2)   # [(key, condition)], tuned to ~10% firing

Tickets: the desk of bench/seed_million.py in miniature (5 departments, 3 teams each, 10 agents
each; 40% Chinese-speaking contacts), at a random point of their life (status, threads, age),
with a ~2 KB first message that mixes Chinese and English (greeting, the problem in a few
sentences, order numbers, a signature), keywords written as customers write them: mixed case,
sometimes full-width (ｒｅｆｕｎｄ, ＲＥＦＵＮＤ), ideographic spaces.

Rules: what admins write: a department's keyword routing, VIP handling, channel rules, SLA-ish
age/thread conditions, tags and custom fields, e-mail domains, an order-number regex; 2-6
conditions each, nested any/all/not. Each candidate rule is measured on a calibration sample of
tickets and kept or dropped so that a ticket fires ~10% of the rules on average.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from common import CUSTOM_FIELDS, PRODUCTS, REGIONS

# ---------------------------------------------------------------------------------------------
# The desk
DEPARTMENTS = {1: 0.35, 2: 0.25, 3: 0.20, 4: 0.12, 5: 0.08}  # support, billing, tech, sales, logistics


def teams_of(dept: int) -> list[int]:
    return [3 * dept - 2, 3 * dept - 1, 3 * dept]


def agents_of(dept: int) -> list[int]:
    return list(range(10 * (dept - 1) + 2, 10 * dept + 2))  # user 1 is the admin


STATUSES = {"new": 0.35, "open": 0.30, "pending": 0.15, "on_hold": 0.05, "solved": 0.10, "closed": 0.05}
PRIORITIES = {1: 0.15, 2: 0.65, 3: 0.15, 4: 0.05}
CHANNELS = {"email": 0.45, "portal": 0.25, "wechat": 0.15, "phone": 0.08, "api": 0.05, "webhook": 0.02}
TAGS = {"billing": 8, "refund": 6, "login": 5, "bug": 5, "shipping": 5, "vip": 3, "invoice": 4,
        "feature-request": 3, "password": 3, "api": 2, "mobile": 2, "outage": 1, "security": 1, "gdpr": 1,
        "wechat": 2, "export": 1, "sso": 1, "escalated": 2, "churn-risk": 1, "onboarding": 2, "spam": 1}
DOMAINS = {"gmail.com": 20, "qq.com": 18, "163.com": 12, "outlook.com": 10, "bigcorp.example": 6,
           "vip-partner.example": 3, "example.cn": 8, "yahoo.com": 4}
ACCOUNTS = [None, None, None, "Acme Ltd", "BigCorp", "Zephyr Trading", "华为经销商", "深圳星河科技", "VIP Partner Co",
            "Northwind", "上海云帆"]
SURNAMES_ZH = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN_ZH = ["伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "艳", "杰", "华", "强", "军", "平", "刚"]
NAMES_EN = ["Alice", "Bob", "Carol", "David", "Emma", "Frank", "Grace", "Henry", "Ivy", "Jack", "Kate", "Liam",
            "Mia", "Noah", "Olivia", "Peter", "Quinn", "Rose", "Sam", "Tina"]
LAST_EN = ["Smith", "Jones", "Brown", "Taylor", "Wilson", "Evans", "Thomas", "Moore", "Clark", "Walker"]

# Topics: (weight, English keywords, Chinese keywords, English sentences, Chinese sentences, tags)
# Sentences hold {k} (a keyword of the topic, as the customer writes it), {o} order, {p} product, {a} amount.
TOPICS = {
    "refund": (14, ["refund", "money back", "chargeback"], ["退款", "退钱"],
               ["I would like a {k} for order {o}, the {p} never worked.",
                "Please process the {k} of {a} USD to my card.",
                "It has been two weeks and I still have not received my {k}."],
               ["我要申请{k}，订单号{o}，{p}根本不能用。", "请尽快{k}{a}元到我的银行卡。", "已经两个星期了，{k}还没有到账。"],
               ["refund", "billing"]),
    "overheating": (6, ["phone overheating", "overheat"], ["手机发热", "发烫"],
                    ["My {p} keeps {k} when charging.", "Since the update the {p} has a {k} problem."],
                    ["我的{p}充电的时候{k}很严重。", "升级以后{p}一直{k}，很担心安全。"], ["mobile"]),
    "login": (12, ["cannot log in", "password reset", "locked out"], ["无法登录", "密码"],
              ["I {k} to my account since yesterday.", "The {k} email never arrives."],
              ["从昨天开始{k}账户。", "{k}重置邮件一直收不到。"], ["login", "password"]),
    "shipping": (12, ["tracking number", "not delivered", "delivery"], ["物流", "快递", "没收到"],
                 ["Order {o} is {k} yet, the {p} was due last Friday.", "The {k} shows no movement for 5 days."],
                 ["订单{o}的{k}五天没有更新了。", "{p}到现在还{k}，怎么回事？"], ["shipping"]),
    "invoice": (10, ["invoice", "vat receipt"], ["发票", "开票"],
                ["Please send the {k} for order {o} ({a} USD).", "The {k} has the wrong company name."],
                ["请给订单{o}开{k}，金额{a}元。", "{k}抬头写错了，需要重新开。"], ["invoice", "billing"]),
    "bug": (10, ["crash", "error 500", "bug"], ["闪退", "报错"],
            ["The app shows {k} when I open reports.", "Every export ends with a {k}."],
            ["打开报表就{k}。", "导出数据的时候一直{k}，试了很多次。"], ["bug"]),
    "cancel": (6, ["cancel my subscription", "unsubscribe"], ["取消订阅", "退订"],
               ["Please {k} before the next billing date.", "How do I {k}? The button does nothing."],
               ["请帮我{k}，下个月不要再扣费。", "找不到{k}的按钮。"], ["billing", "churn-risk"]),
    "complaint": (5, ["complaint", "unacceptable", "lawyer"], ["投诉", "差评"],
                  ["This is {k}: third time I write about order {o}.", "I will file a formal {k}."],
                  ["我要{k}，这个问题拖了一个月。", "再不解决我就给{k}。"], ["escalated"]),
    "battery": (6, ["battery", "charging"], ["电池", "充电"],
                ["The {k} of my {p} drains in two hours.", "{k} stops at 80% on the {p}."],
                ["{p}的{k}两个小时就没了。", "{p}{k}到80%就不动了。"], ["mobile"]),
    "screen": (5, ["screen cracked", "display"], ["屏幕", "碎屏"],
               ["The {k} after a small drop, is it covered by warranty?", "My {p} {k} flickers."],
               ["{p}的{k}摔了一下就坏了，保修吗？", "{k}一直闪烁。"], ["mobile"]),
    "feature": (6, ["feature request", "dark mode"], ["深色模式", "建议"],
                ["A small {k}: could reports have {k} too?", "We would love {k} in the agent view."],
                ["提个{k}：报表能不能加{k}？", "希望后台支持{k}。"], ["feature-request"]),
    "gdpr": (3, ["delete my data", "gdpr"], ["删除数据", "隐私"],
             ["Under GDPR please {k} and confirm.", "I request that you {k} within 30 days."],
             ["请{k}，并书面确认。", "关于{k}的问题，请尽快答复。"], ["gdpr", "security"]),
    "api": (5, ["api key", "webhook", "rate limit"], ["接口", "回调"],
            ["Our {k} stopped working after the upgrade.", "We hit the {k} on the orders endpoint."],
            ["升级以后{k}不能用了。", "订单{k}一直超时。"], ["api"]),
}
FILLER_EN = [
    "I have been a customer for {n} years and this never happened before.",
    "I already tried restarting the device and reinstalling the app, without success.",
    "My order number is {o} and it was placed on the {d}th.",
    "Could you please look into this as soon as possible?",
    "I attached a screenshot of the message I see on the screen.",
    "Our team of {n} people depends on this every day.",
    "The {p} was bought from your official store in {city}.",
    "I called the hotline twice but nobody answered after {n} minutes.",
    "Please reply to this address, I do not check the other mailbox often.",
    "We are using version {v} on Windows and on a Mac.",
    "Last month everything worked fine with the same settings.",
    "The total was {a} USD including shipping and taxes.",
    "I am travelling next week, so a quick answer would really help.",
    "Thank you for your help, and sorry for the long message.",
    "For reference, the previous ticket was about the same {p}.",
    "Our accounting department needs this sorted before the end of the quarter.",
]
FILLER_ZH = [
    "我是你们的老客户了，用了{n}年，第一次遇到这种情况。",
    "已经试过重启和重新安装，还是不行。",
    "订单号是{o}，{d}号下的单。",
    "麻烦尽快帮忙处理一下，谢谢。",
    "附件是屏幕上的提示截图。",
    "我们公司{n}个人每天都要用这个系统。",
    "{p}是在{city}的官方门店买的。",
    "打了两次客服热线，等了{n}分钟都没人接。",
    "请回复这个邮箱，另一个邮箱不常看。",
    "我们用的是{v}版本，Windows和Mac都有这个问题。",
    "上个月同样的设置一切正常。",
    "总共付了{a}元，含运费。",
    "下周要出差，希望能尽快答复。",
    "辛苦了，不好意思写了这么多。",
    "之前也为同一台{p}提过工单。",
    "财务部门要求在季度末之前解决。",
]
CITIES = ["Shanghai", "Beijing", "Shenzhen", "Hong Kong", "Singapore", "London", "深圳", "上海", "杭州", "成都"]
PRODUCT_NAMES = {"phone-x": "Phone X", "phone-x-pro": "Phone X Pro", "tablet-s": "Tablet S", "watch-2": "Watch 2",
                 "earbuds": "Earbuds", "charger": "65W charger"}


def _pick(rng: random.Random, weights: dict):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _fullwidth(s: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if 0x21 <= ord(c) <= 0x7E else ("\u3000" if c == " " else c) for c in s)


def _variant(rng: random.Random, kw: str) -> str:
    """A keyword as a customer types it: mostly as is, sometimes capitalised, shouted or full-width."""
    if not kw.isascii():
        return kw
    r = rng.random()
    if r < 0.12:
        return kw.capitalize()
    if r < 0.18:
        return kw.upper()
    if r < 0.22:
        return _fullwidth(kw)
    if r < 0.24:
        return _fullwidth(kw.upper())
    return kw


class _Ctx:
    def __init__(self, rng: random.Random, product: str | None):
        self.rng = rng
        self.product = PRODUCT_NAMES.get(product or "", rng.choice(list(PRODUCT_NAMES.values())))
        self.order = f"SO{rng.randint(10_000_000, 99_999_999)}"

    def fill(self, template: str, keyword: str = "") -> str:
        rng = self.rng
        return template.format(k=keyword, o=self.order, p=self.product, a=rng.randint(9, 9000), n=rng.randint(2, 40),
                               d=rng.randint(1, 28), v=f"{rng.randint(3, 9)}.{rng.randint(0, 20)}",
                               city=rng.choice(CITIES))


def _message(rng: random.Random, ctx: _Ctx, topics: list[str], zh_share: float, target_bytes: int,
             greeting: str, signature: str) -> str:
    parts = [greeting]
    size = len(greeting.encode()) + len(signature.encode())
    # the problem, in a few sentences spread over the message
    problem = []
    for t in topics:
        _, kw_en, kw_zh, s_en, s_zh, _tags = TOPICS[t]
        for _ in range(rng.randint(1, 3)):
            if rng.random() < zh_share:
                problem.append(ctx.fill(rng.choice(s_zh), rng.choice(kw_zh)))
            else:
                problem.append(ctx.fill(rng.choice(s_en), _variant(rng, rng.choice(kw_en))))
    filler_needed = []
    while size + sum(len(p.encode()) + 1 for p in problem + filler_needed) < target_bytes:
        pool = FILLER_ZH if rng.random() < zh_share else FILLER_EN
        filler_needed.append(ctx.fill(rng.choice(pool)))
    body = filler_needed
    for p in problem:
        body.insert(rng.randint(0, len(body)), p)
    parts.extend(body)
    parts.append(signature)
    sep = "" if zh_share > 0.5 else " "
    text = parts[0] + "\n\n"
    line = []
    for s in parts[1:-1]:
        line.append(s)
        if rng.random() < 0.25:
            text += sep.join(line) + "\n\n"
            line = []
    text += sep.join(line) + "\n\n" + parts[-1]
    return text


def make_tickets(n: int, seed: int = 1, base: datetime | None = None) -> list[dict]:
    rng = random.Random(seed)
    base = base or datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)
    topic_names = list(TOPICS)
    topic_w = [TOPICS[t][0] for t in topic_names]
    out = []
    for i in range(n):
        dept = _pick(rng, DEPARTMENTS)
        zh = rng.random() < 0.40
        tier = "vip" if rng.random() < 0.08 else "standard"
        topics = [rng.choices(topic_names, topic_w)[0]]
        if rng.random() < 0.30:
            topics.append(rng.choices(topic_names, topic_w)[0])
        now = base + timedelta(seconds=rng.randint(0, 7 * 86400), microseconds=rng.randint(0, 999_999))
        age_h = min(rng.expovariate(1 / 60), 2000) + rng.random() / 60
        created = now - timedelta(hours=age_h)
        threads = 1 + min(int(rng.expovariate(1 / 2.5)), 40)
        customer_replies = 1 + (rng.randint(0, (threads - 1) // 2) if threads > 1 else 0)
        status = _pick(rng, STATUSES) if threads > 1 else rng.choice(["new", "new", "new", "open"])
        prio = _pick(rng, PRIORITIES)
        last_reply = created if threads == 1 else now - timedelta(hours=rng.random() * min(age_h, 200))
        due = None if rng.random() < 0.10 else created + timedelta(hours={1: 168, 2: 72, 3: 24, 4: 4}[prio])
        updated = max(last_reply, now - timedelta(hours=rng.random() * min(age_h, 48)))
        product = None if rng.random() < 0.30 else rng.choice(PRODUCTS)
        if zh:
            name = rng.choice(SURNAMES_ZH) + rng.choice(GIVEN_ZH) + (rng.choice(GIVEN_ZH) if rng.random() < .5 else "")
            local = f"user{rng.randint(1000, 99999)}"
        else:
            first, last = rng.choice(NAMES_EN), rng.choice(LAST_EN)
            name = f"{first} {last}"
            local = f"{first}.{last}{rng.randint(1, 99)}".lower()
        domain = _pick(rng, DOMAINS)
        if tier == "vip" and rng.random() < 0.5:
            domain = "vip-partner.example"
        ctx = _Ctx(rng, product)
        zh_share = 0.75 if zh else 0.12
        greeting = "您好，" if zh else rng.choice(["Hello,", "Hi team,", "Dear support,", "Good morning,"])
        signature = f"{name}\n{rng.choice(ACCOUNTS) or ''}\n电话 138{rng.randint(10_000_000, 99_999_999)}" if zh \
            else f"Best regards,\n{name}\n{rng.choice(ACCOUNTS) or ''}"
        body = _message(rng, ctx, topics, zh_share, rng.randint(1900, 2300), greeting, signature)
        if threads == 1:
            last_message = body
        else:
            extra = topics if rng.random() < 0.6 else [rng.choices(topic_names, topic_w)[0]]
            last_message = _message(rng, ctx, extra[:1], zh_share, rng.randint(150, 500), greeting, name)
        _w, kw_en, kw_zh, _se, _sz, topic_tags = TOPICS[topics[0]]
        if zh:
            subject = rng.choice([f"{rng.choice(kw_zh)}问题", f"关于订单{ctx.order}的{rng.choice(kw_zh)}",
                                  f"【紧急】{rng.choice(kw_zh)}", f"{ctx.product} {rng.choice(kw_zh)}"])
        else:
            kw = _variant(rng, rng.choice(kw_en))
            subject = rng.choice([f"{kw} - order {ctx.order}", f"Question about {kw}", f"URGENT: {kw}",
                                  f"{ctx.product}: {kw}", f"Re: {kw}"])
        if rng.random() < 0.05:
            subject += f" INV-{rng.randint(2023, 2026)}-{rng.randint(1000, 9999)}"
        tags = set()
        if rng.random() < 0.55:
            tags.update(rng.sample(topic_tags, k=rng.randint(1, len(topic_tags))))
        if rng.random() < 0.25:
            tags.add(rng.choices(list(TAGS), weights=list(TAGS.values()))[0])
        if tier == "vip" and rng.random() < 0.5:
            tags.add("vip")
        team = None if rng.random() < 0.40 else rng.choice(teams_of(dept))
        assignee = None if status == "new" or rng.random() < 0.15 else rng.choice(agents_of(dept))
        snap = {
            "id": i + 1,
            "subject": subject,
            "body": body,
            "last_message": last_message,
            "status": status,
            "priority": prio,
            "channel": _pick(rng, CHANNELS) if not zh or rng.random() < 0.6 else "wechat",
            "department": dept,
            "team": team,
            "assignee": assignee,
            "contact": rng.randint(1, 100_000),
            "tags": sorted(tags),
            "created_at": created,
            "updated_at": updated,
            "first_response_due_at": None if due is None else created + timedelta(hours=prio * 2),
            "resolution_due_at": due,
            "last_customer_reply_at": last_reply,
            "contact.name": name,
            "contact.email": f"{local}@{domain}" if rng.random() > 0.03 else f"{local.upper()}@{domain.upper()}",
            "account.name": rng.choice(ACCOUNTS),
            "contact.tier": tier,
            "contact.language": "zh" if zh else "en",
            "thread_count": threads,
            "customer_reply_count": customer_replies,
            "now": now,
        }
        cf = {
            "order_total": None if rng.random() < 0.45 else round(rng.lognormvariate(5.5, 1.3), 2),
            "product": product,
            "region": None if rng.random() < 0.2 else rng.choice(REGIONS),
            "warranty": None if rng.random() < 0.3 else rng.random() < 0.6,
            "order_no": ctx.order if rng.random() < 0.6 else None,
        }
        for k in CUSTOM_FIELDS:
            if cf[k] is not None:
                snap[f"cf.{k}"] = cf[k]
            else:
                snap[f"cf.{k}"] = None
        out.append(snap)
    return out


# ---------------------------------------------------------------------------------------------
# Rules
def _kw(rng: random.Random, topic: str | None = None, n: tuple[int, int] = (2, 4)) -> list[str]:
    topic = topic or rng.choice(list(TOPICS))
    _w, kw_en, kw_zh, *_ = TOPICS[topic]
    pool = kw_en + kw_zh
    k = min(rng.randint(*n), len(pool))
    words = rng.sample(pool, k)
    # admins type keywords in any case, sometimes full-width (the engine folds both sides)
    return [w.upper() if w.isascii() and rng.random() < 0.1 else
            (_fullwidth(w) if w.isascii() and rng.random() < 0.05 else w) for w in words]


def _leaf_factories():
    L = {}

    def dept(rng):
        return {"field": "department", "op": "eq", "value": _pick(rng, DEPARTMENTS)}
    L["dept"] = (dept, 10)

    def dept_in(rng):
        return {"field": "department", "op": "in", "value": sorted(rng.sample(list(DEPARTMENTS), 2))}
    L["dept_in"] = (dept_in, 2)

    def kw_text(rng):
        field = rng.choice(["subject", "body", "body", "last_message"])
        return {"field": field, "op": "contains_any", "value": _kw(rng)}
    L["kw_text"] = (kw_text, 14)

    def kw_one(rng):
        field = rng.choice(["subject", "body"])
        return {"field": field, "op": "contains", "value": rng.choice(_kw(rng, n=(1, 1)))}
    L["kw_one"] = (kw_one, 4)

    def not_kw(rng):
        return {"field": rng.choice(["subject", "body"]), "op": "not_contains",
                "value": rng.choice(["test", "测试", "ignore", "spam", "unsubscribe"])}
    L["not_kw"] = (not_kw, 2)

    def status_in(rng):
        return {"field": "status", "op": "in", "value": rng.choice([["new", "open"], ["new", "open", "pending"],
                                                                     ["pending", "on_hold"], ["solved", "closed"]])}
    L["status_in"] = (status_in, 6)

    def status_eq(rng):
        return {"field": "status", "op": rng.choice(["eq", "eq", "neq"]), "value": rng.choice(list(STATUSES))}
    L["status_eq"] = (status_eq, 4)

    def prio(rng):
        return {"field": "priority", "op": rng.choice(["gte", "lt", "eq", "lte", "gt"]),
                "value": rng.choice(["normal", "high", "high", "urgent"])}
    L["prio"] = (prio, 6)

    def prio_in(rng):
        return {"field": "priority", "op": rng.choice(["in", "not_in"]), "value": ["high", "urgent"]}
    L["prio_in"] = (prio_in, 2)

    def channel(rng):
        return {"field": "channel", "op": rng.choice(["eq", "eq", "eq", "neq"]), "value": _pick(rng, CHANNELS)}
    L["channel"] = (channel, 6)

    def channel_in(rng):
        return {"field": "channel", "op": "in", "value": rng.choice([["email", "portal"], ["wechat", "phone"],
                                                                      ["api", "webhook"]])}
    L["channel_in"] = (channel_in, 2)

    def vip(rng):
        return {"field": "contact.tier", "op": "eq", "value": rng.choice(["vip", "vip", "standard"])}
    L["vip"] = (vip, 5)

    def lang(rng):
        return {"field": "contact.language", "op": "eq", "value": rng.choice(["zh", "en"])}
    L["lang"] = (lang, 3)

    def unassigned(rng):
        return {"field": rng.choice(["assignee", "team"]), "op": rng.choice(["is_empty", "is_empty", "is_not_empty"])}
    L["unassigned"] = (unassigned, 4)

    def team(rng):
        d = _pick(rng, DEPARTMENTS)
        return {"field": "team", "op": rng.choice(["eq", "neq", "in"]),
                "value": (rng.sample(teams_of(d), 2) if rng.random() < .3 else rng.choice(teams_of(d)))}

    def team_fixed(rng):
        leaf = team(rng)
        if leaf["op"] == "in" and not isinstance(leaf["value"], list):
            leaf["value"] = [leaf["value"]]
        if leaf["op"] != "in" and isinstance(leaf["value"], list):
            leaf["value"] = leaf["value"][0]
        return leaf
    L["team"] = (team_fixed, 2)

    def tags_any(rng):
        return {"field": "tags", "op": "contains_any", "value": rng.sample(list(TAGS), rng.randint(2, 4))}
    L["tags_any"] = (tags_any, 5)

    def tag(rng):
        return {"field": "tags", "op": rng.choice(["contains", "contains", "not_contains"]),
                "value": rng.choice(list(TAGS))}
    L["tag"] = (tag, 4)

    def tags_empty(rng):
        return {"field": "tags", "op": rng.choice(["is_empty", "is_not_empty"])}
    L["tags_empty"] = (tags_empty, 1)

    def threads(rng):
        op = rng.choice(["gt", "gte", "lt", "lte", "between"])
        if op == "between":
            lo = rng.randint(1, 5)
            return {"field": "thread_count", "op": op, "value": [lo, lo + rng.randint(2, 10)]}
        return {"field": rng.choice(["thread_count", "thread_count", "customer_reply_count"]), "op": op,
                "value": rng.choice([1, 2, 3, 5, 10])}
    L["threads"] = (threads, 4)

    def age(rng):
        op = rng.choice(["gt", "gte", "lt", "lte", "between"])
        if op == "between":
            lo = rng.choice([1, 4, 8, 24])
            return {"field": "hours_since_created", "op": op, "value": [lo, lo * rng.choice([2, 3, 6])]}
        return {"field": "hours_since_created", "op": op, "value": rng.choice([1, 2, 4, 8, 24, 48, 72, 168])}
    L["age"] = (age, 4)

    def reply_age(rng):
        return {"field": "hours_since_customer_reply", "op": rng.choice(["gt", "lt", "gte"]),
                "value": rng.choice([0.5, 2, 8, 24, 48])}
    L["reply_age"] = (reply_age, 2)

    def due(rng):
        return {"field": "hours_until_due", "op": rng.choice(["lt", "lt", "lte", "gt"]),
                "value": rng.choice([0, 1, 4, 12, 24])}
    L["due"] = (due, 3)

    def dt(rng):
        return {"field": rng.choice(["created_at", "updated_at", "last_customer_reply_at"]),
                "op": rng.choice(["older_than", "within"]), "value": rng.choice([30, 90, 2, 12, 24, 72]),
                "unit": rng.choice(["minutes", "hours", "hours"])}
    L["dt"] = (dt, 3)

    def order_total(rng):
        op = rng.choice(["gt", "gte", "lt", "between", "is_empty", "is_not_empty"])
        if op == "between":
            lo = rng.choice([100, 200, 500])
            return {"field": "cf.order_total", "op": op, "value": [lo, lo * rng.choice([2, 4, 10])]}
        if op.startswith("is_"):
            return {"field": "cf.order_total", "op": op}
        return {"field": "cf.order_total", "op": op, "value": rng.choice([50, 100, 500, 1000, 2000])}
    L["order_total"] = (order_total, 4)

    def product(rng):
        op = rng.choice(["eq", "eq", "in", "neq", "not_in"])
        if op in ("in", "not_in"):
            return {"field": "cf.product", "op": op, "value": rng.sample(PRODUCTS, 2)}
        return {"field": "cf.product", "op": op, "value": rng.choice(PRODUCTS)}
    L["product"] = (product, 3)

    def region(rng):
        op = rng.choice(["eq", "in", "not_in"])
        return {"field": "cf.region", "op": op,
                "value": rng.sample(REGIONS, 3) if op != "eq" else rng.choice(REGIONS)}
    L["region"] = (region, 2)

    def warranty(rng):
        return {"field": "cf.warranty", "op": "eq", "value": rng.random() < 0.6}
    L["warranty"] = (warranty, 2)

    def order_no(rng):
        return {"field": "cf.order_no", "op": rng.choice(["is_empty", "is_not_empty", "starts_with"]),
                **({"value": f"so{rng.randint(1, 9)}"} if rng.random() < 0.5 else {})}

    def order_no_fixed(rng):
        leaf = order_no(rng)
        if leaf["op"] == "starts_with" and "value" not in leaf:
            leaf["value"] = f"SO{rng.randint(1, 9)}"
        if leaf["op"] != "starts_with":
            leaf.pop("value", None)
        return leaf
    L["order_no"] = (order_no_fixed, 2)

    def email(rng):
        op = rng.choice(["contains", "contains", "neq", "starts_with", "eq"])
        if op == "contains":
            return {"field": "contact.email", "op": op, "value": "@" + rng.choice(list(DOMAINS))}
        if op == "starts_with":
            return {"field": "contact.email", "op": op, "value": rng.choice(["user1", "alice", "bob", "USER"])}
        return {"field": "contact.email", "op": op, "value": "alice.smith12@gmail.com"}
    L["email"] = (email, 2)

    def account(rng):
        return {"field": "account.name", "op": rng.choice(["contains", "is_empty", "eq"]),
                "value": rng.choice(["Corp", "星河", "Zephyr Trading", "acme ltd"])}

    def account_fixed(rng):
        leaf = account(rng)
        if leaf["op"] == "is_empty":
            leaf.pop("value")
        return leaf
    L["account"] = (account_fixed, 1)

    def regex(rng):
        return rng.choice([
            {"field": "subject", "op": "regex", "value": r"inv-20\d\d-\d{4}"},
            {"field": "body", "op": "regex", "value": r"so\d{8}"},
            {"field": "body", "op": "regex", "value": r"(error|错误)\s*\d{3}"},
            {"field": "subject", "op": "regex", "value": r"^(re|fwd?):"},
            {"field": "last_message", "op": "regex", "value": r"订单\s*so\d{6,}"},
        ])
    L["regex"] = (regex, 1)
    return L


LEAVES = _leaf_factories()
_LEAF_NAMES = list(LEAVES)
_LEAF_W = [LEAVES[n][1] for n in _LEAF_NAMES]


def _leaf(rng: random.Random, kinds: list[str] | None = None) -> dict:
    name = rng.choice(kinds) if kinds else rng.choices(_LEAF_NAMES, _LEAF_W)[0]
    return LEAVES[name][0](rng)


def _template(rng: random.Random) -> dict:
    """One candidate rule, shaped as admins write them."""
    shape = rng.random()
    if shape < 0.25:  # department keyword routing
        topic = rng.choice(list(TOPICS))
        cond = {"all": [_leaf(rng, ["dept"]),
                        {"any": [{"field": "subject", "op": "contains_any", "value": _kw(rng, topic)},
                                 {"field": "body", "op": "contains_any", "value": _kw(rng, topic)}]}]}
        for _ in range(rng.randint(0, 3)):
            cond["all"].append(_leaf(rng, ["prio", "status_in", "channel", "unassigned", "not_kw", "tag", "lang"]))
        return cond
    if shape < 0.35:  # VIP handling
        return {"all": [_leaf(rng, ["vip"]),
                        {"any": [_leaf(rng, ["kw_text"]), _leaf(rng, ["order_total"]), _leaf(rng, ["tags_any"])]},
                        *[_leaf(rng) for _ in range(rng.randint(0, 2))]]}
    if shape < 0.45:  # SLA-ish: old, waiting, many threads
        return {"all": [_leaf(rng, ["status_in", "status_eq"]),
                        _leaf(rng, ["age", "reply_age", "due", "dt"]),
                        *[_leaf(rng, ["unassigned", "threads", "prio", "dept", "due"])
                          for _ in range(rng.randint(0, 3))]]}
    if shape < 0.55:  # channel rules
        return {"all": [_leaf(rng, ["channel", "channel_in"]), _leaf(rng, ["lang", "kw_text", "vip", "dept"]),
                        *[_leaf(rng) for _ in range(rng.randint(0, 2))]]}
    if shape < 0.65:  # custom fields
        return {"all": [_leaf(rng, ["product", "region", "order_total", "warranty", "order_no"]),
                        {"any": [_leaf(rng, ["kw_text", "kw_one"]), _leaf(rng, ["tags_any", "tag"])]},
                        *[_leaf(rng, ["warranty", "dept", "prio", "region"]) for _ in range(rng.randint(0, 2))]]}
    if shape < 0.72:  # exclusions with not
        return {"all": [_leaf(rng, ["dept", "channel", "status_in"]), _leaf(rng, ["kw_text", "tags_any"]),
                        {"not": {"any": [_leaf(rng, ["tag", "vip", "email"]), _leaf(rng, ["not_kw", "kw_one"])]}},
                        *[_leaf(rng) for _ in range(rng.randint(0, 1))]]}
    if shape < 0.80:  # either-or blocks
        return {"any": [{"all": [_leaf(rng), _leaf(rng)]},
                        {"all": [_leaf(rng, ["kw_text", "regex", "email", "account"]), _leaf(rng)]}]}
    # free-form: 2-6 leaves, some grouped
    n = rng.randint(2, 6)
    items = [_leaf(rng) for _ in range(n)]
    if n >= 3 and rng.random() < 0.6:
        k = rng.randint(2, min(3, n - 1))
        group = items[-k:]
        items = items[:-k] + [{"any": group} if rng.random() < 0.8 else {"not": {"all": group}}]
    return {"all": items}


def count_leaves(cond: dict) -> int:
    if "all" in cond or "any" in cond:
        return sum(count_leaves(c) for c in cond.get("all", cond.get("any")))
    if "not" in cond:
        return count_leaves(cond["not"])
    return 1


def make_rules(n: int, calibration: list[dict], seed: int = 2, target: float = 0.10,
               evaluate=None, accept=None) -> list[tuple[int, dict]]:
    """n rules whose average firing rate on `calibration` (prepared tickets) is ~target.

    `evaluate(cond, prepared) -> bool` is the reference semantics (the toy interpreter);
    `accept(cond) -> bool` can leave out some rules (e.g. custom fields a desk lacks).
    """
    rng = random.Random(seed)
    rules, rates = [], []
    tries = 0
    while len(rules) < n:
        tries += 1
        if tries > n * 200:
            raise RuntimeError("could not reach the firing target; loosen the generator")
        cond = _template(rng)
        if not 2 <= count_leaves(cond) <= 6 or (accept and not accept(cond)):
            continue
        rate = sum(1 for t in calibration if evaluate(cond, t)) / len(calibration)
        if not 0.005 <= rate <= 0.40:
            continue
        mean = sum(rates) / len(rates) if rates else target
        # keep the running mean near the target: above it, take only rarer rules, and vice versa
        if mean > target * 1.03 and rate > target:
            continue
        if mean < target * 0.97 and rate < target:
            continue
        rules.append((len(rules), cond))
        rates.append(rate)
    return rules
