"""The base of every test-control body: a field the sandbox does not know is refused (422).

A control call that answers 200 and silently ignores a misspelt field ("error_rte") leaves a test
running against a simulator that does something other than the test thinks. FastAPI answers a
body that does not validate with 422 and names the field.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ControlBody(BaseModel):
    """A ``/_sandbox/...`` request body: known fields only."""

    model_config = ConfigDict(extra="forbid")
