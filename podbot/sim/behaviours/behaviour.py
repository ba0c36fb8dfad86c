"""The model of an image behaviour: what a container's process is told (``RunContext``) and the
image's description (``Behaviour``: entrypoint, command, own programs, shell) with the function
that turns a context into a ``Run``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from podbot.sim.behaviours.run import Run


@dataclass(frozen=True)
class RunContext:
    pod_name: str
    namespace: str
    container_name: str
    pod_ip: str
    host_ip: str
    gateway: str  # the node bridge address clients appear to come from
    node_name: str
    env: Mapping[str, str]
    command: list[str] | None
    args: list[str] | None
    restart_count: int = 0
    memory_limit: int | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    tag: str = "latest"
    probed: bool = False  # the container has an HTTP probe (kube-probe shows in access logs)


@dataclass(frozen=True)
class Behaviour:
    name: str
    entrypoint: tuple[str, ...]
    cmd: tuple[str, ...]
    binaries: frozenset[str]  # programs that are the image's own (run its behaviour)
    shell_program: str | None  # the image's shell, or None for images without one
    main: Callable[[RunContext, list[str]], Run]


def behaviour(
    name: str,
    main: Callable[[RunContext, list[str]], Run],
    *,
    entrypoint: tuple[str, ...] = (),
    cmd: tuple[str, ...] = (),
    binaries: tuple[str, ...] = (),
    shell_program: str | None = "sh",
) -> Behaviour:
    return Behaviour(name, entrypoint, cmd, frozenset(binaries), shell_program, main)


def version_of(ctx: RunContext, default: str) -> tuple[str, tuple[int, ...]]:
    text = str(ctx.params.get("version", default))
    numbers = []
    for part in text.split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        numbers.append(int(digits) if digits else 0)
    return text, tuple(numbers)
