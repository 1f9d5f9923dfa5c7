"""What a flow run of this process returned, handed back to the code that ran it.

A flow run called here with `return_state=True` (a scene's shooting round, the film's scenes on
its threads, `slate run`'s film) gives its caller the final state the server accepted, and the
caller reads what it made from that state. When the answer to the request that set the state
is lost (a reset connection or a timeout on a loaded machine), Prefect's client sends the same
request again; the server, which already holds the state, rejects the copy as a duplicate and
answers with the state it holds — with no data, since the server keeps none for a finished run.
The engine hands that copy back, and its `.result()` raises MissingResult: a scene that had
finished clean ended its film Failed (seen once, under load, in tests/e2e/test_film_can.py).

So the flows whose ends are read here return `keep(...)` of what their body made: it is kept by
flow run id, and `outcome` reads it where the state came back without it.

`outcome` is also where what a run hands back gets its type: a body that returns its own end
state is read as the result inside it, which Prefect's typing of `return_state=True` does not
say. `landed` does the same for a task's future, and `made_here` for a Prefect call that Prefect
types as maybe a coroutine (it is one only when made from async code).

It must never hold more than the last few runs' values (a bounded memo), never change what a
flow returns or how its state is made, and never stand in for another process's runs (a
deployment run's word goes through flows/scene_result.leave_word).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Coroutine
from typing import Any, Literal, TypeVar, overload

from prefect.client.schemas.objects import State
from prefect.futures import PrefectFuture

KEEP = 64   # runs: far more than one process runs at once (a film's scenes, their rounds)

R = TypeVar("R")

#: Whatever a flow's body returned, by flow run id: its result, or its own end state.
_KEPT: OrderedDict[str, object] = OrderedDict()
_LOCK = threading.Lock()
_NOTHING = object()


def made_here(value: R | Coroutine[Any, Any, R]) -> R:
    """What a Prefect call made from this process's synchronous code returned. Prefect types its
    dispatching calls (`to_deployment`, the artifact makers) as maybe a coroutine, which they are
    only when called from async code."""
    if isinstance(value, Coroutine):
        value.close()
        raise TypeError("a Prefect call meant for synchronous code was made from async code")
    return value


# What a task's future made: a task whose body returned its own state (a shot's loop that ended
# Escalated or Halted) is read as that state's data, which Prefect's typing of `result()` cannot say.
@overload
def landed(future: PrefectFuture[State[R]]) -> R: ...
@overload
def landed(future: PrefectFuture[R | State[R]]) -> R: ...
@overload
def landed(future: PrefectFuture[R]) -> R: ...


def landed(future: PrefectFuture[R]) -> object:
    """`future.result()`: what the task run made."""
    return future.result()


def keep(value: R) -> R:
    """`value`, kept by the current flow run's id: a flow's body returns `keep(what it made)`
    (a plain function of the flow's, so every one of its returns is kept)."""
    from prefect.context import FlowRunContext
    ctx = FlowRunContext.get()
    if ctx is not None and ctx.flow_run is not None:
        run_id = str(ctx.flow_run.id)
        with _LOCK:
            _KEPT[run_id] = value
            _KEPT.move_to_end(run_id)
            while len(_KEPT) > KEEP:
                _KEPT.popitem(last=False)
    return value


# A flow's body returns its result or its own end state (`X | State[X]`), or always its end state
# (`State[X]`); Prefect's typing gives the caller of `flow(..., return_state=True)` a
# `State[X | State[X]]` or a `State[State[X]]`, though the engine makes a returned state the run's
# own: reading it gives an X either way.
@overload
def outcome(state: State[State[R]], raise_on_failure: Literal[True] = True) -> R: ...
@overload
def outcome(state: State[R | State[R]], raise_on_failure: Literal[True] = True) -> R: ...
@overload
def outcome(state: State[State[R]], raise_on_failure: Literal[False]) -> R | Exception: ...
@overload
def outcome(state: State[R | State[R]], raise_on_failure: Literal[False]) -> R | Exception: ...


def outcome(state: State[R], raise_on_failure: bool = True) -> object:
    """`state.result(raise_on_failure)`, or — when the state came back from the server without
    its data — the same read of what the run's body returned here."""
    if state.data is None:
        with _LOCK:
            value = _KEPT.get(str(state.state_details.flow_run_id), _NOTHING)
        if value is not _NOTHING:
            if isinstance(value, State):   # a body that returned its own end (Failed with its reason)
                return value.result(raise_on_failure=raise_on_failure)
            return value
    return state.result(raise_on_failure=raise_on_failure)
