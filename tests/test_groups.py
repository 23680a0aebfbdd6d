"""Task groups held across a block: what the block raised comes out as itself."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest
from agora_recording._groups import enter_group, leave_group


class _BodyError(Exception):
    pass


@pytest.mark.anyio
async def test_the_blocks_own_error_comes_out_unwrapped() -> None:
    """An error of the block, with a background task cancelled beside it, is returned as
    itself, never inside an ExceptionGroup."""
    group = await enter_group()
    group.start_soon(anyio.sleep_forever)
    group.cancel_scope.cancel()
    error = _BodyError("boom")
    assert await leave_group(group, error, None) is error


@pytest.mark.anyio
async def test_the_groups_own_cancellation_is_absorbed() -> None:
    """A block cancelled by the group's own scope (fail-fast) leaves with nothing to raise."""
    group = await enter_group()
    group.cancel_scope.cancel()
    with pytest.raises(anyio.get_cancelled_exc_class()) as caught:
        await anyio.sleep_forever()
    assert await leave_group(group, caught.value, None) is None
    assert await leave_group(await enter_group(), None, None) is None
