"""``/pod run`` flag by flag as ``kubectl run`` (v1.32) reads it: one table of accepted spellings
and what they mean, one of refusals. tests/integration/test_kubectl_parity.py runs the same kinds
of command lines through the real kubectl and compares the printed manifests to the character."""

from __future__ import annotations

import pytest

from podbot.commands import parse
from podbot.core.errors import UsageError
from podbot.core.model import DryRun, OutputFormat, OverrideType, RestartPolicy, RunPod


def run(text: str) -> RunPod:
    request = parse(text)
    assert isinstance(request, RunPod)
    return request


@pytest.mark.parametrize(
    ("flags", "field", "value"),
    [
        # enum flags take kubectl's exact spelling; an explicit empty value is the default
        ("--restart=Never", "restart", RestartPolicy.NEVER),
        ("--restart=OnFailure", "restart", RestartPolicy.ON_FAILURE),
        ("--restart=", "restart", RestartPolicy.ALWAYS),
        ("--image-pull-policy=IfNotPresent", "image_pull_policy", "IfNotPresent"),
        ("--image-pull-policy=", "image_pull_policy", None),
        ("--port=", "port", None),
        ("--port=8080", "port", 8080),
        ("--env=", "env", ()),  # kubectl skips an empty --env
        ("--annotations=", "annotations", ()),
        ("--labels=", "labels", None),  # and keeps run=NAME
        ("--env=-._a1=x", "env", (("-._a1", "x"),)),  # [-._a-zA-Z][-._a-zA-Z0-9]*
        ("--env=_X=1", "env", (("_X", "1"),)),
        # --dry-run: none|client|server exactly, bare --dry-run is client
        ("--dry-run=client", "dry_run", DryRun.CLIENT),
        ("--dry-run=server", "dry_run", DryRun.SERVER),
        ("--dry-run=none", "dry_run", DryRun.NONE),
        ("--dry-run", "dry_run", DryRun.CLIENT),
        # --command without a command is accepted: the entrypoint stays
        ("--command", "command", True),
        ("--command", "args", ()),
        ("--privileged", "privileged", True),
        ("--privileged=false", "privileged", False),
        ("--override-type=json --overrides=[]", "override_type", OverrideType.JSON),
        ("--override-type=strategic --overrides={}", "override_type", OverrideType.STRATEGIC),
        ("--override-type= --overrides={}", "override_type", OverrideType.MERGE),
        ("--overrides={}", "override_type", OverrideType.MERGE),
        ("-o yaml", "output", OutputFormat.YAML),
        ("--output=json", "output", OutputFormat.JSON),
        ("-o name", "output", OutputFormat.NAME),
        ("--show-managed-fields", "show_managed_fields", True),
        # the seed's deprecated flags: accepted, one pod, and a note that they did nothing
        (
            "--replicas=3 --generator=run-pod/v1",
            "notes",
            ("commands.note.generator_ignored", "commands.note.replicas_ignored"),
        ),
    ],
)
def test_run_accepts_what_kubectl_run_accepts(flags: str, field: str, value: object) -> None:
    assert getattr(run(f"run web --image=nginx {flags}"), field) == value


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        ("--restart=never", "`--restart=Never`"),  # kubectl: invalid restart policy: never
        ("--restart=ALWAYS", "`--restart=Always`"),
        ("--image-pull-policy=always", "`--image-pull-policy=Always`"),
        ("--image-pull-policy=Bogus", "Always, IfNotPresent, Never"),
        ("--dry-run=CLIENT", "`--dry-run=client`"),  # kubectl: Invalid dry-run value (CLIENT)
        ("--dry-run=maybe", "none, server, client"),
        # kubectl 1.32 still takes the pre-1.18 booleans with a deprecation warning; podbot names
        # the replacement instead of guessing what --dry-run=false meant
        ("--dry-run=true", "deprecated in 1.18"),
        ("--dry-run=False", "deprecated in 1.18"),
        ("--env=1BAD=x", 'refuses "1BAD=x"'),  # kubectl: invalid env: 1BAD=x
        ("'--env=A B=x'", 'refuses "A B=x"'),
        ("--env=A.B=1 --env=A:B=2", 'refuses "A:B=2"'),
        ("--override-type=JSON --overrides=[]", "`--override-type=json`"),
        ("--override-type=patch --overrides={}", "json, merge, strategic"),
        ("--override-type=json --overrides={}", "JSON patch"),
        ("--overrides=[]", "JSON object"),
        ("-o wide", "yaml, json, name"),
    ],
)
def test_run_refuses_what_kubectl_run_refuses(flags: str, says: str) -> None:
    with pytest.raises(UsageError) as refused:
        parse(f"run web --image=nginx {flags}")
    assert says in refused.value.message


def test_refusals_are_in_chinese_too() -> None:
    with pytest.raises(UsageError) as refused:
        parse("run web --image=nginx --restart=never", locale="zh_CN")
    assert "区分大小写" in refused.value.message and "`--restart=Never`" in refused.value.message


def test_printed_manifest_is_shown_as_code_under_the_dry_run_line() -> None:
    from podbot.core.results import Changed, ObjectRef, RawOutput
    from podbot.render.messages import render
    from tests.support.blockkit import assert_valid_message

    manifest = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n"
    change = Changed(
        "created",
        "sim",
        (ObjectRef("Pod", "default", "web"),),
        dry_run=True,
        printed=RawOutput("sim", OutputFormat.YAML, manifest),
    )
    rendered = render(change, "en")
    assert_valid_message(rendered)
    assert "would be created" in rendered.blocks[0]["text"]["text"]
    assert rendered.blocks[1]["text"]["text"] == "```\n" + manifest.rstrip("\n") + "\n```"
