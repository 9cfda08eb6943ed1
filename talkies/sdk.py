"""Settings for third-party SDKs that every layer (runtime and toolchain) must apply before import."""

from __future__ import annotations


def disable_openvino_telemetry() -> None:
    """OpenVINO (on `import openvino`, in convert_model) and NNCF send usage telemetry unless the user
    opted out, each message from a forked process that waits for the network: slow offline, and a fork
    after jax/torch threads exist can deadlock. talkies works offline: switch the sender off for this
    process. Must run before `import openvino`."""
    try:
        from openvino_telemetry.utils import sender
    except ImportError:
        return
    sender.TelemetrySender.send = lambda *args, **kwargs: None  # type: ignore[method-assign]
