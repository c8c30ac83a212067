"""The Acme Shop demo warehouse: schema, deterministic rows, and loaders for DuckDB and PostgreSQL.

Every row comes from one seeded `random.Random` and fixed base dates, never the wall clock, so
that every run (and every test, and every screenshot in the docs) sees the same customers.
"""

from __future__ import annotations

import functools
import random
from datetime import date, datetime, timedelta
from typing import Any

SEED = 20240501
CUSTOMER_COUNT = 1200
PRODUCT_COUNT = 60
ORDER_COUNT = 3000
TICKET_COUNT = 600
WEB_EVENT_COUNT = 10000

# Fixed base dates: the shop's history runs from 2022 to the end of 2024.
HISTORY_START = datetime(2022, 1, 1, 8, 0, 0)
HISTORY_END = datetime(2024, 12, 31, 22, 0, 0)

SCHEMA_DDL: list[str] = [
    "CREATE SCHEMA shop",
    """CREATE TABLE shop.customers (
    id integer PRIMARY KEY,
    email text NOT NULL,
    full_name text NOT NULL,
    phone text,
    birth_date date,
    country text NOT NULL,
    marketing_consent boolean NOT NULL,
    created_at timestamp NOT NULL
)""",
    """CREATE TABLE shop.products (
    id integer PRIMARY KEY,
    name text NOT NULL,
    category text NOT NULL,
    price_cents bigint NOT NULL
)""",
    """CREATE TABLE shop.orders (
    id integer PRIMARY KEY,
    customer_id integer NOT NULL,
    ordered_at timestamp NOT NULL,
    status text NOT NULL,
    total_cents bigint NOT NULL
)""",
    """CREATE TABLE shop.order_items (
    order_id integer NOT NULL,
    product_id integer NOT NULL,
    quantity integer NOT NULL,
    PRIMARY KEY (order_id, product_id)
)""",
    """CREATE TABLE shop.payments (
    id integer PRIMARY KEY,
    order_id integer NOT NULL,
    paid_at timestamp NOT NULL,
    card_number text NOT NULL,
    amount_cents bigint NOT NULL
)""",
    """CREATE TABLE shop.support_tickets (
    id integer PRIMARY KEY,
    customer_id integer NOT NULL,
    opened_at timestamp NOT NULL,
    channel text NOT NULL,
    body text NOT NULL
)""",
    """CREATE TABLE shop.web_events (
    id integer PRIMARY KEY,
    customer_id integer,
    event_time timestamp NOT NULL,
    url text NOT NULL,
    ip_address text NOT NULL
)""",
]

#: Table name -> (column name, DuckDB type) in DDL order; the loaders use it to type columns.
TABLE_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "customers": [
        ("id", "INTEGER"),
        ("email", "VARCHAR"),
        ("full_name", "VARCHAR"),
        ("phone", "VARCHAR"),
        ("birth_date", "DATE"),
        ("country", "VARCHAR"),
        ("marketing_consent", "BOOLEAN"),
        ("created_at", "TIMESTAMP"),
    ],
    "products": [
        ("id", "INTEGER"),
        ("name", "VARCHAR"),
        ("category", "VARCHAR"),
        ("price_cents", "BIGINT"),
    ],
    "orders": [
        ("id", "INTEGER"),
        ("customer_id", "INTEGER"),
        ("ordered_at", "TIMESTAMP"),
        ("status", "VARCHAR"),
        ("total_cents", "BIGINT"),
    ],
    "order_items": [
        ("order_id", "INTEGER"),
        ("product_id", "INTEGER"),
        ("quantity", "INTEGER"),
    ],
    "payments": [
        ("id", "INTEGER"),
        ("order_id", "INTEGER"),
        ("paid_at", "TIMESTAMP"),
        ("card_number", "VARCHAR"),
        ("amount_cents", "BIGINT"),
    ],
    "support_tickets": [
        ("id", "INTEGER"),
        ("customer_id", "INTEGER"),
        ("opened_at", "TIMESTAMP"),
        ("channel", "VARCHAR"),
        ("body", "VARCHAR"),
    ],
    "web_events": [
        ("id", "INTEGER"),
        ("customer_id", "INTEGER"),
        ("event_time", "TIMESTAMP"),
        ("url", "VARCHAR"),
        ("ip_address", "VARCHAR"),
    ],
}

#: Load order (no foreign keys are declared, but parents first reads naturally).
TABLE_ORDER = ["customers", "products", "orders", "order_items", "payments", "support_tickets", "web_events"]

# --- name material, per country ------------------------------------------------------------

_COUNTRIES: list[tuple[str, float]] = [
    ("DE", 0.30),
    ("FR", 0.15),
    ("US", 0.20),
    ("GB", 0.15),
    ("NL", 0.10),
    ("ES", 0.10),
]

_FIRST_NAMES = {
    "DE": ["Anna", "Lukas", "Leonie", "Jonas", "Marie", "Felix", "Sophie", "Paul", "Lena", "Maximilian",
           "Hannah", "Tobias", "Katharina", "Jan", "Julia", "Stefan", "Sabine", "Jürgen", "Ute", "Matthias"],
    "FR": ["Camille", "Louis", "Léa", "Hugo", "Chloé", "Lucas", "Manon", "Gabriel", "Inès", "Arthur",
           "Zoé", "Jules", "Élodie", "Mathieu", "Claire", "Nicolas"],
    "US": ["Emma", "Liam", "Olivia", "Noah", "Ava", "James", "Isabella", "William", "Mia", "Benjamin",
           "Charlotte", "Elijah", "Amelia", "Michael", "Harper", "Daniel", "Jessica", "Tyler"],
    "GB": ["Oliver", "Amelia", "George", "Isla", "Harry", "Ava", "Jack", "Emily", "Charlie", "Poppy",
           "Thomas", "Sophie", "Oscar", "Grace", "William", "Ruby"],
    "NL": ["Daan", "Emma", "Sem", "Julia", "Lucas", "Mila", "Levi", "Tess", "Finn", "Sara", "Bram",
           "Fenna", "Jesse", "Lotte"],
    "ES": ["Lucía", "Hugo", "Martina", "Mateo", "Sofía", "Martín", "María", "Pablo", "Julia", "Daniel",
           "Paula", "Alejandro", "Carmen", "Javier"],
}

_LAST_NAMES = {
    "DE": ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz",
           "Hoffmann", "Koch", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Braun", "Zimmermann"],
    "FR": ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
           "Moreau", "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "Fournier"],
    "US": ["Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson",
           "Taylor", "Thomas", "Moore", "Jackson", "White", "Harris", "Clark", "Lewis", "Walker"],
    "GB": ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Evans",
           "Thomas", "Roberts", "Walker", "Wright", "Thompson", "Hughes", "Green"],
    "NL": ["de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen", "Visser",
           "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos"],
    "ES": ["García", "Rodríguez", "González", "Fernández", "López", "Martínez", "Sánchez", "Pérez",
           "Gómez", "Martín", "Jiménez", "Ruiz", "Hernández", "Díaz"],
}

_EMAIL_DOMAINS = {
    "DE": ["gmail.com", "web.de", "gmx.de", "t-online.de", "posteo.de"],
    "FR": ["gmail.com", "orange.fr", "free.fr", "laposte.net", "yahoo.fr"],
    "US": ["gmail.com", "yahoo.com", "outlook.com", "icloud.com", "aol.com"],
    "GB": ["gmail.com", "btinternet.com", "outlook.com", "yahoo.co.uk", "sky.com"],
    "NL": ["gmail.com", "ziggo.nl", "kpnmail.nl", "hotmail.nl", "outlook.com"],
    "ES": ["gmail.com", "hotmail.es", "yahoo.es", "telefonica.net", "outlook.es"],
}

_PRODUCT_CATALOG: dict[str, list[str]] = {
    "Kitchen": ["Chef's Knife", "Cast Iron Skillet", "Espresso Maker", "Cutting Board", "Kettle",
                "Stand Mixer", "Salad Spinner", "Spice Rack", "Dutch Oven", "Pepper Mill"],
    "Garden": ["Garden Hose", "Pruning Shears", "Watering Can", "Raised Bed Kit", "Compost Bin",
               "Bird Feeder", "Lawn Sprinkler", "Seed Starter Tray", "Garden Gloves", "Wheelbarrow"],
    "Electronics": ["Wireless Earbuds", "USB-C Charger", "Bluetooth Speaker", "E-Reader", "Smart Plug",
                    "Webcam", "Mechanical Keyboard", "Wireless Mouse", "Power Bank", "Monitor Arm"],
    "Outdoor": ["Tent", "Sleeping Bag", "Hiking Backpack", "Headlamp", "Camping Stove",
                "Water Filter", "Trekking Poles", "Rain Jacket", "Insulated Bottle", "Camp Chair"],
    "Home": ["Desk Lamp", "Throw Blanket", "Scented Candle", "Wall Clock", "Picture Frame",
             "Storage Basket", "Doormat", "Linen Curtains", "Floor Cushion", "Plant Pot"],
    "Books": ["Cookbook: Weeknight Dinners", "Field Guide to Birds", "Sci-Fi Anthology", "Atlas of Maps",
              "Beginner's Guide to Python", "History of Tea", "Poetry Collection", "Travel Journal",
              "Children's Picture Book", "Puzzle Book"],
}

_ORDER_STATUSES = [("delivered", 0.70), ("shipped", 0.12), ("paid", 0.06), ("pending", 0.05),
                   ("cancelled", 0.05), ("refunded", 0.02)]

_TICKET_CHANNELS = ["email", "chat", "phone", "web_form"]

_TICKET_TEMPLATES = [
    "Hi, my order #{order} has not arrived yet. It was supposed to be delivered last week. "
    "Can you check the tracking? Thanks, {first}",
    "Hello, the {product} I received is damaged. I would like a replacement or a refund. "
    "You can reach me at {phone}.",
    "I was charged twice for order #{order}. Please refund the duplicate payment. {first} {last}",
    "Please update my email address to {email}; the old one no longer works.",
    "The {product} stopped working after two days. Is it covered by the warranty?",
    "Can I change the delivery address for order #{order}? I moved recently. Regards, {first}",
    "I want to unsubscribe from all marketing emails. My account is {email}.",
    "Where can I find the invoice for order #{order}? I need it for my tax return.",
    "Great service so far, but the {product} is missing a part. Please call me on {phone}.",
    "I would like to delete my account and all my personal data (GDPR request). {first} {last}, {email}",
]

_URL_PATHS = ["/", "/search?q={q}", "/products/{product}", "/cart", "/checkout", "/account",
              "/account/orders", "/category/{category}", "/help", "/products/{product}/reviews"]
_SEARCH_TERMS = ["knife", "tent", "lamp", "earbuds", "book", "gift", "sale", "garden", "kettle", "chair"]


def _weighted(rng: random.Random, choices: list[tuple[str, float]]) -> str:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


def _random_moment(rng: random.Random, start: datetime, end: datetime) -> datetime:
    seconds = int((end - start).total_seconds())
    return start + timedelta(seconds=rng.randrange(max(seconds, 1)))


def _ascii(s: str) -> str:
    table = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "é": "e", "è": "e", "É": "E",
                           "á": "a", "í": "i", "ó": "o", "ú": "u", "ñ": "n", "ç": "c", "ï": "i"})
    return s.translate(table).lower().replace(" ", "").replace("'", "")


def _phone(rng: random.Random, country: str) -> str:
    d = lambda n: "".join(str(rng.randrange(10)) for _ in range(n))  # noqa: E731
    if country == "DE":
        return f"+49 15{rng.choice('1279')} {d(7)}"
    if country == "FR":
        return f"+33 6 {d(2)} {d(2)} {d(2)} {d(2)}"
    if country == "US":
        return f"+1 {rng.choice(['212', '415', '312', '617', '206'])} 555 {d(4)}"
    if country == "GB":
        return f"+44 7700 {d(6)}"
    if country == "NL":
        return f"+31 6 {d(8)}"
    return f"+34 6{d(2)} {d(3)} {d(3)}"


def _luhn_complete(prefix: str) -> str:
    """Append the Luhn check digit, so card numbers look (and validate) like real ones."""
    total = 0
    for i, ch in enumerate(reversed(prefix)):
        n = int(ch)
        if i % 2 == 0:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return prefix + str((10 - total % 10) % 10)


def _card_number(rng: random.Random) -> str:
    prefix = rng.choice(["4", "4", "51", "52", "55"])
    body = prefix + "".join(str(rng.randrange(10)) for _ in range(15 - len(prefix)))
    return _luhn_complete(body)


def _ipv4(rng: random.Random) -> str:
    # Public-looking first octets only (no 10/8, 127/8, 172.16/12, 192.168/16).
    first = rng.choice([31, 46, 62, 77, 81, 84, 89, 91, 94, 109, 145, 176, 185, 188, 193, 212, 217])
    return f"{first}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


@functools.lru_cache(maxsize=1)
def demo_rows() -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    """Table name -> (column names, rows). Generated once per process; treat it as read-only."""
    rng = random.Random(SEED)

    customers: list[tuple[Any, ...]] = []
    customer_meta: list[tuple[str, str, str, str, str, datetime]] = []
    for cid in range(1, CUSTOMER_COUNT + 1):
        country = _weighted(rng, _COUNTRIES)
        first = rng.choice(_FIRST_NAMES[country])
        last = rng.choice(_LAST_NAMES[country])
        email = f"{_ascii(first)}.{_ascii(last)}{cid}@{rng.choice(_EMAIL_DOMAINS[country])}"
        phone = _phone(rng, country)
        birth = date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 55))
        consent = rng.random() < 0.5
        created = _random_moment(rng, HISTORY_START, datetime(2024, 6, 30))
        customers.append((cid, email, f"{first} {last}", phone, birth, country, consent, created))
        customer_meta.append((first, last, email, phone, country, created))

    products: list[tuple[Any, ...]] = []
    pid = 0
    for category, names in _PRODUCT_CATALOG.items():
        for name in names:
            pid += 1
            price = rng.choice([499, 999, 1499, 1999, 2499, 2999, 3999, 4999, 7999, 9999, 14999])
            products.append((pid, name, category, price))
    assert len(products) == PRODUCT_COUNT

    orders: list[tuple[Any, ...]] = []
    order_items: list[tuple[Any, ...]] = []
    payments: list[tuple[Any, ...]] = []
    customer_cards: dict[int, str] = {}
    payment_id = 0
    for oid in range(1, ORDER_COUNT + 1):
        cid = rng.randrange(1, CUSTOMER_COUNT + 1)
        created = customer_meta[cid - 1][5]
        ordered_at = _random_moment(rng, created, HISTORY_END)
        status = _weighted(rng, _ORDER_STATUSES)
        total = 0
        for product_id in sorted(rng.sample(range(1, PRODUCT_COUNT + 1), rng.randint(1, 4))):
            quantity = rng.choice([1, 1, 1, 2, 2, 3])
            order_items.append((oid, product_id, quantity))
            total += quantity * products[product_id - 1][3]
        orders.append((oid, cid, ordered_at, status, total))
        if status != "pending":
            payment_id += 1
            card = customer_cards.get(cid)
            if card is None or rng.random() < 0.15:
                card = customer_cards[cid] = _card_number(rng)
            paid_at = ordered_at + timedelta(seconds=rng.randint(5, 3600))
            payments.append((payment_id, oid, paid_at, card, total))

    tickets: list[tuple[Any, ...]] = []
    for tid in range(1, TICKET_COUNT + 1):
        order = orders[rng.randrange(ORDER_COUNT)]
        cid = order[1]
        first, last, email, phone, _country, _created = customer_meta[cid - 1]
        body = rng.choice(_TICKET_TEMPLATES).format(
            order=order[0], first=first, last=last, email=email, phone=phone,
            product=products[rng.randrange(PRODUCT_COUNT)][1],
        )
        opened = order[2] + timedelta(hours=rng.randint(1, 24 * 20))
        tickets.append((tid, cid, min(opened, HISTORY_END), rng.choice(_TICKET_CHANNELS), body))
    tickets.sort(key=lambda t: (t[2], t[0]))
    tickets = [(i + 1, *t[1:]) for i, t in enumerate(tickets)]

    categories = list(_PRODUCT_CATALOG)
    web_events: list[tuple[Any, ...]] = []
    for eid in range(1, WEB_EVENT_COUNT + 1):
        anonymous = rng.random() < 0.25
        cid = None if anonymous else rng.randrange(1, CUSTOMER_COUNT + 1)
        start = HISTORY_START if cid is None else customer_meta[cid - 1][5]
        path = rng.choice(_URL_PATHS).format(
            q=rng.choice(_SEARCH_TERMS), product=rng.randrange(1, PRODUCT_COUNT + 1),
            category=rng.choice(categories).lower(),
        )
        web_events.append((eid, cid, _random_moment(rng, start, HISTORY_END),
                           f"https://shop.acme.example{path}", _ipv4(rng)))
    web_events.sort(key=lambda e: (e[2], e[0]))
    web_events = [(i + 1, *e[1:]) for i, e in enumerate(web_events)]

    tables = {
        "customers": customers,
        "products": products,
        "orders": orders,
        "order_items": order_items,
        "payments": payments,
        "support_tickets": tickets,
        "web_events": web_events,
    }
    return {name: ([c for c, _ in TABLE_COLUMNS[name]], tables[name]) for name in TABLE_ORDER}


def load_into_duckdb(con: Any) -> None:
    """Create schema shop and fill it, in one transaction.

    Rows travel column-wise as typed list parameters and are zipped back by UNNEST: one
    statement per table, no per-row round trips (executemany on DuckDB is row-at-a-time).
    """
    rows = demo_rows()
    con.execute("BEGIN TRANSACTION")
    try:
        for ddl in SCHEMA_DDL:
            con.execute(ddl)
        for table in TABLE_ORDER:
            names, data = rows[table]
            types = [t for _, t in TABLE_COLUMNS[table]]
            columns = list(zip(*data))
            select = ", ".join(
                f"UNNEST(${i + 1}::{t}[]) AS {n}" for i, (n, t) in enumerate(zip(names, types))
            )
            con.execute(
                f"INSERT INTO shop.{table} ({', '.join(names)}) SELECT {select}",
                [list(col) for col in columns],
            )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


async def load_into_postgres(dsn: str) -> None:
    """(Re)create schema shop in the PostgreSQL at `dsn` and COPY the demo rows into it."""
    import asyncpg

    rows = demo_rows()
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            await conn.execute("DROP SCHEMA IF EXISTS shop CASCADE")
            for ddl in SCHEMA_DDL:
                await conn.execute(ddl)
            for table in TABLE_ORDER:
                names, data = rows[table]
                await conn.copy_records_to_table(table, records=data, columns=names, schema_name="shop")
    finally:
        await conn.close()
