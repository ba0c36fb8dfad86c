"""Checks every rendered Slack payload in the suite must pass: the emulator's strict Block Kit model
(the judge, independent of podbot), and slack_sdk's models round-tripping the blocks unchanged."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import Block

from podbot.localslack.blockkit import Limits, blocks_text_length, validate_blocks
from podbot.render.blocks import Rendered

LIMITS = Limits()


def assert_valid_blocks(blocks: list[dict[str, Any]], *, modal: bool = False) -> None:
    errors = [str(e) for e in validate_blocks(blocks, LIMITS, modal=modal)]
    assert errors == [], f"Slack would answer invalid_blocks: {errors}"
    if not modal:
        too_long = blocks_text_length(blocks) > LIMITS.blocks_total_text
        assert not too_long, "Slack would answer msg_blocks_too_long"
    for raw in blocks:
        parsed = Block.parse(raw)
        assert parsed is not None, raw
        assert parsed.to_dict() == raw, "slack_sdk's model must round-trip the block unchanged"


def assert_valid_message(rendered: Rendered) -> None:
    assert rendered.text, "every message needs fallback text (notifications, screen readers)"
    assert_valid_blocks(rendered.blocks)
