"""Writeback latency through the on-premises agent, beside direct mode, in one run.

Starts a private slapd with ppolicy, ``opensspr serve`` (embedded SQLite) in agent
mode and one real agent process on loopback, then times password resets of one entry:
through the agent (a job submitted from another process, leased over the long poll,
written by the agent, answered) and directly (the same LDAP connector in-process).
Prints p50/p99 of each. Target (issue 10): p99 through the agent <= 150 ms.

    .venv/bin/python bench/bench_agent.py [--writes 200]
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.agents.conftest import Agents, Site, wait_for
from tests.directory import slapd

TIMED = """
import json, time, statistics
from opensspr.accounts.models import User
from opensspr.directory import connector_for
from opensspr.directory.ldap.openldap import OpenLdapDirectory
from opensspr.directory.ldap.config import LdapConfig, TlsMode
user = User.objects.get(user_id="{user_id}")
agent = connector_for(user)
config = LdapConfig(host="127.0.0.1", port={port}, tls=TlsMode.STARTTLS, bind_dn="{bind_dn}",
    bind_password="{bind_pw}", user_base="{base}", ca_file="{ca}", server_name="{name}")
direct = OpenLdapDirectory(config)
def timed(write):
    out = []
    for n in range({writes}):
        started = time.perf_counter()
        write(f"Bench-Pass-word-{{n}}-x")
        out.append((time.perf_counter() - started) * 1000)
    return sorted(out)
agent.set_password(user, "Warm-up-Pass-1", unlock=False)
via_agent = timed(lambda pw: agent.set_password(user, pw, unlock=False))
via_direct = timed(lambda pw: direct.set_password(user.on_premises_dn, pw, unlock=False))
def pct(values, p):
    return values[min(len(values) - 1, int(len(values) * p))]
print("DRIVER " + json.dumps({{"agent": [pct(via_agent, .5), pct(via_agent, .99)],
      "direct": [pct(via_direct, .5), pct(via_direct, .99)]}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--writes", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        server = slapd.start(root / "slapd")
        site = Site(root)
        try:
            site.manage("migrate", "--verbosity", "0")
            site.do("setup", base_dn=slapd.SUFFIX)
            site.start()
            agents = Agents(site, server, root)
            agents.enrol("bench")
            agents.start("bench")
            wait_for(lambda: site.do("agents")["status"] == "running", seconds=30)
            uid = "benchuser"
            dn = f"uid={uid},{slapd.PEOPLE}"
            admin = server.admin()
            admin.add(dn, ["inetOrgPerson"], {"cn": uid, "sn": uid, "uid": uid})
            admin.unbind()
            site.do("person", user_id="bench@example.org", dn=dn, email="bench@mail.example")
            code = TIMED.format(
                user_id="bench@example.org",
                port=server.ldap_port,
                bind_dn=slapd.RESETTER_DN,
                bind_pw=slapd.RESETTER_PW,
                base=slapd.PEOPLE,
                ca=server.tls.ca_file,
                name=slapd.SERVER_NAME,
                writes=args.writes,
            )
            started = time.perf_counter()
            try:
                out = site.manage("shell", "-c", code)
            except AssertionError:
                print(agents.log("bench")[-3000:])
                raise
            line = next(x for x in out.splitlines() if x.startswith("DRIVER "))
            figures = __import__("json").loads(line.removeprefix("DRIVER "))
            print(f"password resets of one entry, {args.writes} each, loopback, slapd ppolicy")
            for name in ("direct", "agent"):
                p50, p99 = figures[name]
                print(f"  {name:7} p50 {p50:6.1f} ms   p99 {p99:6.1f} ms")
            took = time.perf_counter() - started
            print(f"  (run took {took:.1f} s; target: p99 through the agent <= 150 ms)")
            agents.stop_all()
        finally:
            site.stop()
            slapd.stop(server)


if __name__ == "__main__":
    main()
