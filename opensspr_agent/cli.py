"""``opensspr-agent``: enrol once, then run (as a service).

opensspr-agent enrol --config agent.toml --token <one-time token>
opensspr-agent run --config agent.toml
opensspr-agent probe --config agent.toml     # check the directory settings here
"""

import argparse
import logging
import signal
import socket
import sys
from pathlib import Path

import opensspr_agent
from opensspr.directory.ldap.failover import Failover, build
from opensspr.directory.sealing import new_private_key, public_key_text
from opensspr_agent.client import Client, ServerError
from opensspr_agent.config import ConfigError, State, load, load_state, save_state
from opensspr_agent.runner import AgentProcess


def _enrol(args: argparse.Namespace) -> int:
    config = load(Path(args.config))
    if config.state_file.exists() and not args.force:
        print(f"already enrolled ({config.state_file}); --force enrols again", file=sys.stderr)
        return 2
    token = _token(args)
    if not token:
        print("no enrolment token: give --token-file (or - for standard input)", file=sys.stderr)
        return 2
    key = new_private_key()
    client = Client(config.server.url, ca_file=config.server.ca_file, proxy=config.server.proxy)
    try:
        _, answer = client.post(
            "/agent/v1/enrol",
            {
                "token": token,
                "public_key": public_key_text(key),
                "version": opensspr_agent.__version__,
                "host": socket.gethostname(),
            },
        )
    except ServerError as exc:
        if exc.status:
            print(f"enrolment refused: {exc.title or exc}", file=sys.stderr)
        else:
            print(f"can't reach the server: {exc.title or exc}", file=sys.stderr)
        return 1
    save_state(
        config.state_file,
        State(agent_id=answer["agent_id"], credential=answer["credential"], private_key=key),
    )
    print(f"enrolled as agent {answer['agent_id']}; state in {config.state_file}")
    return 0


def _token(args: argparse.Namespace) -> str:
    """From a file or standard input, so it shows in no process list or shell history."""
    if args.token_file == "-":  # noqa: S105 (standard input, not a password)
        return sys.stdin.readline().strip()
    if args.token_file:
        return Path(args.token_file).read_text(encoding="utf-8").strip()
    return str(args.token or "").strip()


def _run(args: argparse.Namespace) -> int:
    config = load(Path(args.config))
    agent = AgentProcess(config, load_state(config.state_file))
    signal.signal(signal.SIGTERM, lambda *_: agent.stop())
    signal.signal(signal.SIGINT, lambda *_: agent.stop())
    return agent.run()


def _probe(args: argparse.Namespace) -> int:
    config = load(Path(args.config))
    directory = Failover(
        build(
            config.directory.kind,
            config.directory.configs,
            policy_hints=config.directory.policy_hints,
        )
    )
    try:
        health = directory.check_health()
    finally:
        directory.close()
    print(f"directory: {health.state} {health.detail}".rstrip())
    return 0 if health.state == "healthy" else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="opensspr-agent", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=opensspr_agent.__version__)
    parser.add_argument("--verbose", action="store_true")
    commands = parser.add_subparsers(dest="command", required=True)
    enrol = commands.add_parser("enrol", help="register this agent with a one-time token")
    enrol.add_argument("--config", required=True)
    given = enrol.add_mutually_exclusive_group(required=True)
    given.add_argument("--token-file", help="a file holding the token, or - for standard input")
    given.add_argument("--token", help="the token itself (visible to other local users)")
    enrol.add_argument("--force", action="store_true")
    for name, text in (
        ("run", "take and run jobs until stopped"),
        ("probe", "check the directory"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("--config", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    handlers = {"enrol": _enrol, "run": _run, "probe": _probe}
    try:
        return handlers[args.command](args)
    except ConfigError as exc:
        print(f"configuration: {exc}", file=sys.stderr)
        return 2
