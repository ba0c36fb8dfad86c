"""A tiny POSIX-shell look-alike: what ``sh -c "..."`` in a busybox/alpine/ubuntu container does.

Enough of sh to give the commands people put in pod specs their real effect: ``echo``/``printf``
print, ``sleep`` takes time (``sleep infinity`` and ``tail -f /dev/null`` never end), ``exit N``
ends with N, ``true``/``false``/``[``/``test`` set the status for ``&&``/``||``/``if``/loops,
``while true``/``until``/``for`` loops repeat their output, ``date``/``hostname``/``env`` print what
they would, ``trap ... TERM`` makes the process stop on SIGTERM, network probes (``nslookup``,
``wget``, ``curl``, ``nc``, ``ping``) fail because the simulator has no cluster network, and an
unknown command is ``not found`` (127). Anything the simulation cannot know (arithmetic, files
written by the script) is approximated, never executed: nothing here touches the host.
"""

from __future__ import annotations

import contextlib
import math
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field

from podbot.sim.behaviours.run import LogEntry, Run
from podbot.sim.behaviours.run import Loop as RunLoop
from podbot.sim.behaviours.shellsyntax import REDIRECT, For, If, Parser, Simple, Word, tokenize
from podbot.sim.behaviours.shellsyntax import Loop as LoopNode

STEP = 0.001  # every command takes a moment, so lines keep their order in time
_FOREVER = float("inf")
_DATE_DEFAULT = "{ts:%a %b %e %H:%M:%S UTC %Y}"
_NETWORK = {"nslookup", "wget", "curl", "nc", "ping", "telnet", "dig", "host"}
_QUIET_OK = {
    "cd",
    "mkdir",
    "touch",
    "rm",
    "cp",
    "mv",
    "chmod",
    "chown",
    "ln",
    "set",
    "umask",
    "sync",
    "wait",
    "read",
}
APPLETS = {
    "echo", "printf", "sleep", "exit", "true", "false", ":", "date", "hostname", "env", "printenv", "tail",
    "cat", "id", "whoami", "pwd", "uname", "ls", "trap", "export", "test", "[", "yes", *_NETWORK, *_QUIET_OK,
}  # fmt: skip
SHELLS = {"sh", "ash", "bash", "dash"}


@dataclass
class _State:
    env: dict[str, str]
    shell: str
    namespace: str = "default"
    t: float = 0.0
    status: int = 0
    lines: list[LogEntry] = field(default_factory=list)
    exited: bool = False
    forever: bool = False
    loop: RunLoop | None = None
    traps_term: bool = False
    term_exit: int | None = None  # the exit status a TERM trap's handler ends the shell with
    longest_wait: float = 0.0  # the longest foreground command: a trap runs only once it returns


class _Exit(Exception):
    pass


def run_script(script: str, env: Mapping[str, str], *, shell: str = "sh", namespace: str = "default") -> Run:
    """The Run of ``sh -c script`` in a pod of ``namespace``."""
    state = _State(env=dict(env), shell=shell, namespace=namespace)
    try:
        tokens = tokenize(script)
    except ValueError as err:
        message = f"{shell}: syntax error: {err}"
        return Run(entries=(LogEntry(0.0, message, True),), exit_after=0.01, exit_code=2, reason="Error")
    parser = Parser(tokens)
    try:
        program = parser.parse_list(stop=set())
    except ValueError as err:
        message = f"{shell}: syntax error: {err}"
        return Run(entries=(LogEntry(0.0, message, True),), exit_after=0.01, exit_code=2, reason="Error")
    with contextlib.suppress(_Exit):
        _execute(program, state)
    # sh as PID 1 ignores an untrapped TERM; a trapped one runs its handler only when the foreground
    # command returns (worst case: the longest sleep), and only a handler that exits stops the
    # shell. Anything else is SIGKILLed at the end of the grace period, as on a real node.
    stops = state.traps_term and state.term_exit is not None and math.isfinite(state.longest_wait)
    stop_after = max(state.longest_wait, 0.2) if stops else 0.2
    stop_code = state.term_exit or 0
    if state.forever or state.loop is not None:
        return Run(
            entries=tuple(state.lines),
            loop=state.loop,
            handles_sigterm=stops,
            stop_after=stop_after,
            stop_exit_code=stop_code,
        )
    code = state.status
    return Run(
        entries=tuple(state.lines),
        exit_after=max(state.t, 0.01),
        exit_code=code,
        reason="Completed" if code == 0 else "Error",
        handles_sigterm=stops,
        stop_after=stop_after,
        stop_exit_code=stop_code,
    )


def run_argv(
    argv: list[str], env: Mapping[str, str], *, shell: str = "sh", namespace: str = "default"
) -> Run:
    """The Run of an applet invoked directly (``command: ["sleep", "3600"]``)."""
    return run_script(shlex.join(argv), env, shell=shell, namespace=namespace)


# --- execution ------------------------------------------------------------------------------
def _execute(items: list[tuple[str, object]], state: _State) -> None:
    for connector, node in items:
        if state.exited or state.forever or state.loop is not None:
            return
        if connector == "&&" and state.status != 0:
            continue
        if connector == "||" and state.status == 0:
            continue
        _run_node(node, state)


def _run_node(node: object, state: _State) -> None:
    if isinstance(node, Simple):
        _run_simple(node, state)
    elif isinstance(node, LoopNode):
        _run_loop(node, state)
    elif isinstance(node, For):
        for item in node.items:
            for value in _expand(item, state).split() if not item.quoted else [_expand(item, state)]:
                state.env[node.name] = value
                _execute(node.body, state)
                if state.exited or state.forever or state.loop is not None:
                    return
    elif isinstance(node, If):
        for condition, body in node.branches:
            _execute(condition, state)
            if state.status == 0:
                _execute(body, state)
                return
        if node.otherwise is not None:
            _execute(node.otherwise, state)
        else:
            state.status = 0


def _run_loop(node: LoopNode, state: _State) -> None:
    """Loops whose condition never changes either never run their body or run it for ever."""
    probe = _State(env=dict(state.env), shell=state.shell, namespace=state.namespace)
    try:
        _execute(node.condition, probe)
    except _Exit:
        state.lines.extend(LogEntry(state.t + e.offset, e.text, e.stderr) for e in probe.lines)
        state.status, state.exited = probe.status, True
        raise
    succeeded = probe.status == 0
    if succeeded == node.until:
        state.lines.extend(LogEntry(state.t + e.offset, e.text, e.stderr) for e in probe.lines)
        state.t += probe.t
        state.status = 0
        return
    # The body runs; measure one iteration (condition included) and repeat it.
    try:
        _execute(node.body, probe)
    except _Exit:
        state.lines.extend(LogEntry(state.t + e.offset, e.text, e.stderr) for e in probe.lines)
        state.t += probe.t
        state.status, state.exited = probe.status, True
        raise
    state.longest_wait = max(state.longest_wait, probe.longest_wait)
    if probe.forever or probe.loop is not None:
        state.lines.extend(LogEntry(state.t + e.offset, e.text, e.stderr) for e in probe.lines)
        state.loop = probe.loop and RunLoop(state.t + probe.loop.start, probe.loop.period, probe.loop.lines)
        state.forever = state.forever or probe.forever
        return
    period = max(probe.t, 0.01)
    state.traps_term = state.traps_term or probe.traps_term
    if probe.term_exit is not None:
        state.term_exit = probe.term_exit
    state.loop = RunLoop(state.t, period, tuple(probe.lines))


def _expand(word: Word, state: _State) -> str:
    text = word.text

    def literal_split(value: str) -> list[tuple[bool, str]]:
        parts: list[tuple[bool, str]] = []
        while value:
            start = value.find("\x00")
            if start < 0:
                parts.append((False, value))
                break
            end = value.find("\x01", start)
            if start:
                parts.append((False, value[:start]))
            parts.append((True, value[start + 1 : end]))
            value = value[end + 1 :]
        return parts

    out = []
    for is_literal, chunk in literal_split(text):
        out.append(chunk if is_literal else _substitute(chunk, state))
    return "".join(out)


_VAR = re.compile(
    r"\$\{(\w+)(?::-([^}]*))?\}|\$(\w+|\?|\$)|\$\(\((.*?)\)\)|\$\(([^()]*(?:\([^()]*\)[^()]*)*)\)"
)


def _substitute(text: str, state: _State) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(1):
            value = state.env.get(match.group(1), "")
            return value or (match.group(2) or "")
        name = match.group(3)
        if name == "?":
            return str(state.status)
        if name == "$":
            return "1"
        if name:
            return state.env.get(name, "")
        if match.group(4) is not None:
            return _arithmetic(match.group(4), state)
        return _command_output(match.group(5) or "", state)

    return _VAR.sub(replace, text)


def _arithmetic(expr: str, state: _State) -> str:
    expr = re.sub(r"\$?([A-Za-z_]\w*)", lambda m: state.env.get(m.group(1), "0") or "0", expr)
    if re.fullmatch(r"[0-9+\-*/ ()%]+", expr) and "**" not in expr:
        try:
            return str(int(eval(expr.replace("/", "//"), {"__builtins__": {}})))  # noqa: S307 - digits and operators only
        except (SyntaxError, ZeroDivisionError):
            return "0"
    return "0"


def _command_output(command: str, state: _State) -> str:
    words = command.split()
    if not words:
        return ""
    if words[0] == "date":
        return _date_template(words[1:])
    if words[0] in ("hostname", "cat") and (words[0] == "hostname" or words[1:] == ["/etc/hostname"]):
        return state.env.get("HOSTNAME", "")
    if words[0] == "cat" and words[1:] == ["/var/run/secrets/kubernetes.io/serviceaccount/namespace"]:
        return state.namespace
    if words[0] == "whoami":
        return "root"
    if words[0] == "echo":
        return " ".join(words[1:])
    return ""


def _date_template(args: list[str]) -> str:
    for arg in args:
        if arg.startswith("+"):
            return "{ts:" + arg[1:].replace("}", "") + "}"
    return _DATE_DEFAULT


def _say(state: _State, text: str, *, stderr: bool = False) -> None:
    for line in text.split("\n"):
        state.lines.append(LogEntry(state.t, line, stderr))


def _not_found(state: _State, name: str) -> None:
    if state.shell == "bash":
        _say(state, f"bash: line 1: {name}: command not found", stderr=True)
    else:
        _say(state, f"{state.shell}: {name}: not found", stderr=True)
    state.status = 127


def _run_simple(node: Simple, state: _State) -> None:
    words = [_expand(w, state) for w in node.words]
    raws = list(node.words)
    # Leading assignments set variables.
    while words and re.fullmatch(r"[A-Za-z_]\w*=.*", words[0]) and not raws[0].quoted:
        name, _, value = words.pop(0).partition("=")
        raws.pop(0)
        state.env[name] = value
    if not words:
        state.status = 0
        return
    stderr, silent = False, False
    cleaned: list[str] = []
    for word, raw in zip(words, raws, strict=True):
        if raw.quoted and REDIRECT.match(raw.text) and raw.text[:1] in "0123456789>&<":
            if raw.text in (">&2", "1>&2"):
                stderr = True
            elif raw.text.startswith((">", "1>", "&>")):
                silent = True  # written to a file (or /dev/null), not to the log
            continue
        cleaned.append(word)
    words = cleaned
    state.t += STEP
    name, args = words[0].rsplit("/", 1)[-1], words[1:]
    state.status = 0

    def say(text: str) -> None:
        if not silent:
            _say(state, text, stderr=stderr)

    if name == "echo":
        flags = []
        while args and args[0] in ("-n", "-e", "-ne", "-en"):
            flags.append(args.pop(0))
        text = " ".join(args)
        if any("e" in f for f in flags):
            text = text.replace("\\n", "\n").replace("\\t", "\t")
        say(text)
    elif name == "printf":
        if args:
            fmt, rest = args[0], args[1:]
            text = re.sub(r"%[sd]", lambda _m: rest.pop(0) if rest else "", fmt).replace("\\n", "\n")
            text = text.rstrip("\n")
            if text:
                say(text)
    elif name == "sleep":
        total = 0.0
        for arg in args or ["0"]:
            if arg in ("infinity", "inf"):
                state.forever = True
                state.longest_wait = math.inf
                return
            match = re.fullmatch(r"([0-9]*\.?[0-9]+)([smhd]?)", arg)
            if match is None:
                say(f"sleep: invalid number '{arg}'")
                state.status = 1
                return
            total += float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
        state.t += total
        state.longest_wait = max(state.longest_wait, total)
    elif name == "exit":
        state.status = int(args[0]) % 256 if args and args[0].lstrip("-").isdigit() else state.status
        state.exited = True
        raise _Exit
    elif name in ("true", ":"):
        pass
    elif name == "false":
        state.status = 1
    elif name == "date":
        say(_date_template(args))
    elif name == "hostname":
        say(state.env.get("HOSTNAME", ""))
    elif name in ("env", "printenv"):
        if name == "printenv" and args:
            values = [state.env[a] for a in args if a in state.env]
            for value in values:
                say(value)
            state.status = 0 if len(values) == len(args) else 1
        else:
            for key in sorted(state.env):
                say(f"{key}={state.env[key]}")
    elif name == "tail":
        if "-f" in args or "-F" in args:
            state.forever = True
            state.longest_wait = math.inf
    elif name == "yes":
        state.loop = RunLoop(state.t, 0.01, (LogEntry(0.0, " ".join(args) or "y"),))
    elif name == "cat":
        for arg in args:
            if arg == "/etc/hostname":
                say(state.env.get("HOSTNAME", ""))
            elif arg == "/var/run/secrets/kubernetes.io/serviceaccount/namespace":
                say(state.namespace)
            elif arg != "/dev/null":
                say(f"cat: can't open '{arg}': No such file or directory")
                state.status = 1
    elif name in ("id", "whoami"):
        say("uid=0(root) gid=0(root) groups=0(root),10(wheel)" if name == "id" else "root")
    elif name == "pwd":
        say("/")
    elif name == "uname":
        host = state.env.get("HOSTNAME", "")
        say(
            f"Linux {host} 6.8.0-51-generic #52-Ubuntu SMP PREEMPT_DYNAMIC x86_64 GNU/Linux"
            if "-a" in args
            else "Linux"
        )
    elif name == "ls":
        say("bin   dev   etc   home  lib   lib64 proc  root  sys   tmp   usr   var")
    elif name == "trap":
        if args and any(sig in ("TERM", "SIGTERM", "15") for sig in args[1:]):
            state.traps_term = True
            leaves = re.search(r"(?:^|[;&|\s])exit(?:\s+(\d+))?", args[0])
            state.term_exit = None if leaves is None else int(leaves.group(1) or 0) % 256
    elif name == "export":
        for arg in args:
            key, sep, value = arg.partition("=")
            if sep:
                state.env[key] = value
    elif name in ("test", "["):
        state.status = 0 if _test(args[:-1] if name == "[" and args[-1:] == ["]"] else args) else 1
    elif name in _NETWORK:
        target = next((a for a in args if not a.startswith("-")), "")
        if name == "nslookup":
            say(f"nslookup: can't resolve '{target}'")
        elif name == "wget":
            say(f"wget: bad address '{_host_of(target)}'")
        elif name == "curl":
            say(f"curl: (6) Could not resolve host: {_host_of(target)}")
        else:
            say(f"{name}: bad address '{_host_of(target)}'")
        state.status = 1
    elif name in _QUIET_OK:
        pass
    elif name in SHELLS:
        if "-c" in args and args.index("-c") + 1 < len(args):
            inner = run_script(args[args.index("-c") + 1], state.env, shell=name, namespace=state.namespace)
            state.lines.extend(LogEntry(state.t + e.offset, e.text, e.stderr) for e in inner.entries)
            if inner.exit_after is None:
                state.loop = inner.loop and RunLoop(
                    state.t + inner.loop.start, inner.loop.period, inner.loop.lines
                )
                state.forever = inner.loop is None
                return
            state.t += inner.exit_after
            state.status = inner.exit_code
    else:
        _not_found(state, words[0])


def _host_of(target: str) -> str:
    host = re.sub(r"^[a-z]+://", "", target)
    return host.split("/")[0].split(":")[0]


_KNOWN_PATHS = {
    "/",
    "/dev/null",
    "/etc/hostname",
    "/etc/hosts",
    "/tmp",  # noqa: S108 - a path the simulated container has, nothing is written
    "/var/run/secrets/kubernetes.io/serviceaccount",
}


def _test(args: list[str]) -> bool:
    if not args:
        return False
    if args[0] == "!":
        return not _test(args[1:])
    if len(args) == 1:
        return args[0] != ""
    if len(args) == 2:
        flag, value = args
        if flag in ("-f", "-e", "-d", "-s", "-r", "-x"):
            return value in _KNOWN_PATHS
        if flag == "-z":
            return value == ""
        if flag == "-n":
            return value != ""
        return False
    left, op, right = args[0], args[1], args[2]
    if op in ("=", "=="):
        return left == right
    if op == "!=":
        return left != right
    try:
        a, b = int(left), int(right)
    except ValueError:
        return False
    return {"-eq": a == b, "-ne": a != b, "-lt": a < b, "-le": a <= b, "-gt": a > b, "-ge": a >= b}.get(
        op, False
    )
