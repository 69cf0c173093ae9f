"""Inference: the InferEngine protocol and `swift infer`."""
from swift.infer.protocol import InferEngine, InferRequest, RequestConfig

__all__ = ["InferEngine", "InferRequest", "RequestConfig"]
