"""Trainer callbacks the host always adds."""
from __future__ import annotations

import signal
import sys
from types import FrameType
from typing import Any

from transformers import TrainerCallback


class SignalCheckpoint(TrainerCallback):
    """On SIGINT or SIGTERM, save a checkpoint at the end of the current step and stop.

    A second SIGINT interrupts at once (the default behaviour).
    """

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)

    def uninstall(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received is not None and signum == signal.SIGINT:
            self.uninstall()
            raise KeyboardInterrupt
        self.received = signum
        name = signal.Signals(signum).name
        print(f"\nswift: {name} received; saving a checkpoint at the end of this step "
              "(press Ctrl-C again to stop at once)", file=sys.stderr, flush=True)

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        if self.received is not None:
            control.should_save = True
            control.should_training_stop = True
        return control


def tensorboard_callback(logging_dir: str) -> Any:
    """transformers' TensorBoard callback, writing to ``logging_dir``, tolerant of plain nn.Module configs."""
    from transformers.integrations import TensorBoardCallback

    class SwiftTensorBoard(TensorBoardCallback):
        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            model = kwargs.get("model")
            if model is not None and not hasattr(getattr(model, "config", None), "to_json_string"):
                kwargs.pop("model")  # the stock callback logs model.config.to_json_string()
            super().on_train_begin(args, state, control, **kwargs)

    callback = SwiftTensorBoard()
    callback.logging_dir = logging_dir
    return callback
