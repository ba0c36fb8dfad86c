"""Behaviours of Kubernetes' own images (registry.k8s.io): pause, etcd and the control plane."""

from __future__ import annotations

from collections.abc import Callable

from podbot.sim.behaviours.behaviour import Behaviour, RunContext, behaviour
from podbot.sim.behaviours.run import LogEntry, Loop, Run


def _silent(ctx: RunContext, argv: list[str]) -> Run:
    return Run()


def _klog(component: str, lines: list[tuple[str, str]]) -> Callable[[RunContext, list[str]], Run]:
    def main(ctx: RunContext, argv: list[str]) -> Run:
        entries = []
        for i, (source, message) in enumerate(lines):
            filled = message.format(ip=ctx.host_ip, node=ctx.node_name)
            text = f"I{{ts:%m%d %H:%M:%S.%6f}}       1 {source}] {filled}"
            entries.append(LogEntry(0.01 * i, text, True))
        return Run(entries=tuple(entries), ready_after=float(ctx.params.get("ready_after", 0)))

    main.__name__ = component
    return main


def _etcd(ctx: RunContext, argv: list[str]) -> Run:
    ts = '"ts":"{ts:%Y-%m-%dT%H:%M:%S.%6f}Z"'
    ip = ctx.host_ip
    lines = [
        f'{{"level":"warn",{ts},"caller":"embed/config.go:679",'
        '"msg":"Running http and grpc server on single port. This is not recommended for production."}',
        f'{{"level":"info",{ts},"caller":"etcdmain/etcd.go:73","msg":"Running: ",'
        f'"args":["etcd","--advertise-client-urls=https://{ip}:2379","--name={ctx.node_name}"]}}',
        f'{{"level":"info",{ts},"caller":"embed/etcd.go:128","msg":"configuring peer listeners",'
        f'"listen-peer-urls":["https://{ip}:2380"]}}',
        f'{{"level":"info",{ts},"caller":"etcdserver/server.go:2102",'
        '"msg":"published local member to cluster through raft",'
        f'"local-member-attributes":"{{Name:{ctx.node_name} ClientURLs:[https://{ip}:2379]}}"}}',
        f'{{"level":"info",{ts},"caller":"embed/serve.go:250","msg":"serving client traffic securely",'
        f'"traffic":"grpc+http","address":"{ip}:2379"}}',
    ]
    compact = (
        f'{{"level":"info",{ts},"caller":"mvcc/index.go:214","msg":"compact tree index","revision":{{i}}}}'
    )
    entries = tuple(LogEntry(0.01 * i, line, True) for i, line in enumerate(lines))
    return Run(entries=entries, loop=Loop(300.0, 300.0, (LogEntry(0.0, compact, True),)))


def _coredns(ctx: RunContext, argv: list[str]) -> Run:
    lines = [
        ".:53",
        "[INFO] plugin/reload: Running configuration SHA512 = "
        "591cf328cccc12bc490481273e738df59329c62c0b729d94e8b61db9961c2fa5f046dd37f1cf888b953814040d180f"
        "52594972691cd6ff41be96639138a43908",
        "CoreDNS-1.11.3",
        "linux/amd64, go1.21.11, a6338e9",
    ]
    return Run(entries=tuple(LogEntry(0.01 * i, line) for i, line in enumerate(lines)))


SYSTEM_BEHAVIOURS: tuple[Behaviour, ...] = (
    behaviour("pause", _silent, entrypoint=("/pause",), binaries=("pause",), shell_program=None),
    behaviour("etcd", _etcd, binaries=("etcd",), shell_program=None),
    behaviour(
        "kube-apiserver",
        _klog(
            "kube-apiserver",
            [
                ("options.go:221", "external host was not specified, using {ip}"),
                ("server.go:148", "Version: v1.32.4"),
                ("server.go:150", 'Golang settings GOGC="" GOMAXPROCS="" GOTRACEBACK=""'),
                ("secure_serving.go:213", "Serving securely on [::]:6443"),
                ("controller.go:615", "quota admission added evaluator for: leases.coordination.k8s.io"),
            ],
        ),
        binaries=("kube-apiserver",),
        shell_program=None,
    ),
    behaviour(
        "kube-controller-manager",
        _klog(
            "kube-controller-manager",
            [
                ("serving.go:386", "Generated self-signed cert in-memory"),
                ("controllermanager.go:197", '"Starting" version="v1.32.4"'),
                (
                    "leaderelection.go:257",
                    "attempting to acquire leader lease kube-system/kube-controller-manager...",
                ),
                (
                    "leaderelection.go:271",
                    "successfully acquired lease kube-system/kube-controller-manager",
                ),
                ("shared_informer.go:320", "Caches are synced for node"),
            ],
        ),
        binaries=("kube-controller-manager",),
        shell_program=None,
    ),
    behaviour(
        "kube-scheduler",
        _klog(
            "kube-scheduler",
            [
                ("serving.go:386", "Generated self-signed cert in-memory"),
                ("server.go:167", '"Starting Kubernetes Scheduler" version="v1.32.4"'),
                ("secure_serving.go:213", "Serving securely on 127.0.0.1:10259"),
                (
                    "leaderelection.go:257",
                    "attempting to acquire leader lease kube-system/kube-scheduler...",
                ),
                ("leaderelection.go:271", "successfully acquired lease kube-system/kube-scheduler"),
            ],
        ),
        binaries=("kube-scheduler",),
        shell_program=None,
    ),
    behaviour(
        "kube-proxy",
        _klog(
            "kube-proxy",
            [
                ("server_linux.go:66", '"Using iptables proxy"'),
                ("server.go:698", '"Successfully retrieved node IP(s)" IPs=["{ip}"]'),
                ("server.go:797", '"Version info" version="v1.32.4"'),
                ("config.go:199", '"Starting service config controller"'),
            ],
        ),
        entrypoint=("/usr/local/bin/kube-proxy",),
        binaries=("kube-proxy",),
        shell_program=None,
    ),
    behaviour("coredns", _coredns, entrypoint=("/coredns",), binaries=("coredns",), shell_program=None),
)
