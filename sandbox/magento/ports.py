"""What the Magento routers use of the simulator, as protocols: the routers never import it."""

from __future__ import annotations

from typing import Protocol

from sandbox.faults import FaultInjector
from sandbox.magento.integrations import IntegrationRegistry
from sandbox.magento.state import MagentoState


class SharedPort(Protocol):
    """Used by both routers."""

    @property
    def state(self) -> MagentoState: ...

    @property
    def faults(self) -> FaultInjector: ...

    @property
    def integrations(self) -> IntegrationRegistry: ...


class ApiPort(SharedPort, Protocol):
    """Used by the API router (the shared part is all it needs)."""


class ControlPort(SharedPort, Protocol):
    def reset(self) -> None: ...
