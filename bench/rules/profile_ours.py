"""Where RuleSetMatcher.match_all spends its time, on run.py's rules and tickets (same seed).

    .venv/bin/python bench/rules/profile_ours.py                 # 2,000 tickets
    .venv/bin/python bench/rules/profile_ours.py --tickets 5000 --cprofile

Prints: the time per ticket as is; the same with one cost taken away at a time ("what if"
experiments: regex answers, folding, made free by memoising them across passes through the
module attributes the compiled nodes call); the index alone; each regex of the rule set timed
with the engine's flags and variants; optionally a cProfile listing. The differences say what
each part costs; they are estimates (each experiment adds a dict lookup of its own).
"""
from __future__ import annotations

import argparse
import gc
import importlib
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent.parent))

import naive  # noqa: E402
import ours  # noqa: E402
from common import prepare  # noqa: E402
from gen import make_rules, make_tickets  # noqa: E402
from run import app_context  # noqa: E402


def per_ticket(fire, snaps, reps: int) -> float:
    for s in snaps:
        fire(s)
    samples = []
    for _ in range(reps):
        gc.collect()
        gc.disable()
        t0 = time.perf_counter()
        for s in snaps:
            fire(s)
        samples.append(time.perf_counter() - t0)
        gc.enable()
    return statistics.median(samples) / len(snaps) * 1e6


def regexes_of(cond, out):
    if "all" in cond or "any" in cond:
        for c in cond.get("all", cond.get("any")):
            regexes_of(c, out)
    elif "not" in cond:
        regexes_of(cond["not"], out)
    elif cond["op"] == "regex":
        out.setdefault((cond["field"], cond["value"]), 0)
        out[(cond["field"], cond["value"])] += 1
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tickets", type=int, default=2000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--seed", type=int, default=20261124)
    ap.add_argument("--cprofile", action="store_true")
    args = ap.parse_args()
    app_context()
    snaps = make_tickets(max(args.tickets, 1000), seed=args.seed)
    prepared = [prepare(s) for s in snaps[:1000]]
    rules = make_rules(200, prepared, seed=args.seed + 1, evaluate=naive.evaluate)
    snaps = snaps[:args.tickets]
    cat = ours.catalogue()
    regexes = importlib.import_module("portal.conditions.regexes")
    python = importlib.import_module("portal.conditions.python")
    fold_mod = importlib.import_module("portal.conditions.fold")

    def build():
        return ours.make_matcher(rules, cat)

    fire, matcher = build()
    base = per_ticket(fire, snaps, args.reps)
    print(f"# RuleSetMatcher.match_all on {len(snaps):,} tickets x {len(rules)} rules (load {_load()})\n")
    print(f"as is: {base:.1f} µs/ticket")
    results = {}

    # -- what if regex answers were free ----------------------------------------------------------
    if hasattr(regexes, "search"):
        original = regexes.search
        memo: dict = {}

        def free(pattern, text, _o=original, _m=memo):
            key = (pattern, text)
            r = _m.get(key)
            if r is None:
                r = _m[key] = _o(pattern, text)
            return r
        results["regex searches"] = _diff(fire, fire, snaps, args.reps, lambda: setattr(regexes, "search", free),
                                          lambda: setattr(regexes, "search", original))

    # -- what if folding were free ------------------------------------------------------------------
    for attr in ("fold_text",):
        if hasattr(python, attr):
            original = getattr(python, attr)
            memo = {}

            def free_fold(v, _o=original, _m=memo):
                r = _m.get(id(v))
                if r is None:
                    r = _m[id(v)] = _o(v)
                return r
            results["folding text fields"] = _diff(
                fire, fire, snaps, args.reps, lambda a=attr, ff=free_fold: setattr(python, a, ff),
                lambda a=attr, o=original: setattr(python, a, o))
    # -- the index alone ----------------------------------------------------------------------------
    if hasattr(matcher, "_candidates"):  # the bit mask only (candidates() also builds the key list)
        results["the index (the candidates' bit mask)"] = per_ticket(matcher._candidates, snaps, args.reps)
    if hasattr(matcher, "candidates"):
        cands = [len(matcher.candidates(s)) for s in snaps]
        print(f"candidates after the index: {statistics.mean(cands):.1f} of {len(rules)} rules per ticket; "
              f"fired {statistics.mean(len(fire(s)) for s in snaps):.1f}")
    for what, us in results.items():
        print(f"  {what:35} ≈ {us:6.1f} µs/ticket ({us / base:.0%})")

    # -- each regex, with the engine's flags and variants ------------------------------------------
    import re

    import regex
    folded = {f: [fold_mod.fold(s.get(f) or "") for s in snaps] for f in ("subject", "body", "last_message")}
    print("\nregexes of the rule set, one search per ticket (µs): engine's flags+timeout / no timeout / "
          "no IGNORECASE / stdlib re")
    for (field, pattern), n in regexes_of({"all": [c for _, c in rules]}, {}).items():
        texts = folded[field]
        variants = [
            lambda t, p=regex.compile(pattern, regex.IGNORECASE | regex.V0): p.search(t, timeout=0.05),
            lambda t, p=regex.compile(pattern, regex.IGNORECASE | regex.V0): p.search(t),
            lambda t, p=regex.compile(pattern, regex.V0): p.search(t),
            lambda t, p=re.compile(pattern): p.search(t),
        ]
        times = []
        for v in variants:
            t0 = time.perf_counter()
            for t in texts:
                v(t)
            times.append((time.perf_counter() - t0) / len(texts) * 1e6)
        hits = sum(1 for t in texts if variants[3](t)) / len(texts)
        print(f"  {pattern!r:28} on {field:12} (in {n} rules, matches {hits:.1%}): "
              + " / ".join(f"{x:.1f}" for x in times))

    if args.cprofile:
        import cProfile
        import pstats
        prof = cProfile.Profile()
        prof.enable()
        for s in snaps:
            fire(s)
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)
    return 0


def _diff(fire_a, fire_b, snaps, reps, patch, unpatch) -> float:
    """Median time of fire_a as is minus fire_b with `patch` applied, passes alternated.

    The compiled nodes look the patched functions up at call time (module globals), so the same
    matcher serves both sides unless the caller built a second one."""
    a, b = [], []
    for s in snaps:
        fire_a(s)
    patch()
    try:
        for s in snaps:
            fire_b(s)
    finally:
        unpatch()
    for _ in range(reps):
        for side in (a, b):
            if side is b:
                patch()
            try:
                gc.collect()
                gc.disable()
                t0 = time.perf_counter()
                for s in snaps:
                    (fire_a if side is a else fire_b)(s)
                side.append(time.perf_counter() - t0)
            finally:
                gc.enable()
                if side is b:
                    unpatch()
    return (statistics.median(a) - statistics.median(b)) / len(snaps) * 1e6


def _load() -> str:
    import os
    return f"{os.getloadavg()[0]:.2f}"


if __name__ == "__main__":
    sys.exit(main())
