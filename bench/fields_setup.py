"""Define the bench desk's custom fields (issue #4) on the database seed_million.py loaded.

    .venv/bin/python bench/fields_setup.py            # default URL: the bench database
    .venv/bin/python bench/fields_setup.py --no-index  # define them unfilterable (drop their indexes)

seed_million.py writes `product`, `order_total`, `region` and `warranty` values into
tickets.custom_fields; this script defines those fields through the real service
(portal.fields.services.save_field: validated, with a revision), the product picklist with each
department's own values, and marks them filterable, which builds their expression indexes - timed
here, since an admin waits for it. Run it before bench/queue_latency.py's cf_* scenarios.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from seed_million import CF_PRODUCTS, CF_REGIONS  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/deskwright_bench"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    ap.add_argument("--no-index", action="store_true")
    args = ap.parse_args()
    url = args.url.replace("postgresql://", "postgresql+psycopg://", 1)
    os.environ.update(DATABASE_URL=url, SECRET_KEY="bench", QUEUE_MODE="sync")
    os.environ.pop("REDIS_URL", None)
    from sqlalchemy import select

    from portal import create_app
    from portal.extensions import db
    from portal.fields.models import CustomField
    from portal.fields.services import save_field, set_filterable
    from portal.models import Department, User

    app = create_app()
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.email == "admin@bench.example"))
        departments = list(db.session.scalars(select(Department).order_by(Department.id)))
        every = sorted({v for values in CF_PRODUCTS.values() for v in values})
        specs = [
            ("product", "picklist", "Product", "产品", [{"value": v, "label": v.replace("_", " ").title()} for v in every],
             {str(d.id): [{"value": v, "label": v.replace("_", " ").title()} for v in CF_PRODUCTS[i]]
              for i, d in enumerate(departments)}),
            ("order_total", "currency", "Order total", "订单金额", None, None),
            ("region", "picklist", "Region", "地区", [{"value": v, "label": v.title()} for v in CF_REGIONS], None),
            ("warranty", "checkbox", "Under warranty", "在保修期内", None, None),
        ]
        for key, ftype, label, label_zh, options, per_department in specs:
            field = db.session.scalar(select(CustomField).where(CustomField.key == key))
            data = {"key": key, "type": ftype, "label": label, "label_zh": label_zh, "filterable": False}
            if options is not None:
                data["options"] = options
            if per_department:
                data["department_options"] = per_department
            if ftype == "currency":
                data["currency"] = "CNY"
            field = save_field(field, data, admin)
            db.session.commit()
            t0 = time.perf_counter()
            set_filterable(field, not args.no_index, admin)
            db.session.commit()
            what = "index dropped" if args.no_index else "filterable: index built"
            print(f"{key:12} {ftype:9} {what} in {time.perf_counter() - t0:.1f}s", flush=True)
        db.session.execute(db.text("ANALYZE tickets"))
        db.session.commit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
