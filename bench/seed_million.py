"""Bulk-load a benchmark desk: 1,000,000 tickets with their threads, into PostgreSQL.

    .venv/bin/python bench/seed_million.py                       # 1M tickets, default URL
    .venv/bin/python bench/seed_million.py --tickets 100000      # a smaller desk
    .venv/bin/python bench/seed_million.py --url postgresql://postgres@127.0.0.1:5432/deskwright_bench

What it does, in order (each step prints its time):
  1. DROP + CREATE the database named in --url (it refuses names that don't contain "bench").
  2. Runs the real migrations (`flask --app wsgi db upgrade` with DATABASE_URL set), so the
     schema and its indexes are exactly the app's.
  3. Drops the secondary (non-constraint) indexes of the big tables, remembering their DDL.
  4. Loads departments, teams, agents, accounts, contacts, tickets, threads and tags with COPY
     (psycopg 3 `cursor.copy`), two loader processes in parallel (one per core).
  5. Re-creates the dropped indexes (from the DDL the migrations made), then VACUUM ANALYZE.

BULK LOADER ONLY: this writes rows straight into the tables and bypasses the ticket service
(`portal.services.tickets`), its validation, its events/outbox rows and its history. That is
acceptable here and nowhere else: the point is a million realistic rows in minutes, not a desk
whose history is complete. It keeps what the queue reads consistent the way the service does:
`search_text` = subject + "\\n" + each message body (notes included), `thread_count`,
`last_customer_reply_at`/`last_agent_reply_at`, `first_response_at`, `resolved_at`, due dates.
It also loads with `session_replication_role = replica` (FK triggers off, needs a superuser);
the data is consistent by construction and step 5 checks a few invariants.

Every agent's password is BENCH_PASSWORD below; `admin@bench.example` is the admin and
`agent1@bench.example` .. `agent50@bench.example` the agents (department = (n-1) // 10 + 1).
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from html import escape
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/deskwright_bench"
BENCH_PASSWORD = "bench-password-1"

SEED = 20261124
CHUNK = 20_000  # tickets per COPY batch in a loader process
SEARCH_TEXT_MAX = 20_000  # same cap as portal.services.tickets.SEARCH_TEXT_MAX

# ---------------------------------------------------------------------------------------------
# The organisation
DEPARTMENTS = [  # (name, name_zh, email, share of tickets)
    ("Customer Support", "客户支持", "support@bench.example", 0.35),
    ("Billing", "账务", "billing@bench.example", 0.25),
    ("Technical Support", "技术支持", "tech@bench.example", 0.20),
    ("Sales", "销售", "sales@bench.example", 0.12),
    ("Logistics", "物流", "logistics@bench.example", 0.08),
]
TEAMS_PER_DEPT = [("Tier 1", "一线"), ("Tier 2", "二线"), ("VIP", "贵宾")]
AGENTS_PER_DEPT = 10  # 50 agents + 1 admin
# Custom fields (issue #4; bench/fields defines them): a picklist whose values differ per department,
# a number (the order total), a desk-wide picklist and a checkbox. Most tickets have them, not all.
CF_PRODUCTS = {  # department index (0-based) -> product values
    0: ["phone_x", "phone_y", "tablet", "watch", "earbuds", "charger", "case", "laptop"],
    1: ["subscription", "invoice", "refund", "card", "bank_transfer", "coupon"],
    2: ["phone_x", "phone_y", "tablet", "laptop", "router", "app", "cloud", "firmware", "watch", "tv"],
    3: ["enterprise", "education", "retail", "partner", "reseller"],
    4: ["express", "standard", "freight", "pickup", "international", "returns"],
}
CF_REGIONS = ["north", "east", "south", "west", "central", "overseas"]

STATUS_OPEN = (("new", 0.20), ("open", 0.45), ("pending", 0.25), ("on_hold", 0.10))
STATUS_DONE = (("solved", 0.40), ("closed", 0.60))
PRIORITIES = ((1, 0.15), (2, 0.65), (3, 0.15), (4, 0.05))  # low, normal, high, urgent
RESOLVE_HOURS = {1: 168, 2: 72, 3: 24, 4: 4}
RESPOND_HOURS = {1: 48, 2: 24, 3: 8, 4: 1}
CHANNELS = (("email", 0.45), ("portal", 0.25), ("wechat", 0.15), ("phone", 0.08), ("api", 0.05),
            ("webhook", 0.02))
TAGS = (("billing", 8), ("refund", 6), ("login", 5), ("bug", 5), ("shipping", 5), ("vip", 3), ("invoice", 4),
        ("feature-request", 3), ("password", 3), ("api", 2), ("mobile", 2), ("outage", 1), ("security", 1),
        ("gdpr", 1), ("wechat", 2), ("export", 1), ("sso", 1), ("escalated", 2), ("churn-risk", 1),
        ("onboarding", 2))

# ---------------------------------------------------------------------------------------------
# Text. Slots: {o} order number, {i} invoice, {p} product, {n} a name, {d} days, {a} amount.
PRODUCTS_EN = ["Deskwright Cloud", "Mobile App", "Analytics", "Payments", "Inventory", "Reports", "Scheduler",
               "Mailbox", "Storefront", "Webhooks", "Single Sign-On", "Data Export", "Zephyr Router",
               "Nimbus Backup", "Quartz Printer"]
PRODUCTS_ZH = ["云服务", "手机应用", "数据分析", "支付", "库存", "报表", "排班", "邮箱", "网店", "单点登录",
               "数据导出", "路由器", "云备份", "打印机", "小程序"]
NAMES = ["Anna", "Ben", "Chen Wei", "Li Na", "Zhang Min", "Wang Fang", "Liu Yang", "Maria", "David", "Sophie",
         "Lukas", "Emma", "Noah", "Olivia", "Mateo", "Yuki", "Priya", "Omar", "Fatima", "Ivan", "Zhao Lei",
         "Huang Jie", "Zhou Xin", "Wu Hao", "Xu Ting", "Sun Qiang", "Ma Lin", "Zhu Li", "Hu Jun", "Guo Mei"]
SURNAMES_ZH = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN_ZH = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉玲建国宁浩宇欣怡子涵梓轩"

SUBJECTS_EN = [
    "Refund request for order {o}", "Cannot log in to my account", "Invoice {i} shows the wrong amount",
    "{p} stopped working after the update", "Shipping delay for order {o}", "How do I change my password?",
    "Charged twice for my subscription", "Feature request: dark mode in {p}", "Error 500 when exporting a report",
    "Account locked after password reset", "Where is my parcel? Order {o}", "Question about {p} pricing",
    "Cancel my subscription", "Two-factor code never arrives", "{p} is very slow today",
    "Wrong item delivered in order {o}", "Please update the billing address", "API returns 429 too often",
    "Request a copy of invoice {i}", "Upgrade to the annual plan", "Data export is missing rows",
    "Damaged package, order {o}", "Can't connect {p} to our SSO", "Refund not received yet",
    "Promo code does not work", "Need help setting up {p}",
]
SUBJECTS_ZH = [
    "订单{o}申请退款", "无法登录我的账户", "发票{i}金额有误", "{p}更新后无法使用", "订单{o}物流延迟",
    "如何修改密码？", "订阅被重复扣费", "功能建议：{p}支持深色模式", "导出报表时出现错误500",
    "重置密码后账户被锁定", "我的包裹在哪里？订单{o}", "咨询{p}的价格", "取消订阅", "收不到短信验证码",
    "{p}今天非常慢", "订单{o}发错货了", "请更新开票地址", "接口频繁返回429", "申请补开发票{i}",
    "升级到年度套餐", "导出的数据缺少记录", "订单{o}包裹破损", "{p}无法接入单点登录", "退款还没有到账",
    "优惠码无法使用", "需要帮助配置{p}",
]
CUSTOMER_EN = [
    "Hello, I ordered {p} {d} days ago (order {o}) and it still has not arrived.",
    "I was charged {a} twice this month. Please refund the duplicate payment.",
    "When I try to sign in I get an error saying my password is wrong, but I just reset it.",
    "The {p} page keeps loading forever. I tried another browser and cleared the cache.",
    "Could you send me invoice {i} again? Our accounting team needs it for the audit.",
    "After the latest update {p} crashes every time I open the settings screen.",
    "I would like to cancel my subscription and get a refund for the unused months.",
    "Our team of {d} people needs access to {p}. What does the business plan cost?",
    "The parcel for order {o} arrived damaged; the box was crushed. Photos attached.",
    "Is there a way to export all customer records to CSV? The export stops halfway.",
    "My colleague {n} cannot receive the two-factor code by SMS. Can you check her number?",
    "The promo code from your newsletter says it has expired, but the email says it is valid.",
    "Thanks for the quick answer yesterday. One more question about the refund timeline.",
    "We get HTTP 429 from the API after about {d} requests per minute. Is that the limit?",
    "Please change the billing address on invoice {i} to our new office.",
]
CUSTOMER_ZH = [
    "你好，我{d}天前购买了{p}（订单{o}），到现在还没有收到。",
    "这个月被扣了两次{a}元，请把重复扣的款项退款给我。",
    "登录时提示密码错误，但我刚刚重置过密码。",
    "{p}页面一直在加载，换了浏览器也清过缓存了，还是不行。",
    "能否重新发送发票{i}？财务部门审计需要。",
    "最新版本更新后，{p}每次打开设置页面都会闪退。",
    "我想取消订阅，并申请退还未使用月份的费用。",
    "我们团队有{d}个人需要使用{p}，企业版怎么收费？",
    "订单{o}的包裹到货时破损了，箱子被压扁，照片见附件。",
    "有没有办法把所有客户记录导出成CSV？导出到一半就停了。",
    "我的同事{n}收不到短信验证码，能帮忙查一下她的手机号吗？",
    "你们邮件里的优惠码显示已过期，但邮件上写着还有效。",
    "谢谢昨天的快速回复。关于退款到账时间我还有一个问题。",
    "接口每分钟大约{d}次请求后就返回429，这是限制吗？",
    "请把发票{i}上的开票地址改成我们的新办公室地址。",
]
REPLY_EN = [
    "Hi {n}, thanks for reaching out. I have checked order {o} and the refund of {a} is on its way; "
    "it usually takes 3-5 business days to show on your statement.",
    "Sorry for the trouble. I have unlocked your account; please try to sign in again and let me know.",
    "I have forwarded this to our engineers. As a workaround, please use the web version of {p} for now.",
    "Thanks for the photos. We are sending a replacement for order {o} today, no need to return the damaged one.",
    "I have re-sent invoice {i} to your billing contact. Let me know if it does not arrive.",
    "The API limit on your plan is {d} requests per minute; the annual plan raises it. Happy to help upgrade.",
    "I have applied the promo code manually; the discount will show on your next invoice.",
    "Your subscription is cancelled as of today; the refund for the unused months has been issued.",
]
REPLY_ZH = [
    "{n}您好，感谢联系我们。已核实订单{o}，{a}元退款已经发起，通常3到5个工作日到账。",
    "很抱歉给您带来不便，已为您解锁账户，请重新登录试试，有问题随时告诉我们。",
    "已转交技术团队处理。临时办法：请先使用网页版{p}。",
    "感谢提供照片。订单{o}的补发今天寄出，破损的商品无需退回。",
    "已将发票{i}重新发送给贵司的财务联系人，如未收到请告知。",
    "您当前套餐的接口限制为每分钟{d}次请求，升级年度套餐可以提高限额。",
    "已为您手动使用优惠码，折扣会体现在下一张账单上。",
    "您的订阅已于今天取消，未使用月份的退款已经发起。",
]
NOTE_EN = [
    "Checked the payment gateway: duplicate charge confirmed, refund approved by {n}.",
    "Customer is on the legacy plan; escalate to Tier 2 if it happens again.",
    "Known issue with {p} 4.2, tracked in the engineering board.",
    "Carrier confirmed the parcel for order {o} is stuck in customs.",
    "VIP account, reply within the hour.",
]
NOTE_ZH = [
    "已查支付网关：确认重复扣款，{n}已批准退款。",
    "客户使用旧版套餐，若再次发生请升级到二线处理。",
    "{p} 4.2 版本的已知问题，已在研发看板跟踪。",
    "快递公司确认订单{o}的包裹卡在海关。",
    "贵宾客户，请在一小时内回复。",
]


def contact_is_zh(contact_id: int) -> bool:
    """40% of contacts write in Chinese (deterministic, so loader processes agree without sharing state)."""
    return (contact_id * 2654435761) % 1000 < 400


def weighted(rng: random.Random, pairs):
    values, weights = zip(*pairs)
    return rng.choices(values, weights=weights)[0]


class TextMaker:
    def __init__(self, rng: random.Random):
        self.rng = rng

    def fill(self, template: str, zh: bool, order: str, invoice: str) -> str:
        rng = self.rng
        if "{" not in template:
            return template
        name = (rng.choice(SURNAMES_ZH) + rng.choice(GIVEN_ZH) + (rng.choice(GIVEN_ZH) if rng.random() < .5 else "")
                ) if zh else rng.choice(NAMES)
        return template.format(o=order, i=invoice, p=rng.choice(PRODUCTS_ZH if zh else PRODUCTS_EN), n=name,
                               d=rng.randint(2, 60), a=f"{rng.randint(9, 2999)}.{rng.randint(0, 99):02d}")


# ---------------------------------------------------------------------------------------------
def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def admin_url(url: str) -> tuple[str, str]:
    """(conninfo of the maintenance db `postgres`, name of the bench db)."""
    params = conninfo_to_dict(url.replace("postgresql+psycopg://", "postgresql://"))
    dbname = params.get("dbname")
    params["dbname"] = "postgres"
    return make_conninfo(**params), dbname


def reset_database(url: str) -> None:
    admin, dbname = admin_url(url)
    if not dbname or "bench" not in dbname:
        sys.exit(f"refusing to drop database {dbname!r}: its name must contain 'bench'")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))
        conn.execute(sql.SQL("CREATE DATABASE {} ENCODING 'UTF8' TEMPLATE template0").format(
            sql.Identifier(dbname)))


def run_migrations(url: str, revision: str = "head") -> None:
    env = dict(os.environ, DATABASE_URL=url, QUEUE_MODE="sync", SECRET_KEY=os.environ.get("SECRET_KEY", "bench"))
    env.pop("REDIS_URL", None)
    flask = ROOT / ".venv" / "bin" / "flask"
    cmd = [str(flask) if flask.exists() else "flask", "--app", "wsgi", "db", "upgrade", revision]
    res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if res.returncode:
        sys.exit(f"migrations failed:\n{res.stdout}\n{res.stderr}")


BIG_TABLES = ("tickets", "threads", "ticket_tags", "contacts", "contact_identities")


def drop_secondary_indexes(conn) -> list[str]:
    """Drop indexes that back no constraint (they're rebuilt after the load); return their DDL."""
    rows = conn.execute("""
        SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
        FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
        WHERE t.relname = ANY(%s) AND t.relnamespace = 'public'::regnamespace
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
    """, (list(BIG_TABLES),)).fetchall()
    for name, _ddl in rows:
        conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
    return [ddl for _name, ddl in rows]


def _password_hash() -> str:
    sys.path.insert(0, str(ROOT))
    from argon2 import PasswordHasher
    return PasswordHasher().hash(BENCH_PASSWORD)


def load_org(conn, n_contacts: int, now: datetime) -> dict:
    rng = random.Random(SEED)
    pw = _password_hash()
    created = now - timedelta(days=800)
    dept_ids, teams, agents = [], {}, {}
    with conn.cursor() as cur:
        for i, (name, zh, email, _share) in enumerate(DEPARTMENTS, start=1):
            cur.execute("INSERT INTO departments (id, name, name_zh, email, active, created_at) "
                        "VALUES (%s, %s, %s, %s, true, %s)", (i, name, zh, email, created))
            dept_ids.append(i)
        team_id = 0
        for d in dept_ids:
            teams[d] = []
            for name, zh in TEAMS_PER_DEPT:
                team_id += 1
                cur.execute("INSERT INTO teams (id, name, name_zh, department_id, created_at) VALUES (%s,%s,%s,%s,%s)",
                            (team_id, name, zh, d, created))
                teams[d].append(team_id)
        user_cols = ("id, email, name, password_hash, role, language, timezone, capacity, shift_days, availability, "
                     "active, created_at")
        cur.execute(f"INSERT INTO users ({user_cols}) VALUES (1, 'admin@bench.example', 'Bench Admin', %s, 'admin', "
                    "'en', 'UTC', 20, '12345', 'available', true, %s)", (pw, created))
        uid = 1
        for d in dept_ids:
            agents[d] = []
            for k in range(AGENTS_PER_DEPT):
                uid += 1
                n = uid - 1
                zh = n % 3 == 0
                name = (SURNAMES_ZH[n % len(SURNAMES_ZH)] + GIVEN_ZH[n % len(GIVEN_ZH)]) if zh else f"{NAMES[n % len(NAMES)]} {n}"
                role = "supervisor" if k == 0 else "agent"
                cur.execute(f"INSERT INTO users ({user_cols}) VALUES (%s, %s, %s, %s, %s, %s, %s, 20, '12345', "
                            "'available', true, %s)",
                            (uid, f"agent{n}@bench.example", name, pw, role, "zh_Hans" if zh else "en",
                             "Asia/Shanghai" if zh else "Europe/Berlin", created))
                cur.execute("INSERT INTO user_departments (user_id, department_id) VALUES (%s, %s)", (uid, d))
                cur.execute("INSERT INTO team_members (team_id, user_id) VALUES (%s, %s)",
                            (teams[d][k % len(teams[d])], uid))
                agents[d].append(uid)
        n_accounts = max(1, n_contacts // 50)
        with cur.copy("COPY accounts (id, name, tier, created_at) FROM STDIN") as cp:
            for a in range(1, n_accounts + 1):
                cp.write_row((a, f"Account {a:06d}", "vip" if rng.random() < 0.05 else "standard", created))
    with conn.cursor() as cur:
        with cur.copy("COPY contacts (id, name, account_id, tier, language, timezone, created_at) FROM STDIN") as cp:
            for c in range(1, n_contacts + 1):
                zh = contact_is_zh(c)
                name = (rng.choice(SURNAMES_ZH) + rng.choice(GIVEN_ZH) + rng.choice(GIVEN_ZH)) if zh else \
                    f"{rng.choice(NAMES)} {rng.choice('ABCDEFGHJKLMNPRSTW')}."
                cp.write_row((c, name, rng.randint(1, n_accounts) if rng.random() < 0.6 else None,
                              "vip" if rng.random() < 0.02 else None, "zh_Hans" if zh else "en",
                              "Asia/Shanghai" if zh else "UTC", created))
        with cur.copy("COPY contact_identities (id, contact_id, kind, value) FROM STDIN") as cp:
            for c in range(1, n_contacts + 1):
                cp.write_row((c, c, "email", f"customer{c}@example.com"))
    conn.commit()
    return {"dept_ids": dept_ids, "teams": teams, "agents": agents, "n_contacts": n_contacts}


# ---------------------------------------------------------------------------------------------
TICKET_COLS = ("id", "subject", "status", "priority", "channel", "department_id", "team_id", "assignee_id",
               "contact_id", "custom_fields", "first_response_due_at", "resolution_due_at", "created_at",
               "updated_at", "first_response_at", "resolved_at", "last_customer_reply_at", "last_agent_reply_at",
               "thread_count", "search_text", "version")
THREAD_COLS = ("ticket_id", "kind", "channel", "body_html", "body_text", "author_id", "contact_id", "sender",
               "message_id", "delivery_state", "created_at")


def custom_values(rng: random.Random, dept_index: int) -> dict:
    values: dict = {}
    if rng.random() < 0.9:
        values["product"] = rng.choice(CF_PRODUCTS[dept_index])
    if rng.random() < 0.85:  # log-normal order totals: mostly tens to hundreds, a long tail
        values["order_total"] = round(min(50_000.0, rng.lognormvariate(5.0, 1.2)), 2)
    if rng.random() < 0.7:
        values["region"] = rng.choice(CF_REGIONS)
    if rng.random() < 0.5:
        values["warranty"] = rng.random() < 0.6
    return values


def make_tickets(first: int, last: int, n_total: int, org: dict, now: datetime):
    """Yield (ticket_row, [thread_rows], [tags]) for ticket ids first..last (inclusive)."""
    rng = random.Random(SEED * 7919 + first)
    text = TextMaker(rng)
    start = now - timedelta(days=730)
    span = (now - start).total_seconds()
    dept_weights = [d[3] for d in DEPARTMENTS]
    dept_ids = org["dept_ids"]
    tag_values, tag_weights = zip(*TAGS)
    cf_rng = random.Random(SEED * 104729 + first)  # its own stream: the other columns stay as they were
    for tid in range(first, last + 1):
        # created_at grows with the ticket number (the number is the creation order), with jitter.
        created = start + timedelta(seconds=span * (tid - 1) / n_total + rng.uniform(0, 600))
        if created > now:
            created = now - timedelta(seconds=rng.uniform(1, 60))
        age_days = (now - created).total_seconds() / 86400
        is_open = rng.random() < (0.9 if age_days < 14 else 0.288)
        status = weighted(rng, STATUS_OPEN if is_open else STATUS_DONE)
        priority = weighted(rng, PRIORITIES)
        channel = weighted(rng, CHANNELS)
        dept = rng.choices(dept_ids, weights=dept_weights)[0]
        team = rng.choice(org["teams"][dept]) if rng.random() < 0.7 else None
        assigned = status != "new" and rng.random() < (0.95 if not is_open else 0.6)
        assignee = rng.choice(org["agents"][dept]) if assigned else None
        contact = rng.randint(1, org["n_contacts"])
        zh = contact_is_zh(contact) if rng.random() < 0.95 else not contact_is_zh(contact)
        order = f"{rng.randint(10_000_000, 99_999_999)}"
        invoice = f"INV-{created.year}-{rng.randint(1, 999_999):06d}"
        subj = text.fill(rng.choice(SUBJECTS_ZH if zh else SUBJECTS_EN), zh, order, invoice)

        # The conversation: customer, then usually a reply, then sometimes more.
        n_threads = rng.choices((1, 2, 3, 4), weights=(10, 35, 45, 10))[0]
        if status == "new":
            n_threads = 1
        kinds = ["customer", "reply", "customer" if rng.random() < 0.6 else "note", "reply"][:n_threads]
        if status in ("solved", "closed") and n_threads == 1:
            kinds = ["customer", "reply"]
        end = now if is_open else min(now, created + timedelta(hours=rng.uniform(0.5, 240)))
        times = sorted(created + (end - created) * rng.random() for _ in kinds[1:])
        times = [created] + times
        threads, bodies = [], []
        last_cust = last_agent = first_resp = None
        for k, (kind, at) in enumerate(zip(kinds, times)):
            if kind == "customer":
                body = " ".join(text.fill(rng.choice(CUSTOMER_ZH if zh else CUSTOMER_EN), zh, order, invoice)
                                for _ in range(rng.randint(1, 3)))
                if channel == "email":  # mail bodies carry a greeting and a signature
                    body = (f"您好，\n{body}\n谢谢！\n{text.fill('{n}', True, order, invoice)}" if zh else
                            f"Hi,\n{body}\nBest regards,\n{text.fill('{n}', False, order, invoice)}\n"
                            f"Account {contact % 2000:06d}")
                author, c_id = None, contact
                sender = f"customer{contact}@example.com" if channel == "email" else None
                msg_id = f"<bench-{tid}-{k}@mail.example.com>" if channel == "email" else None
                last_cust = at
                state = None
            else:
                pool = (NOTE_ZH if zh else NOTE_EN) if kind == "note" else (REPLY_ZH if zh else REPLY_EN)
                body = text.fill(rng.choice(pool), zh, order, invoice)
                author = assignee or rng.choice(org["agents"][dept])
                c_id, sender, msg_id = None, None, None
                state = "sent" if kind == "reply" and channel == "email" else None
                if kind == "reply":
                    last_agent = at
                    first_resp = first_resp or at
            bodies.append(body)
            threads.append((tid, kind, channel, f"<p>{escape(body)}</p>", body, author, c_id, sender, msg_id,
                            state, at))
        updated = times[-1]
        if is_open and rng.random() < 0.3:  # a status or field change after the last message
            updated = updated + (now - updated) * rng.random()
        resolved = updated if status in ("solved", "closed") else None
        search_text = "\n".join([subj, *bodies])[:SEARCH_TEXT_MAX]
        row = (tid, subj, status, priority, channel, dept, team, assignee, contact,
               json.dumps(custom_values(cf_rng, dept_ids.index(dept))),
               created + timedelta(hours=RESPOND_HOURS[priority]), created + timedelta(hours=RESOLVE_HOURS[priority]),
               created, updated, first_resp, resolved, last_cust, last_agent, len(threads), search_text,
               1 + len(threads) + (1 if assignee else 0))
        tags = []
        if rng.random() < 0.4:
            tags = list(set(rng.choices(tag_values, weights=tag_weights, k=rng.randint(1, 2))))
            if zh and rng.random() < 0.5:
                tags.append("中文")
        yield row, threads, tags


def loader(args):
    """One loader process: COPY tickets first..last in chunks, each chunk in its own transaction."""
    url, first, last, n_total, org, now_iso = args
    now = datetime.fromisoformat(now_iso)
    counts = [0, 0, 0]
    with psycopg.connect(url) as conn:
        conn.execute("SET session_replication_role = replica")  # no FK triggers during the bulk load
        conn.execute("SET synchronous_commit = off")
        gen = make_tickets(first, last, n_total, org, now)
        done = False
        while not done:
            tickets, threads, tags = [], [], []
            for _ in range(CHUNK):
                try:
                    row, th, tg = next(gen)
                except StopIteration:
                    done = True
                    break
                tickets.append(row)
                threads.extend(th)
                tags.extend((row[0], t) for t in tg)
            if not tickets:
                break
            with conn.cursor() as cur:
                with cur.copy(f"COPY tickets ({', '.join(TICKET_COLS)}) FROM STDIN") as cp:
                    for r in tickets:
                        cp.write_row(r)
                with cur.copy(f"COPY threads ({', '.join(THREAD_COLS)}) FROM STDIN") as cp:
                    for r in threads:
                        cp.write_row(r)
                with cur.copy("COPY ticket_tags (ticket_id, tag) FROM STDIN") as cp:
                    for r in tags:
                        cp.write_row(r)
            conn.commit()
            counts[0] += len(tickets)
            counts[1] += len(threads)
            counts[2] += len(tags)
    return counts


def create_indexes(url: str, ddls: list[str], workers: int = 2) -> None:
    """Rebuild the dropped indexes on `workers` connections (the GIN index alone on one of them)."""
    ddls = sorted(ddls, key=lambda d: ("gin" not in d.lower(), "threads" not in d, d))
    queue = list(ddls)
    lock = threading.Lock()
    errors = []

    def work():
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SET maintenance_work_mem = '1GB'")
            conn.execute("SET max_parallel_maintenance_workers = 1")
            while True:
                with lock:
                    if not queue:
                        return
                    ddl = queue.pop(0)
                t0 = time.perf_counter()
                try:
                    conn.execute(ddl)
                except Exception as exc:  # noqa: BLE001 - report all failures at the end
                    errors.append((ddl, exc))
                log(f"  {time.perf_counter() - t0:6.1f}s  {ddl}")

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        sys.exit(f"index rebuild failed: {errors}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--contacts", type=int, default=None, help="default: tickets / 10 (100k for 1M)")
    parser.add_argument("--workers", type=int, default=2, help="loader processes (default 2: one per core)")
    parser.add_argument("--revision", default="head",
                        help="migrate to this revision before loading (e.g. 0001 to measure before 0002)")
    args = parser.parse_args()
    url = args.url.replace("postgresql+psycopg://", "postgresql://")
    n = args.tickets
    n_contacts = args.contacts or max(100, n // 10)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    t_all = time.perf_counter()

    t0 = time.perf_counter()
    reset_database(url)
    log(f"database reset: {time.perf_counter() - t0:.1f}s")
    t0 = time.perf_counter()
    run_migrations(url, args.revision)
    log(f"migrations (flask db upgrade {args.revision}): {time.perf_counter() - t0:.1f}s")

    with psycopg.connect(url) as conn:
        ddls = drop_secondary_indexes(conn)
        conn.commit()
        log(f"dropped {len(ddls)} secondary indexes for the load")
        t0 = time.perf_counter()
        conn.execute("SET session_replication_role = replica")
        org = load_org(conn, n_contacts, now)
        log(f"org: {len(org['dept_ids'])} departments, {sum(map(len, org['teams'].values()))} teams, "
            f"{sum(map(len, org['agents'].values())) + 1} users, {n_contacts} contacts: {time.perf_counter() - t0:.1f}s")

    t0 = time.perf_counter()
    bounds = [round(n * k / args.workers) for k in range(args.workers + 1)]
    jobs = [(url, bounds[k] + 1, bounds[k + 1], n, org, now.isoformat()) for k in range(args.workers)
            if bounds[k + 1] > bounds[k]]
    with mp.get_context("fork").Pool(len(jobs)) as pool:
        results = pool.map(loader, jobs)
    totals = [sum(r[i] for r in results) for i in range(3)]
    load_s = time.perf_counter() - t0
    log(f"COPY: {totals[0]:,} tickets, {totals[1]:,} threads, {totals[2]:,} tags in {load_s:.1f}s "
        f"({totals[0] / load_s:,.0f} tickets/s)")

    with psycopg.connect(url, autocommit=True) as conn:
        for table in ("departments", "teams", "users", "accounts", "contacts", "contact_identities", "tickets"):
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")

    t0 = time.perf_counter()
    log("re-creating indexes:")
    create_indexes(url, ddls, workers=2)
    log(f"indexes: {time.perf_counter() - t0:.1f}s")

    t0 = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("VACUUM (ANALYZE) tickets")
        conn.execute("VACUUM (ANALYZE) threads")
        conn.execute("VACUUM (ANALYZE) ticket_tags")
        conn.execute("ANALYZE")
        log(f"VACUUM ANALYZE: {time.perf_counter() - t0:.1f}s")
        checks = conn.execute("""
            SELECT (SELECT count(*) FROM tickets),
                   (SELECT count(*) FROM threads),
                   (SELECT round(avg(CASE WHEN status IN ('new','open','pending','on_hold') THEN 1 ELSE 0 END), 3)
                      FROM tickets),
                   (SELECT count(*) FROM threads th WHERE NOT EXISTS (SELECT 1 FROM tickets t WHERE t.id = th.ticket_id)),
                   pg_size_pretty(pg_database_size(current_database()))
        """).fetchone()
        log(f"check: {checks[0]:,} tickets, {checks[1]:,} threads, open share {checks[2]}, "
            f"orphan threads {checks[3]}, database size {checks[4]}")
        if checks[3]:
            sys.exit("orphan threads found: the loader is broken")
    log(f"total: {time.perf_counter() - t_all:.1f}s")


if __name__ == "__main__":
    main()
