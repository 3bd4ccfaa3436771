"""What the Magento routers use of the simulator, as protocols: the routers never import it."""

from __future__ import annotations

from typing import Protocol

from sandbox.faults import FaultInjector
from sandbox.magento.state import MagentoState


class SharedPort(Protocol):
    """Used by both routers."""

    @property
    def state(self) -> MagentoState: ...

    @property
    def faults(self) -> FaultInjector: ...


class ApiPort(SharedPort, Protocol):
    @property
    def access_token(self) -> str | None: ...


class ControlPort(SharedPort, Protocol):
    def reset(self) -> None: ...
