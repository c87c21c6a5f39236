"""Issue 4's target: what record-level sharing costs a sales rep against an administrator.

On the loaded demo data, contacts are made private (org-wide default), a six-level role
hierarchy gets the sales department's people and twenty sharing rules open contacts by
criteria to roles, departments and people. Then the same requests run as a sales rep at the
bottom of the hierarchy and as a superuser, one client each:

- ``list``: the first page of 50 contacts in last-name order (as ``reads``' ``first_page``);
- ``search``: ``?q=`` the first 3 to 6 letters of last names (as ``reads``' ``search_name``).

Figures: ``access.<engine>.<size>.<workload>.<who>.c1.*`` and the p99 ratio rep / admin,
``access.<engine>.<size>.<workload>.p99_ratio`` (targets at a million contacts on PostgreSQL:
list ≤ 1.5, search ≤ 2). The rep's role hides no field, so this measures sharing alone.

The access model is written with the identity models directly (``python -m benchmarks.access
--setup``, in Accord's Django environment), the way ``benchmarks.sample`` draws paths.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from benchmarks.datasets import Paths
from benchmarks.figures import Reporter, Target, report_load
from benchmarks.load import WrkStats, wrk
from benchmarks.options import Options
from benchmarks.servers import AccordServer, Database, Workbench, accord, progress

#: Issue 4's goals: the rep's p99 over the admin's, at a million contacts on PostgreSQL.
TARGETS = {"list": Target("<=", 1.5), "search": Target("<=", 2)}
PREFIX = "Bench"
#: The hierarchy, top down: (level name, how many roles at that level under each parent).
LEVELS = (
    ("CEO", 1),
    ("VP Sales", 1),
    ("Sales Director", 2),
    ("Regional Manager", 2),
    ("Sales Manager", 2),
    ("Sales Rep", 2),
)
RULES = 20


def run(
    bench: Workbench,
    reporter: Reporter,
    opts: Options,
    *,
    db: Database,
    size: str,
    server: AccordServer,
    admin_token: str,
    paths: Paths,
) -> None:
    progress(f"[{db.engine} {size}] access model: roles, sharing rules, private contacts")
    log = bench.root / f"{db.name}-access.log"
    command = [sys.executable, "-m", "benchmarks.access", "--setup"]
    output, _ = bench.run(command, env=db.env(), log=log)
    setup = json.loads(output.strip().splitlines()[-1])
    token_output, _ = accord(bench, db, "token", "create", "--user", setup["rep"])
    rep_token = [line for line in token_output.splitlines() if line.startswith("acc_")][-1]
    wrk_log = bench.root / f"{db.engine}-{size}-access-wrk.log"
    files = {"list": paths.files["first_page"], "search": paths.files["search_name"]}
    context: dict[str, Any] = {
        "engine": db.engine,
        "size": size,
        "contacts": paths.contacts,
        "clients": 1,
        "levels": len(LEVELS),
        "rules": setup["rules"],
        "rep_visible": setup["rep_visible"],
    }
    applies = db.engine == "pg" and size == "large"
    for workload, path_file in files.items():
        p99: dict[str, float] = {}
        for who, token in (("admin", admin_token), ("rep", rep_token)):
            env = {"BENCH_TOKEN": token, "BENCH_PATHS": str(path_file)}
            if opts.warmup:
                wrk(server.url, "paths.lua", clients=1, seconds=opts.warmup, env=env, log=wrk_log)
            progress(f"[{db.engine} {size}] access {workload} as {who}")
            runs: list[WrkStats] = [
                wrk(server.url, "paths.lua", clients=1, seconds=opts.duration, env=env, log=wrk_log)
                for _ in range(opts.repeat)
            ]
            prefix = f"access.{db.engine}.{size}.{workload}.{who}.c1"
            report_load(reporter, prefix, runs, who=who, **context)
            p99[who] = sorted(r.p99_ms for r in runs)[len(runs) // 2]
        reporter.emit(
            f"access.{db.engine}.{size}.{workload}.p99_ratio",
            p99["rep"] / p99["admin"] if p99["admin"] else None,
            "x",
            n=2,
            target=TARGETS[workload] if applies else None,
            rep_p99_ms=round(p99["rep"], 1),
            admin_p99_ms=round(p99["admin"], 1),
            **context,
        )


# -- the access model (in Accord's Django environment) ----------------------------------------


def setup() -> dict[str, Any]:
    """Write the benchmark's access model; what the run needs to know about it."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "accord.settings"
    import django

    django.setup()
    from django.db import transaction
    from django.db.models import Count

    from accord.identity.models import (
        Access,
        Department,
        Level,
        ObjectPermission,
        Role,
        SharingDefault,
        SharingRule,
        User,
    )
    from accord.identity.visibility import visible
    from accord.parties.models import Account, Contact

    def role(name: str, parent: Role | None) -> Role:
        made = Role(name=f"{PREFIX} {name}", parent=parent)
        made.path = f"{parent.path if parent else '/'}{made.pk}/"
        made.depth = parent.depth + 1 if parent else 0
        made.save()
        for object_type in ("contact", "account"):
            ObjectPermission.objects.create(
                role=made, object_type=object_type, can_create=True, can_read=True, can_edit=True
            )
        return made

    with transaction.atomic():
        Role.objects.filter(name__startswith=f"{PREFIX} ").update(parent=None)
        User.objects.filter(role__name__startswith=f"{PREFIX} ").update(role=None)
        SharingRule.objects.filter(name__startswith=f"{PREFIX} ").delete()
        Role.objects.filter(name__startswith=f"{PREFIX} ").delete()

        levels: list[list[Role]] = [[role(LEVELS[0][0], None)]]
        for name, fan_out in LEVELS[1:]:
            parents = levels[-1]
            count = len(parents) * fan_out
            levels.append(
                [
                    role(f"{name} {n + 1}" if count > 1 else name, parents[n // fan_out])
                    for n in range(count)
                ]
            )
        # The sales department's people fill the hierarchy bottom up; the rep measured is
        # the one owning the median number of contacts among the reps.
        sales = Department.objects.filter(kind=Department.Kind.SALES).first()
        staff = User.objects.filter(is_superuser=False, is_active=True)
        people = list(
            (staff.filter(department=sales) if sales else staff)
            .annotate(owned=Count("owned_contacts"))
            .order_by("-owned", "username")
        )
        slots = [r for level in reversed(levels) for r in level]
        for index, person in enumerate(people):
            person.role = slots[index % len(slots)]
            person.save(update_fields=["role"])
        reps = [p for p in people if p.role in levels[-1]] or people
        rep = reps[len(reps) // 2]

        SharingDefault.objects.update_or_create(
            object_type="contact", defaults={"access": Access.PRIVATE, "department_level": ""}
        )
        for index, rule in enumerate(_rules(levels, rep, sales, people, Account, Contact)):
            criteria, grantee_type, grantee_id = rule
            SharingRule.objects.create(
                name=f"{PREFIX} rule {index + 1}",
                object_type="contact",
                criteria=criteria,
                grantee_type=grantee_type,
                grantee_id=grantee_id,
                level=Level.READ,
            )
    rep = User.objects.get(pk=rep.pk)
    return {
        "rep": rep.username,
        "rep_visible": visible(rep, Contact.objects.all()).count(),
        "rules": SharingRule.objects.filter(name__startswith=f"{PREFIX} ").count(),
        "roles": Role.objects.filter(name__startswith=f"{PREFIX} ").count(),
    }


def _rules(
    levels: list[list[Any]], rep: Any, sales: Any, people: list[Any], account: Any, contact: Any
) -> list[tuple[list[dict[str, Any]], str, Any]]:
    """Twenty criteria-based rules over contacts, to roles at every level, the sales
    department and single people; four of them reach the rep (by role, role and below, the
    department and in person)."""
    stages = [s for s, _ in contact.LifecycleStage.choices]
    big_accounts = list(
        account.objects.order_by("-employee_count").values_list("pk", flat=True)[:6]
    )
    colleague = next((p for p in people if p.pk != rep.pk), rep)
    vp, directors, regions, managers, reps = levels[1], levels[2], levels[3], levels[4], levels[5]
    stage = "lifecycle_stage"
    found: list[tuple[list[dict[str, Any]], str, Any]] = [
        # Reaching the rep.
        ([{"field": stage, "op": "eq", "value": "evangelist"}], "role_and_below", vp[0].pk),
        ([{"field": "owner_id", "op": "eq", "value": str(colleague.pk)}], "role", rep.role_id),
        (
            [
                {"field": stage, "op": "eq", "value": "opportunity"},
                {"field": "do_not_call", "op": "eq", "value": False},
            ],
            "department",
            sales.pk if sales else rep.role_id,
        ),
        (
            [{"field": "account_id", "op": "in", "value": [str(a) for a in big_accounts[:2]]}],
            "user",
            rep.pk,
        ),
    ]
    if not sales:
        found[2] = (found[2][0], "role", rep.role_id)
    others = [
        *((s, "role", r.pk) for s, r in zip(stages, directors + regions, strict=False)),
        *((s, "role_and_below", r.pk) for s, r in zip(reversed(stages), managers, strict=False)),
    ]
    for value, grantee_type, grantee_id in others:
        if len(found) >= RULES - 2:
            break
        found.append(([{"field": stage, "op": "eq", "value": value}], grantee_type, grantee_id))
    for account_id in big_accounts[2:]:
        if len(found) >= RULES:
            break
        found.append(
            ([{"field": "account_id", "op": "eq", "value": str(account_id)}], "role", reps[-1].pk)
        )
    while len(found) < RULES:
        found.append(([{"field": "sms_opt_in", "op": "eq", "value": True}], "role", managers[0].pk))
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--setup", action="store_true", required=True)
    parser.parse_args(argv)
    print(json.dumps(setup()))


if __name__ == "__main__":
    main()
