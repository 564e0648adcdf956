"""Text for the demo desk: names, companies, products and ticket conversations in Chinese and English.

Everything here is plain data; `portal.seed.demo` picks from it with a seeded RNG. Ticket texts are
`str.format_map` templates; the placeholders are filled by `demo._context` ({order}, {product},
{amount}, {invoice}, {invoice2}, {company}, {days}, {serial}, {rma}, {tracking}, {claim}, {last4},
{paid_on}, {until}, {ref}, {os}, {version}, {bug}, {error}).

The vocabulary follows the product's seed documents (Zoho Desk articles): 退换货/换货/退款,
技术支持, 账单/发票, and the workflow-rule example "票的身体包含'手机升温'" -> 手机发热: raise the
priority and hand the ticket to the replacements team (换货组).
"""
from __future__ import annotations

from dataclasses import dataclass

# A reserved (RFC 2606) domain that form validators accept, so nothing can reach a real mailbox.
DEMO_DOMAIN = "demo.example.com"

# ---------------------------------------------------------------------------------------------
# Organisation
# ---------------------------------------------------------------------------------------------
# key: (name, name_zh, email local part)
DEPARTMENTS = {
    "returns": ("Returns", "退换货", "returns"),
    "tech": ("Tech support", "技术支持", "support"),
    "billing": ("Billing", "账单", "billing"),
}

# key: (department key, name, name_zh)
TEAMS = {
    "replacements": ("returns", "Replacements", "换货组"),
    "refunds": ("returns", "Refunds", "退款组"),
    "tier1": ("tech", "Tier 1", "一线"),
    "senior": ("tech", "Senior", "资深组"),
    "invoices": ("billing", "Invoices", "发票组"),
    "payments": ("billing", "Payments", "付款组"),
}

SKILLS = ("billing", "chinese", "english", "hardware", "refunds", "software")


@dataclass(frozen=True)
class StaffMember:
    local: str  # email local part at DEMO_DOMAIN
    name: str
    role: str
    language: str
    timezone: str
    departments: tuple[str, ...]
    teams: tuple[str, ...]
    skills: tuple[str, ...]
    shift: tuple[int, int, str]  # start hour, end hour (agent's own time zone), ISO weekday digits
    capacity: int
    availability: str = "available"

    @property
    def email(self) -> str:
        return f"{self.local}@{DEMO_DOMAIN}"


STAFF = (
    StaffMember("admin", "Dana Whitfield", "admin", "en", "Europe/London", (), (), ("english",),
                (9, 17, "12345"), 10),
    StaffMember("chen.jing", "陈静", "supervisor", "zh_Hans", "Asia/Shanghai", ("returns", "billing"),
                ("refunds", "invoices"), ("billing", "chinese", "english", "refunds"), (9, 18, "12345"), 15),
    StaffMember("mark.jensen", "Mark Jensen", "supervisor", "en", "Europe/Berlin", ("tech",), ("senior",),
                ("english", "hardware", "software"), (8, 16, "12345"), 15),
    # li.na works in Returns only, tom.becker in Tech support only, sarah.miller in Billing only:
    # the department-scoping checks rely on these three.
    StaffMember("li.na", "李娜", "agent", "zh_Hans", "Asia/Shanghai", ("returns",), ("replacements", "refunds"),
                ("chinese", "refunds"), (9, 18, "12345"), 25),
    StaffMember("tom.becker", "Tom Becker", "agent", "en", "Europe/Berlin", ("tech",), ("tier1",),
                ("english", "software"), (8, 17, "12345"), 25),
    StaffMember("zhang.wei", "张伟", "agent", "zh_Hans", "Asia/Shanghai", ("tech", "returns"),
                ("senior", "replacements"), ("chinese", "hardware"), (10, 19, "23456"), 20),
    StaffMember("sarah.miller", "Sarah Miller", "agent", "en", "America/New_York", ("billing",),
                ("invoices", "payments"), ("billing", "english"), (9, 17, "12345"), 25, "away"),
    StaffMember("liu.yang", "刘洋", "agent", "zh_Hans", "Asia/Shanghai", ("billing", "returns"),
                ("payments", "refunds"), ("billing", "chinese", "english", "refunds"), (9, 18, "12345"), 20),
    StaffMember("priya.nair", "Priya Nair", "agent", "en", "Asia/Kolkata", ("tech",), ("tier1",),
                ("english", "software"), (10, 19, "12345"), 30),
    StaffMember("wang.lei", "王磊", "agent", "zh_Hans", "Asia/Shanghai", ("returns",), ("replacements",),
                ("chinese", "hardware"), (13, 22, "34567"), 20, "offline"),
    StaffMember("james.oconnor", "James O'Connor", "agent", "en", "America/New_York", ("tech",), ("senior",),
                ("english", "hardware", "software"), (9, 17, "12345"), 20),
    StaffMember("zhao.min", "赵敏", "agent", "zh_Hans", "Asia/Shanghai", ("billing", "tech"), ("invoices", "tier1"),
                ("billing", "chinese", "english", "software"), (8, 17, "12345"), 25),
)

# ---------------------------------------------------------------------------------------------
# Customers
# ---------------------------------------------------------------------------------------------
# (name, email domain, language, tier). Domains are under the reserved .example TLD: no demo
# notification can ever reach a real mailbox.
ACCOUNTS = (
    ("星辰科技有限公司", "xingchen-tech.example", "zh_Hans", "vip"),
    ("Northwind Traders", "northwind.example", "en", "standard"),
    ("蓝海电子商务", "lanhai.example", "zh_Hans", "standard"),
    ("Acme Robotics GmbH", "acme-robotics.example", "en", "vip"),
    ("华夏书局", "huaxia-books.example", "zh_Hans", "standard"),
    ("Globex Retail", "globex.example", "en", "standard"),
    ("云杉软件", "yunshan-soft.example", "zh_Hans", "vip"),
    ("Initech Ltd", "initech.example", "en", "standard"),
    ("青木贸易", "qingmu-trade.example", "zh_Hans", "standard"),
    ("Blue Harbor Hotels", "blueharbor.example", "en", "standard"),
)
CONSUMER_DOMAINS = ("example.com", "example.net", "example.org", "mail.example")

ZH_SURNAMES = (("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
               ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"),
               ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("林", "lin"),
               ("高", "gao"), ("罗", "luo"))
ZH_GIVEN = (("芳", "fang"), ("秀英", "xiuying"), ("敏", "min"), ("静", "jing"), ("丽", "li"), ("强", "qiang"),
            ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"), ("艳", "yan"), ("杰", "jie"),
            ("娟", "juan"), ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("秀兰", "xiulan"), ("霞", "xia"),
            ("平", "ping"), ("刚", "gang"), ("晓东", "xiaodong"), ("雨桐", "yutong"), ("子涵", "zihan"),
            ("浩然", "haoran"), ("欣怡", "xinyi"), ("思远", "siyuan"))
EN_FIRST = ("Emma", "Liam", "Olivia", "Noah", "Ava", "Ethan", "Sophia", "Lucas", "Mia", "Mason", "Isabella",
            "Logan", "Charlotte", "Oliver", "Amelia", "Elijah", "Harper", "Daniel", "Hannah", "Felix", "Greta",
            "Jonas", "Chloe", "Samuel", "Nora", "Leon", "Zoe", "Ryan", "Laura", "Max")
EN_LAST = ("Smith", "Johnson", "Brown", "Taylor", "Anderson", "Thomas", "Jackson", "White", "Harris", "Martin",
           "Thompson", "Garcia", "Clark", "Lewis", "Walker", "Young", "Allen", "King", "Wright", "Scott",
           "Müller", "Schmidt", "Fischer", "Dubois", "Rossi", "Kowalski", "Novak", "Evans", "Murphy", "Kelly")
ZH_TIMEZONES = ("Asia/Shanghai",) * 8 + ("Asia/Hong_Kong", "Asia/Taipei", "Asia/Singapore")
EN_TIMEZONES = ("America/New_York", "America/Chicago", "America/Los_Angeles", "Europe/London", "Europe/Berlin",
                "Europe/Paris", "Australia/Sydney", "Asia/Singapore")

# key: (kind, Chinese name, English name, price in CNY)
PRODUCTS = {
    "x12": ("phone", "星耀 X12 手机", "Nova X12 phone", 3299),
    "x12pro": ("phone", "星耀 X12 Pro 手机", "Nova X12 Pro phone", 4999),
    "slate": ("tablet", "Slate 10 平板", "Slate 10 tablet", 2499),
    "buds": ("earbuds", "Aero 无线耳机", "Aero wireless earbuds", 599),
    "watch": ("watch", "Pulse 智能手表", "Pulse smartwatch", 1299),
    "charger": ("charger", "Volt 65W 充电器", "Volt 65W charger", 199),
}

# ---------------------------------------------------------------------------------------------
# Ticket topics
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Texts:
    subjects: tuple[str, ...]
    bodies: tuple[str, ...]
    ask: str      # the agent asks for something: the ticket goes to pending
    info: str     # the customer answers
    fix: str      # the agent solves it
    note: str     # an internal note between agents


@dataclass(frozen=True)
class Topic:
    key: str
    department: str
    team: str
    tags: tuple[str, ...]
    priority: tuple[int, int, int, int]  # weights for low, normal, high, urgent
    zh: Texts
    en: Texts
    products: tuple[str, ...] = tuple(PRODUCTS)
    skill: str | None = None
    weight: int = 2
    transfer_to: str | None = None  # department a ticket may be moved to mid-conversation


PHONES = ("x12", "x12pro")
DEVICES = ("x12", "x12pro", "slate", "watch")

TOPICS = (
    # ---- Returns 退换货 ------------------------------------------------------------------------
    Topic(
        "overheating_replacement", "returns", "replacements", ("手机发热", "replacement"), (0, 2, 6, 2),
        products=PHONES, skill="hardware", weight=4,
        zh=Texts(
            ("手机发热严重，申请换货", "新买的手机发热烫手", "手机发热，充电时特别烫"),
            ("你好，我{days}天前买的{product}（订单号 {order}），充电和玩游戏的时候手机发热很严重，摸着烫手，"
             "屏幕亮度还会自动变暗。这是正常的吗？如果是质量问题，我想换一台新的。",
             "手机发热太厉害了，刚开机十分钟就很烫，订单 {order}。担心电池有问题，请尽快帮我换货。"),
            "为了尽快为您办理换货，请提供手机的序列号（设置 > 关于手机），如果方便，再拍一段手机发热时温度提示的视频。",
            "序列号是 {serial}，视频已经附上了，麻烦看一下。",
            "我们已确认是该批次电池的问题，已为您安排换新，换货单号 {rma}。新机 2–3 个工作日内寄出，旧机交给上门取件的快递员即可。",
            "同一批次本周已有多起手机发热投诉，已反馈给质量部门。"),
        en=Texts(
            ("Phone overheating – requesting a replacement", "New phone gets very hot",
             "{product} overheating while charging"),
            ("Hello, I bought a {product} {days} days ago (order {order}). It gets really hot when charging or "
             "gaming, to the point that the screen dims itself. Is this normal? If it's a defect I'd like a "
             "replacement.",
             "My new phone overheats within ten minutes of switching it on (order {order}). I'm worried about "
             "the battery – please replace it."),
            "To get the replacement started, could you send us the serial number (Settings > About phone) and, "
            "if possible, a short video of the temperature warning?",
            "Serial number is {serial}. I've attached a short video of the warning.",
            "We've confirmed this is a known issue with one battery batch. A replacement is on its way "
            "(RMA {rma}) and should arrive within 2–3 business days; the courier will collect the old phone.",
            "Another overheating report from the same batch this week – flagged to QA.")),
    Topic(
        "refund_request", "returns", "refunds", ("refund", "退款"), (2, 6, 1, 0), skill="refunds", weight=3,
        zh=Texts(
            ("申请退款：订单 {order}", "不想要了，怎么退款？", "七天无理由退货退款"),
            ("您好，订单 {order} 的{product}还没拆封，我想申请七天无理由退货退款，金额 {amount}。请问怎么操作？",
             "买的{product}不太合适，想退货退款，订单号 {order}。"),
            "请在订单页面提交退货申请，并把商品寄回，包裹里请附上订单号。收到退货后我们会在 3 个工作日内退款。",
            "已经寄回了，快递单号 {tracking}。",
            "退货已签收，{amount} 已原路退回，预计 1–5 个工作日到账。",
            "商品已入库检验，包装完好，可以退款。"),
        en=Texts(
            ("Refund request for order {order}", "Please refund my order", "I'd like to return my {product}"),
            ("Hi, I'd like to return the {product} from order {order} – it's still sealed. Could you refund the "
             "{amount} to my original payment method?",
             "The {product} isn't what I expected. How do I return it for a refund? Order {order}."),
            "Please start a return from the order page and ship the item back with the order number inside "
            "the parcel. We refund within 3 business days of receiving it.",
            "Shipped it back today, tracking number {tracking}.",
            "We've received your return and refunded {amount} to your original payment method. It can take "
            "1–5 business days to show up.",
            "Warehouse confirms the item came back in resellable condition – OK to refund.")),
    Topic(
        "wrong_item", "returns", "replacements", ("wrong-item", "换货"), (0, 5, 3, 0), weight=2,
        zh=Texts(
            ("收到的商品和订单不符", "发错货了", "颜色发错了，要求换货"),
            ("我订的是黑色的{product}，收到的却是白色的，订单号 {order}。请帮我换成正确的颜色。",
             "打开包裹发现发错货了，根本不是我买的{product}。订单 {order}，请尽快处理。"),
            "非常抱歉给您带来不便！请拍一张外包装标签的照片发给我们，核实后马上为您补发。",
            "照片已上传，请查收。",
            "正确的商品已经补发，快递单号 {tracking}。错发的商品请用我们发给您的免费退货标签寄回即可。",
            "仓库拣货错误，已通知仓库主管。"),
        en=Texts(
            ("Received the wrong item", "Wrong colour delivered for order {order}"),
            ("I ordered a black {product} but received a white one (order {order}). Please send the right one.",
             "The parcel for order {order} contains something I never ordered instead of my {product}."),
            "Sorry about the mix-up! Could you send a photo of the label on the box? We'll ship the correct "
            "item as soon as we've checked.",
            "Photo attached.",
            "The correct item has shipped (tracking {tracking}). Please send the wrong one back with the prepaid "
            "label we've emailed you.",
            "Picking error at the warehouse; reported to the warehouse lead.")),
    Topic(
        "damaged", "returns", "replacements", ("damaged", "shipping"), (0, 3, 5, 1), weight=2,
        zh=Texts(
            ("快递到货破损", "收到时屏幕已经碎了"),
            ("今天收到包裹，外箱被压坏了，{product}的屏幕有裂痕。订单 {order}，请问怎么处理？",
             "快递送到时盒子就是破的，{product}摔坏了，开不了机。订单号 {order}。"),
            "请提供外包装和商品破损处的照片，我们需要向物流公司提交理赔。",
            "照片发过去了，一共三张。",
            "已为您安排换新，新品今天发出，无需等待物流理赔结果。快递单号 {tracking}。",
            "已向快递公司提交理赔，理赔单号 {claim}。"),
        en=Texts(
            ("Item arrived damaged", "Cracked screen on delivery"),
            ("The parcel arrived crushed today and the {product} has a cracked screen. Order {order}. What do I "
             "do now?",
             "My {product} arrived broken – the box was torn open and it won't switch on. Order {order}."),
            "Please send photos of the box and the damage – we need them for the courier claim.",
            "Sent three photos just now.",
            "We've shipped a replacement today (tracking {tracking}) – no need to wait for the courier claim.",
            "Claim {claim} filed with the courier.")),
    Topic(
        "refund_status", "returns", "refunds", ("refund", "refund-status"), (1, 5, 2, 0), skill="refunds",
        zh=Texts(
            ("退款什么时候到账？", "退款一直没收到"),
            ("我 {days} 天前退回了订单 {order} 的商品，到现在还没收到退款，请帮忙查一下。",
             "退货早就签收了，退款 {amount} 还没到账，订单 {order}。"),
            "请问您当时使用的付款方式是什么？如果是信用卡，请提供卡号后四位以便我们查询。",
            "是信用卡，后四位 {last4}。",
            "已查到退款已于 {paid_on} 处理，银行入账一般需要 3–7 个工作日，参考号 {ref}。",
            "财务系统显示退款已发起，银行处理中。"),
        en=Texts(
            ("Where is my refund?", "Refund not received for order {order}"),
            ("I returned order {order} {days} days ago and still haven't seen the refund. Can you check?",
             "You confirmed receiving my return but the {amount} refund never arrived (order {order})."),
            "Which payment method did you use? If it was a card, please send the last four digits so we can "
            "trace it.",
            "It was a Visa ending in {last4}.",
            "The refund was processed on {paid_on}; banks usually take 3–7 business days. Reference: {ref}.",
            "Payments dashboard shows the refund issued; pending at the bank.")),
    # ---- Tech support 技术支持 -------------------------------------------------------------------
    Topic(
        "login", "tech", "tier1", ("login", "account"), (0, 5, 3, 1), skill="software", weight=3,
        zh=Texts(
            ("无法登录账户", "登录时一直提示密码错误", "账号被锁定了"),
            ("我用手机号登录，一直提示“密码错误”，重置密码后还是登不上，现在账号被锁定了。请帮帮我。",
             "今天早上开始就登录不了，输入验证码后页面一直转圈。"),
            "请问您是在 App 还是网页上登录？方便的话请提供报错截图和大概的登录时间。",
            "在 App 上，截图已附上，大概是昨晚十点左右。",
            "已为您解除账户锁定，请用“忘记密码”重新设置后登录。建议开启两步验证。",
            "多次失败的登录来自不同 IP，已请安全组看一下。"),
        en=Texts(
            ("Can't log in to my account", "Account locked after password reset", "Login keeps saying wrong password"),
            ("I keep getting 'incorrect password' even after resetting it, and now my account is locked. "
             "Please help.",
             "Since this morning the login page just spins after I enter the code."),
            "Are you signing in on the app or the website? A screenshot of the error and the approximate time "
            "would help.",
            "On the app, around 10pm last night. Screenshot attached.",
            "I've unlocked your account. Please set a new password with 'Forgot password' and sign in again – "
            "turning on two-step verification is recommended.",
            "The failed logins came from several IPs – asked security to take a look.")),
    Topic(
        "password_reset", "tech", "tier1", ("password-reset", "email"), (1, 6, 1, 0), skill="software",
        zh=Texts(
            ("收不到重置密码的邮件", "忘记密码，重置邮件没收到"),
            ("点击“忘记密码”后一直收不到邮件，垃圾箱也看过了。",
             "重置密码的邮件等了一个小时都没来，请帮忙看看。"),
            "请确认您注册时使用的邮箱地址，我们查一下发信记录。",
            "注册用的就是这个邮箱，没错。",
            "您的邮箱服务商拦截了我们的邮件，我们已手动发送重置链接，24 小时内有效。",
            "该邮箱域名在退信列表里，已移除。"),
        en=Texts(
            ("Password reset email never arrives", "No reset link in my inbox"),
            ("I've clicked 'Forgot password' three times and no email arrives – not in spam either.",
             "Waited an hour for the password reset email. Nothing."),
            "Could you confirm the email address on the account? We'll check the mail logs.",
            "Yes, it's this address.",
            "Your mail provider was rejecting our messages. I've sent a reset link manually; it's valid for "
            "24 hours.",
            "Domain was on our bounce list; removed it.")),
    Topic(
        "app_crash", "tech", "senior", ("app", "crash"), (0, 4, 4, 1), products=DEVICES, skill="software",
        zh=Texts(
            ("App 打开就闪退", "更新后 App 闪退"),
            ("昨天更新到最新版本后，App 一打开就闪退，重装也没用。设备是{product}，系统版本 {os}。",
             "App 在{product}上一进支付页面就闪退，试了好几次了。"),
            "请在设置中打开“诊断日志”，复现一次闪退后把日志文件发给我们。",
            "日志已经上传了。",
            "问题已在 {version} 版本修复，请在应用商店更新后重试。",
            "崩溃日志指向新版本的图片缓存，已提交研发工单 DEV-{bug}。"),
        en=Texts(
            ("App crashes on startup", "App crashes after the latest update"),
            ("Since yesterday's update the app closes immediately on launch. Reinstalling didn't help. Device: "
             "{product}, OS {os}.",
             "The app crashes every time I open the payment screen on my {product}."),
            "Please switch on 'Diagnostic logs' in Settings, reproduce the crash once and send us the log file.",
            "Log uploaded.",
            "This is fixed in version {version}, now in the app store – please update and try again.",
            "Stack trace points at the new image cache – filed DEV-{bug}.")),
    Topic(
        "overheating_battery", "tech", "senior", ("手机发热", "battery"), (0, 3, 5, 1), products=PHONES,
        skill="hardware", weight=3, transfer_to="returns",
        zh=Texts(
            ("手机发热、耗电快", "手机发热是正常的吗？", "手机发热严重，电池一天都撑不住"),
            ("最近{product}手机发热很明显，待机一晚上掉电 30%，是不是电池坏了？",
             "手机发热，后盖摸着烫手，而且耗电特别快。买了才 {days} 天，订单 {order}。"),
            "请在“设置 > 电池”中截图耗电排行发给我们，看看是哪个应用在后台耗电。",
            "截图发了，排第一的是一个导航应用。",
            "是导航应用在后台持续定位导致手机发热，关闭它的后台定位权限即可。如果仍然发热，可以预约免费检测。",
            "如果排除软件原因，转退换货部门换货。"),
        en=Texts(
            ("Phone overheating and battery draining fast", "Is it normal for my phone to get this hot?"),
            ("Lately my {product} gets hot and loses 30% overnight on standby. Is the battery failing?",
             "The back of my phone is hot to the touch and the battery is gone by lunchtime. Bought it "
             "{days} days ago, order {order}."),
            "Could you send a screenshot of Settings > Battery so we can see which app is draining it?",
            "Screenshot attached – a navigation app is at the top.",
            "The navigation app was using GPS in the background, which heats the phone up. Turn off its "
            "background location; if it still runs hot, book a free check-up.",
            "If it isn't software, move it to Returns for a replacement.")),
    Topic(
        "bluetooth", "tech", "tier1", ("bluetooth", "pairing"), (1, 6, 1, 0), products=("buds", "watch"),
        skill="hardware",
        zh=Texts(
            ("蓝牙耳机连接不上", "{product}配对失败"),
            ("{product}和手机配对不上，一直显示“连接失败”，已经重启过了。",
             "{product}连上以后几秒就断开，反复好几次。"),
            "请把设备放回充电盒（或充电座），长按按钮 10 秒直到指示灯闪白光，然后重新配对，告诉我们结果。",
            "试了，还是不行，指示灯闪红灯。",
            "红灯说明固件需要更新，我们已通过 App 推送固件 {version}，更新后即可正常配对。",
            "固件 {version} 之前的版本有这个已知问题。"),
        en=Texts(
            ("Bluetooth won't pair", "{product} keeps disconnecting"),
            ("My {product} won't pair with my phone – it says 'Couldn't connect' every time. I've restarted both.",
             "The {product} connects and then drops after a few seconds, again and again."),
            "Please put the device in its case or dock, hold the button for 10 seconds until the light flashes "
            "white, then pair again and let us know.",
            "Tried it – still no luck, and the light flashes red.",
            "A red light means the firmware needs an update. We've pushed firmware {version} through the app; "
            "pairing works after the update.",
            "Known issue before firmware {version}.")),
    Topic(
        "update_failed", "tech", "senior", ("firmware", "update"), (1, 5, 2, 0), products=DEVICES,
        zh=Texts(
            ("系统更新失败", "升级到 99% 报错"),
            ("{product}系统更新到 99% 就报错“安装失败”，重试好几次了。",
             "{product}升级后一直卡在开机画面。"),
            "请确认设备剩余存储空间是否大于 5GB，电量是否高于 50%。",
            "空间有 20G，电量也是满的。",
            "请用电脑端工具升级，步骤见我们发的说明。我们已远程确认您的设备可以升级。",
            "可能是分区表的问题，需要资深组跟进。"),
        en=Texts(
            ("Software update fails at 99%", "Stuck on the boot screen after updating"),
            ("The system update on my {product} gets to 99% and then says 'Installation failed'. Tried several "
             "times.",
             "My {product} has been stuck on the boot logo since the update."),
            "Please check you have more than 5 GB free and the battery is above 50%.",
            "20 GB free and fully charged.",
            "Please update with the desktop tool (instructions emailed); we've confirmed remotely that your "
            "device is eligible.",
            "Looks like a partition issue; may need the senior team.")),
    Topic(
        "two_factor", "tech", "tier1", ("2fa", "account"), (0, 3, 5, 1), skill="software",
        zh=Texts(
            ("换手机后无法完成两步验证", "两步验证收不到验证码"),
            ("我换了新手机，旧手机上的验证器没了，现在登录需要验证码，进不去账户。",
             "登录时两步验证的短信验证码一直收不到。"),
            "为了保护您的账户安全，请上传身份证明并回答注册时设置的安全问题。",
            "资料已上传。",
            "身份已核实，两步验证已重置，请在新手机上重新绑定。",
            "已核对身份证件，与账户信息一致。"),
        en=Texts(
            ("Lost my two-factor device", "2FA code never arrives"),
            ("I replaced my phone and lost the authenticator app, so I can't get past the login code.",
             "The SMS code for two-step verification never arrives."),
            "To protect your account we need to check it's you: please upload ID and answer your security "
            "question.",
            "Done, ID uploaded.",
            "Verified – I've reset two-step verification. Please set it up again on your new phone.",
            "ID matches the account holder.")),
    # ---- Billing 账单 ------------------------------------------------------------------------------
    Topic(
        "invoice_request", "billing", "invoices", ("invoice", "发票"), (1, 6, 1, 0), skill="billing", weight=3,
        zh=Texts(
            ("需要开具增值税专用发票", "申请开发票：订单 {order}", "发票什么时候能开？"),
            ("订单 {order}，金额 {amount}，需要开具增值税专用发票。公司名称：{company}，税号见附件。",
             "上个月的订单 {order} 还没收到发票，报销急用，麻烦尽快开一下。"),
            "请补充开户银行及账号、注册地址和电话，专票需要这些信息。",
            "信息已补充，请查收。",
            "发票 {invoice} 已开具，电子版已发送到您的邮箱，纸质版随后寄出。",
            "专票需要财务审核，已提交。"),
        en=Texts(
            ("Need a VAT invoice for order {order}", "Please send an invoice", "Invoice missing for last month"),
            ("Could you send a VAT invoice for order {order} ({amount})? Company: {company}. Our VAT ID is in the "
             "attachment.",
             "We still haven't received an invoice for order {order}; our accounts team needs it this week."),
            "We also need your registered address and VAT number on file – could you confirm them?",
            "Details added below.",
            "Invoice {invoice} has been issued and emailed to you.",
            "VAT invoice needs finance sign-off – submitted.")),
    Topic(
        "invoice_wrong", "billing", "invoices", ("invoice", "correction"), (1, 5, 2, 0), skill="billing",
        zh=Texts(
            ("发票抬头错误，需要重开", "发票金额不对"),
            ("收到的发票 {invoice} 抬头写错了，应该是“{company}”，请重开。",
             "发票 {invoice} 上的金额和订单 {order} 不一致，应该是 {amount}。"),
            "请把原发票退回或提供红冲所需的信息，我们再为您重新开具。",
            "原发票已寄回。",
            "原发票已红冲，新发票 {invoice2} 已开具并发送到您的邮箱。",
            "客户的开票信息在账户资料里也是错的，已一并更正。"),
        en=Texts(
            ("Wrong company name on invoice {invoice}", "Invoice amount doesn't match the order"),
            ("Invoice {invoice} has the wrong company name; it should be {company}. Please reissue.",
             "Invoice {invoice} doesn't match order {order} – it should be {amount}."),
            "Please confirm the exact legal name and address so we can cancel and reissue it.",
            "Legal name and address below.",
            "Invoice {invoice} is cancelled and {invoice2} has been issued with the corrected details.",
            "The account record had the wrong name too – fixed it there as well.")),
    Topic(
        "double_charge", "billing", "payments", ("payment", "double-charge"), (0, 2, 5, 3), skill="billing",
        weight=2,
        zh=Texts(
            ("重复扣款", "同一笔订单被扣了两次钱"),
            ("订单 {order} 付款时银行卡被扣了两次 {amount}，请尽快退回多扣的钱！",
             "刚才支付失败重试了一次，结果扣了两笔 {amount}，订单 {order}。"),
            "请提供银行流水截图（可以遮挡敏感信息），我们核对一下支付记录。",
            "截图已发送。",
            "确认第二笔为重复扣款，{amount} 已退回，预计 3–5 个工作日到账。",
            "支付网关超时重试导致重复扣款，本周第 4 例了。"),
        en=Texts(
            ("Charged twice", "Double charge on my card for order {order}"),
            ("My card was charged {amount} twice for order {order}. Please refund the duplicate as soon as "
             "possible.",
             "Checkout failed, I retried, and now there are two charges of {amount}. Order {order}."),
            "Could you send a screenshot of your statement (hide anything sensitive) so we can match the "
            "transactions?",
            "Statement screenshot attached.",
            "Confirmed the second charge was a duplicate; {amount} has been refunded and should show in 3–5 "
            "business days.",
            "Gateway timeout retry caused the duplicate – 4th this week.")),
    Topic(
        "subscription_cancel", "billing", "payments", ("subscription", "cancel"), (4, 4, 0, 0),
        zh=Texts(
            ("取消自动续费", "如何取消会员订阅？"),
            ("我不想再续费会员了，请帮我取消自动续费，并确认下个月不会再扣款。",
             "会员到期后不想续了，在哪里关闭自动续费？"),
            "请确认要取消的账户邮箱。取消后，当前周期内的权益仍然有效。",
            "就是这个邮箱。",
            "已为您关闭自动续费，当前会员有效期至 {until}，之后不会再扣款。",
            "客户提到价格太高，可以考虑挽留优惠。"),
        en=Texts(
            ("Cancel my subscription", "Please stop auto-renewal"),
            ("Please cancel my subscription and confirm I won't be charged next month.",
             "How do I turn off auto-renewal? I don't want to renew."),
            "Can you confirm the account email? You'll keep access until the end of the current period.",
            "Yes, this email.",
            "Auto-renewal is off. Your plan stays active until {until} and you won't be charged again.",
            "Customer mentioned price – a retention offer is possible.")),
    Topic(
        "payment_failed", "billing", "payments", ("payment", "declined"), (0, 5, 3, 0), skill="billing",
        zh=Texts(
            ("付款失败", "支付时提示交易被拒绝"),
            ("用信用卡付款一直提示“交易被拒绝”，卡里余额是够的。",
             "下单时付款失败了好几次，订单 {order} 一直是待付款状态。"),
            "请问提示的具体错误代码是什么？",
            "错误代码 {error}。",
            "{error} 表示发卡行拒绝了这笔交易，请联系银行开通网上支付，或改用支付宝、微信支付。",
            "网关日志里没有异常。"),
        en=Texts(
            ("Payment declined at checkout", "Card keeps getting declined"),
            ("My card keeps getting declined at checkout even though it works everywhere else.",
             "Payment failed several times; order {order} is stuck at 'awaiting payment'."),
            "What's the exact error code shown?",
            "Error code {error}.",
            "{error} means your bank declined the transaction – please ask them to allow it, or pay with "
            "PayPal instead.",
            "Nothing on our side in the gateway logs.")),
    Topic(
        "price_drop", "billing", "payments", ("price-protection",), (5, 3, 0, 0), skill="billing", weight=1,
        zh=Texts(
            ("买完就降价了，能退差价吗？",),
            ("我 {days} 天前买的{product}，今天降价了 {amount}，请问能退差价吗？",),
            "请提供订单号，我们确认是否在 15 天价保期内。",
            "订单号 {order}。",
            "在价保期内，差价 {amount} 已退回您的账户余额。",
            "价保政策适用。"),
        en=Texts(
            ("Price dropped right after I bought it",),
            ("I bought the {product} {days} days ago and it's now {amount} cheaper. Can I get the difference back?",),
            "Please send your order number so we can check it's within the 15-day price protection.",
            "Order {order}.",
            "You're within price protection; {amount} has been credited to your account.",
            "Price protection applies.")),
)

# ---------------------------------------------------------------------------------------------
# Conversation pieces shared by every topic (per language)
# ---------------------------------------------------------------------------------------------
GREETING = {"zh": "{name}您好，\n\n", "en": "Hi {first},\n\n"}
SIGNATURE = {"zh": "\n\n{agent}\n{department}", "en": "\n\nBest regards,\n{agent}\n{department} team"}
PHONE_PREFIX = {"zh": "【电话记录】客户来电：", "en": "[Phone call] Customer says: "}
ACK = {
    "zh": ("感谢您的耐心等待，我们已经收到您的问题，正在核实中，有进展会第一时间通知您。",
           "收到，我们正在处理，请稍候。"),
    "en": ("Thanks for your patience – we've picked this up and are looking into it. We'll update you as soon "
           "as we know more.",
           "Got it, we're on it and will get back to you shortly."),
}
NUDGE = {
    "zh": ("请问处理得怎么样了？已经等了好几天。", "还没有回复吗？比较着急，麻烦尽快。", "有进展了吗？"),
    "en": ("Any update on this?", "Still waiting to hear back – this is urgent for me.", "Hello? Anyone?"),
}
THANKS = {
    "zh": ("好的，已经解决了，谢谢！", "收到，非常感谢你们的帮助。", "可以了，谢谢客服。"),
    "en": ("That worked, thanks a lot!", "All sorted now – thank you for the quick help.", "Perfect, thanks."),
}
HOLD_REPLY = {
    "zh": "我们需要与{party}确认，预计需要 2–3 个工作日，期间有进展会随时告诉您。",
    "en": "We need to check with {party}; this may take 2–3 business days and we'll keep you posted.",
}
HOLD_PARTIES = {
    "zh": ("仓库", "供应商", "研发团队", "财务部门"),
    "en": ("the warehouse", "our supplier", "engineering", "finance"),
}
HOLD_NOTES = {
    "zh": ("等仓库确认库存后再回复客户。", "已联系供应商，等待答复。", "需要研发确认，先挂起。"),
    "en": ("Waiting on the warehouse to confirm stock before replying.", "Vendor contacted; waiting for "
           "their answer.", "Parked until engineering confirms."),
}
ESCALATION_NOTES = {  # (a VIP, a customer who keeps chasing)
    "zh": ("VIP 客户，已提高优先级，请优先处理。", "客户催了好几次，提高优先级。"),
    "en": ("VIP customer – raised the priority, please handle first.", "Customer has chased several times; "
           "bumping the priority."),
}
TRANSFER_NOTES = {
    "zh": "排除了软件原因，判断为硬件问题，转给退换货部门安排换货。",
    "en": "Ruled out software – looks like hardware. Moving to Returns for a replacement.",
}
