"""The pipeline's handlers for plain Kubernetes requests: the action layer, on the granted cluster,
as the granted identity. (Deletes go through ``app.approvals``; channel verbs through
``app.subscriptions``.)"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from podbot.app.gate import Grant
from podbot.app.pipeline import Handler
from podbot.commands import help_text
from podbot.core.model import (
    AttachPullSecret,
    CreateFromManifest,
    CreateRegistrySecret,
    DescribePod,
    GetPods,
    ListStaticPods,
    PodLogs,
    ReplaceRegistryLogin,
    RunPod,
    ShowHelp,
)
from podbot.core.results import (
    Changed,
    HelpText,
    Logs,
    Notice,
    PodDescription,
    PodTable,
    RawOutput,
    StaticPods,
)
from podbot.k8s import actions


class KubeOperations:
    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now

    def handlers(self) -> dict[type, Handler]:
        return {
            RunPod: self.run,
            CreateFromManifest: self.create,
            GetPods: self.get,
            DescribePod: self.describe,
            PodLogs: self.logs,
            CreateRegistrySecret: self.secret,
            ReplaceRegistryLogin: self.replace_login,
            AttachPullSecret: self.attach,
            ListStaticPods: self.static,
            ShowHelp: self.help,
        }

    def run(self, request: RunPod, grant: Grant) -> Changed:
        return actions.run_pod(request, grant.cluster, grant.identity, grant.locale)

    def create(self, request: CreateFromManifest, grant: Grant) -> Changed:
        return actions.create_from_manifest(request, grant.cluster, grant.identity, grant.locale)

    def get(self, request: GetPods, grant: Grant) -> PodTable | RawOutput:
        return actions.get_pods(request, grant.cluster, grant.identity, grant.locale)

    def describe(self, request: DescribePod, grant: Grant) -> PodDescription:
        return actions.describe_pod(request, grant.cluster, self._now(), grant.identity)

    def logs(self, request: PodLogs, grant: Grant) -> Logs:
        return actions.pod_logs(request, grant.cluster, grant.identity)

    def secret(self, request: CreateRegistrySecret, grant: Grant) -> Changed:
        return actions.create_registry_secret(request, grant.cluster, grant.identity, grant.locale)

    def replace_login(self, request: ReplaceRegistryLogin, grant: Grant) -> Changed:
        return actions.replace_registry_login(request, grant.cluster, grant.identity, grant.locale)

    def attach(self, request: AttachPullSecret, grant: Grant) -> Changed | Notice:
        return actions.attach_pull_secret(request, grant.cluster, grant.identity, grant.locale)

    def static(self, request: ListStaticPods, grant: Grant) -> StaticPods:
        return actions.list_static_pods(request, grant.cluster, grant.identity, grant.locale)

    def help(self, request: ShowHelp, grant: Grant) -> HelpText:
        return HelpText(help_text(request.topic, grant.locale))
