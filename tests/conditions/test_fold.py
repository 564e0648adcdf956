"""fold(): exactly A-Z, full-width ASCII forms and the ideographic space, in Python and in SQL."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from portal.conditions import fold
from portal.conditions.fold import FOLD_TABLE, fold_keywords
from portal.extensions import db

# Every character fold touches, their neighbours, and letters that str.lower() would change but fold must not.
EDGES = ("".join(chr(c) for c in range(0x20, 0x7F)) + "".join(chr(c) for c in range(0xFF00, 0xFF61))
         + "\u3000\u3001\u3002 ÄÖÜßΣΑЖİK退款手机发热，。！😀")
text = st.text(alphabet=st.sampled_from(EDGES) | st.characters(codec="utf-8"), max_size=60)


@given(text)
@settings(max_examples=300, deadline=None)
def test_fold_is_the_translate_table(s):
    assert fold(s) == s.translate(FOLD_TABLE)


def test_fold_examples():
    assert fold("ＲＥＦＵＮＤ　Ｎｏｗ！") == "refund now!"
    assert fold("Ｅｒｒｏｒ ５００") == "error 500"
    assert fold("ÄÖÜ ΣΑΣ İ") == "ÄÖÜ ΣΑΣ İ"  # only ASCII letters change case
    assert fold("退款，请处理") == "退款,请处理"


def test_fold_table_is_the_spec():
    assert {chr(k): chr(v) for k, v in FOLD_TABLE.items()} == {
        **{chr(c): chr(c + 32) for c in range(0x41, 0x5B)},
        **{chr(c): chr(c - 0xFEE0).lower() for c in range(0xFF01, 0xFF5F)},
        "\u3000": " ",
    }


def test_keywords_are_folded_once_each_in_order():
    assert fold_keywords(["Refund", "ｒｅｆｕｎｄ", "退款", "REFUND"]) == ("refund", "退款")


@pytest.mark.integration
def test_sql_fold_is_the_same_function(pool):
    """deskwright_fold in SQL (PostgreSQL: migration 0003; SQLite: registered on connect) == fold."""
    samples = [EDGES, EDGES.upper(), "Ｒｅｆｕｎｄ 100％", "", "a'b\\c%d_e"]
    for sample in samples:
        assert db.session.scalar(select(func.deskwright_fold(sample))) == fold(sample)
    assert db.session.scalar(select(func.deskwright_fold(None))) is None
